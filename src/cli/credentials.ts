import type { Kysely } from 'kysely';
import type { Actor } from '../auth/credentials.js';
import { type SecretHasher, generateClientSecret } from '../auth/secrets.js';
import type { Credential, CredentialWithRotation, User } from '../domain/model.js';
import { checkCredentialScopes, normalizeCredentialName } from '../domain/policy.js';
import { ALL_SCOPES } from '../domain/scopes.js';
import type { CredentialKey } from '../store/credentials.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { CliError, EXIT_USAGE } from './util.js';

/** A credential as `credential list` prints it: the stored fields and the owner's email. */
export interface CredentialRow {
  id: string;
  accountId: string;
  name: string;
  clientId: string;
  scopes: string[];
  level: Credential['level'];
  ownerUserId: string | null;
  ownerEmail: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
}

/** The fields a list prints, picked (a list never carries anything about secrets). */
function toRow(c: Credential, ownerEmail: string | null): CredentialRow {
  return { id: c.id, accountId: c.accountId, name: c.name, clientId: c.clientId, scopes: c.scopes, level: c.level, ownerUserId: c.ownerUserId, ownerEmail, createdAt: c.createdAt, updatedAt: c.updatedAt, lastUsedAt: c.lastUsedAt };
}

/** `credential show`, `update`, `end-grace`: the row plus the rotation state (SPEC Console additions). */
export interface CredentialDetail extends CredentialRow {
  secretRotatedAt: string | null;
  previousSecretExpiresAt: string | null;
}

export interface CredentialListFilter {
  q?: string;
  scope?: string;
  unusedDays?: number;
}

const DAY_MS = 86_400_000;

/**
 * The operator's credential lifecycle (`ccauth credential ...`): the same rules and audit events
 * as the admin API, acting on the store directly with the operator as actor. Every write goes
 * through a repository that records a change, so running instances apply it within a second.
 */
