import { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, type Credential, type CredentialWithSecret, type Scope, type Session, type Sort, api } from '../api';
import { ActionsMenu, type MenuAction } from '../components/ActionsMenu';
import { copyText } from '../components/CopyField';
import { CheckIcon, CloseIcon, CopyIcon } from '../components/Icons';
import { ScopeChips } from '../components/ScopeChips';
import { Ago, When } from '../components/When';
import { formatDateTime, formatFull, graceRunning } from '../format';
import { href, navigate } from '../router';
import { CredentialFormDialog, DeleteDialog, EndGraceDialog, RotateDialog, SecretDialog } from './CredentialDialogs';

type DialogState =
  | { kind: 'create' }
  | { kind: 'edit'; credential: Credential }
  | { kind: 'delete'; credential: Credential }
  | { kind: 'rotate'; credential: Credential }
  | { kind: 'end-grace'; credential: Credential }
  | { kind: 'secret'; result: CredentialWithSecret; rotated: boolean }
  | null;

type Tab = 'users' | 'accounts';

export const SORTS: { value: Sort; label: string }[] = [
  { value: '-created', label: 'Newest first' },
  { value: 'created', label: 'Oldest first' },
  { value: 'name', label: 'Name A–Z' },
  { value: '-name', label: 'Name Z–A' },
  { value: '-last_used', label: 'Recently used' },
  { value: 'last_used', label: 'Least recently used' },
];

export const UNUSED: { value: string; label: string }[] = [
  { value: '', label: 'Any' },
  { value: '0', label: 'Never used or not used today' },
  { value: '7', label: 'Not used for 7 days (or never)' },
  { value: '30', label: 'Not used for 30 days (or never)' },
  { value: '90', label: 'Not used for 90 days (or never)' },
];

const SEARCH_DELAY_MS = 300;

/** The list's view, kept in the URL's hash query: a reload or a shared link shows the same view. */
interface View {
  owner: 'all' | 'me';
  tab: Tab;
  q: string;
  scope: string;
  unused: string;
  sort: Sort;
  cursor: string;
}

function readView(params: URLSearchParams): View {
  const sort = params.get('sort') as Sort | null;
  const unused = params.get('unused_days') ?? '';
  return {
    owner: params.get('owner') === 'me' ? 'me' : 'all',
    tab: params.get('level') === 'account' ? 'accounts' : 'users',
    q: params.get('q') ?? '',
    scope: params.get('scope') ?? '',
    unused: /^\d{1,5}$/.test(unused) ? unused : '',
    sort: sort && SORTS.some((s) => s.value === sort) ? sort : '-created',
    cursor: params.get('cursor') ?? '',
  };
}

function viewHref(view: View): string {
  return href('credentials', {
    owner: view.owner === 'me' ? 'me' : undefined,
    level: view.tab === 'accounts' ? 'account' : undefined,
    q: view.q || undefined,
    scope: view.scope || undefined,
    unused_days: view.unused || undefined,
    sort: view.sort === '-created' ? undefined : view.sort,
    cursor: view.cursor || undefined,
  });
}

interface CredentialsPageProps {
  session: Session;
  params: URLSearchParams;
  /** A 403 that means the area is gone for this user (license or switch changed): the app shows the right page. */
  onAccessLost(code: 'forbidden' | 'api_credentials_disabled'): void;
}

