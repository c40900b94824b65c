import { type PortalActor, canDelete, canEdit, canRotate, canView } from '../domain/access.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { Credential, CredentialWithRotation, User } from '../domain/model.js';
import { checkCredentialScopes, normalizeCredentialName } from '../domain/policy.js';
import { ALL_SCOPES, isKnownScope, splitScopeList } from '../domain/scopes.js';
import { type TokenContext, type TokenEvaluation, evaluateToken } from '../domain/token-claims.js';
import type { CredentialIssuer } from '../auth/credentials.js';
import { type SecretHasher, generateClientSecret } from '../auth/secrets.js';
import type { CredentialKey, CredentialSort } from '../store/credentials.js';
import type { Store } from '../store/store.js';
import { type CreatedCredential, type CredentialView, MAX_GRACE_SECONDS, type RotatedCredential } from './schemas.js';

/** A credential as the portal and its API show it (never the secret): the type of its schema. */
export type { CredentialView } from './schemas.js';

export interface ListFilter {
  owner?: 'me' | 'all';
  level?: 'user' | 'account';
}

/** The console's list: filters, sort and where the previous page ended (SPEC Console additions). */
export interface CredentialQuery extends ListFilter {
  q?: string;
  scopes?: string[];
  /** Never used, or last used more than this many days ago; 'never': never used at all. */
  unusedDays?: number | 'never';
  sort?: CredentialSort;
  limit?: number;
  after?: CredentialKey;
}

/**
 * The API Credentials area's operations. Each checks the rules of SPEC 2 with the pure functions
 * of domain/access.ts, writes the change and its audit event in one transaction, and tells the
 * token endpoint's cache at once (other instances learn it from the change feed).
 */
export class CredentialAdmin {
  constructor(
    private readonly store: Store,
    private readonly issuer: CredentialIssuer,
    private readonly hasher: SecretHasher,
    private readonly onChanged: (clientId: string) => void,
    private readonly tokenContext: TokenContext = { issuer: '', audience: '', region: '' },
  ) {}

  /**
   * One page of the credentials the actor may see (rule 6 applied in the query, so pages stay
   * full): a supervisor, or an admin asking for owner=me, gets their own user-level ones.
   */
  async page(actor: User, query: CredentialQuery): Promise<{ items: CredentialView[]; next: CredentialKey | null }> {
    const mine = actor.license !== 'admin' || query.owner === 'me';
    const days = query.unusedDays;
    const { items, next } = await this.store.credentials.search({
      accountId: actor.accountId,
      ...(mine ? { ownedBy: actor.id } : {}),
      ...(query.level ? { level: query.level } : {}),
      ...(query.q !== undefined ? { q: query.q } : {}),
      ...(query.scopes ? { scopes: query.scopes } : {}),
      // 'never' = used before the beginning of time; N days = used before now - N days.
      ...(days !== undefined ? { unusedSince: days === 'never' ? 0 : Date.now() - days * 86_400_000 } : {}),
      sort: query.sort ?? '-created',
      limit: query.limit ?? 50,
      ...(query.after ? { after: query.after } : {}),
    });
    return { items: await this.views(actor, items.filter((c) => canView(actor, c))), next };
  }

  async get(actor: User, id: string): Promise<CredentialView> {
    return (await this.views(actor, [await this.visible(actor, id)]))[0] as CredentialView;
  }

  async create(actor: User, body: { name: unknown; scopes: unknown }): Promise<CreatedCredential> {
    const input = { name: body.name, scopes: scopesFromString(body.scopes) };
    const { credential, clientSecret } = await this.issuer.createUserLevel(actor, input, { id: actor.id, email: actor.email });
    this.onChanged(credential.clientId);
    return { ...(await this.get(actor, credential.id)), clientSecret };
  }

  async update(actor: User, id: string, body: { name?: unknown; scopes?: unknown }): Promise<CredentialView> {
    const current = await this.visible(actor, id);
    if (!canEdit(actor, current)) throw new ForbiddenError('You can edit only your own user-level credentials (admins also edit account-level ones)');
    const changes: { name?: string; scopes?: string[] } = {};
    const audit: Record<string, unknown> = {};
    if (body.name !== undefined) {
      const name = normalizeCredentialName(body.name);
      if (!name.ok) throw new ValidationError(name.message);
      if (name.name !== current.name) {
        changes.name = name.name;
        audit.name = { from: current.name, to: name.name };
      }
    }
    if (body.scopes !== undefined) {
      const scopes = this.checkScopes(actor, current, body.scopes);
      const added = scopes.filter((s) => !current.scopes.includes(s));
      const removed = current.scopes.filter((s) => !scopes.includes(s));
      if (added.length || removed.length) {
        changes.scopes = scopes;
        audit.scopes = { from: current.scopes, to: scopes, added, removed };
      }
    }
    if (Object.keys(changes).length === 0) return this.get(actor, id);
    await this.store.transaction(async (trx) => {
      await this.store.credentials.update(id, changes, trx);
      await this.store.audit.record(
        { accountId: actor.accountId, actor: { id: actor.id, email: actor.email }, action: 'credential.updated', target: { type: 'credential', id, name: changes.name ?? current.name }, changes: audit },
        trx,
      );
    });
    this.onChanged(current.clientId);
    return this.get(actor, id);
  }

