import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, type AuditEvent, type Session, api } from '../api';
import { formatDateTime, formatFull } from '../format';

const PAGE = 50;

const ACTIONS: Record<string, { label: string; tone: string }> = {
  'credential.created': { label: 'Credential created', tone: 'success' },
  'credential.updated': { label: 'Credential updated', tone: 'info' },
  'credential.secret_rotated': { label: 'Secret rotated', tone: 'warning' },
  'credential.deleted': { label: 'Credential deleted', tone: 'danger' },
  'user.signed_in': { label: 'Signed in', tone: 'neutral' },
};

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.map((v) => show(v)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const PAIRS: [string, string][] = [
  ['from', 'to'],
  ['old', 'new'],
  ['before', 'after'],
];

/** Renders an event's changes whatever their exact shape: {field: {from, to}}, {field: value}, {added, removed}. */
function Changes({ changes }: { changes: AuditEvent['changes'] }) {
  if (!changes || typeof changes !== 'object' || Object.keys(changes).length === 0) return <span className="muted">—</span>;
  const rows: ReactNode[] = [];
  for (const [key, value] of Object.entries(changes)) {
    let text: ReactNode = show(value);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      const pair = PAIRS.find(([a, b]) => a in v || b in v);
      if (pair) {
        text = (
          <>
            <span className="change-old">{show(v[pair[0]])}</span>
            <span aria-label="changed to"> → </span>
            <span className="change-new">{show(v[pair[1]])}</span>
          </>
        );
      } else if ('added' in v || 'removed' in v) {
        text = (
          <>
            {Array.isArray(v.added) && v.added.length > 0 ? <span className="change-new">+ {show(v.added)}</span> : null}
            {Array.isArray(v.removed) && v.removed.length > 0 ? <span className="change-old">− {show(v.removed)}</span> : null}
          </>
        );
      }
    }
    rows.push(
      <div key={key} className="change">
        <dt>{key}</dt>
        <dd>{text}</dd>
      </div>,
    );
  }
  return <dl className="changes">{rows}</dl>;
}

export function AuditPage({ session, onAccessLost }: { session: Session; onAccessLost(code: 'forbidden' | 'api_credentials_disabled'): void }) {
  const [items, setItems] = useState<AuditEvent[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const load = useCallback(
    async (before?: string) => {
      setBusy(true);
      try {
        const page = await api.audit({ limit: PAGE, before });
        setItems((current) => (before && current ? [...current, ...page.items] : page.items));
        setNext(page.nextBefore ?? null);
        setError(null);
      } catch (e) {
        if (e instanceof ApiError && e.status === 403 && (e.code === 'forbidden' || e.code === 'api_credentials_disabled')) {
          onAccessLost(e.code);
          setError(e.message);
        } else if (!(e instanceof ApiError && e.status === 401)) setError(e instanceof Error ? e.message : 'The audit log could not be loaded.');
      } finally {
        setBusy(false);
      }
    },
    [onAccessLost],
  );

  useEffect(() => {
    document.title = 'Audit log · Admin Portal';
    headingRef.current?.focus();
    void load();
  }, [load]);

  return (
    <section aria-labelledby="audit-title" className="page">
      <div className="page-header">
        <div>
          <h1 id="audit-title" ref={headingRef} tabIndex={-1}>
            Audit log
          </h1>
          <p className="page-lede">Every creation, edit, secret rotation and deletion of API credentials in {session.account.name}, and every sign-in. Secrets are never recorded.</p>
        </div>
        <button type="button" className="button button-secondary" onClick={() => void load()} disabled={busy}>
          Refresh
        </button>
      </div>
      {error ? (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      ) : null}
      {items === null ? (
        error ? null : (
          <p className="loading" aria-busy="true">
            Loading the audit log…
          </p>
        )
      ) : items.length === 0 ? (
        <div className="empty-state">
          <p className="empty-title">Nothing has happened yet.</p>
        </div>
      ) : (
        <div className="panel">
          <div className="table-wrap">
            <table className="table table-audit">
              <caption className="visually-hidden">Audit log events, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Changes</th>
                </tr>
              </thead>
              <tbody>
                {items.map((event) => {
                  const action = ACTIONS[event.action];
                  return (
                    <tr key={event.id} data-action={event.action}>
                      <td className="cell-date">
                        <time dateTime={event.at} title={formatFull(event.at)}>
                          {formatDateTime(event.at)}
                        </time>
                      </td>
                      <td className="cell-actor">{event.actor.email ?? <span className="muted">System</span>}</td>
                      <td>
                        <span className={`badge badge-${action?.tone ?? 'neutral'}`}>{action?.label ?? event.action}</span>
                        <code className="action-code">{event.action}</code>
                      </td>
                      <td className="cell-target">
                        <span className={event.target.type === 'user' ? 'nowrap' : undefined}>{event.target.name ?? event.target.id ?? '—'}</span>
                        {event.target.type && event.target.type !== 'user' ? <span className="muted target-type"> {event.target.type}</span> : null}
                      </td>
                      <td>
                        <Changes changes={event.changes} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {next ? (
            <div className="load-more">
              <button type="button" className="button button-secondary" onClick={() => void load(next)} disabled={busy}>
                {busy ? 'Loading…' : 'Load older events'}
              </button>
            </div>
          ) : null}
        </div>
      )}
    </section>
  );
}
