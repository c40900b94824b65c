import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UPSTREAM_METHODS, type UpstreamConfig, type UpstreamMethod } from '../config.js';
import type { TrustFunction } from '../http/trust-proxy.js';
import { mediaTypeOf } from './media-type.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on the routes of an external upstream: the configured prefix. */
    upstream?: string;
  }
}

export interface UpstreamOptions {
  upstreams: UpstreamConfig[];
  region: string;
  /** CCAUTH_TRUST_PROXY: which hops may speak for the client (the same rule as the region's own request.ip). */
  trustProxy: TrustFunction;
  /** Counts outcomes for /metrics: the status class (2xx..5xx), bad_gateway or gateway_timeout. */
  countOutcome?: (upstream: string, outcome: string) => void;
}

/**
 * Hop-by-hop headers (RFC 9110 7.6.1) and the ones that only make sense between the client and
 * us: never forwarded in either direction.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings'];

/** What the client sends that the upstream must not see: its credentials and headers we set. */
const REQUEST_STRIPPED = [...HOP_BY_HOP, 'authorization', 'cookie', 'expect', 'forwarded', 'x-real-ip'];

/**
 * What the upstream answers that the client must not get from it: the gateway's own rate-limit
 * headers stay the gateway's, and cookies are refused because they would be set on the region's
 * origin, where the Admin Portal keeps its session.
 */
const RESPONSE_STRIPPED = [...HOP_BY_HOP, 'set-cookie', 'set-cookie2', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit', 'ratelimit-policy'];

const IDEMPOTENT_WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The headers named by a Connection header are hop-by-hop as well. */
function connectionListed(headers: IncomingHttpHeaders): string[] {
  const value = headers.connection;
  return typeof value === 'string' ? value.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean) : [];
}

/**
 * The external upstreams of CCAUTH_UPSTREAMS, registered inside the gateway so that each request
 * passes the same bearer (401), account limit (429) and scope (403) checks as a built-in API
 * before it is forwarded. Each upstream gets its own encapsulated context: bodies are not parsed
 * but streamed through, and its connection pool is its own.
 */
export async function upstreamRoutes(app: FastifyInstance, o: UpstreamOptions): Promise<void> {
  if (o.upstreams.length === 0) return;
  // Loaded only when an upstream is configured: the proxy and its HTTP client (undici) are the
  // largest modules of the instance (about 0.2 s of start-up and their memory otherwise).
  const { default: replyFrom } = await import('@fastify/reply-from');
  for (const upstream of o.upstreams) {
    await app.register(async (scoped) => registerUpstream(scoped, upstream, o, replyFrom));
  }
}

