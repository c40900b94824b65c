import { hashPassword } from '../../src/auth/secrets.js';
import type { License } from '../../src/domain/licenses.js';
import type { User } from '../../src/domain/model.js';
import type { Region } from '../../src/server.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { items?: Record<string, unknown>[] };
  text: string;
}

/** A signed-in portal user, speaking to the admin API as the browser does (cookie + CSRF header). */
export class PortalClient {
  constructor(
    readonly baseUrl: string,
    public cookie: string,
    public csrfToken: string,
  ) {}

  static async signIn(baseUrl: string, email: string, password: string): Promise<PortalClient> {
    const res = await rawRequest(baseUrl, 'POST', '/admin/api/session', { body: { email, password } });
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.text}`);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
    return new PortalClient(baseUrl, cookie, res.body.csrfToken as string);
  }

  request(method: string, path: string, options: { body?: unknown; rawBody?: string; csrf?: boolean; contentType?: string } = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { cookie: this.cookie };
    if (options.csrf !== false && method !== 'GET') headers['x-csrf-token'] = this.csrfToken;
    return rawRequest(this.baseUrl, method, path, { ...options, headers });
  }

  get(path: string) {
    return this.request('GET', path);
  }
  post(path: string, body?: unknown) {
    return this.request('POST', path, body === undefined ? {} : { body });
  }
  patch(path: string, body: unknown) {
    return this.request('PATCH', path, { body });
  }
  delete(path: string) {
    return this.request('DELETE', path);
  }
}

export async function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string>; contentType?: string } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body: string | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers['content-type'] = options.contentType ?? 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: ApiResponse['body'] = {};
  try {
    parsed = text ? (JSON.parse(text) as ApiResponse['body']) : {};
  } catch {
    parsed = {};
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

export const PASSWORD = 'correct horse battery staple';

/** An account with an admin, a second admin, a supervisor and an agent who can sign in. */
export async function portalTenant(region: Region, options: { apiCredentialsEnabled?: boolean } = {}) {
  const n = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const account = await region.store.accounts.create({ name: `Tenant ${n}`, apiCredentialsEnabled: options.apiCredentialsEnabled ?? true });
  const passwordHash = await hashPassword(PASSWORD);
  const make = (license: License, tag: string): Promise<User> =>
    region.store.users.create({ accountId: account.id, email: `${tag}.${n}@example.test`, license, passwordHash });
  return { account, admin: await make('admin', 'admin'), admin2: await make('admin', 'admin2'), supervisor: await make('supervisor', 'sup'), agent: await make('agent', 'agent') };
}
