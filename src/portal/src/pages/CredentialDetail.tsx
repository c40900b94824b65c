import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, type Credential, type CredentialWithSecret, type Evaluation, type Scope, type Session, type UsageEvent, api } from '../api';
import { Connect } from '../components/Connect';
import { CopyField } from '../components/CopyField';
import { ArrowLeftIcon } from '../components/Icons';
import { ScopeChips } from '../components/ScopeChips';
import { UsageCharts } from '../components/UsageCharts';
import { Ago } from '../components/When';
import { formatDateTime, formatDuration, formatFull, graceRunning } from '../format';
import { href, navigate } from '../router';
import { CredentialFormDialog, DeleteDialog, EndGraceDialog, RotateDialog, SecretDialog } from './CredentialDialogs';
import { EVENT_TYPES, EventsTable } from './Events';

type DialogState =
  | { kind: 'edit' }
  | { kind: 'delete' }
  | { kind: 'rotate' }
  | { kind: 'end-grace' }
  | { kind: 'secret'; result: CredentialWithSecret }
  | null;

interface DetailProps {
  session: Session;
  id: string;
  onAccessLost(code: 'forbidden' | 'api_credentials_disabled'): void;
}

/** One credential (#/credentials/:id): how to use it, its rotation, what a token would carry, its usage and events. */
export function CredentialDetailPage({ session, id, onAccessLost }: DetailProps) {
  const [credential, setCredential] = useState<Credential | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [status, setStatus] = useState('');
  const [version, setVersion] = useState(0);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const triggerRef = useRef<HTMLElement | null>(null);

  const fatal = useCallback(
    (e: unknown): boolean => {
      if (e instanceof ApiError && e.status === 403 && (e.code === 'forbidden' || e.code === 'api_credentials_disabled')) {
        onAccessLost(e.code);
        return e.code === 'api_credentials_disabled';
      }
      return false;
    },
    [onAccessLost],
  );

  useEffect(() => {
    let live = true;
    api
      .credential(id)
      .then((c) => {
        if (!live) return;
        setCredential(c);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!live || fatal(e)) return;
        if (e instanceof ApiError && e.status === 401) return;
        setError({ status: e instanceof ApiError ? e.status : 0, message: e instanceof Error ? e.message : 'The credential could not be loaded.' });
      });
    return () => {
      live = false;
    };
  }, [id, version, fatal]);

  useEffect(() => {
    api
      .scopes()
      .then((r) => setScopes(r.items))
      .catch((e: unknown) => fatal(e));
  }, [fatal]);

  useEffect(() => {
    document.title = `${credential?.name ?? 'API credential'} · Admin Portal`;
  }, [credential?.name]);
  const loaded = credential !== null;
  useEffect(() => {
    if (loaded) headingRef.current?.focus();
  }, [loaded, id]);

  function open(state: DialogState, trigger: HTMLElement) {
    triggerRef.current = trigger;
    setStatus('');
    setDialog(state);
  }
  const reload = () => setVersion((v) => v + 1);

  const back = (
    <a className="back-link" href={href('credentials')}>
      <ArrowLeftIcon /> API Credentials
    </a>
  );

  if (error) {
    return (
      <section className="page" aria-labelledby="detail-title">
        {back}
        <h1 id="detail-title" className="detail-title">
          {error.status === 404 ? 'API credential not found' : 'The API credential could not be loaded'}
        </h1>
        <p className="notice notice-error" role="alert">
          {error.status === 404 ? 'It may have been deleted, or it is not one you can see.' : error.message}
        </p>
      </section>
    );
  }
  if (!credential) {
    return (
      <section className="page">
        {back}
        <p className="loading" aria-busy="true">
          Loading the API credential…
        </p>
      </section>
    );
  }

  const c = credential;
  const grace = graceRunning(c.previousSecretExpiresAt) ? c.previousSecretExpiresAt : null;
  return (
    <section className="page detail" aria-labelledby="detail-title">
      {back}
      <div className="page-header">
        <div>
          <h1 id="detail-title" ref={headingRef} tabIndex={-1}>
            {c.name}
          </h1>
          <p className="page-lede">
            {c.level === 'account' ? 'Account-level API credential' : 'User-level API credential'}
            {c.owner ? ` of ${c.owner.name || c.owner.email}` : ''}
            {c.level === 'account' || c.deprecated ? (
              <span className="badge badge-warning" title="Account-level API credentials are deprecated">
                Deprecated
              </span>
            ) : null}
          </p>
        </div>
        <div className="detail-actions">
          {c.canEdit ? (
            <button type="button" className="button button-secondary" onClick={(e) => open({ kind: 'edit' }, e.currentTarget)}>
              Edit
            </button>
          ) : null}
          {c.canRotate ? (
            <button type="button" className="button button-secondary" onClick={(e) => open({ kind: 'rotate' }, e.currentTarget)}>
              Rotate secret
            </button>
          ) : null}
          {c.canDelete ? (
            <button type="button" className="button button-ghost-danger" onClick={(e) => open({ kind: 'delete' }, e.currentTarget)}>
              Delete
            </button>
          ) : null}
        </div>
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">
        {status}
      </p>

      <div className="detail-grid">
        <section className="panel panel-pad" aria-labelledby="overview-title">
          <h2 id="overview-title" className="section-title">
            Overview
          </h2>
          <CopyField label="Client ID" value={c.clientId} copyLabel="Copy client ID" />
          <dl className="facts">
            <div>
              <dt>Scopes</dt>
              <dd>
                <ScopeChips values={c.scopes} catalogue={scopes} owner={c.name} visible={8} />
              </dd>
            </div>
            <div>
              <dt>Owner</dt>
              <dd>{c.owner ? `${c.owner.name || c.owner.email} (${c.owner.email})` : 'The account'}</dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd>
                <time dateTime={c.createdAt} title={formatFull(c.createdAt)}>
                  {formatDateTime(c.createdAt)}
                </time>
              </dd>
            </div>
            <div>
              <dt>Last used</dt>
              <dd>{c.lastUsedAt ? <Ago iso={c.lastUsedAt} /> : 'Never'}</dd>
            </div>
          </dl>
        </section>

        <section className="panel panel-pad" aria-labelledby="secret-title">
          <h2 id="secret-title" className="section-title">
            Client secret
          </h2>
          <p>
            {c.secretRotatedAt ? (
              <>
                Secret rotated <Ago iso={c.secretRotatedAt} /> (<time dateTime={c.secretRotatedAt}>{formatDateTime(c.secretRotatedAt)}</time>).
              </>
            ) : (
              'The secret has not been rotated since the credential was created.'
            )}
          </p>
          {grace ? (
            <div className="notice notice-warning grace-notice">
              <p>
                <strong>
                  Old secret valid until <time dateTime={grace}>{formatDateTime(grace)}</time>
                </strong>{' '}
                (<Ago iso={grace} />
                ). Programs can still use the previous secret until then.
              </p>
              {c.canRotate ? (
                <button type="button" className="button button-danger button-small" onClick={(e) => open({ kind: 'end-grace' }, e.currentTarget)}>
                  End grace period now
                </button>
              ) : null}
            </div>
          ) : null}
          <p className="hint">The secret is shown once, when it is created or rotated; it cannot be shown again.</p>
        </section>
      </div>

      <div className="panel panel-pad">
        <Connect clientId={c.clientId} clientSecret={null} scopes={c.scopes} catalogue={scopes} session={session} />
      </div>

      <EvaluatePanel credentialId={c.id} version={version} />

      <section className="panel panel-pad" aria-labelledby="usage-title">
        <h2 id="usage-title" className="section-title">
          Usage
        </h2>
        <UsageCharts load={(bucket, from) => api.usage(c.id, bucket, from)} refreshKey={`${c.id}:${version}`} />
      </section>

      <CredentialEvents credentialId={c.id} />

      {dialog?.kind === 'edit' ? (
        <CredentialFormDialog
          credential={c}
          scopes={scopes}
          onCancel={() => setDialog(null)}
          onFatal={fatal}
          returnFocus={triggerRef}
          onSaved={(updated) => {
            setDialog(null);
            setCredential(updated);
            setStatus(`API credential ${updated.name} saved`);
            reload();
          }}
        />
      ) : null}
      {dialog?.kind === 'rotate' ? (
        <RotateDialog credential={c} onCancel={() => setDialog(null)} onFatal={fatal} returnFocus={triggerRef} onRotated={(result) => setDialog({ kind: 'secret', result })} />
      ) : null}
      {dialog?.kind === 'secret' ? (
        <SecretDialog
          result={dialog.result}
          rotated
          scopes={scopes}
          session={session}
          returnFocus={triggerRef}
          onOk={() => {
            setDialog(null);
            setStatus(`New client secret generated for ${c.name}`);
            reload();
          }}
        />
      ) : null}
      {dialog?.kind === 'end-grace' ? (
        <EndGraceDialog
          credential={c}
          onCancel={() => setDialog(null)}
          onFatal={fatal}
          returnFocus={triggerRef}
          onEnded={(updated) => {
            setDialog(null);
            if (updated) setCredential(updated);
            setStatus('Grace period ended; only the current secret works');
            reload();
          }}
        />
      ) : null}
      {dialog?.kind === 'delete' ? (
        <DeleteDialog
          credential={c}
          onCancel={() => setDialog(null)}
          onFatal={fatal}
          returnFocus={triggerRef}
          onDeleted={() => {
            setDialog(null);
            navigate(href('credentials'));
          }}
        />
      ) : null}
    </section>
  );
}

