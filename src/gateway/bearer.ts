import { verify as verifySignature } from 'node:crypto';
import type { ClientRecord } from '../domain/model.js';
import { clientMayGetTokens } from '../domain/policy.js';
import { mayGrant } from '../domain/policy.js';
import type { ClientCache } from '../auth/client-cache.js';
import type { KeySet } from '../auth/signing-keys.js';
import type { RevocationList } from './revocations.js';

/** What a verified access token says, for handlers and upstreams. */
export interface VerifiedToken {
  jti: string;
  clientId: string;
  accountId: string;
  userId: string | null;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
}

export type BearerFailure = 'missing' | 'invalid';

export class BearerError extends Error {
  constructor(readonly kind: BearerFailure) {
    super(kind === 'missing' ? 'No access token' : 'The access token is invalid or has expired');
  }
}

export interface BearerVerifierOptions {
  issuer: string;
  audience: string;
  region: string;
  keys: KeySet;
  clients: ClientCache;
  revocations: RevocationList;
  /** Clock leeway for exp/nbf/iat, in seconds. */
  leewaySeconds?: number;
}

const MAX_TOKEN_LENGTH = 8192;

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isB64url = (s: string) => /^[A-Za-z0-9_-]+$/.test(s);

/**
 * Checks a bearer token with nothing but memory: the signature against the region's own key set
 * (RS256 only, the key chosen by kid, never by the token's alg), the issuer, audience, region and
 * times, then the token's standing now: not revoked, its credential still there with every scope
 * of the token, not cut off by a secret rotation, its owner and account still allowed.
 */
export class BearerVerifier {
  private readonly leeway: number;
  /**
   * Tokens whose signature and claims were already checked: clients reuse a token for its whole
   * life, so the RSA verification is done once per token, not once per request. Only what cannot
   * change is cached; expiry and standing are checked on every request.
   */
  private readonly checked = new Map<string, VerifiedToken>();
  private readonly maxChecked = 10_000;

  constructor(private readonly o: BearerVerifierOptions) {
    this.leeway = o.leewaySeconds ?? 10;
  }

  /** The token of an Authorization header (RFC 6750 2.1). */
  static extract(header: string | undefined): string {
    if (header === undefined) throw new BearerError('missing');
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match) throw new BearerError('invalid');
    return match[1] as string;
  }

  async verify(authorization: string | undefined): Promise<VerifiedToken> {
    return this.verifyToken(BearerVerifier.extract(authorization));
  }

  /** Signature and claims only: whether this region issued it and it is within its lifetime. */
  verifyJwt(token: string): VerifiedToken {
    const invalid = new BearerError('invalid');
    if (token.length > MAX_TOKEN_LENGTH) throw invalid;
    const parts = token.split('.');
    if (parts.length !== 3) throw invalid;
    const [h, p, s] = parts as [string, string, string];
    if (!isB64url(h) || !isB64url(p) || !isB64url(s)) throw invalid;
    const header = decodeJson(h);
    if (!header || header.alg !== 'RS256' || typeof header.kid !== 'string') throw invalid;
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : '';
    if (typ !== 'at+jwt' && typ !== 'application/at+jwt') throw invalid;
    if (header.crit !== undefined) throw invalid;
    const key = this.o.keys.verificationKey(header.kid);
    if (!key) throw invalid;
    let ok = false;
    try {
      ok = verifySignature('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
    } catch {
      ok = false;
    }
    if (!ok) throw invalid;
    const claims = decodeJson(p);
    if (!claims) throw invalid;
    const now = Math.floor(Date.now() / 1000);
    const { iss, aud, exp, nbf, iat, jti, client_id: clientId, account_id: accountId, scope, region, user_id: userId } = claims;
    if (iss !== this.o.issuer || region !== this.o.region) throw invalid;
    if (!(aud === this.o.audience || (Array.isArray(aud) && aud.includes(this.o.audience)))) throw invalid;
    if (typeof exp !== 'number' || exp + this.leeway <= now) throw invalid;
    if (typeof nbf === 'number' && nbf - this.leeway > now) throw invalid;
    if (typeof iat !== 'number' || iat - this.leeway > now) throw invalid;
    if (typeof jti !== 'string' || typeof clientId !== 'string' || typeof accountId !== 'string' || typeof scope !== 'string') throw invalid;
    if (userId !== undefined && typeof userId !== 'string') throw invalid;
    return { jti, clientId, accountId, userId: (userId as string | undefined) ?? null, scopes: scope.split(' '), issuedAt: iat, expiresAt: exp };
  }

  /** Full check, including the token's standing now (revocation, credential state). */
  async verifyToken(token: string): Promise<VerifiedToken> {
    let verified = this.checked.get(token);
    if (verified === undefined || verified.expiresAt + this.leeway <= Math.floor(Date.now() / 1000)) {
      verified = this.verifyJwt(token);
      if (this.checked.size >= this.maxChecked) {
        const oldest = this.checked.keys().next().value;
        if (oldest !== undefined) this.checked.delete(oldest);
      }
      this.checked.set(token, verified);
    }
    if (this.o.revocations.isRevoked(verified.jti)) throw new BearerError('invalid');
    const client = this.o.clients.peek(verified.clientId) ?? (await this.o.clients.get(verified.clientId));
    if (!stillStanding(client, verified)) throw new BearerError('invalid');
    return verified;
  }
}

/** Whether what made the token valid when it was issued still holds (SPEC 2 rule 9, SPEC 3). */
export function stillStanding(client: ClientRecord | null, token: VerifiedToken): boolean {
  if (!client || client.accountId !== token.accountId) return false;
  if (client.tokensNotBefore !== null && token.issuedAt * 1000 < client.tokensNotBefore) return false;
  if (!clientMayGetTokens({ level: client.level, scopes: client.scopes, account: client.account, owner: client.owner }).ok) return false;
  for (const scope of token.scopes) {
    if (!client.scopes.includes(scope)) return false;
    if (client.level === 'user' && client.owner && !mayGrant(client.owner.license, scope)) return false;
  }
  return true;
}
