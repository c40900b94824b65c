import type { AccountStatus, License, UserStatus } from './licenses.js';
import { mayUseApiCredentials } from './policy.js';

/** Who is acting in the Admin Portal. */
export interface PortalActor {
  id: string;
  accountId: string;
  license: License;
  status: UserStatus;
}

export interface PortalAccount {
  status: AccountStatus;
  apiCredentialsEnabled: boolean;
}

export type AreaAccess = 'ok' | 'forbidden' | 'api_credentials_disabled';

/** Rule 1: the API Credentials area is for admins and supervisors of accounts with the switch on. */
export function apiCredentialsAccess(actor: Pick<PortalActor, 'license'>, account: PortalAccount): AreaAccess {
  if (!mayUseApiCredentials(actor.license)) return 'forbidden';
  if (account.status !== 'active' || !account.apiCredentialsEnabled) return 'api_credentials_disabled';
  return 'ok';
}

/** The parts of a credential that decide who may do what with it. */
export interface CredentialRef {
  accountId: string;
  level: 'user' | 'account';
  ownerUserId: string | null;
}

const sameAccount = (actor: PortalActor, c: CredentialRef) => actor.accountId === c.accountId;
const owns = (actor: PortalActor, c: CredentialRef) => c.level === 'user' && c.ownerUserId === actor.id;

/** Rule 6: a supervisor sees their own; an admin sees every credential of the account. */
export function canView(actor: PortalActor, c: CredentialRef): boolean {
  return sameAccount(actor, c) && (owns(actor, c) || actor.license === 'admin');
}

/** Rules 4-6: name and scopes: the owner of a user-level credential; an admin for account-level ones. */
export function canEdit(actor: PortalActor, c: CredentialRef): boolean {
  if (!sameAccount(actor, c)) return false;
  return c.level === 'account' ? actor.license === 'admin' : owns(actor, c);
}

/** Rule 6: everyone deletes their own; an admin deletes any credential of the account. */
export function canDelete(actor: PortalActor, c: CredentialRef): boolean {
  return sameAccount(actor, c) && (owns(actor, c) || actor.license === 'admin');
}

/** SPEC 3: rotation is for the owner, or an admin for account-level credentials. */
export function canRotate(actor: PortalActor, c: CredentialRef): boolean {
  return canEdit(actor, c);
}

/** Rule 7: only admins read the audit log. */
export function canReadAudit(actor: PortalActor): boolean {
  return actor.license === 'admin';
}
