/**
 * Version negotiation by media type: `application/vnd.newvoicemedia.v<N>+json`. Version 1 is also
 * what `application/json`, `*\/*`, `application/*` and no Accept header mean.
 */
export const SUPPORTED_VERSIONS = [1] as const;
export type ApiVersion = (typeof SUPPORTED_VERSIONS)[number];

export const mediaTypeOf = (version: ApiVersion) => `application/vnd.newvoicemedia.v${version}+json`;

export type Negotiation = { ok: true; version: ApiVersion } | { ok: false; message: string };

const VENDOR = /^application\/vnd\.newvoicemedia\.v(\d+)\+json$/;

const V1: Negotiation = { ok: true, version: 1 };
/** The Accept values nearly every client sends, answered without parsing. */
const COMMON_V1 = new Set(['application/vnd.newvoicemedia.v1+json', 'application/json', '*/*']);

export function negotiateVersion(accept: string | undefined): Negotiation {
  if (accept === undefined || COMMON_V1.has(accept)) return V1;
  if (accept.trim() === '') return V1;
  const ranges = accept.split(',').map((part) => {
    const [type = '', ...params] = part.trim().split(';');
    const q = params.map((x) => x.trim()).find((x) => x.startsWith('q='));
    return { type: type.trim().toLowerCase(), q: q ? Number(q.slice(2)) : 1 };
  });
  const acceptable = ranges.filter((r) => !(r.q === 0)).sort((a, b) => b.q - a.q);
  const asked: string[] = [];
  for (const range of acceptable) {
    const vendor = VENDOR.exec(range.type);
    if (vendor) {
      const version = Number(vendor[1]);
      if ((SUPPORTED_VERSIONS as readonly number[]).includes(version)) return { ok: true, version: version as ApiVersion };
      asked.push(`v${version}`);
      continue;
    }
    if (range.type === 'application/json' || range.type === '*/*' || range.type === 'application/*') return { ok: true, version: 1 };
    asked.push(range.type);
  }
  return {
    ok: false,
    message: `Not acceptable: ${asked.length ? asked.join(', ') : 'no media type'}; this API serves ${SUPPORTED_VERSIONS.map((v) => mediaTypeOf(v)).join(', ')} (or application/json)`,
  };
}
