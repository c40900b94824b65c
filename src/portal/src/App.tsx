import { useCallback, useEffect, useState } from 'react';
import { ApiError, type Session, api, setCsrfToken, setUnauthorizedHandler } from './api';
import { licenseLabel } from './format';
import { AuditPage } from './pages/Audit';
import { CredentialDetailPage } from './pages/CredentialDetail';
import { CredentialsPage } from './pages/Credentials';
import { EventsPage } from './pages/Events';
import { NoAccess } from './pages/NoAccess';
import { SignIn } from './pages/SignIn';
import { UsagePage } from './pages/Usage';
import { href, useRoute } from './router';

type State = { phase: 'loading' } | { phase: 'signed-out'; notice?: string } | { phase: 'signed-in'; session: Session };

export function App() {
  const [state, setState] = useState<State>({ phase: 'loading' });
  const route = useRoute();

  const signedIn = useCallback((session: Session) => {
    setCsrfToken(session.csrfToken);
    setState({ phase: 'signed-in', session });
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      setState({ phase: 'signed-out', notice: 'Your session has ended. Sign in again to continue.' });
    });
    api
      .me()
      .then(signedIn)
      .catch(() => setState({ phase: 'signed-out' }));
    return () => setUnauthorizedHandler(null);
  }, [signedIn]);

  // A 403 from the area: the account switch or the user's license may have changed since sign-in.
  // /me says what the user may do now; the page follows it.
  const onAccessLost = useCallback(
    (code: 'forbidden' | 'api_credentials_disabled') => {
      if (code === 'api_credentials_disabled') {
        setState((s) => (s.phase === 'signed-in' ? { phase: 'signed-in', session: { ...s.session, access: code } } : s));
      }
      api
        .me()
        .then(signedIn)
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 401) {
            setCsrfToken(null);
            setState({ phase: 'signed-out', notice: 'Your session has ended. Sign in again to continue.' });
          }
        });
    },
    [signedIn],
  );

  async function signOut() {
    try {
      await api.signOut();
    } catch {
      // The session is gone either way.
    }
    setCsrfToken(null);
    setState({ phase: 'signed-out', notice: 'You have signed out.' });
  }

  if (state.phase === 'loading') {
    return (
      <div className="boot" aria-busy="true">
        <span className="visually-hidden">Loading the Admin Portal…</span>
        <span className="spinner" aria-hidden="true" />
      </div>
    );
  }
  if (state.phase === 'signed-out') return <SignIn notice={state.notice} onSignedIn={signedIn} />;

  const { session } = state;
  const hasArea = session.access === 'ok';
  const isAdmin = session.user.license === 'admin';
  // Admin-only pages fall back to the list for everyone else (the API refuses them anyway).
  const page = !hasArea ? 'none' : (route.page === 'audit' || route.page === 'usage') && !isAdmin ? 'credentials' : route.page;
  const current = (name: string) => (page === name || (name === 'credentials' && page === 'credential') ? 'page' : undefined);

  return (
    <div className="app">
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to main content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <div className="brand">
            <span className="brand-mark" aria-hidden="true" />
            <span className="brand-name">Contact Center</span>
            <span className="brand-sub">Admin Portal</span>
          </div>
          {hasArea ? (
            <nav aria-label="Main" className="mainnav">
              <a href={href('credentials')} aria-current={current('credentials')}>
                API Credentials
              </a>
              {isAdmin ? (
                <a href={href('usage')} aria-current={current('usage')}>
                  Usage
                </a>
              ) : null}
              <a href={href('events')} aria-current={current('events')}>
                Events
              </a>
              {isAdmin ? (
                <a href={href('audit')} aria-current={current('audit')}>
                  Audit log
                </a>
              ) : null}
            </nav>
          ) : (
            <span className="mainnav" />
          )}
          <div className="account-box">
            <div className="account-text">
              <span className="account-name" title="Account">
                {session.account.name}
              </span>
              <span className="user-line">
                <span className="user-name">{session.user.name || session.user.email}</span>
                <span className="user-license">{licenseLabel(session.user.license)}</span>
              </span>
            </div>
            <span className="avatar" aria-hidden="true">
              {(session.user.name || session.user.email).slice(0, 1).toUpperCase()}
            </span>
            <button type="button" className="button button-topbar" onClick={signOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="main">
        {page === 'none' ? (
          <NoAccess session={session} />
        ) : page === 'audit' ? (
          <AuditPage session={session} params={route.params} onAccessLost={onAccessLost} />
        ) : page === 'usage' ? (
          <UsagePage session={session} />
        ) : page === 'events' ? (
          <EventsPage session={session} params={route.params} onAccessLost={onAccessLost} />
        ) : page === 'credential' && route.id ? (
          <CredentialDetailPage key={route.id} session={session} id={route.id} onAccessLost={onAccessLost} />
        ) : (
          <CredentialsPage session={session} params={route.params} onAccessLost={onAccessLost} />
        )}
      </main>
      <footer className="footer">
        Signed in as {session.user.email} · {session.account.name}
      </footer>
    </div>
  );
}
