import type { AccountStatus, License, Presence, UserStatus } from './licenses.js';

export interface Account {
  id: string;
  name: string;
  status: AccountStatus;
  apiCredentialsEnabled: boolean;
  accessTokenLifetimeSeconds: number;
  apiRateLimitPerMinute: number;
  createdAt: string;
  updatedAt: string;
}

export interface User {
  id: string;
  accountId: string;
  email: string;
  name: string;
  license: License;
  status: UserStatus;
  skills: string[];
  presence: Presence;
  createdAt: string;
  updatedAt: string;
}

export type CredentialLevel = 'user' | 'account';

/** An API credential as anyone may see it: never the secret or its hash. */
export interface Credential {
  id: string;
  accountId: string;
  name: string;
  clientId: string;
  scopes: string[];
  level: CredentialLevel;
  ownerUserId: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
}

/** A credential with the state of its secret, as the console shows it. */
export interface CredentialWithRotation extends Credential {
  /** When the secret was last rotated (null: never since it was created). */
  secretRotatedAt: string | null;
  /** The end of a running grace period of the previous secret, else null. */
  previousSecretExpiresAt: string | null;
}

/** What the token endpoint needs to authenticate a client and decide on its request. */
export interface ClientRecord {
  credentialId: string;
  clientId: string;
  accountId: string;
  level: CredentialLevel;
  scopes: string[];
  secretHash: string;
  previousSecretHash: string | null;
  previousSecretExpiresAt: number | null;
  /**
   * Which secret is current, and which one is previous (valid until previousSecretExpiresAt).
   * A token carries the id of the secret it was issued with (claim `secret_id`) and is valid only
   * while that secret is: a rotation without grace cuts every earlier token, to the millisecond.
   */
  secretId: string | null;
  previousSecretId: string | null;
  /** Tokens issued (iat) before this epoch-ms time are invalid (rotation without grace). */
  tokensNotBefore: number | null;
  /** Incremented whenever one of the credential's scopes is removed; carried in tokens as `scope_epoch` (absent = 0). */
  scopeEpoch?: number;
  /** Scope -> the scopeEpoch its latest removal made: tokens with that scope and a lower epoch are invalid. */
  scopeRemovals?: Readonly<Record<string, number>>;
  account: {
    /** Incremented by every disable: a token carries the epoch it was issued in (`account_epoch`). */
    standingEpoch: number;
    status: AccountStatus;
    apiCredentialsEnabled: boolean;
    accessTokenLifetimeSeconds: number;
    apiRateLimitPerMinute: number;
  };
  /** standingEpoch: incremented by every disable of the owner; carried in tokens as `user_epoch`. */
  owner: { id: string; status: UserStatus; license: License; standingEpoch: number } | null;
}

export interface AuditEvent {
  id: string;
  accountId: string | null;
  at: string;
  actor: { id: string | null; email: string | null };
  action: string;
  target: { type: string; id: string | null; name: string | null };
  changes: Record<string, unknown>;
}
