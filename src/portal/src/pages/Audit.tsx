import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, type AuditEvent, type AuditQuery, type Credential, type Session, api, auditParams, csvUrl } from '../api';
import { DateRange } from '../components/DateRange';
import { DownloadIcon } from '../components/Icons';
import { formatDateTime, formatFull } from '../format';
import { href, navigate } from '../router';

const PAGE = 50;

const ACTIONS: Record<string, { label: string; tone: string }> = {
  'credential.created': { label: 'Credential created', tone: 'success' },
  'credential.updated': { label: 'Credential updated', tone: 'info' },
  'credential.secret_rotated': { label: 'Secret rotated', tone: 'warning' },
  'credential.grace_ended': { label: 'Grace period ended', tone: 'warning' },
  'credential.deleted': { label: 'Credential deleted', tone: 'danger' },
  'user.signed_in': { label: 'Signed in', tone: 'neutral' },
  'user.sign_in_failed': { label: 'Sign-in failed', tone: 'danger' },
};

/** Sign-ins, successful or not: what "Hide sign-ins" leaves out. */
const isSignIn = (action: string) => action.startsWith('user.sign');

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

interface AuditPageProps {
  session: Session;
  params: URLSearchParams;
  onAccessLost(code: 'forbidden' | 'api_credentials_disabled'): void;
}

