import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/env.js';
import { PASSWORD, PortalClient, portalTenant } from '../support/portal-client.js';
import { type TestRegion, startRegion, tokenRequest } from '../support/region.js';
import { describeEachRegion, jwtClaims } from './console-support.js';

/**
 * Rotation you can see (issue 9 section 3) and the Evaluate panel's server side (section 1),
 * from the outside: the admin API, the token endpoint and the gateway.
 */

const SCOPE = 'users:read';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function issue(t: TestRegion, clientId: string, clientSecret: string, scope = SCOPE) {
  return tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope });
}

async function call(t: TestRegion, token: string): Promise<number> {
  const res = await fetch(`${t.baseUrl}/useradmin/users`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

/** Polls until `check` holds or `ms` pass; the last value of `check`. */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
}

const iso = (value: unknown) => Date.parse(value as string);

await describeEachRegion('rotation fields and end-grace', (region) => {
  it('a credential shows when its secret was rotated and until when the old one works', async () => {
    const t = region();
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const created = (await admin.post('/admin/api/credentials', { name: 'rotating', scopes: [SCOPE] })).body as Record<string, unknown>;
    assert.equal(created.secretRotatedAt, null);
    assert.equal(created.previousSecretExpiresAt, null);

    const before = Date.now();
    const rotated = await admin.post(`/admin/api/credentials/${created.id as string}/secret`, { graceSeconds: 600 });
    assert.equal(rotated.status, 200);
    for (const view of [rotated.body, (await admin.get(`/admin/api/credentials/${created.id as string}`)).body, ((await admin.get('/admin/api/credentials')).body.items ?? [])[0]]) {
      assert.ok(view);
      assert.ok(iso(view.secretRotatedAt) >= before - 1000 && iso(view.secretRotatedAt) <= Date.now() + 1000, String(view.secretRotatedAt));
      assert.ok(Math.abs(iso(view.previousSecretExpiresAt) - (before + 600_000)) < 5000, String(view.previousSecretExpiresAt));
    }
    assert.equal(rotated.body.previousSecretValidUntil, rotated.body.previousSecretExpiresAt);

    // A rotation without grace: rotated now, no grace running.
    const again = await admin.post(`/admin/api/credentials/${created.id as string}/secret`, { graceSeconds: 0 });
    assert.ok(iso(again.body.secretRotatedAt) >= iso(rotated.body.secretRotatedAt));
    assert.equal(again.body.previousSecretExpiresAt, null);
  });

  it('a grace period that has run out shows as none', async () => {
    const t = region();
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const created = (await admin.post('/admin/api/credentials', { name: 'short grace', scopes: [SCOPE] })).body as Record<string, unknown>;
    await admin.post(`/admin/api/credentials/${created.id as string}/secret`, { graceSeconds: 1 });
    await sleep(1100);
    assert.equal((await admin.get(`/admin/api/credentials/${created.id as string}`)).body.previousSecretExpiresAt, null);
    const res = await admin.post(`/admin/api/credentials/${created.id as string}/secret/end-grace`);
    assert.equal(res.status, 409);
    assert.equal(res.body.error, 'no_grace_period');
  });

  it('end-grace: the old secret and its tokens stop at once, the new ones keep working; audited; 409 when none runs', async () => {
    const t = region();
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const created = (await admin.post('/admin/api/credentials', { name: 'grace', scopes: [SCOPE] })).body as { id: string; clientId: string; clientSecret: string };
    const oldToken = (await issue(t, created.clientId, created.clientSecret)).body.access_token as string;
    const rotated = (await admin.post(`/admin/api/credentials/${created.id}/secret`, { graceSeconds: 3600 })).body as { clientSecret: string };
    // During the grace: the old secret still gets tokens, and its tokens still work.
    const graceToken = (await issue(t, created.clientId, created.clientSecret)).body.access_token as string;
    const newToken = (await issue(t, created.clientId, rotated.clientSecret)).body.access_token as string;
    for (const token of [oldToken, graceToken, newToken]) assert.equal(await call(t, token), 200);

    assert.equal((await admin.request('POST', `/admin/api/credentials/${created.id}/secret/end-grace`, { csrf: false })).status, 403);
    assert.equal((await admin.request('POST', `/admin/api/credentials/${created.id}/secret/end-grace`, { csrf: false })).body.error, 'csrf_failed');
    assert.equal(await call(t, oldToken), 200, 'a refused request changes nothing');

    const ended = await admin.post(`/admin/api/credentials/${created.id}/secret/end-grace`, {});
    assert.equal(ended.status, 200, ended.text);
    assert.equal(ended.body.id, created.id);
    assert.equal(ended.body.previousSecretExpiresAt, null);
    assert.ok(typeof ended.body.secretRotatedAt === 'string');
    assert.equal(ended.body.clientSecret, undefined);

    // At once on this instance: tokens of the old secret are invalid, the old secret is refused.
    for (const token of [oldToken, graceToken]) assert.equal(await call(t, token), 401);
    const refused = await issue(t, created.clientId, created.clientSecret);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'invalid_client');
    assert.equal(await call(t, newToken), 200);
    assert.equal((await issue(t, created.clientId, rotated.clientSecret)).status, 200);

    const again = await admin.post(`/admin/api/credentials/${created.id}/secret/end-grace`);
    assert.equal(again.status, 409);
    assert.deepEqual(Object.keys(again.body).sort(), ['error', 'message']);
    assert.equal(again.body.error, 'no_grace_period');

    const audit = (await admin.get(`/admin/api/audit?action=credential.grace_ended&credential=${created.id}`)).body.items ?? [];
    assert.equal(audit.length, 1);
    assert.equal((audit[0]?.actor as { email: string }).email, tenant.admin.email);
    assert.equal((audit[0]?.target as { id: string }).id, created.id);
    assert.ok(!JSON.stringify(audit).includes(rotated.clientSecret) && !JSON.stringify(audit).includes(created.clientSecret));
  });

  it('end-grace: same permission as a rotation, 404 for what the caller cannot see, 400 for a body', async () => {
    const t = region();
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const sup = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    const mine = (await sup.post('/admin/api/credentials', { name: 'sup', scopes: [SCOPE] })).body as { id: string };
    await sup.post(`/admin/api/credentials/${mine.id}/secret`, { graceSeconds: 600 });
    const adminOwn = (await admin.post('/admin/api/credentials', { name: 'adm', scopes: [SCOPE] })).body as { id: string };
    await admin.post(`/admin/api/credentials/${adminOwn.id}/secret`, { graceSeconds: 600 });

    // An admin sees the supervisor's credential but may not rotate it: 403; nor end its grace.
    const forbidden = await admin.post(`/admin/api/credentials/${mine.id}/secret/end-grace`);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error, 'forbidden');
    assert.equal((await sup.post(`/admin/api/credentials/${adminOwn.id}/secret/end-grace`)).status, 404);
    assert.equal((await sup.post('/admin/api/credentials/does-not-exist/secret/end-grace')).status, 404);
    const other = await portalTenant(t.region);
    const stranger = await PortalClient.signIn(t.baseUrl, other.admin.email, PASSWORD);
    assert.equal((await stranger.post(`/admin/api/credentials/${adminOwn.id}/secret/end-grace`)).status, 404);
    const withBody = await sup.post(`/admin/api/credentials/${mine.id}/secret/end-grace`, { graceSeconds: 0 });
    assert.equal(withBody.status, 400);
    assert.equal(withBody.body.error, 'invalid_request');
    // Still running for both.
    assert.notEqual((await sup.get(`/admin/api/credentials/${mine.id}`)).body.previousSecretExpiresAt, null);
    assert.equal((await sup.post(`/admin/api/credentials/${mine.id}/secret/end-grace`)).status, 200);

    // Account-level: an admin ends the grace.
    const legacy = await t.region.issuer.importAccountLevel(tenant.account.id, { name: 'legacy', scopes: ['stats'] }, { id: null, email: 'ops' });
    await admin.post(`/admin/api/credentials/${legacy.credential.id}/secret`, { graceSeconds: 600 });
    assert.equal((await admin.post(`/admin/api/credentials/${legacy.credential.id}/secret/end-grace`)).status, 200);
  });
});

