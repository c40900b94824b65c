import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CcauthError } from '../domain/errors.js';
import { hasRepeatedAuthorization } from '../http/headers.js';
import { type BearerVerifier, BearerError, type VerifiedToken } from './bearer.js';
import { INVALID_TOKEN_MESSAGE } from '../tokens/verify.js';
import { type ApiVersion, mediaTypeOf, negotiateVersion } from './media-type.js';
import type { AccountRateLimiter, RateDecision } from './rate-limit.js';
import { type UsageSink, apiNameOf } from '../usage/recorder.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token of a gateway route. */
    token: VerifiedToken;
    apiVersion: ApiVersion;
  }
  interface FastifyContextConfig {
    /** The scope a gateway route needs (from the catalogue, or an upstream's configuration). */
    scope?: string;
    /**
     * false on a route that serves bytes in their own media type (a recording, an upstream's
     * answer): its Accept header names that type, not an API version, so no 406 for it.
     */
    versioned?: boolean;
  }
}

export interface GatewayOptions {
  publicUrl: string;
  verifier: BearerVerifier;
  limiter: AccountRateLimiter;
  /** The token's account's apiRateLimitPerMinute, from memory. */
  accountLimit: (token: VerifiedToken) => number;
  /** Counts outcomes for /metrics. */
  countOutcome?: (outcome: string) => void;
  /** Why a token was refused (a fixed set of reason codes, src/tokens/standing.ts): metrics and debug logs. */
  countRefusal?: (reason: string) => void;
  /** Per-credential usage counts (in memory; src/usage/). */
  usage?: UsageSink;
}

const INVALID_TOKEN_BODY = JSON.stringify({ error: 'invalid_token', message: INVALID_TOKEN_MESSAGE });
const REPEATED_AUTHORIZATION_BODY = JSON.stringify({ error: 'invalid_request', message: 'The request has more than one Authorization header; send exactly one' });

/** Runs a hook's continuation after a wait: what it throws goes to Fastify as the hook's error (as a synchronous throw would). */
function guarded(done: (err?: Error) => void, step: () => void): void {
  try {
    step();
  } catch (err) {
    done(err as Error);
  }
}

/**
 * The gateway in front of every platform API route registered inside it: bearer token (401),
 * the account's API limit (429; only requests with a valid token count), media-type version
 * (406), the route's scope (403). Then the handler runs with `request.token`.
 */