async function registerUpstream(app: FastifyInstance, upstream: UpstreamConfig, o: UpstreamOptions, replyFrom: typeof import('@fastify/reply-from').default): Promise<void> {
  const target = new URL(upstream.url);
  const basePath = target.pathname.replace(/\/+$/, '');
  const count = o.countOutcome ?? (() => undefined);
  const upstreamTypes = new WeakMap<FastifyRequest, string>();

  // The gateway labels application/json answers with the platform's media type; this hook runs
  // after the gateway's and gives an upstream's answer its own type back.
  app.addHook('onSend', async (request, reply, payload) => {
    const type = upstreamTypes.get(request);
    if (type !== undefined) reply.header('content-type', type);
    return payload;
  });

  // Any body, of any content type, goes to the upstream as the client sends it: no parsing, no
  // buffering, no size limit of ours (the upstream sets its own).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  await app.register(replyFrom, {
    base: target.origin,
    disableRequestLogging: true,
    destroyAgent: true,
    undici: {
      connections: 128,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: Math.min(upstream.timeoutMs, 10_000), rejectUnauthorized: true },
      // reply-from turns a missing tls option into rejectUnauthorized: false; keep TLS verified.
      tls: { rejectUnauthorized: true },
    } as never,
  });


  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.raw.url ?? '/';
    const queryAt = raw.indexOf('?');
    const path = queryAt >= 0 ? raw.slice(0, queryAt) : raw;
    const rest = path.slice(upstream.prefix.length);
    const source = upstreamPath(basePath, rest);
    if (typeof source !== 'string') return sendError(reply, 400, 'invalid_request', source.problem);
    const method = request.method;
    const hasBody = request.body !== undefined && request.body !== null;

    return reply.from(source, {
      timeout: upstream.timeoutMs,
      // A pooled keep-alive connection the upstream has just closed is retried once, for
      // requests that can be repeated; an upstream's 503 is passed on, never retried.
      retryDelay: ({ err, attempt }) => {
        const code = (err as NodeJS.ErrnoException | undefined)?.code;
        return attempt === 0 && !hasBody && IDEMPOTENT_WITHOUT_BODY.has(method) && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') ? 10 : null;
      },
      rewriteRequestHeaders: (_req, incoming) => forwardedHeaders(request, incoming as IncomingHttpHeaders, hasBody, o),
      rewriteHeaders: (headers) => {
        const out: Record<string, string | string[] | undefined> = { ...(headers as IncomingHttpHeaders) };
        if (typeof out['content-type'] === 'string') upstreamTypes.set(request, out['content-type']);
        for (const name of [...RESPONSE_STRIPPED, ...connectionListed(headers as IncomingHttpHeaders)]) delete out[name];
        return out;
      },
      onResponse: (_req, r, response) => {
        count(upstream.prefix, `${String(r.statusCode).slice(0, 1)}xx`);
        void r.send(response.stream);
      },
      onError: (r, { error }) => {
        // Nothing of the upstream's answer goes with our error (it may have sent invalid headers).
        upstreamTypes.delete(request);
        for (const name of Object.keys(r.getHeaders())) if (!name.startsWith('ratelimit-')) r.removeHeader(name);
        const status = (error as Error & { statusCode?: number }).statusCode;
        const timedOut = status === 504;
        count(upstream.prefix, timedOut ? 'gateway_timeout' : 'bad_gateway');
        request.log.warn({ upstream: upstream.prefix, code: (error as NodeJS.ErrnoException).code, cause: ((error as Error & { cause?: Error }).cause as NodeJS.ErrnoException | undefined)?.code }, 'upstream request failed');
        void sendError(
          r as unknown as FastifyReply,
          timedOut ? 504 : 502,
          timedOut ? 'gateway_timeout' : 'bad_gateway',
          timedOut ? `The upstream behind ${upstream.prefix} did not answer within ${upstream.timeoutMs} ms` : `The upstream behind ${upstream.prefix} could not be reached or did not answer properly`,
        );
      },
    });
  };

  for (const method of UPSTREAM_METHODS) {
    const scope = upstream.scopes[method];
    if (!scope) continue;
    for (const url of [upstream.prefix, `${upstream.prefix}/*`]) {
      // versioned: false, the upstream owns its media types: its Accept header is not an API version.
      app.route({ method, url, exposeHeadRoute: false, config: { scope, upstream: upstream.prefix, versioned: false }, handler: forward });
    }
  }
}

/**
 * The path the upstream gets: its base path and the rest of the client's path, exactly as the
 * client sent it, or the reason it is refused. The target can never leave the upstream's base:
 * no backslash (URL parsers read it as a slash, so `/crm/\\host/x` named another host), no `.` or
 * `..` segment, raw or percent-encoded, no byte a URL parser would drop or rewrite; whatever the
 * WHATWG parser would normalise differently from the string is refused rather than forwarded.
 */
export function upstreamPath(basePath: string, rest: string): string | { problem: string } {
  if (rest !== '' && !rest.startsWith('/')) return { problem: 'The path does not belong to this upstream' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return { problem: 'The path has a malformed percent-escape' };
  }
  if (decoded.includes('\\')) return { problem: 'The path may not contain a backslash' };
  if (decoded.split('/').some((segment) => segment === '..' || segment === '.')) return { problem: 'The path may not contain . or .. segments' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return { problem: 'The path may not contain control characters' };
  const source = `${basePath}${rest}` || '/';
  const parsed = new URL(`http://upstream.invalid${source}`);
  if (parsed.host !== 'upstream.invalid' || parsed.pathname !== source || !(source === basePath || source.startsWith(`${basePath}/`) || basePath === '')) {
    return { problem: 'The path cannot be forwarded as sent' };
  }
  return source;
}

/** The gateway's own answers on upstream routes: JSON errors in the platform's media type. */
function sendError(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).type(`${mediaTypeOf(1)}; charset=utf-8`).send(JSON.stringify({ error, message }));
}

