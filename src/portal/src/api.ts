// The Admin API client: JSON over fetch, cookie session, CSRF header on state-changing requests.
// The CSRF token lives only in memory (it comes back from GET /admin/api/me after a reload).

export type License = 'admin' | 'supervisor' | 'agent';
export type Access = 'ok' | 'forbidden' | 'api_credentials_disabled';

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  license: License;
  accountId: string;
}

export interface Session {
  user: SessionUser;
  account: { id: string; name: string; apiCredentialsEnabled: boolean; apiRateLimitPerMinute?: number };
  access: Access;
  csrfToken: string;
  expiresAt: string;
  /** Present where the server adds them; else the portal reads them from discovery. */
  region?: string;
  publicUrl?: string;
}

export interface Scope {
  value: string;
  description: string;
  apis: string[];
}

export interface Credential {
  id: string;
  name: string;
  clientId: string;
  scopes: string[];
  level: 'user' | 'account';
  deprecated: boolean;
  owner: { id: string; email: string; name: string } | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  canEdit: boolean;
  canDelete: boolean;
  canRotate: boolean;
  /** SPEC "Console additions": when the secret was last rotated, and the end of a running grace period. */
  secretRotatedAt?: string | null;
  previousSecretExpiresAt?: string | null;
}

export interface CredentialWithSecret extends Credential {
  clientSecret: string;
  previousSecretValidUntil?: string;
}

export interface AuditEvent {
  id: string;
  at: string;
  actor: { id: string | null; email: string | null };
  action: string;
  target: { type: string; id: string | null; name: string | null };
  changes: Record<string, unknown> | null;
}

export type Sort = 'name' | '-name' | 'created' | '-created' | 'last_used' | '-last_used';