export async function gateway(app: FastifyInstance, o: GatewayOptions): Promise<void> {
  const wwwAuthenticateInvalid = `Bearer error="invalid_token", error_description="${INVALID_TOKEN_MESSAGE}"`;
  const wwwAuthenticateMissing = `Bearer realm="${o.publicUrl}"`;
  const count = o.countOutcome ?? (() => undefined);

  app.decorateRequest('token', null as unknown as VerifiedToken);
  app.decorateRequest('apiVersion', 1);

  app.addHook('onRoute', (route) => {
    if (!route.config?.scope) throw new Error(`Gateway route ${route.method} ${route.url} declares no scope`);
  });

  const send = (reply: FastifyReply, status: number, body: string, headers: Record<string, string>) =>
    reply.code(status).headers(headers).type(`${mediaTypeOf(1)}; charset=utf-8`).send(body);

  /** A refused token: 401, counted (for its credential too when it was signed here). */
  const refuse = (request: FastifyRequest, reply: FastifyReply, err: BearerError) => {
    count('invalid_token');
    o.countRefusal?.(err.reason);
    request.log.debug({ reason: err.reason }, 'access token refused');
    // A token signed here (expired, revoked...) is counted for its credential; garbage is not.
    if (err.claims && o.usage) o.usage.apiCall(err.claims, apiNameOf(request.routeOptions.url), 401);
    send(reply, 401, INVALID_TOKEN_BODY, { 'www-authenticate': err.kind === 'missing' ? wwwAuthenticateMissing : wwwAuthenticateInvalid });
  };

  /** The account's limit, the version, the scope; `done` when the handler may run (a reply is sent otherwise). */
  const admit = (request: FastifyRequest, reply: FastifyReply, token: VerifiedToken, done: (err?: Error) => void) => {
    request.token = token;
    const limit = o.accountLimit(token);
    // Synchronous unless this instance must first lease budget from Redis.
    const pending = o.limiter.consume(token.accountId, limit);
    if (pending instanceof Promise) {
      pending.then(
        (decision) => guarded(done, () => decide(request, reply, token, limit, decision, done)),
        (err: unknown) => done(err as Error),
      );
    } else decide(request, reply, token, limit, pending, done);
  };

  const decide = (request: FastifyRequest, reply: FastifyReply, token: VerifiedToken, limit: number, decision: RateDecision, done: (err?: Error) => void) => {
    reply.header('ratelimit-limit', String(decision.limit));
    reply.header('ratelimit-remaining', String(decision.remaining));
    reply.header('ratelimit-reset', String(decision.resetSeconds));
    if (!decision.allowed) {
      count('rate_limited');
      send(reply, 429, JSON.stringify({ error: 'rate_limited', message: `The account's API limit of ${limit} requests a minute is used up; retry after ${decision.retryAfterSeconds} s` }), {
        'retry-after': String(decision.retryAfterSeconds),
      });
      return;
    }

    const negotiated = request.routeOptions.config.versioned === false ? ({ ok: true, version: 1 } as const) : negotiateVersion(request.headers.accept);
    if (!negotiated.ok) {
      count('not_acceptable');
      send(reply, 406, JSON.stringify({ error: 'not_acceptable', message: negotiated.message }), {});
      return;
    }
    request.apiVersion = negotiated.version;

    const scope = request.routeOptions.config.scope as string;
    if (!token.scopes.includes(scope)) {
      count('insufficient_scope');
      send(reply, 403, JSON.stringify({ error: 'insufficient_scope', message: `This request needs an access token with the scope ${scope}` }), {
        'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"`,
      });
      return;
    }
    count('allowed');
    done();
  };

  // Callback style: a token already checked here, whose client is cached (nearly every request),
  // is decided without a promise; only a first use (the signature, on the thread pool), a client
  // read from the store or a lease from Redis waits. A reply sent here ends the request (no done).
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    // Node keeps the first of several Authorization headers; the raw list shows them all (RFC 6750 3.1).
    if (hasRepeatedAuthorization(request.raw.rawHeaders)) {
      count('invalid_request');
      send(reply, 400, REPEATED_AUTHORIZATION_BODY, { 'www-authenticate': 'Bearer error="invalid_request", error_description="More than one Authorization header"' });
      return;
    }
    let token: VerifiedToken | undefined;
    try {
      token = o.verifier.verifyNow(request.headers.authorization);
    } catch (err) {
      if (!(err instanceof BearerError)) return done(err as Error);
      return refuse(request, reply, err);
    }
    if (token !== undefined) return admit(request, reply, token, done);
    o.verifier.verify(request.headers.authorization).then(
      (verified) => guarded(done, () => admit(request, reply, verified, done)),
      (err: unknown) => (err instanceof BearerError ? guarded(done, () => refuse(request, reply, err)) : done(err as Error)),
    );
  });

  // Every answer to a request with a valid token counts for its credential, by API and status.
  const usage = o.usage;
  if (usage) {
    // Callback style: no promise per request.
    app.addHook('onResponse', (request, reply, done) => {
      try {
        if (request.token) usage.apiCall(request.token, apiNameOf(request.routeOptions.url), reply.statusCode);
      } finally {
        done();
      }
    });
  }

  // JSON answers carry the versioned media type.
  app.addHook('onSend', (request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) reply.header('content-type', `${mediaTypeOf(request.apiVersion)}; charset=utf-8`);
    done(null, payload);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    if (error instanceof CcauthError) {
      return reply.code(error.status).headers(error.headers).send({ error: error.code, message: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      const message = error.validation ? error.message : status === 415 ? 'Unsupported content type: send application/json' : error.message || 'The request is malformed';
      return reply.code(status === 413 || status === 415 ? status : 400).send({ error: 'invalid_request', message });
    }
    request.log.error({ err: error }, 'API handler failure');
    return reply.code(500).send({ error: 'server_error', message: 'Something went wrong; try again' });
  });
}
