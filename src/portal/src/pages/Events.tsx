import { useEffect, useRef, useState } from 'react';
import { ApiError, type Credential, type Session, type UsageEvent, api, csvUrl, eventsParams } from '../api';
import { DateRange } from '../components/DateRange';
import { DownloadIcon } from '../components/Icons';
import { formatDateTime, formatFull } from '../format';
import { href, navigate } from '../router';

export const EVENT_TYPES = [
  { value: 'token.issued', label: 'Tokens issued', tone: 'success' },
  { value: 'client_auth.failed', label: 'Client authentication failed', tone: 'danger' },
  { value: 'api.rate_limited', label: 'Rate limited', tone: 'warning' },
  { value: 'token.revoked', label: 'Token revoked', tone: 'neutral' },
] as const;

const REASONS: Record<string, string> = {
  wrong_secret: 'wrong secret',
  invalid_secret: 'wrong secret',
  disabled: 'disabled',
  scope: 'scope not allowed',
  invalid_scope: 'scope not allowed',
};

const PAGE = 50;

/** Events as a table: time, type, credential (where several show), details. */
export function EventsTable({ items, names }: { items: UsageEvent[]; names: Map<string, string> | null }) {
  return (
    <div className="table-wrap">
      <table className="table table-events">
        <caption className="visually-hidden">Events, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Event</th>
            {names ? <th scope="col">Credential</th> : null}
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => {
            const type = EVENT_TYPES.find((t) => t.value === e.type);
            const details = [
              e.count !== undefined ? `${e.count} token${e.count === 1 ? '' : 's'}` : null,
              e.reason ? `reason: ${REASONS[e.reason] ?? e.reason}` : null,
              e.ip ? `from ${e.ip}` : null,
            ].filter(Boolean);
            return (
              <tr key={e.id} data-event-type={e.type}>
                <td className="cell-date" data-label="Time">
                  <time dateTime={e.at} title={formatFull(e.at)}>
                    {formatDateTime(e.at)}
                  </time>
                </td>
                <td data-label="Event">
                  <span className={`badge badge-${type?.tone ?? 'neutral'}`}>{type?.label ?? e.type}</span>
                </td>
                {names ? (
                  <td data-label="Credential">
                    <a href={href(`credentials/${encodeURIComponent(e.credentialId)}`)}>{names.get(e.credentialId) ?? e.clientId}</a>
                  </td>
                ) : null}
                <td data-label="Details">{details.length > 0 ? details.join(' · ') : <span className="muted">—</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

interface EventsPageProps {
  session: Session;
  params: URLSearchParams;
  onAccessLost(code: 'forbidden' | 'api_credentials_disabled'): void;
}

/** Events of the account (an admin) or of the user's own credentials (a supervisor): filter by credential, type and time; CSV export. */
export function EventsPage({ session, params, onAccessLost }: EventsPageProps) {
  const credential = params.get('credential') ?? '';
  const type = params.get('type') ?? '';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const [items, setItems] = useState<UsageEvent[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [credentials, setCredentials] = useState<Credential[]>([]);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const isAdmin = session.user.license === 'admin';

  const query = { credential: credential || undefined, type: type || undefined, from: from || undefined, to: to || undefined };
  const key = JSON.stringify(query);

  const set = (change: Record<string, string>) => navigate(href('events', { credential, type, from, to, ...change }), { replace: true });

  async function load(cursor?: string) {
    setBusy(true);
    try {
      const page = await api.events({ ...query, limit: PAGE, cursor });
      setItems((current) => (cursor && current ? [...current, ...page.items] : page.items));
      setNext(page.nextCursor ?? null);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 403 && (e.code === 'forbidden' || e.code === 'api_credentials_disabled')) onAccessLost(e.code);
      if (!cursor) setItems([]);
      setError(e instanceof ApiError && e.status === 404 && e.code === 'not_found' && !credential ? 'Events are not available on this server.' : e instanceof Error ? e.message : 'The events could not be loaded.');
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    void load();
    // Loads again when the filters (the URL) change.
  }, [key]);

  useEffect(() => {
    document.title = 'Events · Admin Portal';
    headingRef.current?.focus();
    api
      .credentials({ owner: isAdmin ? 'all' : 'me', limit: 200 })
      .catch(() => api.credentials({ owner: isAdmin ? 'all' : 'me' }))
      .then((page) => setCredentials(page.items))
      .catch(() => undefined);
  }, [isAdmin]);

  const names = new Map(credentials.map((c) => [c.id, c.name]));
  return (
    <section aria-labelledby="events-page-title" className="page">
      <div className="page-header">
        <div>
          <h1 id="events-page-title" ref={headingRef} tabIndex={-1}>
            Events
          </h1>
          <p className="page-lede">
            Tokens issued (counted per credential per minute), failed client authentications with their reason and source address, rate limiting and revoked tokens
            {isAdmin ? ` for every credential of ${session.account.name}.` : ' for your credentials.'}
          </p>
        </div>
        <div className="header-actions">
          <a className="button button-secondary" href={csvUrl('/events', eventsParams(query))} download>
            <DownloadIcon /> Export CSV
          </a>
          <button type="button" className="button button-secondary" onClick={() => void load()} disabled={busy}>
            Refresh
          </button>
        </div>
      </div>
      <div className="panel">
        <div className="filters" role="search" aria-label="Filter events">
          <div className="filter">
            <label htmlFor="events-credential">Credential</label>
            <select id="events-credential" className="input" value={credential} onChange={(e) => set({ credential: e.target.value })}>
              <option value="">All credentials</option>
              {credentials.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
              {credential && !names.has(credential) ? <option value={credential}>{credential}</option> : null}
            </select>
          </div>
          <div className="filter">
            <label htmlFor="events-type">Type</label>
            <select id="events-type" className="input" value={type} onChange={(e) => set({ type: e.target.value })}>
              <option value="">All types</option>
              {EVENT_TYPES.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          </div>
          <DateRange idPrefix="events" from={from} to={to} onChange={(r) => set(r)} />
        </div>
        {error ? (
          <p className="notice notice-error list-error" role="alert">
            {error}
          </p>
        ) : null}
        {items === null ? (
          <p className="loading" aria-busy="true">
            Loading events…
          </p>
        ) : items.length === 0 ? (
          error ? null : (
            <div className="empty-state">
              <p className="empty-title">No events match.</p>
            </div>
          )
        ) : (
          <EventsTable items={items} names={names} />
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
