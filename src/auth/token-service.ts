import { randomUUID } from 'node:crypto';
import {
  InvalidClientError,
  InvalidRequestError,
  InvalidScopeError,
  TemporarilyUnavailableError,
  UnsupportedGrantTypeError,
} from '../domain/errors.js';
import type { ClientRecord } from '../domain/model.js';
import { clientMayGetTokens, decideTokenScopes } from '../domain/policy.js';
import { grantClaims } from '../domain/token-claims.js';
import type { ClientCache } from './client-cache.js';
import type { FailureLimiter } from './failure-limiter.js';
import { mediaType, parseBasicAuthorization, parseForm } from './form.js';
import { jwsSign } from './jws.js';
import type { KeySet } from './signing-keys.js';
import type { LastUsedRecorder } from './last-used.js';
import type { SecretHasher } from './secrets.js';
import type { UsageSink } from '../usage/recorder.js';

export interface TokenRequest {
  contentType: string | undefined;
  authorization: string | undefined;
  body: string;
  ip: string;
}

export interface ClientCredentials {
  clientId: string | undefined;
  clientSecret: string | undefined;
  usedBasic: boolean;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  scope: string;
  clientId: string;
  accountId: string;
}

/** A client that has just authenticated, and the id of the secret it used. */
export type AuthenticatedClient = ClientRecord & { usedSecretId: string | null };

/** A stored hash that no secret matches, so unknown clients cost what known ones do. */
const ABSENT_CLIENT_HASH = 'h1$' + 'A'.repeat(43);

export interface TokenServiceOptions {
  issuer: string;
  audience: string;
  region: string;
  keys: KeySet;
  clients: ClientCache;
  hasher: SecretHasher;
  failures: FailureLimiter;
  lastUsed: LastUsedRecorder;
  /** Per-credential usage counts (in memory; src/usage/). */
  usage?: UsageSink;
}

/**
 * The client-credentials grant, as one pipeline: parse the request, authenticate the client,
 * decide the scope, sign. Every failure is a typed OAuthError; nothing here does I/O in steady
 * state (the client comes from the cache, the key from memory).
 */
export class TokenService {
  constructor(private readonly o: TokenServiceOptions) {}

  async issue(request: TokenRequest): Promise<IssuedToken> {
    const { params, credentials } = this.parseClientRequest(request);

    const grantType = params.get('grant_type');
    if (grantType === undefined || grantType === '') throw new InvalidRequestError('The grant_type parameter is required');
    if (grantType !== 'client_credentials') {
      // Named only when it is short and within the RFC 6749 5.2 error_description set (no " or \).
      throw new UnsupportedGrantTypeError(`The grant type ${/^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(grantType) ? grantType : '(given)'} is not supported; use client_credentials`);
    }

    const record = await this.authenticate(credentials, request.ip);
    const scopes = decideTokenScopes({ level: record.level, scopes: record.scopes, account: record.account, owner: record.owner }, params.get('scope'));
    if (!scopes.ok) {
      this.o.usage?.authFailed(record, 'scope', request.ip);
      throw new InvalidScopeError(scopes.message);
    }

    const now = Date.now();
    const token = await this.sign(record, scopes.scopes.join(' '), now);
    this.o.lastUsed.record(record.clientId, now);
    this.o.usage?.tokenIssued(record);
    return token;
  }

  /**
   * The form body and the client's credentials of a token, introspection or revocation request:
   * content type, strict form parsing, one client authentication method (RFC 6749 2.3.1).
   */
  parseClientRequest(request: TokenRequest): { params: Map<string, string>; credentials: ClientCredentials } {
    if (mediaType(request.contentType) !== 'application/x-www-form-urlencoded') {
      throw new InvalidRequestError('The request body must be application/x-www-form-urlencoded');
    }
    const params = parseForm(request.body);
    let usedBasic = false;
    let clientId = params.get('client_id');
    let clientSecret = params.get('client_secret');
    if (request.authorization !== undefined && request.authorization !== '') {
      const basic = parseBasicAuthorization(request.authorization);
      if (basic === 'not-basic') {
        // RFC 6749 5.2: an unsupported authentication method is invalid_client, and a client that
        // tried the Authorization header gets 401 with a challenge for the scheme we support.
        throw new InvalidClientError('Unsupported client authentication method: use HTTP Basic (client_secret_basic) or client_secret in the body (client_secret_post)', true);
      }
      if (clientSecret !== undefined) {
        throw new InvalidRequestError('Use one client authentication method: HTTP Basic or client_secret in the body, not both');
      }
      if (clientId !== undefined && clientId !== basic.clientId) {
        throw new InvalidRequestError('client_id in the body does not match the client of the Authorization header');
      }
      usedBasic = true;
      clientId = basic.clientId;
      clientSecret = basic.clientSecret;
    }
    return { params, credentials: { clientId, clientSecret, usedBasic } };
  }

