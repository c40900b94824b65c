import { type KeyboardEvent, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, type Credential, type CredentialWithSecret, type Scope, type Session, api } from '../api';
import { ActionsMenu, type MenuAction } from '../components/ActionsMenu';
import { copyText } from '../components/CopyField';
import { CheckIcon, CopyIcon } from '../components/Icons';
import { formatDate, formatFull, formatTime } from '../format';
import { CredentialFormDialog, DeleteDialog, RotateDialog, SecretDialog } from './CredentialDialogs';

type DialogState =
  | { kind: 'create' }
  | { kind: 'edit'; credential: Credential }
  | { kind: 'delete'; credential: Credential }
  | { kind: 'rotate'; credential: Credential }
  | { kind: 'secret'; result: CredentialWithSecret; rotated: boolean }
  | null;

type Tab = 'users' | 'accounts';

interface CredentialsPageProps {
  session: Session;
  /** A 403 that means the area is gone for this user (license or switch changed): the app shows the right page. */
  onAccessLost(code: 'forbidden' | 'api_credentials_disabled'): void;
}

export function CredentialsPage({ session, onAccessLost }: CredentialsPageProps) {
  const isAdmin = session.user.license === 'admin';
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [owner, setOwner] = useState<'all' | 'me'>('all');
  const [tab, setTab] = useState<Tab>('users');
  const [userItems, setUserItems] = useState<Credential[] | null>(null);
  const [accountItems, setAccountItems] = useState<Credential[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [status, setStatus] = useState('');
  const [highlight, setHighlight] = useState<string | null>(null);
  const createRef = useRef<HTMLButtonElement>(null);
  const triggerRef = useRef<HTMLElement | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const usersTabRef = useRef<HTMLButtonElement>(null);
  const accountsTabRef = useRef<HTMLButtonElement>(null);

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

  const load = useCallback(async () => {
    try {
      const [users, accounts] = await Promise.all([
        api.credentials({ owner: isAdmin ? owner : 'me', level: 'user' }),
        isAdmin ? api.credentials({ owner: 'all', level: 'account' }) : Promise.resolve({ items: [] as Credential[] }),
      ]);
      setUserItems(users.items);
      setAccountItems(accounts.items);
      setLoadError(null);
    } catch (error) {
      if (fatal(error)) return;
      if (error instanceof ApiError && error.status === 401) return;
      setLoadError(error instanceof Error ? error.message : 'The credentials could not be loaded.');
    }
  }, [isAdmin, owner, fatal]);

  useEffect(() => {
    void load();
  }, [load]);

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

  const showTabs = isAdmin && accountItems.length > 0;
  const activeTab: Tab = showTabs ? tab : 'users';
  const items = activeTab === 'accounts' ? accountItems : userItems;

  function open(state: DialogState, trigger?: HTMLElement | null) {
    triggerRef.current = trigger ?? (document.activeElement as HTMLElement | null);
    setStatus('');
    setDialog(state);
  }

  function onTabKey(event: KeyboardEvent<HTMLButtonElement>) {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft' && event.key !== 'Home' && event.key !== 'End') return;
    event.preventDefault();
    const next: Tab = event.key === 'Home' ? 'users' : event.key === 'End' ? 'accounts' : activeTab === 'users' ? 'accounts' : 'users';
    setTab(next);
    (next === 'users' ? usersTabRef : accountsTabRef).current?.focus();
  }

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
            Users <span className="tab-count">{userItems?.length ?? 0}</span>
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
            Accounts <span className="tab-count">{accountItems.length}</span>
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
                  <input type="radio" name="owner-filter" value={value} checked={owner === value} onChange={() => setOwner(value)} />
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

        {loadError ? (
          <div className="notice notice-error" role="alert">
            {loadError}{' '}
            <button type="button" className="link-button" onClick={() => void load()}>
              Try again
            </button>
          </div>
        ) : null}

        {items === null ? (
          <p className="loading" aria-busy="true">
            Loading credentials…
          </p>
        ) : items.length === 0 ? (
          <div className="empty-state">
            <p className="empty-title">{owner === 'me' || !isAdmin ? 'You have no API credentials yet.' : 'This account has no API credentials yet.'}</p>
            <p>Click Create New to create API credentials for a program or integration.</p>
          </div>
        ) : (
          <div className="table-wrap">
            <table className="table">
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
                    onDelete={(trigger) => open({ kind: 'delete', credential: c }, trigger)}
                    onCopied={(ok) => setStatus(ok ? `Client ID of ${c.name} copied to the clipboard` : 'Could not copy the client ID')}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>

      {dialog?.kind === 'create' ? (
        <CredentialFormDialog
          scopes={scopes}
          onCancel={() => setDialog(null)}
          onFatal={fatal}
          returnFocus={triggerRef}
          onCreated={(created) => {
            triggerRef.current = createRef.current;
            setTab('users');
            setHighlight(created.id);
            setDialog({ kind: 'secret', result: created, rotated: false });
            void load();
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
            void load();
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
            void load();
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
            void load();
          }}
        />
      ) : null}
      {dialog?.kind === 'secret' ? (
        <SecretDialog
          result={dialog.result}
          rotated={dialog.rotated}
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
  onDelete(trigger: HTMLElement): void;
  onCopied(ok: boolean): void;
}

function When({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={formatFull(iso)} className="when">
      <span>{formatDate(iso)}</span>
      <span className="when-time">{formatTime(iso)}</span>
    </time>
  );
}

function CredentialRow({ credential: c, scopes, selfId, highlighted, onEdit, onRotate, onDelete, onCopied }: RowProps) {
  const describe = (value: string) => scopes.find((s) => s.value === value)?.description ?? value;
  const [copied, setCopied] = useState(false);
  const actions: MenuAction[] = [];
  if (c.canEdit) actions.push({ label: 'Edit', onSelect: onEdit });
  if (c.canRotate) actions.push({ label: 'Rotate secret', onSelect: onRotate });
  if (c.canDelete) actions.push({ label: 'Delete', onSelect: onDelete, danger: true });
  return (
    <tr className={highlighted ? 'row-highlight' : undefined} data-credential-id={c.id}>
      <th scope="row" className="cell-name">
        {c.canEdit ? (
          <button type="button" className="link-button name-button" onClick={(e) => onEdit(e.currentTarget)} title="Edit name and scopes">
            {c.name}
          </button>
        ) : (
          <span>{c.name}</span>
        )}
      </th>
      <td className="cell-client-id">
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
      <td className="cell-scopes">
        <ul className="scope-list">
          {c.scopes.map((s) => (
            <li key={s} className="scope-tag" title={s}>
              {describe(s)}
              <code>{s}</code>
            </li>
          ))}
        </ul>
      </td>
      <td className="cell-level">
        {c.level === 'account' ? 'Account' : 'User'}
        {c.deprecated || c.level === 'account' ? (
          <span className="badge badge-warning" title="Account-level API credentials are deprecated">
            Deprecated
          </span>
        ) : null}
      </td>
      <td className="cell-owner">
        {c.owner ? (
          <>
            <span className="owner-name">
              {c.owner.name || c.owner.email}
              {c.owner.id === selfId ? <span className="you"> (you)</span> : null}
            </span>
            <span className="owner-email">{c.owner.email}</span>
          </>
        ) : (
          <span className="muted">Account</span>
        )}
      </td>
      <td className="cell-date">
        <When iso={c.createdAt} />
      </td>
      <td className="cell-date">{c.lastUsedAt ? <When iso={c.lastUsedAt} /> : <span className="muted">Never</span>}</td>
      <td className="cell-actions">
        <ActionsMenu label={`Actions for ${c.name}`} actions={actions} />
      </td>
    </tr>
  );
}