await describeEachRegion('evaluate', (region) => {
  it('shows the claims a token would carry now, equal to a real token of every allowed scope', async () => {
    const t = region();
    const tenant = await portalTenant(t.region);
    await t.region.store.accounts.update(tenant.account.id, { accessTokenLifetimeSeconds: 1234 });
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const created = (await admin.post('/admin/api/credentials', { name: 'evaluate me', scopes: ['stats', 'users:read', 'users:write'] })).body as { id: string; clientId: string; clientSecret: string };
    const res = await admin.get(`/admin/api/credentials/${created.id}/evaluate`);
    assert.equal(res.status, 200, res.text);
    const claims = res.body.claims as Record<string, unknown>;
    assert.equal(res.body.expiresIn, 1234);
    assert.deepEqual(res.body.warnings, []);
    for (const absent of ['jti', 'iat', 'nbf', 'exp', 'secret_id']) assert.equal(claims[absent], undefined, absent);
    assert.equal(claims.scope, 'users:read users:write stats');
    assert.equal(claims.user_id, tenant.admin.id);
    assert.equal(claims.region, t.config.region);

    const real = await issue(t, created.clientId, created.clientSecret, claims.scope as string);
    assert.equal(real.status, 200);
    assert.equal(real.body.expires_in, 1234);
    const token = jwtClaims(real.body.access_token as string);
    for (const [name, value] of Object.entries(claims)) assert.deepEqual(token[name], value, name);
    for (const name of ['iss', 'aud', 'sub', 'client_id', 'scope', 'account_id', 'region', 'user_id']) assert.ok(name in claims, name);
  });

  it('follows the owner\'s license now, says why a token would fail, and keeps the visibility rules', async () => {
    const t = region();
    const tenant = await portalTenant(t.region);
    const admin2 = await PortalClient.signIn(t.baseUrl, tenant.admin2.email, PASSWORD);
    const created = (await admin2.post('/admin/api/credentials', { name: 'demoted', scopes: ['stats', 'users:read'] })).body as { id: string; clientId: string; clientSecret: string };
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);

    await t.region.store.users.update(tenant.admin2.id, { license: 'supervisor' });
    await t.region.feed.poll();
    const demoted = await admin.get(`/admin/api/credentials/${created.id}/evaluate`);
    assert.equal((demoted.body.claims as { scope: string }).scope, 'users:read');
    assert.match((demoted.body.warnings as string[]).join(' '), /no longer allows: stats/);
    assert.equal((await issue(t, created.clientId, created.clientSecret, 'stats')).body.error, 'invalid_scope');
    assert.equal((await issue(t, created.clientId, created.clientSecret, 'users:read')).status, 200);

    await t.region.store.users.update(tenant.admin2.id, { status: 'disabled' });
    await t.region.feed.poll();
    const disabled = await admin.get(`/admin/api/credentials/${created.id}/evaluate`);
    assert.match((disabled.body.warnings as string[]).join(' '), /invalid_client/);
    assert.equal((await issue(t, created.clientId, created.clientSecret, 'users:read')).body.error, 'invalid_client');

    const sup = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    assert.equal((await sup.get(`/admin/api/credentials/${created.id}/evaluate`)).status, 404);
    assert.equal((await sup.get('/admin/api/credentials/nope/evaluate')).status, 404);
    const legacy = await t.region.issuer.importAccountLevel(tenant.account.id, { name: 'legacy', scopes: ['stats', 'globalpci'] }, { id: null, email: 'ops' });
    const legacyClaims = (await admin.get(`/admin/api/credentials/${legacy.credential.id}/evaluate`)).body.claims as Record<string, unknown>;
    assert.equal(legacyClaims.scope, 'stats globalpci');
    assert.equal(legacyClaims.user_id, undefined);
  });
});