export class CredentialOperations {
  constructor(
    private readonly store: Store,
    private readonly actor: Actor,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * SPEC `credential list --account ID [--q] [--scope] [--unused-days]` with the admin API's
   * meanings: q is a case-insensitive substring of the name, a prefix of the client ID or a
   * substring of the owner's email; unused days: never used, or last used more than N days ago.
   */
  async list(accountId: string, filter: CredentialListFilter): Promise<CredentialRow[]> {
    const owners = await this.ownerEmails(accountId);
    // The admin API's query (store.credentials.search), every page of it, newest first.
    const credentials: Credential[] = [];
    let after: CredentialKey | undefined;
    for (;;) {
      const page = await this.store.credentials.search({
        accountId,
        ...(filter.q !== undefined ? { q: filter.q } : {}),
        ...(filter.scope !== undefined ? { scopes: [filter.scope] } : {}),
        ...(filter.unusedDays !== undefined ? { unusedSince: this.now() - filter.unusedDays * DAY_MS } : {}),
        sort: '-created',
        limit: 500,
        ...(after ? { after } : {}),
      });
      credentials.push(...page.items);
      if (!page.next) break;
      after = page.next;
    }
    return credentials.map((c) => toRow(c, c.ownerUserId ? (owners.get(c.ownerUserId) ?? null) : null));
  }

  async show(id: string): Promise<CredentialDetail> {
    return this.detail(await this.require(id));
  }

  /** Name and scopes, checked like the admin API: the owner's license for user-level credentials, the catalogue for account-level ones. */
  async update(id: string, input: { name?: string; scopes?: string[] }): Promise<CredentialDetail> {
    const current = await this.require(id);
    const changes: { name?: string; scopes?: string[] } = {};
    const audit: Record<string, unknown> = {};
    if (input.name !== undefined) {
      const name = normalizeCredentialName(input.name);
      if (!name.ok) throw new CliError(`--name: ${name.message}`);
      if (name.name !== current.name) {
        changes.name = name.name;
        audit.name = { from: current.name, to: name.name };
      }
    }
    if (input.scopes !== undefined) {
      const scopes = await this.checkScopes(current, input.scopes);
      const added = scopes.filter((s) => !current.scopes.includes(s));
      const removed = current.scopes.filter((s) => !scopes.includes(s));
      if (added.length || removed.length) {
        changes.scopes = scopes;
        audit.scopes = { from: current.scopes, to: scopes, added, removed };
      }
    }
    if (Object.keys(changes).length > 0) {
      await this.store.transaction(async (trx) => {
        await this.store.credentials.update(id, changes, trx);
        await this.record(trx, current, 'credential.updated', audit, changes.name);
      });
    }
    return this.show(id);
  }

  /** A new secret, shown once; the old one keeps working for `graceSeconds` (0: stops at once, with every token it got). */
  async rotate(id: string, graceSeconds: number): Promise<{ credential: CredentialDetail; clientSecret: string }> {
    const current = await this.require(id);
    const clientSecret = generateClientSecret();
    const graceUntil = graceSeconds > 0 ? this.now() + graceSeconds * 1000 : null;
    const hasher = await this.hasher();
    await this.store.transaction(async (trx) => {
      await this.store.credentials.replaceSecret(id, hasher.hash(clientSecret), graceUntil, trx);
      await this.record(trx, current, 'credential.secret_rotated', { graceSeconds });
    });
    return { credential: await this.show(id), clientSecret };
  }

  /**
   * Ends a running grace period at once: the previous secret and every token issued with it stop
   * working, as after a rotation without grace. None running: refused ("no grace period is running").
   */
  async endGrace(id: string): Promise<CredentialDetail> {
    const current = await this.require(id);
    const ended = await this.store.transaction(async (trx) => {
      // Conditional (the admin API's repository call): of two concurrent calls, one ends the grace
      // and the other is told none runs. It records the change for the running instances.
      if (!(await this.store.credentials.endGrace(id, trx))) return false;
      await this.record(trx, current, 'credential.grace_ended', { previousSecretExpiresAt: current.previousSecretExpiresAt });
      return true;
    });
    if (!ended) throw new CliError(`no grace period is running for the credential ${id}`, EXIT_USAGE);
    return this.show(id);
  }

  async delete(id: string): Promise<Credential> {
    const current = await this.require(id);
    await this.store.transaction(async (trx) => {
      await this.store.credentials.delete(id, trx);
      await this.record(trx, current, 'credential.deleted', { clientId: current.clientId, level: current.level, scopes: current.scopes });
    });
    return current;
  }

  async require(id: string): Promise<CredentialWithRotation> {
    const credential = await this.store.credentials.get(id);
    if (!credential) throw new CliError(`No credential with the id ${id} (see ccauth credential list --account ID)`);
    return credential;
  }

  private hasherPromise: Promise<SecretHasher> | undefined;
  /** Set by the command: the hasher needs the master key, which only rotation uses. */
  hasherFactory: (() => Promise<SecretHasher>) | undefined;
  private hasher(): Promise<SecretHasher> {
    if (!this.hasherFactory) throw new Error('CredentialOperations: no secret hasher configured');
    this.hasherPromise ??= this.hasherFactory();
    return this.hasherPromise;
  }

  private async detail(c: CredentialWithRotation): Promise<CredentialDetail> {
    const owner = c.ownerUserId ? await this.store.users.get(c.ownerUserId) : undefined;
    return { ...toRow(c, owner?.email ?? null), secretRotatedAt: c.secretRotatedAt, previousSecretExpiresAt: c.previousSecretExpiresAt };
  }

  private async checkScopes(credential: Credential, scopes: string[]): Promise<string[]> {
    if (credential.level === 'account') {
      const wanted = new Set(scopes);
      return ALL_SCOPES.filter((s) => wanted.has(s));
    }
    const owner = credential.ownerUserId ? await this.store.users.get(credential.ownerUserId) : undefined;
    if (!owner) throw new CliError(`The owner of the credential ${credential.id} no longer exists`);
    const check = checkCredentialScopes((owner as User).license, scopes);
    if (!check.ok) {
      throw new CliError(check.reason === 'unknown' ? `Unknown scope: ${check.scope}` : `The ${owner.license} license of ${owner.email} may not grant the scope ${check.scope}`);
    }
    return check.scopes;
  }

  private async ownerEmails(accountId: string): Promise<Map<string, string>> {
    return new Map((await this.store.users.listByAccount(accountId)).map((u) => [u.id, u.email]));
  }

  private record(trx: Kysely<Database>, c: Credential, action: string, changes: Record<string, unknown>, name?: string) {
    return this.store.audit.record({ accountId: c.accountId, actor: this.actor, action, target: { type: 'credential', id: c.id, name: name ?? c.name }, changes }, trx);
  }
}
