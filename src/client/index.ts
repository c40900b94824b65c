/**
 * The ccauth TypeScript client: gets client-credentials tokens, caches each until shortly before
 * it expires, shares one refresh among concurrent callers, and on a 401 "The access token is
 * invalid or has expired" fetches a new token once and retries the request.
 *
 *   const client = new CcauthClient({ baseUrl: 'https://emea.example.com', clientId, clientSecret, scope: 'stats' });
 *   const res = await client.fetch('/stats/interactions?start=...&end=...');
 */

export interface CcauthClientOptions {
  /** The region's base URL (CCAUTH_PUBLIC_URL): the token endpoint is at /Auth/connect/token. */
  baseUrl: string;
  /** Where the APIs are, when not at baseUrl. */
  apiBaseUrl?: string;
  clientId: string;
  clientSecret: string;
  /** One scope, or several separated by spaces. */
  scope: string;
  /** HTTP Basic (default) or client_secret in the body. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Renew this many seconds before expiry (default 30, at most a tenth of the lifetime). */
  refreshBeforeExpirySeconds?: number;
  /** For tests or custom agents; defaults to the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Clock, for tests. */
  now?: () => number;
}

export const INVALID_TOKEN_MESSAGE = 'The access token is invalid or has expired';

/** The token endpoint refused: an OAuth error (RFC 6749 5.2) or a transport failure. */
export class TokenRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly error: string,
    readonly errorDescription?: string,
    /** The X-Request-Id of the token endpoint's answer, when there was one. */
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which it is renewed. */
  renewAt: number;
  scope: string;
}

export class CcauthClient {
  private cached: CachedToken | undefined;
  private refreshing: Promise<CachedToken> | undefined;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly now: () => number;
  private readonly tokenUrl: string;
  private readonly apiBase: string;
  /** How many tokens this client has fetched (for monitoring and tests). */
  tokensFetched = 0;

  constructor(private readonly options: CcauthClientOptions) {
    if (!options.clientId || !options.clientSecret) throw new TypeError('clientId and clientSecret are required');
    if (!options.scope || !options.scope.trim()) throw new TypeError('scope is required');
    const base = options.baseUrl.replace(/\/+$/, '');
    this.tokenUrl = `${base}/Auth/connect/token`;
    this.apiBase = (options.apiBaseUrl ?? base).replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.now = options.now ?? Date.now;
  }

  /** A valid access token: the cached one, or one refresh shared by every concurrent caller. */
  async getAccessToken(): Promise<string> {
    const cached = this.cached;
    if (cached && this.now() < cached.renewAt) return cached.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Forget the cached token (e.g. after the credential's secret was rotated). */
  invalidate(token?: string): void {
    if (token === undefined || this.cached?.accessToken === token) this.cached = undefined;
  }

  /**
   * fetch() an API path (or absolute URL) with the bearer token and the v1 media type. A 401 for
   * an invalid or expired token gets one new token and one retry; the body must then be
   * re-sendable (a string, URLSearchParams, Blob, ArrayBuffer, or none).
   */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? path : `${this.apiBase}${path.startsWith('/') ? '' : '/'}${path}`;
    const token = await this.getAccessToken();
    const first = await this.send(url, init, token);
    if (first.status !== 401 || !(await isInvalidToken(first))) return first;
    if (init.body instanceof ReadableStream) return first;
    this.invalidate(token);
    const fresh = await this.getAccessToken();
    return this.send(url, init, fresh);
  }

  /**
   * fetch() and parse JSON; a non-2xx answer throws an ApiError carrying the server's `error` and
   * `message`, the status and the request id (X-Request-Id) to quote to support.
   */
  async json<T = unknown>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.fetch(path, init);
    const text = await res.text();
    if (!res.ok) throw ApiError.from(res, text);
    return (text ? safeJson(text) : undefined) as T;
  }