/** The audit log (admins): filters (action, actor, credential, time range, hide sign-ins) kept in the URL, CSV export, paging. */
export function AuditPage({ session, params, onAccessLost }: AuditPageProps) {
  const action = params.get('action') ?? '';
  const actor = params.get('actor') ?? '';
  const credential = params.get('credential') ?? '';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const hideSignIns = params.get('hide_sign_ins') === '1';
  const [items, setItems] = useState<AuditEvent[] | null>(null);
  const [next, setNext] = useState<{ cursor?: string; before?: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [actorText, setActorText] = useState(actor);
  const [credentials, setCredentials] = useState<Credential[]>([]);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const set = useCallback(
    (change: Record<string, string>) => {
      const current = { action, actor, credential, from, to, hide_sign_ins: hideSignIns ? '1' : '' };
      navigate(href('audit', { ...current, ...change }), { replace: true });
    },
    [action, actor, credential, from, to, hideSignIns],
  );

  useEffect(() => setActorText(actor), [actor]);
  useEffect(() => {
    if (actorText.trim() === actor) return;
    const timer = window.setTimeout(() => set({ actor: actorText.trim() }), 400);
    return () => window.clearTimeout(timer);
  }, [actorText, actor, set]);

  const query: AuditQuery = { action: action || undefined, actor: actor || undefined, credential: credential || undefined, from: from || undefined, to: to || undefined };
  const key = JSON.stringify(query);

  const load = useCallback(
    async (after?: { cursor?: string; before?: string }) => {
      setBusy(true);
      try {
        let page = await api.audit({ ...JSON.parse(key), limit: PAGE, ...after });
        let collected = page.items;
        // Hiding sign-ins may leave a page nearly empty: read on a little (bounded).
        for (let extra = 0; hideSignIns && extra < 3 && collected.filter((e) => !isSignIn(e.action)).length < PAGE / 2; extra++) {
          const more = page.nextCursor ? { cursor: page.nextCursor } : page.nextBefore ? { before: page.nextBefore } : null;
          if (!more) break;
          page = await api.audit({ ...JSON.parse(key), limit: PAGE, ...more });
          collected = [...collected, ...page.items];
        }
        setItems((current) => (after && current ? [...current, ...collected] : collected));
        setNext(page.nextCursor ? { cursor: page.nextCursor } : page.nextBefore ? { before: page.nextBefore } : null);
        setError(null);
      } catch (e) {
        if (e instanceof ApiError && e.status === 403 && (e.code === 'forbidden' || e.code === 'api_credentials_disabled')) {
          onAccessLost(e.code);
          setError(e.message);
        } else if (!(e instanceof ApiError && e.status === 401)) setError(e instanceof Error ? e.message : 'The audit log could not be loaded.');
        if (!after) setItems((current) => current ?? []);
      } finally {
        setBusy(false);
      }
    },
    [key, hideSignIns, onAccessLost],
  );

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    document.title = 'Audit log · Admin Portal';
    headingRef.current?.focus();
    api
      .credentials({ owner: 'all', limit: 200 })
      .catch(() => api.credentials({ owner: 'all' }))
      .then((page) => setCredentials(page.items))
      .catch(() => undefined);
  }, []);

  const shown = (items ?? []).filter((e) => !(hideSignIns && isSignIn(e.action)));
  const names = new Map(credentials.map((c) => [c.id, c.name]));
  const filtered = Boolean(action || actor || credential || from || to || hideSignIns);

  return (
    <section aria-labelledby="audit-title" className="page">
      <div className="page-header">
        <div>
          <h1 id="audit-title" ref={headingRef} tabIndex={-1}>
            Audit log
          </h1>
          <p className="page-lede">Every creation, edit, secret rotation and deletion of API credentials in {session.account.name}, and every sign-in, successful or not. Secrets and passwords are never recorded.</p>
        </div>
        <div className="header-actions">
          <a className="button button-secondary" href={csvUrl('/audit', auditParams(query))} download>
            <DownloadIcon /> Export CSV
          </a>
          <button type="button" className="button button-secondary" onClick={() => void load()} disabled={busy}>
            Refresh
          </button>
        </div>
      </div>
      <div className="panel">
        <div className="filters" role="search" aria-label="Filter the audit log">
          <div className="filter">
            <label htmlFor="audit-action">Action</label>
            <select id="audit-action" className="input" value={action} onChange={(e) => set({ action: e.target.value })}>
              <option value="">All actions</option>
              {Object.entries(ACTIONS).map(([value, a]) => (
                <option key={value} value={value}>
                  {a.label}
                </option>
              ))}
            </select>
          </div>
          <div className="filter">
            <label htmlFor="audit-actor">Actor (email)</label>
            <input id="audit-actor" className="input" type="search" autoComplete="off" spellCheck={false} value={actorText} onChange={(e) => setActorText(e.target.value)} />
          </div>
          <div className="filter">
            <label htmlFor="audit-credential">Credential</label>
            <select id="audit-credential" className="input" value={credential} onChange={(e) => set({ credential: e.target.value })}>
              <option value="">All credentials</option>
              {credentials.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
              {credential && !names.has(credential) ? <option value={credential}>{credential}</option> : null}
            </select>
          </div>
          <DateRange idPrefix="audit" from={from} to={to} onChange={(r) => set(r)} />
          <label className="checkbox filter-check">
            <input type="checkbox" checked={hideSignIns} onChange={(e) => set({ hide_sign_ins: e.target.checked ? '1' : '' })} />
            Hide sign-ins
          </label>
        </div>
        {error ? (
          <p className="notice notice-error list-error" role="alert">
            {error}
          </p>
        ) : null}
        {items === null ? (
          error ? null : (
            <p className="loading" aria-busy="true">
              Loading the audit log…
            </p>
          )
        ) : shown.length === 0 ? (
          error ? null : (
            <div className="empty-state">
              <p className="empty-title">{filtered ? 'No events match these filters.' : 'Nothing has happened yet.'}</p>
            </div>
          )
        ) : (
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
                {shown.map((event) => {
                  const meta = ACTIONS[event.action];
                  return (
                    <tr key={event.id} data-action={event.action}>
                      <td className="cell-date" data-label="Time">
                        <time dateTime={event.at} title={formatFull(event.at)}>
                          {formatDateTime(event.at)}
                        </time>
                      </td>
                      <td className="cell-actor" data-label="Actor">
                        {event.actor.email ?? <span className="muted">System</span>}
                      </td>
                      <td data-label="Action">
                        <div>
                          <span className={`badge badge-${meta?.tone ?? 'neutral'}`}>{meta?.label ?? event.action}</span>
                          <code className="action-code">{event.action}</code>
                        </div>
                      </td>
                      <td className="cell-target" data-label="Target">
                        <div>
                          <span className={event.target.type === 'user' ? 'nowrap' : undefined}>{event.target.name ?? event.target.id ?? '—'}</span>
                          {event.target.type && event.target.type !== 'user' ? <span className="muted target-type"> {event.target.type}</span> : null}
                        </div>
                      </td>
                      <td data-label="Changes">
                        <Changes changes={event.changes} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {next ? (
          <div className="load-more">
            <button type="button" className="button button-secondary" onClick={() => void load(next)} disabled={busy}>
              {busy ? 'Loading…' : 'Load older events'}
            </button>
          </div>
        ) : null}
      </div>
    </section>
  );
}
