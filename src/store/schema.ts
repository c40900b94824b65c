import type { ColumnType, Generated } from 'kysely';

/** Times are epoch milliseconds in both dialects (bigint in PostgreSQL, integer in SQLite). */
type Millis = number;

export interface AccountsTable {
  id: string;
  name: string;
  status: string;
  api_credentials_enabled: number;
  access_token_lifetime_seconds: number;
  api_rate_limit_per_minute: number;
  created_at: Millis;
  updated_at: Millis;
  /** Incremented by every disable (0005). */
  standing_epoch: ColumnType<number, number | undefined, number>;
}

export interface UsersTable {
  id: string;
  account_id: string;
  email: string;
  name: string;
  license: string;
  status: string;
  password_hash: string | null;
  /** JSON array of skill names. */
  skills: string;
  presence: string;
  created_at: Millis;
  updated_at: Millis;
  /** Incremented by every disable (0005). */
  standing_epoch: ColumnType<number, number | undefined, number>;
}

export interface ApiCredentialsTable {
  id: string;
  account_id: string;
  level: string;
  owner_user_id: string | null;
  name: string;
  client_id: string;
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_secret_expires_at: Millis | null;
  /** Space-separated scope values. */
  scopes: string;
  created_at: Millis;
  updated_at: Millis;
  last_used_at: Millis | null;
  tokens_not_before: Millis | null;
  /** Id of the current secret and of the previous one (0005); tokens carry it as secret_id. */
  secret_id: string | null;
  previous_secret_id: string | null;
  /** Incremented whenever a scope is removed (0007); tokens carry it as scope_epoch (absent = 0). */
  scope_epoch: number;
  /** JSON object: scope -> the scope_epoch its latest removal made (0007). */
  scope_removals: string;
  /** foldForSearch(name): what search and the name sort compare (0009). */
  name_folded: string;
  /** When the secret was last rotated (0009). */
  secret_rotated_at: Millis | null;
}

export interface RevokedTokensTable {
  jti: string;
  account_id: string;
  client_id: string;
  revoked_at: Millis;
  expires_at: Millis;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** next (published, not yet signing), active (signing), retired (published until publish_until). */
  state: string;
  public_jwk: string;
  /** Base64 DER of the self-signed X.509 certificate. */
  certificate: string;
  x5t: string;
  /** AES-256-GCM ciphertext of the PKCS#8 private key. */
  private_key_enc: string;
  created_at: Millis;
  activated_at: Millis | null;
  retired_at: Millis | null;
  publish_until: Millis | null;
}

export interface AuditEventsTable {
  id: string;
  account_id: string | null;
  at: Millis;
  actor_user_id: string | null;
  actor_email: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  target_name: string | null;
  /** JSON object describing the change (never a secret). */
  changes: string;
}

export interface ChangesTable {
  id: Generated<number>;
  kind: string;
  ref: string;
  at: ColumnType<Millis, Millis, never>;
}

export interface AdminSessionsTable {
  /** SHA-256 of the session id: the cookie value itself is never stored. */
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: Millis;
  last_seen_at: Millis;
  /** Absolute end of the session; idle expiry is last_seen_at + idle timeout. */
  expires_at: Millis;
}

/** An interaction (call, chat or email) of an account's contact center. */
export interface InteractionsTable {
  id: string;
  account_id: string;
  /** voice | chat | email */
  channel: string;
  /** inbound | outbound */
  direction: string;
  /** active | completed */
  state: string;
  agent_user_id: string | null;
  /** The customer's address as the platform shows it (e.g. a masked phone number or email). */
  customer: string | null;
  skill: string | null;
  notes: string | null;
  started_at: Millis;
  ended_at: Millis | null;
  /** Whole seconds from start to completion; null while active. */
  handling_seconds: number | null;
  created_at: Millis;
  updated_at: Millis;
}

/** Recordings and transcripts of an interaction: the bytes live in the store (blob / bytea). */
export interface InteractionContentTable {
  id: string;
  account_id: string;
  interaction_id: string;
  /** recording | transcript */
  kind: string;
  content_type: string;
  size: number;
  /** Hex SHA-256 of the bytes: the strong ETag of a download. */
  sha256: string;
  data: Buffer;
  created_at: Millis;
}

/** A secure payment session: amounts and references only, never card data. */
export interface PaymentSessionsTable {
  id: string;
  account_id: string;
  agent_user_id: string;
  interaction_id: string | null;
  /** The amount in the currency's minor unit (cents, pence, yen...). */
  amount_minor: number;
  currency: string;
  reference: string | null;
  status: string;
  created_at: Millis;
  updated_at: Millis;
  expires_at: Millis;
}

export interface Database {
  revoked_tokens: RevokedTokensTable;
  admin_sessions: AdminSessionsTable;
  accounts: AccountsTable;
  users: UsersTable;
  api_credentials: ApiCredentialsTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
  changes: ChangesTable;
  interactions: InteractionsTable;
  interaction_content: InteractionContentTable;
  payment_sessions: PaymentSessionsTable;
}
