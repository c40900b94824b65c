import type { LRUCache } from 'lru-cache';
import type { ClientRecord } from '../domain/model.js';
import type { ClientCache } from '../auth/client-cache.js';
import { isSigningAlg, jwsVerify } from '../auth/jws.js';
import type { KeySet, VerificationKey } from '../auth/signing-keys.js';
import type { RevocationList } from './revocations.js';
import { type TokenClaims, type TokenReason, standing } from './standing.js';
import { lru } from '../domain/lru.js';

/** A token accepted now: its claims and the client record its standing was judged on. */
export interface VerifiedToken extends TokenClaims {
  client: ClientRecord;
}

/** The one result of a token check, for the gateway and introspection alike. */
export interface TokenCheck {
  /** The claims when the signature and times were good (also when its standing is not). */
  claims: TokenClaims | null;
  /** The client record the standing was judged on (null when not looked up or not found). */
  client: ClientRecord | null;
  reason: TokenReason;
  /** When accepted: the claims with the client, as the gateway hands them on. */
  verified?: VerifiedToken;
}

export type BearerFailure = 'missing' | 'invalid';

/** SPEC 3: the message of every 401 for a bad token. */
export const INVALID_TOKEN_MESSAGE = 'The access token is invalid or has expired';

export class BearerError extends Error {
  constructor(
    readonly kind: BearerFailure,
    /** Why, for logs and metrics (never shown to the caller). */
    readonly reason: TokenReason = kind === 'missing' ? 'missing' : 'malformed',
    /** The claims when the signature verified (expired, revoked, standing lost): whose token it was, for usage counts. */
    readonly claims: TokenClaims | null = null,
  ) {
    super(kind === 'missing' ? 'No access token' : INVALID_TOKEN_MESSAGE);
  }
}

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  region: string;
  keys: KeySet;
  clients: ClientCache;
  revocations: RevocationList;
  /** Clock leeway for exp/nbf/iat, in seconds. */
  leewaySeconds?: number;
  /** Tokens whose signature was checked, kept in memory (LRU). */
  maxChecked?: number;
}

const MAX_TOKEN_LENGTH = 8192;
/** Verified signatures remembered (Envoy jwt_authn style): least recently used evicted first. */
export const CHECKED_TOKENS_MAX = 10_000;

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isB64url = (s: string) => /^[A-Za-z0-9_-]+$/.test(s);
const optionalInt = (v: unknown): v is number | undefined => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);

interface Checked {
  /** The whole token: the cache is keyed by its signature's tail, the entry only answers for this. */
  token: string;
  claims: TokenClaims;
  /** The key that verified the signature: when it leaves the key set, so does the entry. */
  kid: string;
  key: VerificationKey;
  /**
   * The last acceptance, reused while nothing it rested on changed: the same client record
   * (a change to the credential, its owner or account replaces the record), no revocation since
   * (the revocation list's generation), and not past `until` (a previous secret's grace end).
   */
  accepted?: { client: ClientRecord; revocations: number; until: number; verified: VerifiedToken };
}

/**
 * The key of a token in the checked cache: the tail of its signature. A Map hashes the whole key
 * on every lookup, and a token's header and payload (~600 characters) repeat from token to token;
 * the entry holds the whole token and answers only for an equal one.
 */
const cacheKey = (token: string) => token.slice(-CACHE_KEY_LENGTH);
const CACHE_KEY_LENGTH = 43;

/**
 * What a token is worth now, with nothing but memory: the signature against the region's own key
 * set (the key chosen by kid and its own alg, RS256 or ES256: a token whose alg header is not the
 * key's is refused, so no alg confusion), the issuer, audience, region
 * and times, then its standing: not revoked, and the rules of src/tokens/standing.ts on the client
 * record (which the result carries, so that the caller never looks the client up again).
 */
export class TokenVerifier {
  private readonly leeway: number;
  /**
   * Tokens whose signature and claims were already checked: clients reuse a token for its whole
   * life, so the signature is checked once per token (on the thread pool), not once per request.
   * Only what cannot change is cached; expiry, the key's presence and standing are checked on
   * every request.
   */
  private readonly checked: LRUCache<string, Checked>;
  /**
   * Signature checks in flight, by token: a client that fires many calls with a new token at once
   * gets one check for all of them (as when the check was synchronous), not one each.
   */
  private readonly checking = new Map<string, Promise<Checked | { reason: TokenReason; claims?: TokenClaims }>>();
  /** Signatures checked (cryptographically), for tests and diagnostics. */
  signatureChecks = 0;

