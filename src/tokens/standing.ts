import type { ClientRecord } from '../domain/model.js';
import { clientMayGetTokens, mayGrant } from '../domain/policy.js';

/** What a verified token says (its claims), for handlers, upstreams and introspection. */
export interface TokenClaims {
  jti: string;
  clientId: string;
  accountId: string;
  userId: string | null;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  /** The id of the secret the token was issued with; undefined for tokens issued before secret ids. */
  secretId?: string | undefined;
  /** The owner's and the account's standing epochs when it was issued (absent = 0). */
  userEpoch?: number | undefined;
  accountEpoch?: number | undefined;
  /** The credential's scope epoch when it was issued (absent = 0). */
  scopeEpoch?: number | undefined;
}

/**
 * Why a token is (not) accepted, for logs and metrics. 'ok' is the only accepting reason.
 */
export type TokenReason =
  | 'ok'
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'unknown_key'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'revoked'
  | 'client_deleted'
  | 'secret_rotated'
  | 'account_disabled'
  | 'owner_disabled'
  | 'client_not_allowed'
  | 'scope_removed';

/**
 * Whether what made the token valid when it was issued still holds (SPEC 2 rule 9, SPEC 3):
 * the credential exists in the same account, the secret it was issued with is still valid
 * (current, or previous within its grace), neither the owner nor the account was disabled since
 * (standing epochs compared for equality, so a re-enable does not bring the token back), the
 * client may still get tokens, and it still has every scope of the token.
 */
export function standing(client: ClientRecord | null, token: TokenClaims, nowMs = Date.now()): TokenReason {
  if (!client || client.accountId !== token.accountId || client.clientId !== token.clientId) return 'client_deleted';
  if (token.secretId !== undefined) {
    const current = token.secretId === client.secretId;
    const previous =
      !current &&
      token.secretId === client.previousSecretId &&
      client.previousSecretHash !== null &&
      client.previousSecretExpiresAt !== null &&
      client.previousSecretExpiresAt > nowMs;
    if (!current && !previous) return 'secret_rotated';
  }
  // Only tokens issued before secret ids (no claim) are judged by the rotation time, in whole
  // seconds: a token that names its secret is judged by that alone (an instance whose clock is a
  // few ms behind the rotating one must not cut a fresh token of the new secret).
  if (token.secretId === undefined && client.tokensNotBefore !== null && token.issuedAt * 1000 < client.tokensNotBefore) return 'secret_rotated';
  if ((token.accountEpoch ?? 0) !== client.account.standingEpoch) return 'account_disabled';
  if (client.level === 'user' && (token.userEpoch ?? 0) !== (client.owner?.standingEpoch ?? 0)) return 'owner_disabled';
  const allowed = clientMayGetTokens({ level: client.level, scopes: client.scopes, account: client.account, owner: client.owner });
  if (!allowed.ok) return client.account.status !== 'active' ? 'account_disabled' : client.owner && client.owner.status !== 'active' ? 'owner_disabled' : 'client_not_allowed';
  for (const scope of token.scopes) {
    // One of its scopes was removed after it was issued (even if added back since): invalid (SPEC 3).
    if ((client.scopeRemovals?.[scope] ?? 0) > (token.scopeEpoch ?? 0)) return 'scope_removed';
    if (!client.scopes.includes(scope)) return 'scope_removed';
    if (client.level === 'user' && client.owner && !mayGrant(client.owner.license, scope)) return 'scope_removed';
  }
  return 'ok';
}

