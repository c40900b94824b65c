import assert from 'node:assert/strict';
import { ALL_SCOPES } from '../../src/domain/scopes.js';
import type { User } from '../../src/domain/model.js';
import type { Region } from '../../src/server.js';
import { type Tenant, createCredential, createTenant, tokenRequest } from '../support/region.js';

export const VERSIONED_JSON = 'application/vnd.newvoicemedia.v1+json; charset=utf-8';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The parsed body when it is JSON. */
  json: Record<string, unknown> & { items?: Record<string, unknown>[]; meta?: Record<string, number> };
  bytes: Buffer;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as is (for malformed JSON). */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** One HTTP call to the region, the way an API client makes it. */
export async function call(baseUrl: string, method: string, path: string, o: CallOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers };
  let body: string | undefined;
  if (o.rawBody !== undefined) body = o.rawBody;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const bytes = Buffer.from(await response.arrayBuffer());
  const type = response.headers.get('content-type') ?? '';
  let json = {} as ApiResponse['json'];
  if (type.includes('json') && bytes.length > 0) json = JSON.parse(bytes.toString('utf8')) as ApiResponse['json'];
  return { status: response.status, headers: response.headers, json, bytes };
}

/**
 * A tenant whose admin owns a credential with every scope; `token(scope)` gets (and caches) an
 * access token for one scope from the token endpoint.
 */
export interface ApiTenant extends Tenant {
  token(scope: string): Promise<string>;
  call(method: string, path: string, scope: string, o?: Omit<CallOptions, 'token'>): Promise<ApiResponse>;
}

export async function apiTenant(region: Region, baseUrl: string, owner?: (t: Tenant) => User): Promise<ApiTenant> {
  const tenant = await createTenant(region);
  // Test suites make many calls in a minute; the API limit has its own tests.
  await region.store.accounts.update(tenant.account.id, { apiRateLimitPerMinute: 100000 });
  const user = owner ? owner(tenant) : tenant.admin;
  const { credential, clientSecret } = await createCredential(region, user, user.license === 'admin' ? [...ALL_SCOPES] : ['users:read', 'interaction-content:read']);
  const tokens = new Map<string, string>();
  const token = async (scope: string) => {
    const cached = tokens.get(scope);
    if (cached) return cached;
    const res = await tokenRequest(baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope });
    assert.equal(res.status, 200, `token for ${scope}: ${JSON.stringify(res.body)}`);
    const value = res.body.access_token as string;
    tokens.set(scope, value);
    return value;
  };
  return {
    ...tenant,
    token,
    call: async (method, path, scope, o = {}) => call(baseUrl, method, path, { ...o, token: await token(scope) }),
  };
}

/** A 400 with the JSON error shape whose message matches. */
export function assertBadRequest(res: ApiResponse, message: RegExp, error = 'invalid_request'): void {
  assert.equal(res.status, 400, `expected 400, got ${res.status}: ${res.bytes.toString('utf8')}`);
  assert.equal(res.headers.get('content-type'), VERSIONED_JSON);
  assert.equal(res.json.error, error);
  assert.match(String(res.json.message), message);
}

export function assertNotFound(res: ApiResponse): void {
  assert.equal(res.status, 404, `expected 404, got ${res.status}: ${res.bytes.toString('utf8')}`);
  assert.equal(res.json.error, 'not_found');
  assert.equal(typeof res.json.message, 'string');
}

export function assertInsufficientScope(res: ApiResponse, scope: string): void {
  assert.equal(res.status, 403, `expected 403, got ${res.status}: ${res.bytes.toString('utf8')}`);
  assert.equal(res.json.error, 'insufficient_scope');
  assert.match(String(res.json.message), new RegExp(scope.replace(/[-:]/g, '\\$&')));
  assert.equal(res.headers.get('www-authenticate'), `Bearer error="insufficient_scope", scope="${scope}"`);
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const isoAt = (ms: number) => new Date(ms).toISOString();
