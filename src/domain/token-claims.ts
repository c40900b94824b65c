import type { ClientRecord } from './model.js';
import { clientMayGetTokens, mayGrant } from './policy.js';

/** Where a region's tokens come from and are meant for (SPEC 3: iss, aud, region). */
export interface TokenContext {
  issuer: string;
  audience: string;
  region: string;
}

/**
 * The claims of an access token that describe what it grants (RFC 9068): what the token endpoint
 * puts in every token, without the per-token ones (jti, iat, nbf, exp) and without the internal
 * standing claims (secret_id, account_epoch, user_epoch) that only the gateway reads.
 */
export interface GrantClaims {
  iss: string;
  aud: string;
  sub: string;
  client_id: string;
  scope: string;
  account_id: string;
  region: string;
  user_id?: string;
}

export function grantClaims(client: Pick<ClientRecord, 'clientId' | 'accountId' | 'level' | 'owner'>, scope: string, ctx: TokenContext): GrantClaims {
  const claims: GrantClaims = {
    iss: ctx.issuer,
    aud: ctx.audience,
    sub: client.clientId,
    client_id: client.clientId,
    scope,
    account_id: client.accountId,
    region: ctx.region,
  };
  if (client.level === 'user' && client.owner) claims.user_id = client.owner.id;
  return claims;
}

/**
 * Rule 8 applied to every scope of the credential at once: the scopes a token request could be
 * granted now (on the credential and still allowed to the owner's license), in the credential's order.
 */
export function scopesAllowedNow(client: Pick<ClientRecord, 'level' | 'scopes' | 'owner'>): string[] {
  if (client.level !== 'user') return [...client.scopes];
  const owner = client.owner;
  return owner ? client.scopes.filter((s) => mayGrant(owner.license, s)) : [];
}

export interface TokenEvaluation {
  claims: GrantClaims;
  expiresIn: number;
  /** Why a token request would fail or get fewer scopes now; empty when the credential is fine. */
  warnings: string[];
}

/**
 * What a token of this credential would carry if requested now with every scope it may get:
 * computed by the same rules as the token endpoint (clientMayGetTokens, mayGrant), unsigned.
 */
export function evaluateToken(client: ClientRecord, ctx: TokenContext): TokenEvaluation {
  const warnings: string[] = [];
  const state = clientMayGetTokens({ level: client.level, scopes: client.scopes, account: client.account, owner: client.owner });
  if (!state.ok) warnings.push(`${state.message}: the token endpoint answers invalid_client`);
  const allowed = scopesAllowedNow(client);
  const dropped = client.scopes.filter((s) => !allowed.includes(s));
  if (dropped.length && client.owner) warnings.push(`The ${client.owner.license} license of the owner no longer allows: ${dropped.join(' ')}`);
  return { claims: grantClaims(client, allowed.join(' '), ctx), expiresIn: client.account.accessTokenLifetimeSeconds, warnings };
}