  private send(url: string, init: RequestInit, token: string): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    if (!headers.has('accept')) headers.set('accept', 'application/vnd.newvoicemedia.v1+json');
    return this.fetchImpl(url, { ...init, headers });
  }

  private refresh(): Promise<CachedToken> {
    this.refreshing ??= this.requestToken().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async requestToken(): Promise<CachedToken> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: this.options.scope });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if ((this.options.authMethod ?? 'client_secret_basic') === 'client_secret_basic') {
      const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
      // The encoded pair is ASCII: btoa works in Node (>= 16) and in browsers alike.
      headers.authorization = `Basic ${btoa(`${enc(this.options.clientId)}:${enc(this.options.clientSecret)}`)}`;
    } else {
      form.set('client_id', this.options.clientId);
      form.set('client_secret', this.options.clientSecret);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.tokenUrl, { method: 'POST', headers, body: form.toString() });
    } catch (err) {
      throw new TokenRequestError(`Could not reach the token endpoint ${this.tokenUrl}: ${(err as Error).message}`, 0, 'network_error');
    }
    const text = await res.text();
    const body = safeJson(text) as Record<string, unknown> | undefined;
    if (!res.ok || !body || typeof body.access_token !== 'string') {
      const error = typeof body?.error === 'string' ? body.error : 'invalid_response';
      const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
      throw new TokenRequestError(`Token request failed (${res.status} ${error})${description ? `: ${description}` : ''}`, res.status, error, description, res.headers.get('x-request-id') ?? undefined);
    }
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    const skew = Math.min(this.options.refreshBeforeExpirySeconds ?? 30, expiresIn / 10);
    this.tokensFetched++;
    const token = { accessToken: body.access_token, renewAt: this.now() + (expiresIn - skew) * 1000, scope: String(body.scope ?? this.options.scope) };
    this.cached = token;
    return token;
  }
}

/**
 * An API answered with an error status. `error` and `message` are the server's own (`{"error",
 * "message"}`); a validation answer of the form `{"Field":["problem"]}` becomes `invalid_request`
 * with its problems as the message; anything else gets `http_<status>` and the status text.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    /** The X-Request-Id of the answer: quote it when asking for help; the server's logs carry it. */
    readonly requestId: string | undefined,
    /** The parsed body (or the text, when it is not JSON). */
    readonly body: unknown,
  ) {
    super(message);
  }

  static from(res: Pick<Response, 'status' | 'statusText' | 'headers'>, text: string): ApiError {
    const parsed = text ? safeJson(text) : undefined;
    const body: unknown = parsed === undefined && text ? text : parsed;
    const requestId = res.headers.get('x-request-id') ?? undefined;
    const fallback = `API request failed (${res.status}${res.statusText ? ` ${res.statusText}` : ''})`;
    if (isRecord(body)) {
      if (typeof body.error === 'string') {
        const message = typeof body.message === 'string' ? body.message : typeof body.error_description === 'string' ? body.error_description : fallback;
        return new ApiError(res.status, body.error, message, requestId, body);
      }
      const problems = Object.entries(body).flatMap(([field, list]) => (Array.isArray(list) ? list.filter((m) => typeof m === 'string').map((m) => `${field}: ${m}`) : []));
      if (problems.length) return new ApiError(res.status, 'invalid_request', problems.join('; '), requestId, body);
    }
    return new ApiError(res.status, `http_${res.status}`, fallback, requestId, body);
  }
}

/** The earlier name of ApiError (same class). */
export const ApiRequestError = ApiError;
export type ApiRequestError = ApiError;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function isInvalidToken(res: Response): Promise<boolean> {
  if ((res.headers.get('www-authenticate') ?? '').includes('invalid_token')) return true;
  try {
    const body = (await res.clone().json()) as { message?: string; error?: string };
    return body.message === INVALID_TOKEN_MESSAGE || body.error === 'invalid_token';
  } catch {
    return false;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
