import { ValidationError } from '../domain/errors.js';
import type { Credential, User } from '../domain/model.js';
import { checkCredentialScopes, mayUseApiCredentials, normalizeCredentialName } from '../domain/policy.js';
import { ALL_SCOPES, isKnownScope, splitScopeList } from '../domain/scopes.js';
import type { Store } from '../store/store.js';
import { type SecretHasher, generateClientId, generateClientSecret } from './secrets.js';

export interface Actor {
  id: string | null;
  email: string | null;
}

export interface CreatedCredential {
  credential: Credential;
  /** Shown once, in this response only. */
  clientSecret: string;
}

/** Creates credentials: validation, secret generation, the row, its audit event, one transaction. */
export class CredentialIssuer {
  constructor(
    private readonly store: Store,
    private readonly hasher: SecretHasher,
  ) {}

  /** Rule 2: a user-level credential for an admin or supervisor, with scopes their license may grant. */
  async createUserLevel(owner: User, input: { name: unknown; scopes: unknown }, actor: Actor): Promise<CreatedCredential> {
    if (!mayUseApiCredentials(owner.license)) {
      throw new ValidationError(`${owner.email} has the ${owner.license} license; only admin and supervisor users can own API credentials`, 'forbidden');
    }
    const name = normalizeCredentialName(input.name);
    if (!name.ok) throw new ValidationError(name.message);
    const scopes = parseScopeList(input.scopes);
    const check = checkCredentialScopes(owner.license, scopes);
    if (!check.ok) {
      throw new ValidationError(
        check.reason === 'unknown' ? `Unknown scope: ${check.scope}` : `The ${owner.license} license may not grant the scope ${check.scope}`,
        'invalid_scope',
      );
    }
    return this.insert({ accountId: owner.accountId, level: 'user', ownerUserId: owner.id, name: name.name, scopes: check.scopes }, actor);
  }

  /** Rule 5: the only way an account-level credential comes to exist (operator import). */
  async importAccountLevel(accountId: string, input: { name: unknown; scopes: unknown }, actor: Actor): Promise<CreatedCredential> {
    const name = normalizeCredentialName(input.name);
    if (!name.ok) throw new ValidationError(name.message);
    const scopes = parseScopeList(input.scopes);
    const unknown = scopes.find((s) => !isKnownScope(s));
    if (unknown) throw new ValidationError(`Unknown scope: ${unknown}`, 'invalid_scope');
    const wanted = new Set(scopes);
    return this.insert({ accountId, level: 'account', ownerUserId: null, name: name.name, scopes: ALL_SCOPES.filter((s) => wanted.has(s)) }, actor);
  }

  private async insert(
    input: { accountId: string; level: 'user' | 'account'; ownerUserId: string | null; name: string; scopes: string[] },
    actor: Actor,
  ): Promise<CreatedCredential> {
    const clientSecret = generateClientSecret();
    const credential = await this.store.transaction(async (trx) => {
      const created = await this.store.credentials.create({ ...input, clientId: generateClientId(), secretHash: this.hasher.hash(clientSecret) }, trx);
      await this.store.audit.record(
        {
          accountId: input.accountId,
          actor,
          action: 'credential.created',
          target: { type: 'credential', id: created.id, name: created.name },
          changes: { name: created.name, scopes: created.scopes, level: created.level, clientId: created.clientId },
        },
        trx,
      );
      return created;
    });
    return { credential, clientSecret };
  }
}

/** Scopes arrive as an array (API) or a comma/space separated string (CLI). */
export function parseScopeList(value: unknown): string[] {
  if (typeof value === 'string') {
    // The one separator rule (domain/scopes.ts), whose error names the accepted forms.
    const parsed = splitScopeList(value);
    if (!parsed.ok) throw new ValidationError(parsed.message, 'invalid_scope');
    return parsed.scopes;
  }
  const list = value;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) throw new ValidationError('scopes must be a list of scope values');
  const scopes = (list as string[]).map((s) => s.trim()).filter((s) => s !== '');
  if (scopes.length === 0) throw new ValidationError('At least one scope is required', 'invalid_scope');
  return [...new Set(scopes)];
}