const pg = await postgresAvailable();

describe('end-grace across two instances on one PostgreSQL schema', { skip: pg ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schema = uniqueSchema('ccauth_grace');
  let a: TestRegion;
  let b: TestRegion;
  before(async () => {
    const env = { DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema, CCAUTH_MASTER_KEY: randomBytes(32).toString('base64') };
    a = await startRegion(env);
    b = await startRegion(env);
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await dropSchema(schema);
  });

  it('a token of the old secret, cached at the other instance, is refused there within 1 second', async () => {
    const tenant = await portalTenant(a.region);
    const admin = await PortalClient.signIn(a.baseUrl, tenant.admin.email, PASSWORD);
    const created = (await admin.post('/admin/api/credentials', { name: 'two instances', scopes: [SCOPE] })).body as { id: string; clientId: string; clientSecret: string };
    await admin.post(`/admin/api/credentials/${created.id}/secret`, { graceSeconds: 3600 });
    const oldToken = (await issue(b, created.clientId, created.clientSecret)).body.access_token as string;
    assert.equal(await call(b, oldToken), 200);
    assert.equal((await admin.post(`/admin/api/credentials/${created.id}/secret/end-grace`)).status, 200);
    const started = Date.now();
    assert.ok(await within(1000, async () => (await call(b, oldToken)) === 401), 'refused at the other instance within 1 s');
    assert.ok(Date.now() - started <= 1500);
    assert.equal((await issue(b, created.clientId, created.clientSecret)).status, 401);
  });
});

await describeEachRegion('scopes as one string in the admin API', (region) => {
  it('create and edit take "a b" or "a,b"; another separator is 400 naming the accepted forms', async () => {
    const t = region();
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const created = await admin.post('/admin/api/credentials', { name: 'string scopes', scopes: 'stats, users:read' });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.scopes, ['users:read', 'stats']);
    const edited = await admin.patch(`/admin/api/credentials/${created.body.id as string}`, { scopes: 'globalpci stats' });
    assert.deepEqual(edited.body.scopes, ['stats', 'globalpci']);
    for (const scopes of ['stats;users:read', '', ' , ']) {
      const res = await admin.post('/admin/api/credentials', { name: 'bad', scopes });
      assert.equal(res.status, 400, scopes);
      assert.equal(res.body.error, 'invalid_scope');
      assert.match(res.body.message as string, /spaces or commas/);
    }
    assert.equal((await admin.patch(`/admin/api/credentials/${created.body.id as string}`, { scopes: 'stats|globalpci' })).status, 400);
  });
});
