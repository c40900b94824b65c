import { useEffect, useState } from 'react';
import { type RegionInfo, type Scope, type Session, loadRegionInfo } from '../api';
import { snippets } from '../snippets';
import { CopyField } from './CopyField';
import { Snippets } from './Snippets';

type ApiDocument = { paths?: Record<string, Record<string, { tags?: string[]; security?: Record<string, string[]>[] }>> };
let apiDocument: Promise<ApiDocument | null> | null = null;

/** The platform APIs' OpenAPI document (GET /openapi.json), read once: which tags need which scopes. */
function loadApiDocument(): Promise<ApiDocument | null> {
  apiDocument ??= fetch('/openapi.json', { headers: { accept: 'application/json' } })
    .then((r) => (r.ok ? (r.json() as Promise<ApiDocument>) : null))
    .catch(() => null);
  return apiDocument;
}

/** The API reference's sections (Swagger UI deep links to the tags whose operations accept one of these scopes). */
export function docsLinks(scopes: string[], doc: ApiDocument | null, catalogue: Scope[]): { label: string; href: string }[] {
  const tags: string[] = [];
  const add = (tag: string) => {
    if (!tags.includes(tag)) tags.push(tag);
  };
  if (doc?.paths) {
    for (const item of Object.values(doc.paths)) {
      for (const operation of Object.values(item)) {
        if (typeof operation !== 'object' || operation === null) continue;
        const needs = (operation.security ?? []).flatMap((requirement) => Object.values(requirement).flat());
        if (needs.some((scope) => scopes.includes(scope))) for (const tag of operation.tags ?? []) add(tag);
      }
    }
  } else {
    for (const value of scopes) for (const name of catalogue.find((s) => s.value === value)?.apis ?? []) add(name.replace(/ API$/, ''));
  }
  // Swagger UI's deep links: #/<tag>, spaces as %20.
  return tags.map((tag) => ({ label: tag, href: `/docs#/${encodeURIComponent(tag)}` }));
}

function useApiDocument(): ApiDocument | null | undefined {
  const [doc, setDoc] = useState<ApiDocument | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    void loadApiDocument().then((d) => live && setDoc(d));
    return () => {
      live = false;
    };
  }, []);
  return doc;
}

export function useRegionInfo(session?: Session): RegionInfo | null {
  const [info, setInfo] = useState<RegionInfo | null>(null);
  useEffect(() => {
    let live = true;
    void loadRegionInfo(session).then((i) => live && setInfo(i));
    return () => {
      live = false;
    };
  }, [session]);
  return info;
}

interface ConnectProps {
  clientId: string;
  /** The real secret, only in the one-time Success dialog; else null (a placeholder in the examples). */
  clientSecret: string | null;
  scopes: string[];
  catalogue: Scope[];
  session?: Session;
  /** Heading level of the section's title. */
  headingLevel?: 2 | 3;
}

/**
 * From secret to first call: the region, its token URL, the API base URL and the scopes, and
 * ready-to-run examples (curl, Node, Python, C#) with the real client ID.
 */
export function Connect({ clientId, clientSecret, scopes, catalogue, session, headingLevel = 2 }: ConnectProps) {
  const info = useRegionInfo(session);
  const doc = useApiDocument();
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  const links = doc === undefined ? [] : docsLinks(scopes, doc, catalogue);
  const describe = (value: string) => catalogue.find((s) => s.value === value)?.description ?? value;
  return (
    <section className="connect" aria-label="Use these credentials">
      <Heading className="section-title">Use these credentials</Heading>
      {info ? (
        <>
          <dl className="facts">
            <div>
              <dt>Region</dt>
              <dd data-testid="region">{info.region ?? 'this region'}</dd>
            </div>
            <div>
              <dt>API base URL</dt>
              <dd>
                <code>{info.publicUrl}</code>
              </dd>
            </div>
            <div>
              <dt>Scopes</dt>
              <dd>
                {scopes.map((s) => (
                  <code key={s} className="scope-code" title={describe(s)}>
                    {s}
                  </code>
                ))}
              </dd>
            </div>
          </dl>
          <CopyField label="Token URL" value={info.tokenUrl} copyLabel="Copy token URL" />
          <Snippets items={snippets({ publicUrl: info.publicUrl, tokenUrl: info.tokenUrl, clientId, clientSecret, scopes })} />
          {clientSecret === null ? (
            <p className="hint">
              Replace <code>YOUR_CLIENT_SECRET</code> with the client secret you saved when the credentials were created or the secret was last rotated.
            </p>
          ) : null}
          {links.length > 0 ? (
            <p className="docs-links">
              API reference:{' '}
              {links.map((l, i) => (
                <span key={l.href}>
                  {i > 0 ? ', ' : null}
                  <a href={l.href} target="_blank" rel="noopener">
                    {l.label}
                  </a>
                </span>
              ))}{' '}
              <span className="muted">(Authorize there with these credentials and tick the scopes {scopes.join(', ')})</span>
            </p>
          ) : null}
        </>
      ) : (
        <p className="loading" aria-busy="true">
          Loading the region’s addresses…
        </p>
      )}
    </section>
  );
}
