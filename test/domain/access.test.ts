import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiCredentialsAccess, canDelete, canEdit, canReadAudit, canRotate, canView, type CredentialRef, type PortalActor } from '../../src/domain/access.js';

const admin: PortalActor = { id: 'admin', accountId: 'A', license: 'admin', status: 'active' };
const otherAdmin: PortalActor = { id: 'admin2', accountId: 'A', license: 'admin', status: 'active' };
const supervisor: PortalActor = { id: 'sup', accountId: 'A', license: 'supervisor', status: 'active' };
const foreignAdmin: PortalActor = { id: 'x', accountId: 'B', license: 'admin', status: 'active' };

const supervisorsOwn: CredentialRef = { accountId: 'A', level: 'user', ownerUserId: 'sup' };
const adminsOwn: CredentialRef = { accountId: 'A', level: 'user', ownerUserId: 'admin' };
const accountLevel: CredentialRef = { accountId: 'A', level: 'account', ownerUserId: null };

describe('API Credentials area access (rule 1)', () => {
  it('is for admins and supervisors of accounts with the switch on', () => {
    const on = { status: 'active' as const, apiCredentialsEnabled: true };
    const off = { status: 'active' as const, apiCredentialsEnabled: false };
    assert.equal(apiCredentialsAccess({ license: 'admin' }, on), 'ok');
    assert.equal(apiCredentialsAccess({ license: 'supervisor' }, on), 'ok');
    assert.equal(apiCredentialsAccess({ license: 'agent' }, on), 'forbidden');
    assert.equal(apiCredentialsAccess({ license: 'admin' }, off), 'api_credentials_disabled');
    assert.equal(apiCredentialsAccess({ license: 'agent' }, off), 'forbidden');
    assert.equal(apiCredentialsAccess({ license: 'admin' }, { status: 'disabled', apiCredentialsEnabled: true }), 'api_credentials_disabled');
  });
});

describe('who may do what with a credential (rules 4-6)', () => {
  it('a supervisor sees, edits, rotates and deletes only their own', () => {
    assert.equal(canView(supervisor, supervisorsOwn), true);
    assert.equal(canEdit(supervisor, supervisorsOwn), true);
    assert.equal(canRotate(supervisor, supervisorsOwn), true);
    assert.equal(canDelete(supervisor, supervisorsOwn), true);
    for (const c of [adminsOwn, accountLevel]) {
      assert.equal(canView(supervisor, c), false);
      assert.equal(canEdit(supervisor, c), false);
      assert.equal(canDelete(supervisor, c), false);
    }
  });
  it('an admin sees and deletes every credential of the account but edits no other user\'s user-level one', () => {
    assert.equal(canView(otherAdmin, adminsOwn), true);
    assert.equal(canDelete(otherAdmin, adminsOwn), true);
    assert.equal(canEdit(otherAdmin, adminsOwn), false);
    assert.equal(canRotate(otherAdmin, adminsOwn), false);
    assert.equal(canEdit(admin, adminsOwn), true);
  });
  it('admins edit, rotate and delete account-level credentials', () => {
    assert.equal(canView(admin, accountLevel), true);
    assert.equal(canEdit(admin, accountLevel), true);
    assert.equal(canRotate(admin, accountLevel), true);
    assert.equal(canDelete(admin, accountLevel), true);
  });
  it('nobody reaches another account\'s credentials', () => {
    for (const c of [supervisorsOwn, adminsOwn, accountLevel]) {
      assert.equal(canView(foreignAdmin, c), false);
      assert.equal(canEdit(foreignAdmin, c), false);
      assert.equal(canDelete(foreignAdmin, c), false);
      assert.equal(canRotate(foreignAdmin, c), false);
    }
  });
  it('only admins read the audit log', () => {
    assert.equal(canReadAudit(admin), true);
    assert.equal(canReadAudit(supervisor), false);
  });
});