/** Keycloak's "Evaluate": the claims a token of this credential would carry now, computed by the server (unsigned, no secret). */
function EvaluatePanel({ credentialId, version }: { credentialId: string; version: number }) {
  const [result, setResult] = useState<Evaluation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setResult(null);
    setError(null);
  }, [credentialId, version]);

  async function evaluate() {
    setBusy(true);
    setError(null);
    try {
      setResult(await api.evaluate(credentialId));
    } catch (e) {
      setResult(null);
      setError(e instanceof ApiError && e.status === 404 ? 'Evaluation is not available on this server.' : e instanceof Error ? e.message : 'The evaluation failed.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel panel-pad" aria-labelledby="evaluate-title">
      <div className="section-head">
        <h2 id="evaluate-title" className="section-title">
          Evaluate
        </h2>
        <button type="button" className="button button-secondary button-small" onClick={evaluate} disabled={busy}>
          {busy ? 'Evaluating…' : result ? 'Evaluate again' : 'Evaluate'}
        </button>
      </div>
      <p className="hint">The claims a token of this credential would carry now: every scope the owner’s license still allows, the lifetime and the audience. Nothing is signed and no secret is needed.</p>
      {error ? (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      ) : null}
      {result ? (
        <div className="evaluation" role="region" aria-label="Evaluation result">
          <p>
            A token would last <strong>{formatDuration(result.expiresIn)}</strong>
            {typeof result.claims.scope === 'string' ? (
              <>
                {' '}
                with the scopes <code>{result.claims.scope || '(none)'}</code>
              </>
            ) : null}
            .
          </p>
          <dl className="claims">
            {Object.entries(result.claims).map(([key, value]) => (
              <div key={key} className="claim">
                <dt>
                  <code>{key}</code>
                </dt>
                <dd>
                  <code>{typeof value === 'string' ? value : JSON.stringify(value)}</code>
                </dd>
              </div>
            ))}
          </dl>
        </div>
      ) : null}
    </section>
  );
}

function CredentialEvents({ credentialId }: { credentialId: string }) {
  const [items, setItems] = useState<UsageEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api
      .events({ credential: credentialId, limit: 10 })
      .then((page) => live && setItems(page.items))
      .catch((e: unknown) => {
        if (!live) return;
        setError(e instanceof ApiError && e.status === 404 ? 'Events are not available on this server.' : e instanceof Error ? e.message : 'The events could not be loaded.');
      });
    return () => {
      live = false;
    };
  }, [credentialId]);
  return (
    <section className="panel panel-pad" aria-labelledby="events-title">
      <div className="section-head">
        <h2 id="events-title" className="section-title">
          Recent events
        </h2>
        <a className="button button-secondary button-small" href={href('events', { credential: credentialId })}>
          All events
        </a>
      </div>
      <p className="hint">{EVENT_TYPES.map((t) => t.label).join(', ')}.</p>
      {error ? (
        <p className="notice notice-info" role="status">
          {error}
        </p>
      ) : items === null ? (
        <p className="loading" aria-busy="true">
          Loading events…
        </p>
      ) : items.length === 0 ? (
        <p className="muted">No events yet.</p>
      ) : (
        <EventsTable items={items} names={null} />
      )}
    </section>
  );
}