  constructor(private readonly o: TokenVerifierOptions) {
    this.leeway = o.leewaySeconds ?? 10;
    this.checked = lru(o.maxChecked ?? CHECKED_TOKENS_MAX);
  }

  /** The token of an Authorization header (RFC 6750 2.1). */
  static extract(header: string | undefined): string {
    if (header === undefined) throw new BearerError('missing');
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match) throw new BearerError('invalid');
    return match[1] as string;
  }

  /** The gateway's check: the token of the header, accepted now, or a BearerError. */
  async verify(authorization: string | undefined): Promise<VerifiedToken> {
    return this.verifyToken(TokenVerifier.extract(authorization));
  }

  /**
   * The gateway's check without waiting, from memory alone: the token of the header accepted now,
   * a BearerError thrown, or undefined when the answer needs a signature check (the token's
   * first use here) or the store (its client is not cached): then `verify`.
   */
  verifyNow(authorization: string | undefined): VerifiedToken | undefined {
    const result = this.checkNow(TokenVerifier.extract(authorization));
    return result === undefined ? undefined : accepted(result);
  }

  async verifyToken(token: string): Promise<VerifiedToken> {
    return accepted(await this.check(token));
  }

  /** Signature and claims only: whether this region issued it and it is within its lifetime. */
  async verifyJwt(token: string): Promise<TokenClaims> {
    const verified = await this.verifySigned(token);
    if ('reason' in verified) throw new BearerError('invalid', verified.reason);
    return verified.claims;
  }

  /** The full check, as one result. */
  async check(token: string): Promise<TokenCheck> {
    let entry = this.cached(token);
    if (entry === undefined) {
      // A miss costs one signature check on the thread pool; a hit stays synchronous.
      let pending = this.checking.get(token);
      if (pending === undefined) {
        pending = this.verifySigned(token).finally(() => this.checking.delete(token));
        this.checking.set(token, pending);
      }
      const verified = await pending;
      if ('reason' in verified) return { claims: verified.claims ?? null, client: null, reason: verified.reason };
      entry = verified;
      this.checked.set(cacheKey(token), entry);
    }
    // The revocation list as consulted now: one revoked while the client is read below is seen
    // by the next request, since the acceptance is remembered at this generation, not a later one.
    const generation = this.o.revocations.generation;
    const early = this.beforeStanding(entry, Date.now(), generation);
    if (early !== undefined) return early;
    const client = this.o.clients.peek(entry.claims.clientId) ?? (await this.o.clients.get(entry.claims.clientId));
    return this.judge(entry, client, Date.now(), generation);
  }

  /** The check from memory alone; undefined when it needs the thread pool or the store. */
  checkNow(token: string): TokenCheck | undefined {
    const entry = this.cached(token);
    if (entry === undefined) return undefined;
    const nowMs = Date.now();
    const generation = this.o.revocations.generation;
    const early = this.beforeStanding(entry, nowMs, generation);
    if (early !== undefined) return early;
    const client = this.o.clients.peek(entry.claims.clientId);
    return client === undefined ? undefined : this.judge(entry, client, nowMs, generation);
  }

  /** The entry of a token whose signature was checked with a key still in the key set. */
  private cached(token: string): Checked | undefined {
    const key = cacheKey(token);
    const entry = this.checked.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    if (this.o.keys.verificationKey(entry.kid) !== entry.key) {
      // The key that verified it left the key set (or was reloaded): verify again.
      this.checked.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Expired or revoked (by the list at `generation`): decided without the client record. */
  private beforeStanding(entry: Checked, nowMs: number, generation: number): TokenCheck | undefined {
    const claims = entry.claims;
    if (claims.expiresAt + this.leeway <= Math.floor(nowMs / 1000)) return { claims, client: null, reason: 'expired' };
    const accepted = entry.accepted;
    // Nothing was revoked since it was last accepted: the lookup in the (large) list is skipped.
    if (accepted !== undefined && accepted.revocations === generation) return undefined;
    if (this.o.revocations.isRevoked(claims.jti)) return { claims, client: null, reason: 'revoked' };
    return undefined;
  }

  /**
   * The token's standing on this client record (SPEC 2 rule 9), remembered when accepted, with the
   * revocation list's generation at which the token was found not revoked.
   */
  private judge(entry: Checked, client: ClientRecord | null, nowMs: number, generation: number): TokenCheck {
    const claims = entry.claims;
    const last = entry.accepted;
    if (last !== undefined && last.client === client && last.revocations === generation && nowMs < last.until) {
      return { claims, client, reason: 'ok', verified: last.verified };
    }
    const reason = standing(client, claims, nowMs);
    if (reason !== 'ok' || client === null) {
      entry.accepted = undefined;
      return { claims, client, reason };
    }
    // Accepted through a previous secret: only until its grace ends (the one time-bound rule).
    const throughPrevious = claims.secretId !== undefined && claims.secretId !== client.secretId;
    const until = throughPrevious ? (client.previousSecretExpiresAt ?? 0) : Number.POSITIVE_INFINITY;
    // Shared by the requests that reuse this acceptance: frozen, so that none can change it for the others.
    const verified: VerifiedToken = Object.freeze({ ...claims, client });
    entry.accepted = { client, revocations: generation, until, verified };
    return { claims, client, reason, verified };
  }

  private async verifySigned(token: string): Promise<Checked | { reason: TokenReason; claims?: TokenClaims }> {
    const malformed = { reason: 'malformed' as const };
    if (token.length > MAX_TOKEN_LENGTH) return malformed;
    const parts = token.split('.');
    if (parts.length !== 3) return malformed;
    const [h, p, s] = parts as [string, string, string];
    if (!isB64url(h) || !isB64url(p) || !isB64url(s)) return malformed;
    const header = decodeJson(h);
    if (!header || !isSigningAlg(header.alg) || typeof header.kid !== 'string') return malformed;
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : '';
    if (typ !== 'at+jwt' && typ !== 'application/at+jwt') return malformed;
    if (header.crit !== undefined) return malformed;
    const key = this.o.keys.verificationKey(header.kid);
    if (!key) return { reason: 'unknown_key' };
    // The alg is the key's own: an RS256 token under an ES256 key's kid (or the reverse) is refused.
    if (header.alg !== key.alg) return malformed;
    this.signatureChecks++;
    if (!(await jwsVerify(key.alg, key.key, Buffer.from(`${h}.${p}`), Buffer.from(s, 'base64url')))) return { reason: 'bad_signature' };
    const claims = decodeJson(p);
    if (!claims) return malformed;
    const now = Math.floor(Date.now() / 1000);
    const { iss, aud, exp, nbf, iat, jti, client_id: clientId, account_id: accountId, scope, region, user_id: userId } = claims;
    const { secret_id: secretId, user_epoch: userEpoch, account_epoch: accountEpoch, scope_epoch: scopeEpoch } = claims;
    if (iss !== this.o.issuer || region !== this.o.region) return { reason: 'wrong_audience' };
    if (!(aud === this.o.audience || (Array.isArray(aud) && aud.includes(this.o.audience)))) return { reason: 'wrong_audience' };
    if (typeof exp !== 'number') return { reason: 'expired' };
    if (typeof nbf === 'number' && nbf - this.leeway > now) return { reason: 'not_yet_valid' };
    if (typeof iat !== 'number' || iat - this.leeway > now) return { reason: 'not_yet_valid' };
    if (typeof jti !== 'string' || typeof clientId !== 'string' || typeof accountId !== 'string' || typeof scope !== 'string') return malformed;
    if (userId !== undefined && typeof userId !== 'string') return malformed;
    if (secretId !== undefined && typeof secretId !== 'string') return malformed;
    if (!optionalInt(userEpoch) || !optionalInt(accountEpoch) || !optionalInt(scopeEpoch)) return malformed;
    const verified: Checked = {
      token,
      kid: header.kid,
      key,
      claims: {
        jti,
        clientId,
        accountId,
        userId: (userId as string | undefined) ?? null,
        scopes: scope.split(' '),
        issuedAt: iat,
        expiresAt: exp,
        secretId: secretId as string | undefined,
        userEpoch,
        accountEpoch,
        scopeEpoch,
      },
    };
    // Expired, but signed here: the claims say whose token it was (usage counts a 401 for it).
    if (exp + this.leeway <= now) return { reason: 'expired', claims: verified.claims };
    return verified;
  }
}

/** The token of an accepting check, or the BearerError of a refusing one. */
function accepted(result: TokenCheck): VerifiedToken {
  if (result.reason !== 'ok' || !result.claims || !result.client) throw new BearerError('invalid', result.reason, result.claims);
  return result.verified ?? { ...result.claims, client: result.client };
}
