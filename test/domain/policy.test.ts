import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkCredentialScopes,
  clientMayGetTokens,
  decideTokenScopes,
  grantableScopes,
  mayUseApiCredentials,
  normalizeCredentialName,
  type TokenSubject,
} from '../../src/domain/policy.js';
import { ALL_SCOPES, SCOPE_CATALOGUE, isKnownScope } from '../../src/domain/scopes.js';

const active = { status: 'active' as const, apiCredentialsEnabled: true };

function subject(overrides: Partial<TokenSubject> = {}): TokenSubject {
  return { level: 'user', scopes: ['users:read', 'stats'], account: active, owner: { status: 'active', license: 'admin' }, ...overrides };
}

describe('scope catalogue', () => {
  it('has the eight scopes of SPEC 1 with their portal descriptions', () => {
    assert.deepEqual(
      SCOPE_CATALOGUE.map((s) => [s.value, s.description]),
      [
        ['agents-availability:read', 'View agent availability'],
        ['users:read', 'Read VCC user details, settings, and presences'],
        ['users:write', 'Update VCC user details, settings, and presences'],
        ['interaction-content:read', 'Read or download interaction content'],
        ['interaction-content:delete', 'Delete interaction content (e.g. call recordings, transcripts)'],
        ['stats', 'View Insights stats'],
        ['interactions:write', 'Create and update active interactions'],
        ['globalpci', 'Create secure payment sessions'],
      ],
    );
    assert.equal(isKnownScope('stats'), true);
    assert.equal(isKnownScope('STATS'), false);
    assert.equal(isKnownScope('admin'), false);
  });
});

describe('licenses', () => {
  it('admins may grant every scope, supervisors only users:read and interaction-content:read, agents none', () => {
    assert.deepEqual(grantableScopes('admin'), [...ALL_SCOPES]);
    assert.deepEqual(grantableScopes('supervisor'), ['users:read', 'interaction-content:read']);
    assert.deepEqual(grantableScopes('agent'), []);
  });
  it('only admins and supervisors use the API Credentials area', () => {
    assert.equal(mayUseApiCredentials('admin'), true);
    assert.equal(mayUseApiCredentials('supervisor'), true);
    assert.equal(mayUseApiCredentials('agent'), false);
  });
});

describe('checkCredentialScopes (rule 2)', () => {
  it('accepts grantable scopes, folds duplicates and orders them as the catalogue', () => {
    assert.deepEqual(checkCredentialScopes('admin', ['stats', 'users:read', 'stats']), { ok: true, scopes: ['users:read', 'stats'] });
  });
  it('names the first scope the license may not grant', () => {
    assert.deepEqual(checkCredentialScopes('supervisor', ['users:read', 'globalpci']), { ok: false, reason: 'not_granted', scope: 'globalpci' });
  });
  it('names an unknown scope', () => {
    assert.deepEqual(checkCredentialScopes('admin', ['nope']), { ok: false, reason: 'unknown', scope: 'nope' });
  });
});

describe('normalizeCredentialName', () => {
  it('trims and bounds to 1..100 characters', () => {
    assert.deepEqual(normalizeCredentialName('  CRM sync  '), { ok: true, name: 'CRM sync' });
    assert.equal(normalizeCredentialName('   ').ok, false);
    assert.equal(normalizeCredentialName('x'.repeat(100)).ok, true);
    assert.equal(normalizeCredentialName('x'.repeat(101)).ok, false);
    assert.equal(normalizeCredentialName(42).ok, false);
  });
});

describe('clientMayGetTokens (rule 8)', () => {
  it('allows an active owner in an enabled, active account', () => {
    assert.deepEqual(clientMayGetTokens(subject()), { ok: true });
  });
  it('refuses a disabled owner, an agent owner, a missing owner, a disabled account and the switch off', () => {
    assert.equal(clientMayGetTokens(subject({ owner: { status: 'disabled', license: 'admin' } })).ok, false);
    assert.equal(clientMayGetTokens(subject({ owner: { status: 'active', license: 'agent' } })).ok, false);
    assert.equal(clientMayGetTokens(subject({ owner: null })).ok, false);
    assert.equal(clientMayGetTokens(subject({ account: { status: 'disabled', apiCredentialsEnabled: true } })).ok, false);
    assert.equal(clientMayGetTokens(subject({ account: { status: 'active', apiCredentialsEnabled: false } })).ok, false);
  });
  it('account-level credentials need no owner', () => {
    assert.deepEqual(clientMayGetTokens(subject({ level: 'account', owner: null })), { ok: true });
  });
});

describe('decideTokenScopes (rule 8)', () => {
  it('grants a scope the credential has and the license allows', () => {
    assert.deepEqual(decideTokenScopes(subject(), 'stats'), { ok: true, scopes: ['stats'] });
  });
  it('accepts several space-separated scopes', () => {
    assert.deepEqual(decideTokenScopes(subject(), 'stats users:read'), { ok: true, scopes: ['stats', 'users:read'] });
  });
  it('refuses a missing, malformed, unknown, absent or no-longer-allowed scope', () => {
    assert.equal(decideTokenScopes(subject(), undefined).ok, false);
    assert.equal(decideTokenScopes(subject(), '').ok, false);
    assert.equal(decideTokenScopes(subject(), 'stats  users:read').ok, false);
    assert.equal(decideTokenScopes(subject(), 'nope').ok, false);
    assert.equal(decideTokenScopes(subject(), 'globalpci').ok, false);
    const demoted = subject({ owner: { status: 'active', license: 'supervisor' } });
    assert.deepEqual(decideTokenScopes(demoted, 'users:read'), { ok: true, scopes: ['users:read'] });
    const refused = decideTokenScopes(demoted, 'stats');
    assert.equal(refused.ok, false);
    assert.match((refused as { message: string }).message, /stats/);
  });
  it('bounds account-level credentials by their scopes only', () => {
    assert.deepEqual(decideTokenScopes(subject({ level: 'account', owner: null, scopes: ['globalpci'] }), 'globalpci'), { ok: true, scopes: ['globalpci'] });
  });
});
