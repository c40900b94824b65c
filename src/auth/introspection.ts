import { InvalidRequestError } from '../domain/errors.js';
import type { RevocationList } from '../tokens/revocations.js';
import type { TokenClaims } from '../tokens/standing.js';
import { BearerError, type TokenVerifier } from '../tokens/verify.js';
import type { Store } from '../store/store.js';
import type { TokenRequest, TokenService } from './token-service.js';
import type { UsageSink } from '../usage/recorder.js';

export interface TokenIntrospectionOptions {
  tokens: TokenService;
  verifier: TokenVerifier;
  revocations: RevocationList;
  store: Store;
  issuer: string;
  audience: string;
  region: string;
  /** Per-credential usage counts (in memory; src/usage/). */
  usage?: UsageSink;
}

/**
 * RFC 7662 introspection and RFC 7009 revocation. Both authenticate the calling client exactly as
 * the token endpoint does; a token of another account is, to the caller, simply not active.
 */
export class TokenIntrospection {
  constructor(private readonly o: TokenIntrospectionOptions) {}

  async introspect(request: TokenRequest): Promise<Record<string, unknown>> {
    const { token, callerAccountId } = await this.parse(request);
    // The same check as the gateway's (src/tokens/), so both say the same of a token.
    const result = await this.o.verifier.check(token);
    const verified = result.claims;
    if (result.reason !== 'ok' || !verified) return { active: false };
    if (verified.accountId !== callerAccountId) return { active: false };
    return {
      active: true,
      scope: verified.scopes.join(' '),
      client_id: verified.clientId,
      sub: verified.clientId,
      token_type: 'Bearer',
      exp: verified.expiresAt,
      iat: verified.issuedAt,
      nbf: verified.issuedAt,
      iss: this.o.issuer,
      aud: this.o.audience,
      jti: verified.jti,
      account_id: verified.accountId,
      region: this.o.region,
      ...(verified.userId ? { user_id: verified.userId } : {}),
    };
  }

  /** Revokes a token of the caller's account; answers the same whatever the token was (RFC 7009 2.2). */
  async revoke(request: TokenRequest): Promise<void> {
    const { token, callerAccountId } = await this.parse(request);
    let verified: TokenClaims;
    try {
      verified = await this.o.verifier.verifyJwt(token);
    } catch (err) {
      if (err instanceof BearerError) return;
      throw err;
    }
    if (verified.accountId !== callerAccountId) return;
    const expiresAt = verified.expiresAt * 1000;
    this.o.revocations.add(verified.jti, expiresAt);
    await this.o.store.revokedTokens.add({ jti: verified.jti, accountId: verified.accountId, clientId: verified.clientId, expiresAt });
    this.o.usage?.tokenRevoked(verified);
  }

  private async parse(request: TokenRequest): Promise<{ token: string; callerAccountId: string }> {
    const { params, credentials } = this.o.tokens.parseClientRequest(request);
    const token = params.get('token');
    const caller = await this.o.tokens.authenticate(credentials, request.ip);
    if (token === undefined || token === '') throw new InvalidRequestError('The token parameter is required');
    const hint = params.get('token_type_hint');
    if (hint !== undefined && hint !== 'access_token' && hint !== 'refresh_token') {
      throw new InvalidRequestError('token_type_hint must be access_token (this server issues no refresh tokens)');
    }
    return { token, callerAccountId: caller.accountId };
  }
}