/** The request headers the upstream gets: the client's, less its credentials, plus who is calling. */
function forwardedHeaders(request: FastifyRequest, incoming: IncomingHttpHeaders, hasBody: boolean, o: UpstreamOptions): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = { ...incoming };
  const socketAddress = request.socket.remoteAddress ?? '';
  // The X-Forwarded-* a client sends count only when it reached us through one of our proxies.
  const peerTrusted = o.trustProxy(socketAddress, 0);
  for (const name of [...REQUEST_STRIPPED, ...connectionListed(request.headers)]) delete headers[name];
  // Nothing the client says about its identity or its route through proxies passes unchecked.
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-ccauth-')) delete headers[name];
    else if (name.startsWith('x-forwarded-') && !peerTrusted) delete headers[name];
  }
  if (!hasBody) {
    // Fastify does not read a body on GET or HEAD: announce none.
    delete headers['content-length'];
    delete headers['content-type'];
  }

  const token = request.token;
  headers['x-ccauth-account-id'] = token.accountId;
  headers['x-ccauth-client-id'] = token.clientId;
  if (token.userId) headers['x-ccauth-user-id'] = token.userId;
  headers['x-ccauth-scope'] = token.scopes.join(' ');
  headers['x-ccauth-region'] = o.region;
  headers['x-ccauth-request-id'] = String(request.id);

  // The chain as far as it is trusted, ending with the client it names (request.ips: nearest
  // first, up to the first hop that is not one of our proxies), never a left-most entry beyond.
  const chain = request.ips && request.ips.length > 0 ? [...request.ips].reverse() : [socketAddress];
  headers['x-forwarded-for'] = chain.join(', ');
  headers['x-forwarded-proto'] = request.protocol;
  headers['x-forwarded-host'] = request.host;
  return headers;
}

/**
 * The methods an upstream does not route answer 405 with Allow. These routes live outside the
 * gateway (a method no token could ever use needs no token to be refused); the route's path is in
 * the API reference anyway.
 */
export async function upstreamMethodFallbacks(app: FastifyInstance, o: { upstreams: UpstreamConfig[] }): Promise<void> {
  for (const upstream of o.upstreams) {
    const allowed = UPSTREAM_METHODS.filter((m) => upstream.scopes[m]);
    const missing = UPSTREAM_METHODS.filter((m) => !upstream.scopes[m]) as UpstreamMethod[];
    if (missing.length === 0) continue;
    const message = `${upstream.prefix} accepts ${allowed.join(', ')}`;
    for (const url of [upstream.prefix, `${upstream.prefix}/*`]) {
      app.route({
        method: missing,
        url,
        exposeHeadRoute: false,
        config: { upstream: upstream.prefix },
        schema: { hide: true },
        handler: async (_request, reply) => sendError(reply.header('allow', allowed.join(', ')), 405, 'method_not_allowed', message),
      });
    }
  }
}

/**
 * Fails the start when an upstream prefix would shadow or be shadowed by a route of the region
 * (a built-in API, the token service, the portal): the routes are collected as they are added.
 */
export function upstreamOverlaps(upstreams: UpstreamConfig[], routes: { method: string | string[]; url: string; upstream?: string }[]): string[] {
  const problems: string[] = [];
  for (const u of upstreams) {
    for (const route of routes) {
      if (route.upstream !== undefined) continue;
      if (route.url === u.prefix || route.url.startsWith(`${u.prefix}/`)) {
        problems.push(`CCAUTH_UPSTREAMS: the prefix ${u.prefix} overlaps the route ${[route.method].flat().join(',')} ${route.url} of the region`);
      }
    }
  }
  return [...new Set(problems)];
}