  /**
   * Client authentication: the failure limiter, the secret compared in constant time, the same
   * answer and cost for an unknown client and a wrong secret, then whether the client may act now.
   */
  async authenticate(credentials: ClientCredentials, ip: string): Promise<AuthenticatedClient> {
    const { clientId, clientSecret, usedBasic } = credentials;
    if (!clientId) throw new InvalidClientError('Client authentication is required: send client_id and client_secret', usedBasic);

    // Per (client ID, IP) pair, per IP, and a far higher per-client ceiling (SPEC 3).
    const failureKeys = this.o.failures.keys(clientId, ip);
    const limited = () => {
      const wait = this.o.failures.retryAfter(failureKeys);
      if (wait > 0) throw new TemporarilyUnavailableError('Too many failed client authentications; try again later', wait);
    };
    // Before the lookup: an address or client ID over the limit costs no I/O.
    limited();
    const wasCached = this.o.clients.peek(clientId) !== undefined;
    const client = await this.o.clients.get(clientId);
    // Again after the lookup, which may have waited for the store: from here to the verdict
    // nothing awaits, so a concurrent burst cannot get more secrets compared than the limit.
    limited();
    const matched = this.secretMatches(client, clientSecret ?? '');
    if (!matched) {
      this.o.usage?.authFailed(client, 'wrong_secret', ip);
      // Counted here at once, then in Redis (shared with the other instances) during the read below.
      const shared = this.o.failures.recordFailure(failureKeys);
      // Timing (SPEC 3: an unknown client and a wrong secret cost the same): a failed
      // authentication always costs one store read. A never-seen client ID is read from the
      // store; a cached one (a client in use, hence known to exist) is read again here, which
      // also refreshes the entry (e.g. a secret rotated by another instance a moment ago).
      // Successful requests served from the cache still do no I/O.
      if (wasCached) await this.o.clients.reload(clientId).catch(() => undefined);
      // Past a shared limit already (failures at other instances): answered as limited.
      const wait = await shared;
      if (wait > 0) throw new TemporarilyUnavailableError('Too many failed client authentications; try again later', wait);
      throw new InvalidClientError('Client authentication failed', usedBasic);
    }
    // A known-good (client ID, source) pair: the per-client ceiling does not hold it back for 24 h.
    this.o.failures.succeeded(clientId, ip);
    // The token names the secret it was issued with (claim secret_id, SPEC rule 9).
    const record: AuthenticatedClient = { ...(client as ClientRecord), usedSecretId: matched === 'previous' ? (client as ClientRecord).previousSecretId : (client as ClientRecord).secretId };
    const allowed = clientMayGetTokens({ level: record.level, scopes: record.scopes, account: record.account, owner: record.owner });
    if (!allowed.ok) {
      this.o.usage?.authFailed(record, 'disabled', ip);
      throw new InvalidClientError(allowed.message, usedBasic);
    }
    return record;
  }

  /** Which secret matched ('current' or 'previous', within its grace), or false. */
  private secretMatches(client: ClientRecord | null, secret: string): 'current' | 'previous' | false {
    if (!client) {
      this.o.hasher.matches(secret, ABSENT_CLIENT_HASH);
      return false;
    }
    if (this.o.hasher.matches(secret, client.secretHash)) return 'current';
    if (client.previousSecretHash !== null && client.previousSecretExpiresAt !== null && client.previousSecretExpiresAt > Date.now()) {
      if (this.o.hasher.matches(secret, client.previousSecretHash)) return 'previous';
    }
    return false;
  }

  /**
   * The signed token. The signature is computed on the libuv thread pool (crypto.sign's callback
   * form): it is ~85-90% of a token's CPU, so the pool's threads sign in parallel while the event
   * loop parses and answers other requests.
   */
  private async sign(client: AuthenticatedClient, scope: string, nowMs: number): Promise<IssuedToken> {
    const key = this.o.keys.signingKey();
    const iat = Math.floor(nowMs / 1000);
    const expiresIn = client.account.accessTokenLifetimeSeconds;
    // What the token grants: the same claims the console's Evaluate shows (domain/token-claims.ts).
    const claims: Record<string, string | number> = { ...grantClaims(client, scope, this.o), iat, nbf: iat, exp: iat + expiresIn, jti: randomUUID() };
    // What the token's standing is judged on later (src/tokens/standing.ts).
    if (client.usedSecretId !== null) claims.secret_id = client.usedSecretId;
    claims.account_epoch = client.account.standingEpoch;
    if (client.level === 'user' && client.owner) claims.user_epoch = client.owner.standingEpoch;
    if (client.scopeEpoch) claims.scope_epoch = client.scopeEpoch;
    const signingInput = `${key.encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = (await jwsSign(key.alg, key.privateKey, Buffer.from(signingInput))).toString('base64url');
    return { accessToken: `${signingInput}.${signature}`, expiresIn, scope, clientId: client.clientId, accountId: client.accountId };
  }
}
