import { useState } from 'react';
import { type TestToken as Token, loadRegionInfo, requestTestToken } from '../api';
import { formatDuration, formatFull } from '../format';

interface TestTokenProps {
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

const CLAIM_NOTES: Record<string, string> = {
  iss: 'issuer',
  aud: 'audience (API base URL)',
  sub: 'subject (client ID)',
  client_id: 'client ID',
  scope: 'granted scopes',
  iat: 'issued at',
  nbf: 'not before',
  exp: 'expires',
  jti: 'token ID',
  account_id: 'account',
  region: 'region',
  user_id: 'owner (user)',
  alg: 'signature algorithm',
  typ: 'token type',
  kid: 'signing key ID',
  x5t: 'certificate thumbprint',
};

function Claims({ title, values }: { title: string; values: Record<string, unknown> }) {
  return (
    <div className="jwt-part">
      <h4 className="jwt-part-title">{title}</h4>
      <dl className="claims">
        {Object.entries(values).map(([key, value]) => (
          <div key={key} className="claim">
            <dt>
              <code>{key}</code>
              {CLAIM_NOTES[key] ? <span className="claim-note"> {CLAIM_NOTES[key]}</span> : null}
            </dt>
            <dd>
              <code>{typeof value === 'string' ? value : JSON.stringify(value)}</code>
              {(key === 'iat' || key === 'nbf' || key === 'exp') && typeof value === 'number' ? <span className="claim-note"> {formatFull(new Date(value * 1000).toISOString())}</span> : null}
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

/** "Get a test token": asks the token endpoint with the secret still in memory and shows the token decoded, the way jwt.io does. */
export function TestToken({ clientId, clientSecret, scopes }: TestTokenProps) {
  const [token, setToken] = useState<Token | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function get() {
    setBusy(true);
    setError(null);
    try {
      const info = await loadRegionInfo();
      setToken(await requestTestToken(info.tokenUrl, clientId, clientSecret, scopes));
    } catch (e) {
      setToken(null);
      setError(e instanceof Error ? e.message : 'The token request failed.');
    } finally {
      setBusy(false);
    }
  }

  const exp = typeof token?.claims.exp === 'number' ? new Date(token.claims.exp * 1000).toISOString() : null;
  return (
    <section className="test-token" aria-label="Test token">
      <div className="test-token-head">
        <button type="button" className="button button-secondary" onClick={get} disabled={busy}>
          {busy ? 'Getting a token…' : token ? 'Get another test token' : 'Get a test token'}
        </button>
        <span className="hint">Calls the token endpoint with these credentials for {scopes.join(' ')}.</span>
      </div>
      {error ? (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      ) : null}
      {token ? (
        <div className="jwt" role="region" aria-label="Decoded test token">
          <p className="jwt-summary" role="status">
            Access token for <code>{token.scope}</code>, valid for {formatDuration(token.expiresIn)}
            {exp ? (
              <>
                {' '}
                (expires <time dateTime={exp}>{formatFull(exp)}</time>)
              </>
            ) : null}
            .
          </p>
          <div className="jwt-parts">
            <Claims title="Header" values={token.header} />
            <Claims title="Claims" values={token.claims} />
          </div>
        </div>
      ) : null}
    </section>
  );
}
