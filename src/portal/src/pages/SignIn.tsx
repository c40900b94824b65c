import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { ApiError, type Session, api } from '../api';
import { lockoutMessage } from '../format';

interface SignInProps {
  notice?: string;
  onSignedIn(session: Session): void;
}

export function SignIn({ notice, onSignedIn }: SignInProps) {
  const emailId = useId();
  const passwordId = useId();
  const errorId = useId();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const emailRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Sign in · Admin Portal';
    emailRef.current?.focus();
  }, []);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!email.trim() || !password) {
      setError('Enter your email address and password.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const session = await api.signIn(email.trim(), password);
      onSignedIn(session);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setError('The email address or password is incorrect.');
      else if (e instanceof ApiError && e.status === 429) setError(lockoutMessage(e.retryAfter));
      else setError(e instanceof Error ? e.message : 'Sign-in failed. Try again.');
      setBusy(false);
    }
  }

  return (
    <main className="signin" id="main">
      <div className="signin-card">
        <div className="brand brand-large" aria-hidden="true">
          <span className="brand-mark" />
          <span>Contact Center</span>
        </div>
        <h1>Sign in</h1>
        <p className="signin-sub">to the Admin Portal</p>
        {notice ? (
          <p className="notice notice-info" role="status">
            {notice}
          </p>
        ) : null}
        <form onSubmit={onSubmit} noValidate aria-describedby={error ? errorId : undefined}>
          <div className="field">
            <label htmlFor={emailId}>Email</label>
            <input ref={emailRef} id={emailId} className="input" type="email" name="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} aria-invalid={error ? true : undefined} required />
          </div>
          <div className="field">
            <label htmlFor={passwordId}>Password</label>
            <input id={passwordId} className="input" type="password" name="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} aria-invalid={error ? true : undefined} required />
          </div>
          {error ? (
            <p id={errorId} className="notice notice-error" role="alert">
              {error}
            </p>
          ) : null}
          <button type="submit" className="button button-primary button-block" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
