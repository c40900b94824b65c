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
  account: { id: string; name: string; apiCredentialsEnabled: boolean };
  access: Access;
  csrfToken: string;
  expiresAt: string;
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

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
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
    throw new ApiError(response.status, code, message);
  }
  return payload as T;
}

export const api = {
  signIn: (email: string, password: string) => request<Session>('POST', '/session', { email, password }, { quiet401: true }),
  signOut: () => request<void>('DELETE', '/session', undefined, { quiet401: true }),
  me: () => request<Session>('GET', '/me', undefined, { quiet401: true }),
  scopes: () => request<{ items: Scope[] }>('GET', '/scopes'),
  credentials: (query: { owner?: 'me' | 'all'; level?: 'user' | 'account' }) => {
    const params = new URLSearchParams();
    if (query.owner) params.set('owner', query.owner);
    if (query.level) params.set('level', query.level);
    const qs = params.toString();
    return request<{ items: Credential[] }>('GET', `/credentials${qs ? `?${qs}` : ''}`);
  },
  createCredential: (input: { name: string; scopes: string[] }) => request<CredentialWithSecret>('POST', '/credentials', input),
  updateCredential: (id: string, input: { name?: string; scopes?: string[] }) => request<Credential>('PATCH', `/credentials/${encodeURIComponent(id)}`, input),
  deleteCredential: (id: string) => request<void>('DELETE', `/credentials/${encodeURIComponent(id)}`),
  rotateSecret: (id: string, graceSeconds: number) => request<CredentialWithSecret>('POST', `/credentials/${encodeURIComponent(id)}/secret`, { graceSeconds }),
  audit: (query: { limit?: number; before?: string }) => {
    const params = new URLSearchParams();
    if (query.limit) params.set('limit', String(query.limit));
    if (query.before) params.set('before', query.before);
    const qs = params.toString();
    return request<{ items: AuditEvent[]; nextBefore?: string | null }>('GET', `/audit${qs ? `?${qs}` : ''}`);
  },
};
