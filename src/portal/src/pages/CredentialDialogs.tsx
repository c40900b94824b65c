import { type FormEvent, type RefObject, useId, useRef, useState } from 'react';
import { ApiError, type Credential, type CredentialWithSecret, type Scope, type Session, api } from '../api';
import { Connect } from '../components/Connect';
import { CopyField } from '../components/CopyField';
import { Dialog } from '../components/Dialog';
import { CheckIcon } from '../components/Icons';
import { ScopePicker } from '../components/ScopePicker';
import { TestToken } from '../components/TestToken';
import { formatFull } from '../format';

const NAME_MAX = 100;

function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return error instanceof Error ? error.message : 'Something went wrong. Try again.';
}

interface FormDialogProps {
  /** Absent: create a new user-level credential. */
  credential?: Credential;
  scopes: Scope[];
  onCancel(): void;
  onCreated?(created: CredentialWithSecret): void;
  onSaved?(updated: Credential): void;
  onFatal?(error: ApiError): boolean;
  returnFocus?: RefObject<HTMLElement | null>;
}

/** "Create API Credentials" (and its edit twin): Name and Scopes, saved by "Save API credential". */
export function CredentialFormDialog({ credential, scopes, onCancel, onCreated, onSaved, onFatal, returnFocus }: FormDialogProps) {
  const editing = credential !== undefined;
  const nameId = useId();
  const nameHintId = useId();
  const nameErrorId = useId();
  const scopesLabelId = useId();
  const scopesHintId = useId();
  const scopesErrorId = useId();
  const [name, setName] = useState(credential?.name ?? '');
  const [selected, setSelected] = useState<string[]>(credential?.scopes ?? []);
  const [nameError, setNameError] = useState<string | null>(null);
  const [scopesError, setScopesError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nameRef = useRef<HTMLInputElement>(null);

  // Scopes already on the credential that the editor may not grant still show (by value) and can be removed.
  const known = new Set(scopes.map((s) => s.value));
  const pickerScopes = [...scopes, ...selected.filter((v) => !known.has(v)).map((v) => ({ value: v, description: v, apis: [] }))];

  function validate(): boolean {
    const trimmed = name.trim();
    let ok = true;
    if (!trimmed) {
      setNameError('Enter a name for the credentials.');
      ok = false;
    } else if (trimmed.length > NAME_MAX) {
      setNameError(`The name can be at most ${NAME_MAX} characters (it has ${trimmed.length}).`);
      ok = false;
    } else setNameError(null);
    if (selected.length === 0) {
      setScopesError('Select at least one scope.');
      ok = false;
    } else setScopesError(null);
    if (!ok && (!trimmed || trimmed.length > NAME_MAX)) nameRef.current?.focus();
    return ok;
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setFormError(null);
    if (!validate()) return;
    setBusy(true);
    try {
      const trimmed = name.trim();
      if (editing) {
        const changes: { name?: string; scopes?: string[] } = {};
        if (trimmed !== credential.name) changes.name = trimmed;
        const sameScopes = selected.length === credential.scopes.length && selected.every((s) => credential.scopes.includes(s));
        if (!sameScopes) changes.scopes = selected;
        const updated = Object.keys(changes).length > 0 ? await api.updateCredential(credential.id, changes) : credential;
        onSaved?.(updated);
      } else {
        const created = await api.createCredential({ name: trimmed, scopes: selected });
        onCreated?.(created);
      }
    } catch (error) {
      setBusy(false);
      if (error instanceof ApiError && onFatal?.(error)) return;
      if (error instanceof ApiError && error.code === 'invalid_scope') setScopesError(error.message);
      else if (error instanceof ApiError && error.code === 'invalid_request' && /name/i.test(error.message)) {
        setNameError(error.message);
        nameRef.current?.focus();
      } else setFormError(messageOf(error));
    }
  }

  const nameLength = name.trim().length;
  return (
    <Dialog title={editing ? 'Edit API Credentials' : 'Create API Credentials'} onDismiss={busy ? undefined : onCancel} initialFocus={nameRef} returnFocus={returnFocus} size="medium">
      <form onSubmit={onSubmit} noValidate>
        <div className="dialog-body">
          {editing && credential.level === 'account' ? (
            <p className="notice notice-warning">
              This is an account-level credential. Account-level API credentials are deprecated: they keep working, and you can edit and delete them, but new ones cannot be
              created.
            </p>
          ) : null}
          {editing ? (
            <p className="dialog-meta">
              Client ID <code>{credential.clientId}</code>
            </p>
          ) : null}
          <div className={`field${nameError ? ' has-error' : ''}`}>
            <label htmlFor={nameId}>Name</label>
            <input
              ref={nameRef}
              id={nameId}
              className="input"
              type="text"
              name="name"
              autoComplete="off"
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                // A message goes as soon as the field is valid again (it comes back on the next save if not).
                const trimmed = e.target.value.trim();
                if (nameError && trimmed.length > 0 && trimmed.length <= NAME_MAX) setNameError(null);
              }}
              aria-invalid={nameError ? true : undefined}
              aria-describedby={`${nameHintId}${nameError ? ` ${nameErrorId}` : ''}`}
            />
            <p id={nameHintId} className="hint">
              A name to identify the credentials later, for example what they are used for.{' '}
              <span className={nameLength > NAME_MAX ? 'count-over' : 'count'}>
                {nameLength}/{NAME_MAX}
              </span>
            </p>
            {nameError ? (
              <p id={nameErrorId} className="field-error">
                {nameError}
              </p>
            ) : null}
          </div>
          <div className={`field${scopesError ? ' has-error' : ''}`}>
            <span className="label" id={scopesLabelId}>
              Scopes
            </span>
            <ScopePicker
              labelId={scopesLabelId}
              available={pickerScopes}
              value={selected}
              onChange={(v) => {
                setSelected(v);
                if (v.length > 0) setScopesError(null);
              }}
              describedBy={`${scopesHintId}${scopesError ? ` ${scopesErrorId}` : ''}`}
              invalid={scopesError !== null}
            />
            <p id={scopesHintId} className="hint">
              The APIs these credentials may call. A token is requested for one of these scopes at a time.
            </p>
            {scopesError ? (
              <p id={scopesErrorId} className="field-error">
                {scopesError}
              </p>
            ) : null}
          </div>
          {formError ? (
            <p className="notice notice-error" role="alert">
              {formError}
            </p>
          ) : null}
        </div>
        <div className="dialog-footer">
          <button type="button" className="button button-secondary" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save API credential'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

interface SecretDialogProps {
  result: CredentialWithSecret;
  rotated: boolean;
  onOk(): void;
  returnFocus?: RefObject<HTMLElement | null>;
  /** The scope catalogue (descriptions, API names for the reference links). */
  scopes?: Scope[];
  session?: Session;
}

/**
 * The one-time "Success" dialog: client ID and secret with copy buttons, then where and how to use
 * them (token URL, examples carrying the real secret, a test token). The secret lives only in this
 * dialog's props: OK drops it. Escape does not close it.
 */
export function SecretDialog({ result, rotated, onOk, returnFocus, scopes = [], session }: SecretDialogProps) {
  const warningId = useId();
  const okRef = useRef<HTMLButtonElement>(null);
  const graceUntil = result.previousSecretValidUntil ?? result.previousSecretExpiresAt ?? null;
  return (
    <Dialog title="Success" size="large" describedBy={warningId} returnFocus={returnFocus} className="dialog-success">
      <div className="dialog-body">
        <p className="success-lede">
          <span className="success-icon" aria-hidden="true">
            <CheckIcon />
          </span>
          {rotated ? (
            <span>
              A new client secret was generated for <strong>{result.name}</strong>.
            </span>
          ) : (
            <span>
              Your API credentials <strong>{result.name}</strong> were created.
            </span>
          )}
        </p>
        <CopyField label="Client ID" value={result.clientId} copyLabel="Copy client ID" />
        <CopyField label="Client secret" value={result.clientSecret} copyLabel="Copy client secret" secret />
        <p id={warningId} className="notice notice-warning secret-warning">
          <strong>Copy and save your client ID and secret; you cannot retrieve them later.</strong>
        </p>
        {rotated ? (
          graceUntil ? (
            <p className="hint">
              The previous secret keeps working until <time dateTime={graceUntil}>{formatFull(graceUntil)}</time>.
            </p>
          ) : (
            <p className="hint">The previous secret no longer works.</p>
          )
        ) : null}
        <TestToken clientId={result.clientId} clientSecret={result.clientSecret} scopes={result.scopes} />
        <Connect clientId={result.clientId} clientSecret={result.clientSecret} scopes={result.scopes} catalogue={scopes} session={session} headingLevel={3} />
      </div>
      <div className="dialog-footer">
        <button ref={okRef} type="button" className="button button-primary" onClick={onOk}>
          OK
        </button>
      </div>
    </Dialog>
  );
}

interface ConfirmDeleteProps {
  credential: Credential;
  onCancel(): void;
  onDeleted(): void;
  onFatal?(error: ApiError): boolean;
  returnFocus?: RefObject<HTMLElement | null>;
}

export function DeleteDialog({ credential, onCancel, onDeleted, onFatal, returnFocus }: ConfirmDeleteProps) {
  const textId = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onDelete() {
    setBusy(true);
    setError(null);
    try {
      await api.deleteCredential(credential.id);
      onDeleted();
    } catch (e) {
      setBusy(false);
      if (e instanceof ApiError && e.code === 'not_found') {
        onDeleted();
        return;
      }
      if (e instanceof ApiError && onFatal?.(e)) return;
      setError(messageOf(e));
    }
  }

  return (
    <Dialog title="Delete API credential" role="alertdialog" size="small" describedBy={textId} onDismiss={busy ? undefined : onCancel} initialFocus={cancelRef} returnFocus={returnFocus}>
      <div className="dialog-body">
        <div id={textId}>
          <p>
            Delete <strong>{credential.name}</strong> (client ID <code>{credential.clientId}</code>)?
          </p>
          <p>Programs using these credentials can no longer get access tokens, and tokens already issued stop working. This cannot be undone.</p>
        </div>
        {error ? (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        ) : null}
      </div>
      <div className="dialog-footer">
        <button ref={cancelRef} type="button" className="button button-secondary" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="button" className="button button-danger" onClick={onDelete} disabled={busy}>
          {busy ? 'Deleting…' : 'Delete'}
        </button>
      </div>
    </Dialog>
  );
}

const GRACE_OPTIONS = [
  { seconds: 0, label: 'Immediately' },
  { seconds: 3600, label: 'In 1 hour' },
  { seconds: 86400, label: 'In 24 hours' },
];

interface RotateProps {
  credential: Credential;
  onCancel(): void;
  onRotated(result: CredentialWithSecret): void;
  onFatal?(error: ApiError): boolean;
  returnFocus?: RefObject<HTMLElement | null>;
}

export function RotateDialog({ credential, onCancel, onRotated, onFatal, returnFocus }: RotateProps) {
  const groupId = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);
  const [grace, setGrace] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onRotate(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onRotated(await api.rotateSecret(credential.id, grace));
    } catch (e) {
      setBusy(false);
      if (e instanceof ApiError && onFatal?.(e)) return;
      setError(messageOf(e));
    }
  }

  return (
    <Dialog title="Rotate client secret" size="small" onDismiss={busy ? undefined : onCancel} initialFocus={cancelRef} returnFocus={returnFocus}>
      <form onSubmit={onRotate}>
        <div className="dialog-body">
          <p>
            Generate a new client secret for <strong>{credential.name}</strong> (client ID <code>{credential.clientId}</code>). The client ID and scopes stay the same; programs
            must use the new secret to get tokens.
          </p>
          <fieldset className="radio-group">
            <legend id={groupId}>The current secret stops working</legend>
            {GRACE_OPTIONS.map((option) => (
              <label key={option.seconds} className="radio">
                <input type="radio" name="grace" value={option.seconds} checked={grace === option.seconds} onChange={() => setGrace(option.seconds)} />
                {option.label}
              </label>
            ))}
          </fieldset>
          {error ? (
            <p className="notice notice-error" role="alert">
              {error}
            </p>
          ) : null}
        </div>
        <div className="dialog-footer">
          <button ref={cancelRef} type="button" className="button button-secondary" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Rotating…' : 'Rotate secret'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

interface EndGraceProps {
  credential: Credential;
  onCancel(): void;
  onEnded(updated: Credential | null): void;
  onFatal?(error: ApiError): boolean;
  returnFocus?: RefObject<HTMLElement | null>;
}

/** "End grace period now": the previous secret stops working at once (tokens issued with it too). */
export function EndGraceDialog({ credential, onCancel, onEnded, onFatal, returnFocus }: EndGraceProps) {
  const textId = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const until = credential.previousSecretExpiresAt;

  async function onEnd() {
    setBusy(true);
    setError(null);
    try {
      onEnded(await api.endGrace(credential.id));
    } catch (e) {
      setBusy(false);
      if (e instanceof ApiError && e.code === 'no_grace_period') {
        // Already over (it ran out, or someone else ended it): nothing left to do.
        onEnded(null);
        return;
      }
      if (e instanceof ApiError && onFatal?.(e)) return;
      setError(messageOf(e));
    }
  }

  return (
    <Dialog title="End grace period" role="alertdialog" size="small" describedBy={textId} onDismiss={busy ? undefined : onCancel} initialFocus={cancelRef} returnFocus={returnFocus}>
      <div className="dialog-body">
        <div id={textId}>
          <p>
            End the grace period of <strong>{credential.name}</strong> now?
            {until ? (
              <>
                {' '}
                The previous secret would otherwise work until <time dateTime={until}>{formatFull(until)}</time>.
              </>
            ) : null}
          </p>
          <p>The previous client secret stops working at once, and tokens issued with it become invalid. Only the current secret keeps working.</p>
        </div>
        {error ? (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        ) : null}
      </div>
      <div className="dialog-footer">
        <button ref={cancelRef} type="button" className="button button-secondary" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="button" className="button button-danger" onClick={onEnd} disabled={busy}>
          {busy ? 'Ending…' : 'End grace period now'}
        </button>
      </div>
    </Dialog>
  );
}