export interface CredentialQuery {
  owner?: 'me' | 'all';
  level?: 'user' | 'account';
  q?: string;
  scope?: string;
  unusedDays?: number;
  sort?: Sort;
  limit?: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

export interface UsageBucket {
  at: string;
  tokensIssued: number;
  authFailures: number;
  apiCalls: number;
  apiRejected: { '401': number; '403': number; '429': number };
}

export interface Usage {
  bucket: 'hour' | 'day';
  items: UsageBucket[];
  top?: { credentialId: string; name: string; apiCalls: number; tokensIssued: number }[];
  apiRateLimitPerMinute?: number;
  /** The account's API calls per minute over the last 60 minutes (account usage only). */
  perMinute?: { limit: number; peak: { at: string; apiCalls: number } | null; items: { at: string; apiCalls: number }[] };
}

export type EventType = 'token.issued' | 'client_auth.failed' | 'api.rate_limited' | 'token.revoked';

export interface UsageEvent {
  id: string;
  at: string;
  type: EventType | string;
  credentialId: string;
  clientId: string;
  reason?: string;
  ip?: string;
  count?: number;
}

export interface Evaluation {
  claims: Record<string, unknown>;
  expiresIn: number;
}

export interface EventQuery {
  credential?: string;
  type?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export interface AuditQuery {
  action?: string;
  actor?: string;
  credential?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
  before?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds from a Retry-After header, where the answer had one. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a request (other than sign-in and /me) answers 401: the session has ended. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

/** Retry-After as seconds: a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : null;
}

async function request<T>(method: string, path: string, body?: unknown, options: { quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(`/admin/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The Admin Portal cannot reach the server. Check your connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  let payload: unknown = null;
  const text = await response.text();
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (!response.ok) {
    const p = (payload ?? {}) as { error?: unknown; message?: unknown };
    const code = typeof p.error === 'string' ? p.error : `http_${response.status}`;
    const message = typeof p.message === 'string' && p.message ? p.message : `The request failed (HTTP ${response.status}).`;
    if (response.status === 401 && !options.quiet401) onUnauthorized?.();
    throw new ApiError(response.status, code, message, parseRetryAfter(response.headers.get('retry-after')));
  }
  return payload as T;
}

/** A query string from the values that are set (defaults are left out, so that the server's defaults apply). */
export function queryString(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const qs = search.toString();
  return qs ? `?${qs}` : '';
}

const id = (value: string) => encodeURIComponent(value);

export function eventsParams(query: EventQuery): Record<string, string | number | undefined> {
  return { credential: query.credential, type: query.type, from: query.from, to: query.to, limit: query.limit, cursor: query.cursor };
}

export function auditParams(query: AuditQuery): Record<string, string | number | undefined> {
  return { action: query.action, actor: query.actor, credential: query.credential, from: query.from, to: query.to, limit: query.limit, cursor: query.cursor, before: query.before };
}

/** The CSV export of a list (SPEC: `format=csv`), as a link the browser downloads with the session cookie. */
export function csvUrl(path: '/events' | '/audit', params: Record<string, string | number | undefined>): string {
  const { cursor: _cursor, limit: _limit, before: _before, ...rest } = params;
  return `/admin/api${path}${queryString({ ...rest, format: 'csv' })}`;
}

export const api = {
  signIn: (email: string, password: string) => request<Session>('POST', '/session', { email, password }, { quiet401: true }),
  signOut: () => request<void>('DELETE', '/session', undefined, { quiet401: true }),
  me: () => request<Session>('GET', '/me', undefined, { quiet401: true }),
  scopes: () => request<{ items: Scope[] }>('GET', '/scopes'),
  credentials: (query: CredentialQuery) =>
    request<Page<Credential>>(
      'GET',
      `/credentials${queryString({
        owner: query.owner,
        level: query.level,
        q: query.q,
        scope: query.scope,
        unused_days: query.unusedDays,
        sort: query.sort && query.sort !== '-created' ? query.sort : undefined,
        limit: query.limit,
        cursor: query.cursor,
      })}`,
    ),
  credential: (credentialId: string) => request<Credential>('GET', `/credentials/${id(credentialId)}`),
  createCredential: (input: { name: string; scopes: string[] }) => request<CredentialWithSecret>('POST', '/credentials', input),
  updateCredential: (credentialId: string, input: { name?: string; scopes?: string[] }) => request<Credential>('PATCH', `/credentials/${id(credentialId)}`, input),
  deleteCredential: (credentialId: string) => request<void>('DELETE', `/credentials/${id(credentialId)}`),
  rotateSecret: (credentialId: string, graceSeconds: number) => request<CredentialWithSecret>('POST', `/credentials/${id(credentialId)}/secret`, { graceSeconds }),
  endGrace: (credentialId: string) => request<Credential>('POST', `/credentials/${id(credentialId)}/secret/end-grace`, {}),
  evaluate: (credentialId: string) => request<Evaluation>('GET', `/credentials/${id(credentialId)}/evaluate`),
  usage: (credentialId: string, bucket: 'hour' | 'day', from?: string) => request<Usage>('GET', `/credentials/${id(credentialId)}/usage${queryString({ bucket, from })}`),
  accountUsage: (bucket: 'hour' | 'day', from?: string) => request<Usage>('GET', `/usage${queryString({ bucket, from })}`),
  events: (query: EventQuery) => request<Page<UsageEvent>>('GET', `/events${queryString(eventsParams(query))}`),
  audit: (query: AuditQuery) => request<Page<AuditEvent> & { nextBefore?: string | null }>('GET', `/audit${queryString(auditParams(query))}`),
};

export interface RegionInfo {
  region: string | null;
  publicUrl: string;
  tokenUrl: string;
}

let regionInfo: Promise<RegionInfo> | null = null;

/**
 * Where programs get tokens: the issuer from OAuth discovery (issuer = public URL + /Auth) and the
 * region's name from /readyz (or from the session where the server names them).
 */
export function loadRegionInfo(session?: Session): Promise<RegionInfo> {
  if (session?.publicUrl && session.region) {
    const base = session.publicUrl.replace(/\/+$/, '');
    return Promise.resolve({ region: session.region, publicUrl: base, tokenUrl: `${base}/Auth/connect/token` });
  }
  regionInfo ??= (async () => {
    const discovery = await fetch('/Auth/.well-known/openid-configuration', { headers: { accept: 'application/json' } })
      .then((r) => (r.ok ? (r.json() as Promise<{ issuer?: string; token_endpoint?: string }>) : null))
      .catch(() => null);
    const issuer = discovery?.issuer ?? `${window.location.origin}/Auth`;
    const publicUrl = issuer.replace(/\/Auth\/?$/, '');
    const tokenUrl = discovery?.token_endpoint ?? `${publicUrl}/Auth/connect/token`;
    const ready = await fetch('/readyz', { headers: { accept: 'application/json' } })
      .then((r) => r.json() as Promise<{ region?: unknown }>)
      .catch(() => null);
    const region = session?.region ?? (typeof ready?.region === 'string' ? ready.region : null);
    return { region, publicUrl, tokenUrl };
  })();
  return regionInfo;
}

export interface TestToken {
  accessToken: string;
  expiresIn: number;
  scope: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

function decodePart(part: string): Record<string, unknown> {
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

/** Decodes a JWT's header and claims (no verification: for display). */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims] = token.split('.');
  if (!header || !claims) throw new Error('The token is not a JWT');
  return { header: decodePart(header), claims: decodePart(claims) };
}

/** A token from the region's token endpoint (client credentials grant, client_secret_post). */
export async function requestTestToken(tokenUrl: string, clientId: string, clientSecret: string, scopes: string[]): Promise<TestToken> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: scopes.join(' ') });
  let response: Response;
  try {
    // Same origin in the portal's own region; the URL path is what matters here.
    const url = new URL(tokenUrl, window.location.origin);
    response = await fetch(url.origin === window.location.origin ? url.pathname : '/Auth/connect/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The token endpoint could not be reached.');
  }
  const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const code = typeof payload.error === 'string' ? payload.error : `http_${response.status}`;
    const text = typeof payload.error_description === 'string' ? payload.error_description : `The token request failed (HTTP ${response.status}).`;
    throw new ApiError(response.status, code, `${code}: ${text}`, parseRetryAfter(response.headers.get('retry-after')));
  }
  const accessToken = String(payload.access_token ?? '');
  const decoded = decodeJwt(accessToken);
  return { accessToken, expiresIn: Number(payload.expires_in ?? 0), scope: String(payload.scope ?? ''), ...decoded };
}