  async rotateSecret(actor: User, id: string, graceSeconds: number): Promise<RotatedCredential> {
    const current = await this.visible(actor, id);
    if (!canRotate(actor, current)) throw new ForbiddenError('Only the owner can rotate the secret of a user-level credential (admins rotate account-level ones)');
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
      throw new ValidationError(`graceSeconds must be a whole number from 0 to ${MAX_GRACE_SECONDS}`);
    }
    const clientSecret = generateClientSecret();
    const graceUntil = graceSeconds > 0 ? Date.now() + graceSeconds * 1000 : null;
    await this.store.transaction(async (trx) => {
      await this.store.credentials.replaceSecret(id, this.hasher.hash(clientSecret), graceUntil, trx);
      await this.store.audit.record(
        { accountId: actor.accountId, actor: { id: actor.id, email: actor.email }, action: 'credential.secret_rotated', target: { type: 'credential', id, name: current.name }, changes: { graceSeconds } },
        trx,
      );
    });
    this.onChanged(current.clientId);
    const view = await this.get(actor, id);
    return { ...view, clientSecret, ...(graceUntil ? { previousSecretValidUntil: new Date(graceUntil).toISOString() } : {}) };
  }

  /**
   * Ends a running grace period now: the previous secret, and every token issued with it, stop
   * working at once (like a rotation without grace). Same permission as a rotation; 409
   * no_grace_period when none runs.
   */
  async endGrace(actor: User, id: string): Promise<CredentialView> {
    const current = await this.visible(actor, id);
    if (!canRotate(actor, current)) throw new ForbiddenError('Only the owner can end the grace period of a user-level credential (admins do it for account-level ones)');
    await this.store.transaction(async (trx) => {
      const ended = await this.store.credentials.endGrace(id, trx);
      if (!ended) throw new ConflictError('No grace period is running for this credential: its previous secret has already stopped working', 'no_grace_period');
      await this.store.audit.record(
        {
          accountId: actor.accountId,
          actor: { id: actor.id, email: actor.email },
          action: 'credential.grace_ended',
          target: { type: 'credential', id, name: current.name },
          changes: { previousSecretExpiresAt: current.previousSecretExpiresAt },
        },
        trx,
      );
    });
    this.onChanged(current.clientId);
    return this.get(actor, id);
  }

  /**
   * The claims a token of this credential would carry if requested now with every scope it may
   * get (Keycloak's "evaluate"): computed from the stored credential by the token endpoint's rules,
   * unsigned, no secret involved. `warnings` says why a request would fail or get fewer scopes.
   */
  async evaluate(actor: User, id: string): Promise<TokenEvaluation> {
    const current = await this.visible(actor, id);
    const client = await this.store.credentials.findClient(current.clientId);
    if (!client) throw new NotFoundError('No such API credential');
    return evaluateToken(client, this.tokenContext);
  }

  async delete(actor: User, id: string): Promise<void> {
    const current = await this.visible(actor, id);
    if (!canDelete(actor, current)) throw new ForbiddenError('You cannot delete this credential');
    await this.store.transaction(async (trx) => {
      await this.store.credentials.delete(id, trx);
      await this.store.audit.record(
        {
          accountId: actor.accountId,
          actor: { id: actor.id, email: actor.email },
          action: 'credential.deleted',
          target: { type: 'credential', id, name: current.name },
          changes: { clientId: current.clientId, level: current.level, scopes: current.scopes },
        },
        trx,
      );
    });
    this.onChanged(current.clientId);
  }

  /** A credential the actor may see, else 404 (never 403: its existence is not theirs to learn). */
  private async visible(actor: User, id: string): Promise<CredentialWithRotation> {
    const credential = await this.store.credentials.get(id);
    if (!credential || !canView(actor as PortalActor, credential)) throw new NotFoundError('No such API credential');
    return credential;
  }

  private checkScopes(actor: User, credential: Credential, value: unknown): string[] {
    value = scopesFromString(value);
    if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) throw new ValidationError('scopes must be an array of scope values', 'invalid_scope');
    const scopes = [...new Set((value as string[]).map((s) => s.trim()).filter((s) => s !== ''))];
    if (scopes.length === 0) throw new ValidationError('At least one scope is required', 'invalid_scope');
    if (credential.level === 'account') {
      const unknown = scopes.find((s) => !isKnownScope(s));
      if (unknown) throw new ValidationError(`Unknown scope: ${unknown}`, 'invalid_scope');
      const wanted = new Set(scopes);
      return ALL_SCOPES.filter((s) => wanted.has(s));
    }
    const check = checkCredentialScopes(actor.license, scopes);
    if (!check.ok) {
      throw new ValidationError(check.reason === 'unknown' ? `Unknown scope: ${check.scope}` : `The ${actor.license} license may not grant the scope ${check.scope}`, 'invalid_scope');
    }
    return check.scopes;
  }

  private async views(actor: User, credentials: CredentialWithRotation[]): Promise<CredentialView[]> {
    const users = new Map((await this.store.users.listByAccount(actor.accountId)).map((u) => [u.id, u]));
    return credentials.map((c) => {
      const owner = c.ownerUserId ? users.get(c.ownerUserId) : undefined;
      return {
        id: c.id,
        name: c.name,
        clientId: c.clientId,
        scopes: c.scopes,
        level: c.level,
        deprecated: c.level === 'account',
        owner: owner ? { id: owner.id, email: owner.email, name: owner.name } : null,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
        lastUsedAt: c.lastUsedAt,
        secretRotatedAt: c.secretRotatedAt,
        previousSecretExpiresAt: c.previousSecretExpiresAt,
        canEdit: canEdit(actor, c),
        canDelete: canDelete(actor, c),
        canRotate: canRotate(actor, c),
      };
    });
  }
}

/** Scopes may come as one string (spaces or commas, SPEC 4); anything else is left to the array checks. */
function scopesFromString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const parsed = splitScopeList(value);
  if (!parsed.ok) throw new ValidationError(parsed.message, 'invalid_scope');
  return parsed.scopes;
}
