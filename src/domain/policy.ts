import type { AccountStatus, License, UserStatus } from './licenses.js';
import { ALL_SCOPES, SCOPE_CATALOGUE, isKnownScope } from './scopes.js';

/** The scopes a user with this license may put on a credential (SPEC 1, catalogue). */
export function grantableScopes(license: License): string[] {
  return SCOPE_CATALOGUE.filter((s) => s.licenses.includes(license)).map((s) => s.value);
}

// mayGrant runs for every scope of every token and gateway request: answer from a fixed table.
const GRANTABLE: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  (['admin', 'supervisor', 'agent'] as const).map((license) => [license, new Set(grantableScopes(license))]),
);

export function mayGrant(license: License, scope: string): boolean {
  return GRANTABLE.get(license)?.has(scope) ?? false;
}

export interface AccountState {
  status: AccountStatus;
  apiCredentialsEnabled: boolean;
}

export interface OwnerState {
  status: UserStatus;
  license: License;
}

/** Rule 1: who may use the API Credentials area at all. */
export function mayUseApiCredentials(license: License): boolean {
  return license === 'admin' || license === 'supervisor';
}

export type ScopeCheck =
  | { ok: true; scopes: string[] }
  | { ok: false; reason: 'unknown' | 'not_granted'; scope: string };

/**
 * Validate the scopes a user wants on a credential: every one known and grantable by the
 * license (rule 2). Duplicates are folded; order follows the catalogue.
 */
export function checkCredentialScopes(license: License, requested: readonly string[]): ScopeCheck {
  for (const scope of requested) {
    if (!isKnownScope(scope)) return { ok: false, reason: 'unknown', scope };
    if (!mayGrant(license, scope)) return { ok: false, reason: 'not_granted', scope };
  }
  const wanted = new Set(requested);
  return { ok: true, scopes: ALL_SCOPES.filter((s) => wanted.has(s)) };
}

/** A credential as the token policy needs to see it. */
export interface TokenSubject {
  level: 'user' | 'account';
  scopes: readonly string[];
  account: AccountState;
  /** Present for user-level credentials. */
  owner: OwnerState | null;
}

export type ClientStateDecision = { ok: true } | { ok: false; message: string };

/** Rule 8, second half: may this (authenticated) credential get tokens at all right now? */
export function clientMayGetTokens(subject: TokenSubject): ClientStateDecision {
  if (subject.account.status !== 'active') return { ok: false, message: 'The account of this client is disabled' };
  if (!subject.account.apiCredentialsEnabled) return { ok: false, message: 'API credentials are not enabled for the account of this client' };
  if (subject.level === 'user') {
    const owner = subject.owner;
    if (!owner) return { ok: false, message: 'The owner of this client no longer exists' };
    if (owner.status !== 'active') return { ok: false, message: 'The owner of this client is disabled' };
    if (!mayUseApiCredentials(owner.license)) return { ok: false, message: "The owner's license does not allow API credentials" };
  }
  return { ok: true };
}

export type TokenScopeDecision = { ok: true; scopes: string[] } | { ok: false; message: string };

/**
 * Rule 8, first half: the requested scope(s) must be on the credential and still allowed to the
 * owner's license now. Account-level credentials are bounded by the catalogue only.
 */
export function decideTokenScopes(subject: TokenSubject, requestedScope: string | undefined): TokenScopeDecision {
  if (requestedScope === undefined || requestedScope.trim() === '') {
    return { ok: false, message: 'The scope parameter is required: name one of the scopes of the credential' };
  }
  if (!/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/.test(requestedScope)) {
    return { ok: false, message: 'The scope parameter is malformed: scopes are separated by single spaces' };
  }
  const requested = [...new Set(requestedScope.split(' '))];
  for (const scope of requested) {
    if (!isKnownScope(scope)) return { ok: false, message: `Unknown scope: ${scope}` };
    if (!subject.scopes.includes(scope)) return { ok: false, message: `The credential does not have the scope ${scope}` };
    if (subject.level === 'user' && subject.owner && !mayGrant(subject.owner.license, scope)) {
      return { ok: false, message: `The owner's license no longer allows the scope ${scope}` };
    }
  }
  return { ok: true, scopes: requested };
}

export const NAME_MAX_LENGTH = 100;

/** Rule 2: a credential name is 1..100 characters after trimming. */
export function normalizeCredentialName(name: unknown): { ok: true; name: string } | { ok: false; message: string } {
  if (typeof name !== 'string') return { ok: false, message: 'name must be a string' };
  const trimmed = name.trim();
  if (trimmed.length === 0) return { ok: false, message: 'name must not be empty' };
  if ([...trimmed].length > NAME_MAX_LENGTH) return { ok: false, message: `name must be at most ${NAME_MAX_LENGTH} characters` };
  return { ok: true, name: trimmed };
}

export const TOKEN_LIFETIME_MIN = 60;
export const TOKEN_LIFETIME_MAX = 86400;
export const TOKEN_LIFETIME_DEFAULT = 900;
export const API_RATE_LIMIT_MIN = 1;
export const API_RATE_LIMIT_MAX = 100000;
export const API_RATE_LIMIT_DEFAULT = 600;