export function CredentialsPage({ session, params, onAccessLost }: CredentialsPageProps) {
  const isAdmin = session.user.license === 'admin';
  const view = readView(params);
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [items, setItems] = useState<Credential[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [accountCount, setAccountCount] = useState<{ n: number; more: boolean }>({ n: 0, more: false });
  const [loadError, setLoadError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [status, setStatus] = useState('');
  const [highlight, setHighlight] = useState<string | null>(null);
  const [search, setSearch] = useState(view.q);
  /** Cursors of the pages before this one, for "Previous" (in memory: a reloaded page 3 goes back to page 1). */
  const [previous, setPrevious] = useState<string[]>([]);
  const [reloads, setReloads] = useState(0);
  const createRef = useRef<HTMLButtonElement>(null);
  const triggerRef = useRef<HTMLElement | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const usersTabRef = useRef<HTMLButtonElement>(null);
  const accountsTabRef = useRef<HTMLButtonElement>(null);
  const viewRef = useRef(view);
  viewRef.current = view;

  const go = useCallback((change: Partial<View>, options: { replace?: boolean; keepCursor?: boolean } = {}) => {
    const next: View = { ...viewRef.current, ...change };
    if (!options.keepCursor && !('cursor' in change)) {
      next.cursor = '';
      setPrevious([]);
    }
    navigate(viewHref(next), { replace: options.replace });
  }, []);

  // The search box follows the URL (Back, a shared link) and updates it after a pause in typing.
  useEffect(() => setSearch(view.q), [view.q]);
  useEffect(() => {
    if (search.trim() === viewRef.current.q) return;
    const timer = window.setTimeout(() => go({ q: search.trim() }, { replace: true }), SEARCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [search, go]);

  /**
   * A 403 of the area: the app re-reads what the user may do (the switch or the license may have
   * changed). Only "api_credentials_disabled" is certain to end the area; a "forbidden" on one
   * credential is shown where it happened.
   */
  const fatal = useCallback(
    (error: unknown): boolean => {
      if (error instanceof ApiError && error.status === 403 && (error.code === 'forbidden' || error.code === 'api_credentials_disabled')) {
        onAccessLost(error.code);
        return error.code === 'api_credentials_disabled';
      }
      return false;
    },
    [onAccessLost],
  );

  const { owner, tab, q, scope, unused, sort, cursor } = view;
  const query = useMemo(
    () => ({
      owner: tab === 'accounts' ? ('all' as const) : isAdmin ? owner : ('me' as const),
      level: tab === 'accounts' ? ('account' as const) : ('user' as const),
      q: q || undefined,
      scope: scope || undefined,
      unusedDays: unused ? Number(unused) : undefined,
      sort,
      cursor: cursor || undefined,
    }),
    [isAdmin, owner, tab, q, scope, unused, sort, cursor],
  );

  const load = useCallback(() => setReloads((n) => n + 1), []);

  // Whether account-level credentials exist (the Users/Accounts tabs): once, and after each change.
  useEffect(() => {
    if (!isAdmin) return;
    let live = true;
    api
      .credentials({ owner: 'all', level: 'account' })
      .then((acc) => live && setAccountCount({ n: acc.items.length, more: Boolean(acc.nextCursor) }))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [isAdmin, reloads]);

  useEffect(() => {
    let live = true;
    setLoading(true);
    api
      .credentials(query)
      .then((page) => {
        if (!live) return;
        setItems(page.items);
        setNextCursor(page.nextCursor ?? null);
        setLoadError(null);
      })
      .catch((error: unknown) => {
        if (!live) return;
        if (fatal(error)) return;
        if (error instanceof ApiError && error.status === 401) return;
        if (error instanceof ApiError && error.code === 'invalid_request' && /cursor/i.test(error.message) && query.cursor) {
          // A cursor from an old link or another query: start again at the first page.
          go({ cursor: '' }, { replace: true });
          return;
        }
        setItems((current) => current ?? []);
        setLoadError(error instanceof Error ? error.message : 'The credentials could not be loaded.');
      })
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [query, fatal, go, reloads]);

  useEffect(() => {
    document.title = 'API Credentials · Admin Portal';
    headingRef.current?.focus();
    api
      .scopes()
      .then((r) => setScopes(r.items))
      .catch((error: unknown) => {
        fatal(error);
      });
  }, [fatal]);

  const showTabs = isAdmin && (accountCount.n > 0 || tab === 'accounts');
  const activeTab: Tab = showTabs ? tab : 'users';
  const filtered = Boolean(q || scope || unused);

  function open(state: DialogState, trigger?: HTMLElement | null) {
    triggerRef.current = trigger ?? (document.activeElement as HTMLElement | null);
    setStatus('');
    setDialog(state);
  }

  function setTab(next: Tab) {
    go({ tab: next });
  }

  function onTabKey(event: KeyboardEvent<HTMLButtonElement>) {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft' && event.key !== 'Home' && event.key !== 'End') return;
    event.preventDefault();
    const next: Tab = event.key === 'Home' ? 'users' : event.key === 'End' ? 'accounts' : activeTab === 'users' ? 'accounts' : 'users';
    setTab(next);
    (next === 'users' ? usersTabRef : accountsTabRef).current?.focus();
  }

  const describeScope = (value: string) => scopes.find((s) => s.value === value)?.description ?? value;
  const chips: { key: keyof View; label: string }[] = [];
  if (q) chips.push({ key: 'q', label: `Search: “${q}”` });
  if (scope) chips.push({ key: 'scope', label: `Scope: ${describeScope(scope)}` });
  if (unused) chips.push({ key: 'unused', label: UNUSED.find((u) => u.value === unused)?.label ?? `Not used for ${unused} days (or never)` });
  const pageNumber = cursor ? (previous.length > 0 ? previous.length + 1 : null) : 1;

  return (
    <section aria-labelledby="credentials-title" className="page">
      <div className="page-header">
        <div>
          <h1 id="credentials-title" ref={headingRef} tabIndex={-1}>
            API Credentials
          </h1>
          <p className="page-lede">
            API credentials (a client ID and a client secret) let your programs get bearer access tokens for the Contact Center APIs.
            {isAdmin ? ' As an admin you see every credential of the account.' : ' You see the credentials you created.'}
          </p>
        </div>
        <button ref={createRef} type="button" className="button button-primary" onClick={(e) => open({ kind: 'create' }, e.currentTarget)}>
          <span aria-hidden="true" className="plus">
            +
          </span>
          Create New
        </button>
      </div>

      <p className="visually-hidden" role="status" aria-live="polite">
        {status}
      </p>
      {status ? (
        <div className="toast" aria-hidden="true">
          {status}
        </div>
      ) : null}

      {showTabs ? (
        <div role="tablist" aria-label="Credential level" className="tabs">
          <button
            ref={usersTabRef}
            type="button"
            role="tab"
            id="tab-users"
            aria-selected={activeTab === 'users'}
            aria-controls="panel-credentials"
            tabIndex={activeTab === 'users' ? 0 : -1}
            className="tab"
            onClick={() => setTab('users')}
            onKeyDown={onTabKey}
          >
            Users
          </button>
          <button
            ref={accountsTabRef}
            type="button"
            role="tab"
            id="tab-accounts"
            aria-selected={activeTab === 'accounts'}
            aria-controls="panel-credentials"
            tabIndex={activeTab === 'accounts' ? 0 : -1}
            className="tab"
            onClick={() => setTab('accounts')}
            onKeyDown={onTabKey}
          >
            Accounts{' '}
            <span className="tab-count">
              {accountCount.n}
              {accountCount.more ? '+' : ''}
            </span>
          </button>
        </div>
      ) : null}

      <div id="panel-credentials" {...(showTabs ? { role: 'tabpanel', 'aria-labelledby': activeTab === 'users' ? 'tab-users' : 'tab-accounts' } : {})} className="panel">
        <div className="toolbar">
          {isAdmin && activeTab === 'users' ? (
            <fieldset className="segmented">
              <legend className="visually-hidden">Show</legend>
              {(
                [
                  ['all', 'All Credentials'],
                  ['me', 'My Credentials'],
                ] as const
              ).map(([value, label]) => (
                <label key={value} className={`segment${owner === value ? ' is-checked' : ''}`}>
                  <input type="radio" name="owner-filter" value={value} checked={owner === value} onChange={() => go({ owner: value })} />
                  {label}
                </label>
              ))}
            </fieldset>
          ) : null}
          {activeTab === 'accounts' ? (
            <p className="notice notice-warning deprecated-notice">
              <strong>Account-level API credentials are deprecated.</strong> Existing ones keep working; you can view, edit and delete them, but new account-level credentials
              cannot be created. Create user-level credentials with <em>Create New</em> instead.
            </p>
          ) : null}
        </div>
        <div className="filters" role="search" aria-label="Search and filter credentials">
          <div className="filter filter-search">
            <label htmlFor="credential-search">Search</label>
            <input
              id="credential-search"
              className="input"
              type="search"
              placeholder="Name, client ID or owner email"
              autoComplete="off"
              spellCheck={false}
              value={search}
              maxLength={200}
              onChange={(e) => setSearch(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') go({ q: search.trim() }, { replace: true });
              }}
            />
          </div>
          <div className="filter">
            <label htmlFor="credential-scope">Scope</label>
            <select id="credential-scope" className="input" value={scope} onChange={(e) => go({ scope: e.target.value })}>
              <option value="">Any scope</option>
              {scopes.map((s) => (
                <option key={s.value} value={s.value}>
                  {s.description}
                </option>
              ))}
              {scope && !scopes.some((s) => s.value === scope) ? <option value={scope}>{scope}</option> : null}
            </select>
          </div>
          <div className="filter">
            <label htmlFor="credential-unused">Last used</label>
            <select id="credential-unused" className="input" value={unused} onChange={(e) => go({ unused: e.target.value })}>
              {UNUSED.map((u) => (
                <option key={u.value} value={u.value}>
                  {u.label}
                </option>
              ))}
              {unused && !UNUSED.some((u) => u.value === unused) ? <option value={unused}>Not used for {unused} days (or never)</option> : null}
            </select>
          </div>
          <div className="filter">
            <label htmlFor="credential-sort">Sort by</label>
            <select id="credential-sort" className="input" value={sort} onChange={(e) => go({ sort: e.target.value as Sort })}>
              {SORTS.map((s) => (
                <option key={s.value} value={s.value}>
                  {s.label}
                </option>
              ))}
            </select>
          </div>
        </div>
        {chips.length > 0 ? (
          <ul className="filter-chips" aria-label="Active filters">
            {chips.map((chip) => (
              <li key={chip.key} className="filter-chip">
                <span>{chip.label}</span>
                <button
                  type="button"
                  className="chip-remove"
                  aria-label={`Remove filter ${chip.label}`}
                  onClick={() => {
                    if (chip.key === 'q') setSearch('');
                    go({ [chip.key]: '' });
                  }}
                >
                  <CloseIcon />
                </button>
              </li>
            ))}
            <li>
              <button
                type="button"
                className="link-button"
                onClick={() => {
                  setSearch('');
                  go({ q: '', scope: '', unused: '' });
                }}
              >
                Clear filters
              </button>
            </li>
          </ul>
        ) : null}

        {loadError ? (
          <div className="notice notice-error list-error" role="alert">
            {loadError}{' '}
            <button type="button" className="link-button" onClick={load}>
              Try again
            </button>
          </div>
        ) : null}

        {items === null ? (
          <p className="loading" aria-busy="true">
            Loading credentials…
          </p>
        ) : items.length === 0 ? (
          loadError ? null : (
            <div className="empty-state">
              {filtered ? (
                <>
                  <p className="empty-title">No credentials match these filters.</p>
                  <p>Change the search or remove a filter.</p>
                </>
              ) : (
                <>
                  <p className="empty-title">{owner === 'me' || !isAdmin ? 'You have no API credentials yet.' : 'This account has no API credentials yet.'}</p>
                  <p>Click Create New to create API credentials for a program or integration.</p>
                </>
              )}
            </div>
          )
        ) : (
          <div className="table-wrap" aria-busy={loading || undefined}>
            <table className="table table-credentials">
              <caption className="visually-hidden">{activeTab === 'accounts' ? 'Account-level API credentials' : 'API credentials'}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Client ID</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Level</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((c) => (
                  <CredentialRow
                    key={c.id}
                    credential={c}
                    scopes={scopes}
                    selfId={session.user.id}
                    highlighted={highlight === c.id}
                    onEdit={(trigger) => open({ kind: 'edit', credential: c }, trigger)}
                    onRotate={(trigger) => open({ kind: 'rotate', credential: c }, trigger)}
                    onEndGrace={(trigger) => open({ kind: 'end-grace', credential: c }, trigger)}
                    onDelete={(trigger) => open({ kind: 'delete', credential: c }, trigger)}
                    onCopied={(ok) => setStatus(ok ? `Client ID of ${c.name} copied to the clipboard` : 'Could not copy the client ID')}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
        {items && (cursor || nextCursor) ? (
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              className="button button-secondary button-small"
              disabled={!cursor || loading}
              onClick={() => {
                const back = previous[previous.length - 1] ?? '';
                setPrevious((p) => p.slice(0, -1));
                go({ cursor: back });
              }}
            >
              Previous
            </button>
            <span className="pager-text">{pageNumber ? `Page ${pageNumber}` : 'A later page'} · {items.length} shown</span>
            <button
              type="button"
              className="button button-secondary button-small"
              disabled={!nextCursor || loading}
              onClick={() => {
                if (!nextCursor) return;
                setPrevious((p) => [...p, cursor]);
                go({ cursor: nextCursor });
              }}
            >
              Next
            </button>
          </nav>
        ) : null}
      </div>

      {dialog?.kind === 'create' ? (
        <CredentialFormDialog
          scopes={scopes}
          onCancel={() => setDialog(null)}
          onFatal={fatal}
          returnFocus={triggerRef}
          onCreated={(created) => {
            triggerRef.current = createRef.current;
            setHighlight(created.id);
            setDialog({ kind: 'secret', result: created, rotated: false });
            if (tab !== 'users' || cursor || filtered || sort !== '-created') {
              // Show where the new one is: the first page of the user-level list, newest first.
              setSearch('');
              go({ tab: 'users', q: '', scope: '', unused: '', sort: '-created' });
            } else load();
          }}
        />
      ) : null}
      {dialog?.kind === 'edit' ? (
        <CredentialFormDialog
          credential={dialog.credential}
          scopes={scopes}
          onCancel={() => setDialog(null)}
          onFatal={fatal}
          returnFocus={triggerRef}
          onSaved={(updated) => {
            setDialog(null);
            setHighlight(updated.id);
            setStatus(`API credential ${updated.name} saved`);
            load();
          }}
        />
      ) : null}
      {dialog?.kind === 'rotate' ? (
        <RotateDialog
          credential={dialog.credential}
          onCancel={() => setDialog(null)}
          onFatal={fatal}
          returnFocus={triggerRef}
          onRotated={(result) => {
            setDialog({ kind: 'secret', result, rotated: true });
            load();
          }}
        />
      ) : null}
      {dialog?.kind === 'end-grace' ? (
        <EndGraceDialog
          credential={dialog.credential}
          onCancel={() => setDialog(null)}
          onFatal={fatal}
          returnFocus={triggerRef}
          onEnded={() => {
            setDialog(null);
            setStatus(`Grace period of ${dialog.credential.name} ended; only the current secret works`);
            load();
          }}
        />
      ) : null}
      {dialog?.kind === 'delete' ? (
        <DeleteDialog
          credential={dialog.credential}
          onCancel={() => setDialog(null)}
          onFatal={fatal}
          returnFocus={triggerRef}
          onDeleted={() => {
            triggerRef.current = createRef.current;
            setDialog(null);
            setStatus(`API credential ${dialog.credential.name} deleted`);
            load();
          }}
        />
      ) : null}
      {dialog?.kind === 'secret' ? (
        <SecretDialog
          result={dialog.result}
          rotated={dialog.rotated}
          scopes={scopes}
          session={session}
          returnFocus={triggerRef}
          onOk={() => {
            // The secret leaves memory with the dialog state.
            setDialog(null);
            setStatus(dialog.rotated ? `New client secret generated for ${dialog.result.name}` : `API credential ${dialog.result.name} created`);
          }}
        />
      ) : null}
    </section>
  );
}

interface RowProps {
  credential: Credential;
  scopes: Scope[];
  selfId: string;
  highlighted: boolean;
  onEdit(trigger: HTMLElement): void;
  onRotate(trigger: HTMLElement): void;
  onEndGrace(trigger: HTMLElement): void;
  onDelete(trigger: HTMLElement): void;
  onCopied(ok: boolean): void;
}

/** "Secret rotated <when>" and, while a grace period runs, "Old secret valid until <when>". */
export function RotationNote({ credential: c }: { credential: Credential }) {
  const grace = graceRunning(c.previousSecretExpiresAt) ? c.previousSecretExpiresAt : null;
  if (!c.secretRotatedAt && !grace) return null;
  return (
    <span className="rotation">
      {c.secretRotatedAt ? (
        <span className="rotated">
          Secret rotated <Ago iso={c.secretRotatedAt} />
        </span>
      ) : null}
      {grace ? (
        <span className="badge badge-warning grace-badge" title={formatFull(grace)}>
          Old secret valid until <time dateTime={grace}>{formatDateTime(grace)}</time>
        </span>
      ) : null}
    </span>
  );
}

function CredentialRow({ credential: c, scopes, selfId, highlighted, onEdit, onRotate, onEndGrace, onDelete, onCopied }: RowProps) {
  const [copied, setCopied] = useState(false);
  const actions: MenuAction[] = [];
  if (c.canEdit) actions.push({ label: 'Edit', onSelect: onEdit });
  if (c.canRotate) actions.push({ label: 'Rotate secret', onSelect: onRotate });
  if (c.canRotate && graceRunning(c.previousSecretExpiresAt)) actions.push({ label: 'End grace period now', onSelect: onEndGrace });
  if (c.canDelete) actions.push({ label: 'Delete', onSelect: onDelete, danger: true });
  return (
    <tr className={highlighted ? 'row-highlight' : undefined} data-credential-id={c.id}>
      <th scope="row" className="cell-name">
        <a className="name-link" href={href(`credentials/${encodeURIComponent(c.id)}`)}>
          {c.name}
        </a>
      </th>
      <td className="cell-client-id" data-label="Client ID">
        <span className="client-id">
          <code>{c.clientId}</code>
          <button
            type="button"
            className="icon-button"
            aria-label={`Copy client ID of ${c.name}`}
            title="Copy client ID"
            onClick={async () => {
              const ok = await copyText(c.clientId);
              setCopied(ok);
              if (ok) window.setTimeout(() => setCopied(false), 2000);
              onCopied(ok);
            }}
          >
            {copied ? <CheckIcon /> : <CopyIcon />}
          </button>
        </span>
      </td>
      <td className="cell-scopes" data-label="Scopes">
        <ScopeChips values={c.scopes} catalogue={scopes} owner={c.name} />
      </td>
      <td className="cell-level" data-label="Level">
        <div>
          {c.level === 'account' ? 'Account' : 'User'}
          {c.deprecated || c.level === 'account' ? (
            <span className="badge badge-warning" title="Account-level API credentials are deprecated">
              Deprecated
            </span>
          ) : null}
        </div>
      </td>
      <td className="cell-owner" data-label="Owner">
        {c.owner ? (
          <div>
            <span className="owner-name">
              {c.owner.name || c.owner.email}
              {c.owner.id === selfId ? <span className="you"> (you)</span> : null}
            </span>
            <span className="owner-email">{c.owner.email}</span>
          </div>
        ) : (
          <span className="muted">Account</span>
        )}
      </td>
      <td className="cell-date" data-label="Created">
        <div>
          <When iso={c.createdAt} />
          <RotationNote credential={c} />
        </div>
      </td>
      <td className="cell-date" data-label="Last used">
        {c.lastUsedAt ? <When iso={c.lastUsedAt} /> : <span className="muted">Never</span>}
      </td>
      <td className="cell-actions">
        <ActionsMenu label={`Actions for ${c.name}`} actions={actions} />
      </td>
    </tr>
  );
}
