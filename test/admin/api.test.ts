import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PASSWORD, PortalClient, portalTenant, rawRequest } from '../support/portal-client.js';
import { startRegion, tokenRequest, type TestRegion } from '../support/region.js';

let t: TestRegion;
before(async () => {
  t = await startRegion();
});
after(async () => {
  await t.close();
});

const token = (clientId: string, clientSecret: string, scope: string) =>
  tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope });

/** Counts of everything an admin API error must leave untouched. */
async function snapshot(accountId: string) {
  const credentials = await t.region.store.credentials.listByAccount(accountId);
  const audit = await t.region.store.audit.list(accountId, { limit: 1000 });
  return JSON.stringify({ credentials, audit: audit.filter((e) => e.action !== 'user.signed_in').length });
}

describe('sign-in and sessions', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie and returns the user and a CSRF token', async () => {
    const tenant = await portalTenant(t.region);
    const res = await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { body: { email: tenant.admin.email.toUpperCase(), password: PASSWORD } });
    assert.equal(res.status, 200);
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^ccauth_session=[A-Za-z0-9_-]{43};/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.doesNotMatch(cookie, /Secure/); // served over http here
    assert.equal((res.body.user as { email: string }).email, tenant.admin.email);
    assert.equal(typeof res.body.csrfToken, 'string');
    assert.equal(res.body.access, 'ok');
  });

  it('answers an unknown email and a wrong password the same', async () => {
    const tenant = await portalTenant(t.region);
    const unknown = await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { body: { email: `nobody-${Date.now()}@example.test`, password: PASSWORD } });
    const wrong = await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { body: { email: tenant.supervisor.email, password: 'wrong password' } });
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, 401);
    assert.equal(unknown.text, wrong.text);
    assert.equal(unknown.body.error, 'invalid_credentials');
  });

  it('refuses a disabled user', async () => {
    const tenant = await portalTenant(t.region);
    await t.region.store.users.update(tenant.supervisor.id, { status: 'disabled' });
    const res = await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { body: { email: tenant.supervisor.email, password: PASSWORD } });
    assert.equal(res.status, 401);
  });

  it('limits failed sign-ins per email', async () => {
    const tenant = await portalTenant(t.region);
    for (let i = 0; i < 5; i++) {
      assert.equal((await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { body: { email: tenant.agent.email, password: 'nope' } })).status, 401);
    }
    const limited = await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { body: { email: tenant.agent.email, password: PASSWORD } });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error, 'rate_limited');
    assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
  });

  it('rejects malformed sign-in bodies with 400', async () => {
    for (const rawBody of ['{', '[]', '{"email":1,"password":"x"}', '{"email":"a@b.c"}', '{"email":"a@b.c","password":"x","extra":1}']) {
      const res = await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { rawBody });
      assert.equal(res.status, 400, rawBody);
      assert.equal(res.body.error, 'invalid_request');
      assert.equal(typeof res.body.message, 'string');
    }
  });

  it('signs out, and an expired session answers 401', async () => {
    const tenant = await portalTenant(t.region);
    const a = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    assert.equal((await a.get('/admin/api/me')).status, 200);
    assert.equal((await a.request('DELETE', '/admin/api/session', { csrf: false })).status, 403);
    assert.equal((await a.delete('/admin/api/session')).status, 204);
    const me = await a.get('/admin/api/me');
    assert.equal(me.status, 401);
    assert.equal(me.body.error, 'unauthorized');

    const b = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const before = await snapshot(tenant.account.id);
    const sessionIdHash = (await t.region.store.db.selectFrom('admin_sessions').select('id_hash').where('user_id', '=', tenant.admin.id).executeTakeFirstOrThrow()).id_hash;
    await t.region.store.sessions.expire(sessionIdHash);
    const expired = await b.post('/admin/api/credentials', { name: 'late', scopes: ['stats'] });
    assert.equal(expired.status, 401);
    assert.equal(await snapshot(tenant.account.id), before);
  });
});

describe('who sees the area (rule 1)', () => {
  it('an agent gets 403 forbidden on every area route', async () => {
    const tenant = await portalTenant(t.region);
    const agent = await PortalClient.signIn(t.baseUrl, tenant.agent.email, PASSWORD);
    assert.equal((await agent.get('/admin/api/me')).body.access, 'forbidden');
    for (const [method, path] of [['GET', '/admin/api/scopes'], ['GET', '/admin/api/credentials'], ['POST', '/admin/api/credentials'], ['GET', '/admin/api/audit']] as const) {
      const res = await agent.request(method, path, method === 'POST' ? { body: { name: 'x', scopes: ['users:read'] } } : {});
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.body.error, 'forbidden');
    }
    assert.equal((await t.region.store.credentials.listByAccount(tenant.account.id)).length, 0);
  });

  it('an account with the switch off gets 403 api_credentials_disabled', async () => {
    const tenant = await portalTenant(t.region, { apiCredentialsEnabled: false });
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    assert.equal((await admin.get('/admin/api/me')).body.access, 'api_credentials_disabled');
    const res = await admin.post('/admin/api/credentials', { name: 'x', scopes: ['stats'] });
    assert.equal(res.status, 403);
    assert.equal(res.body.error, 'api_credentials_disabled');
    assert.equal((await admin.get('/admin/api/credentials')).body.error, 'api_credentials_disabled');
    assert.equal((await t.region.store.credentials.listByAccount(tenant.account.id)).length, 0);
  });
});

describe('API credentials (rules 2-7)', () => {
  it('offers each license its grantable scopes with portal descriptions', async () => {
    const tenant = await portalTenant(t.region);
    const sup = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    assert.deepEqual(
      (await sup.get('/admin/api/scopes')).body.items,
      [
        { value: 'users:read', description: 'Read VCC user details, settings, and presences', apis: ['Agents API', 'User Admin API'] },
        { value: 'interaction-content:read', description: 'Read or download interaction content', apis: ['Conversation Analyzer API', 'Interaction Content API'] },
      ],
    );
    assert.equal((await admin.get('/admin/api/scopes')).body.items?.length, 8);
  });

  it('creates a credential, returns its secret once, and the secret gets tokens at once', async () => {
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const created = await admin.post('/admin/api/credentials', { name: '  CRM sync  ', scopes: ['stats', 'users:read'] });
    assert.equal(created.status, 201);
    const secret = created.body.clientSecret as string;
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.name, 'CRM sync');
    assert.deepEqual(created.body.scopes, ['users:read', 'stats']);
    assert.equal(created.body.level, 'user');
    assert.equal((created.body.owner as { id: string }).id, tenant.admin.id);
    const id = created.body.id as string;
    const clientId = created.body.clientId as string;
    assert.equal((await token(clientId, secret, 'stats')).status, 200);

    const one = await admin.get(`/admin/api/credentials/${id}`);
    const list = await admin.get('/admin/api/credentials');
    const audit = await admin.get('/admin/api/audit');
    for (const res of [one, list, audit]) {
      assert.equal(res.status, 200);
      assert.ok(!res.text.includes(secret), 'the secret never comes back');
      assert.ok(!res.text.includes('h1$'), 'nor its hash');
      assert.ok(!('clientSecret' in res.body));
    }
    assert.equal(list.body.items?.[0]?.id, id);
    assert.equal(audit.body.items?.[0]?.action, 'credential.created');
  });

  it('refuses bad input with a clear JSON error and changes nothing', async () => {
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const sup = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    const before = await snapshot(tenant.account.id);
    const cases: [PortalClient, { body?: unknown; rawBody?: string; csrf?: boolean; contentType?: string }, number, string, RegExp?][] = [
      [admin, { rawBody: '{"name":' }, 400, 'invalid_request', /JSON/],
      [admin, { rawBody: 'name=x', contentType: 'application/x-www-form-urlencoded' }, 400, 'invalid_request'],
      [admin, { body: { name: 'x', scopes: ['nope:read'] } }, 400, 'invalid_scope', /nope:read/],
      [sup, { body: { name: 'x', scopes: ['users:read', 'stats'] } }, 400, 'invalid_scope', /stats/],
      [admin, { body: { name: 'x', scopes: [] } }, 400, 'invalid_scope'],
      [admin, { body: { name: 'x' } }, 400, 'invalid_request'],
      [admin, { body: { name: '   ', scopes: ['stats'] } }, 400, 'invalid_request', /name/],
      [admin, { body: { name: 'x'.repeat(101), scopes: ['stats'] } }, 400, 'invalid_request', /100/],
      [admin, { body: { name: 42, scopes: ['stats'] } }, 400, 'invalid_request'],
      [admin, { body: { name: 'x', scopes: ['stats'], level: 'account' } }, 400, 'account_level_deprecated', /deprecated/],
      [admin, { body: { name: 'x', scopes: ['stats'], owner: 'someone' } }, 400, 'invalid_request', /owner/],
      [admin, { body: { name: 'x', scopes: ['stats'] }, csrf: false }, 403, 'csrf_failed'],
    ];
    for (const [client, options, status, error, message] of cases) {
      const res = await client.request('POST', '/admin/api/credentials', options);
      assert.equal(res.status, status, JSON.stringify(options));
      assert.equal(res.body.error, error, JSON.stringify(options));
      assert.equal(typeof res.body.message, 'string');
      if (message) assert.match(res.body.message as string, message);
    }
    const wrongCsrf = new PortalClient(t.baseUrl, admin.cookie, 'x'.repeat(43));
    assert.equal((await wrongCsrf.post('/admin/api/credentials', { name: 'x', scopes: ['stats'] })).body.error, 'csrf_failed');
    assert.equal((await rawRequest(t.baseUrl, 'POST', '/admin/api/credentials', { body: { name: 'x', scopes: ['stats'] } })).status, 401);
    assert.equal(await snapshot(tenant.account.id), before);
  });

  it('edits name and scopes; a removed scope stops working for new tokens at once', async () => {
    const tenant = await portalTenant(t.region);
    const sup = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    const created = await sup.post('/admin/api/credentials', { name: 'reader', scopes: ['users:read'] });
    const { id, clientId, clientSecret } = created.body as { id: string; clientId: string; clientSecret: string };
    assert.equal((await token(clientId, clientSecret, 'users:read')).status, 200);
    const added = await sup.patch(`/admin/api/credentials/${id}`, { scopes: ['users:read', 'interaction-content:read'], name: 'reader 2' });
    assert.equal(added.status, 200);
    assert.deepEqual(added.body.scopes, ['users:read', 'interaction-content:read']);
    assert.equal(added.body.name, 'reader 2');
    assert.equal((await token(clientId, clientSecret, 'interaction-content:read')).status, 200);
    const removed = await sup.patch(`/admin/api/credentials/${id}`, { scopes: ['interaction-content:read'] });
    assert.equal(removed.status, 200);
    const refused = await token(clientId, clientSecret, 'users:read');
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_scope');

    const before = await snapshot(tenant.account.id);
    for (const [body, error] of [
      [{ scopes: ['stats'] }, 'invalid_scope'],
      [{ scopes: [] }, 'invalid_scope'],
      [{ name: '' }, 'invalid_request'],
      [{ clientId: 'mine' }, 'invalid_request'],
    ] as const) {
      const res = await sup.patch(`/admin/api/credentials/${id}`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error, error);
    }
    assert.equal(await snapshot(tenant.account.id), before);

    const audit = (await (await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD)).get('/admin/api/audit')).body.items ?? [];
    const update = audit.find((e) => e.action === 'credential.updated' && (e.changes as { scopes?: { removed: string[] } }).scopes?.removed?.includes('users:read'));
    assert.ok(update, 'the scope removal is audited');
    assert.equal((update.actor as { email: string }).email, tenant.supervisor.email);
  });

  it('rotates a secret: without grace the old one stops at once, with grace it works until then', async () => {
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const created = await admin.post('/admin/api/credentials', { name: 'rotating', scopes: ['stats'] });
    const { id, clientId, clientSecret: first } = created.body as { id: string; clientId: string; clientSecret: string };
    const r1 = await admin.post(`/admin/api/credentials/${id}/secret`, { graceSeconds: 60 });
    assert.equal(r1.status, 200);
    const second = r1.body.clientSecret as string;
    assert.notEqual(second, first);
    assert.equal(typeof r1.body.previousSecretValidUntil, 'string');
    assert.equal((await token(clientId, first, 'stats')).status, 200, 'old secret works during the grace period');
    assert.equal((await token(clientId, second, 'stats')).status, 200);
    const r2 = await admin.post(`/admin/api/credentials/${id}/secret`);
    const third = r2.body.clientSecret as string;
    assert.equal((await token(clientId, second, 'stats')).status, 401, 'no grace: the previous secret stops at once');
    assert.equal((await token(clientId, first, 'stats')).status, 401);
    assert.equal((await token(clientId, third, 'stats')).status, 200);
    for (const graceSeconds of [-1, 86401, 1.5, '10']) {
      const res = await admin.post(`/admin/api/credentials/${id}/secret`, { graceSeconds });
      assert.equal(res.status, 400, String(graceSeconds));
    }
    assert.equal((await token(clientId, third, 'stats')).status, 200, 'a refused rotation changes nothing');
  });

  it('a supervisor sees only their own; an admin sees all, filters, deletes any but edits only their own', async () => {
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const admin2 = await PortalClient.signIn(t.baseUrl, tenant.admin2.email, PASSWORD);
    const sup = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    const supCred = (await sup.post('/admin/api/credentials', { name: 'sup', scopes: ['users:read'] })).body as { id: string; clientId: string; clientSecret: string };
    const adminCred = (await admin.post('/admin/api/credentials', { name: 'admin', scopes: ['stats'] })).body as { id: string };

    assert.deepEqual((await sup.get('/admin/api/credentials')).body.items?.map((c) => c.id), [supCred.id]);
    assert.deepEqual((await sup.get('/admin/api/credentials?owner=all')).body.items?.map((c) => c.id), [supCred.id]);
    assert.equal((await sup.get(`/admin/api/credentials/${adminCred.id}`)).status, 404);
    assert.equal((await sup.delete(`/admin/api/credentials/${adminCred.id}`)).status, 404);

    assert.deepEqual(new Set((await admin2.get('/admin/api/credentials')).body.items?.map((c) => c.id)), new Set([supCred.id, adminCred.id]));
    assert.deepEqual((await admin.get('/admin/api/credentials?owner=me')).body.items?.map((c) => c.id), [adminCred.id]);
    assert.equal((await admin.get('/admin/api/credentials?owner=someone')).status, 400);

    const view = (await admin2.get(`/admin/api/credentials/${supCred.id}`)).body;
    assert.equal(view.canEdit, false);
    assert.equal(view.canDelete, true);
    const edit = await admin2.patch(`/admin/api/credentials/${supCred.id}`, { name: 'hijacked' });
    assert.equal(edit.status, 403);
    assert.equal((await admin2.post(`/admin/api/credentials/${supCred.id}/secret`)).status, 403);
    assert.equal((await t.region.store.credentials.get(supCred.id))?.name, 'sup');

    assert.equal((await admin2.delete(`/admin/api/credentials/${supCred.id}`)).status, 204);
    assert.equal((await token(supCred.clientId, supCred.clientSecret, 'users:read')).status, 401, 'deleted: refused at once');
    assert.equal((await sup.get('/admin/api/credentials')).body.items?.length, 0);
    const audit = (await admin.get('/admin/api/audit')).body.items ?? [];
    const deleted = audit.find((e) => e.action === 'credential.deleted');
    assert.equal((deleted?.actor as { email: string }).email, tenant.admin2.email);
    assert.equal((deleted?.target as { id: string }).id, supCred.id);
  });

  it('account-level credentials: usable, viewable, editable, rotatable and deletable by admins only', async () => {
    const tenant = await portalTenant(t.region);
    const legacy = await t.region.issuer.importAccountLevel(tenant.account.id, { name: 'legacy', scopes: ['stats', 'globalpci'] }, { id: null, email: 'ops' });
    assert.equal((await token(legacy.credential.clientId, legacy.clientSecret, 'globalpci')).status, 200);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const sup = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    const listed = (await admin.get('/admin/api/credentials?level=account')).body.items ?? [];
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.deprecated, true);
    assert.equal(listed[0]?.owner, null);
    assert.equal((await sup.get(`/admin/api/credentials/${legacy.credential.id}`)).status, 404);
    const edited = await admin.patch(`/admin/api/credentials/${legacy.credential.id}`, { scopes: ['stats'] });
    assert.equal(edited.status, 200);
    assert.equal((await token(legacy.credential.clientId, legacy.clientSecret, 'globalpci')).body.error, 'invalid_scope');
    const rotated = await admin.post(`/admin/api/credentials/${legacy.credential.id}/secret`);
    assert.equal(rotated.status, 200);
    assert.equal((await token(legacy.credential.clientId, rotated.body.clientSecret as string, 'stats')).status, 200);
    assert.equal((await admin.delete(`/admin/api/credentials/${legacy.credential.id}`)).status, 204);
  });

  it('the audit log is for admins, newest first, with paging', async () => {
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const sup = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    assert.equal((await sup.get('/admin/api/audit')).status, 403);
    for (let i = 0; i < 3; i++) await admin.post('/admin/api/credentials', { name: `c${i}`, scopes: ['stats'] });
    const page1 = await admin.get('/admin/api/audit?limit=2');
    assert.equal(page1.body.items?.length, 2);
    assert.equal((page1.body.items?.[0]?.target as { name: string }).name, 'c2');
    const page2 = await admin.get(`/admin/api/audit?limit=2&before=${encodeURIComponent(page1.body.nextBefore as string)}`);
    assert.equal((page2.body.items?.[0]?.target as { name: string }).name, 'c0');
    assert.ok((await admin.get('/admin/api/audit?limit=100')).body.items?.some((e) => e.action === 'user.signed_in'));
    assert.equal((await admin.get('/admin/api/audit?limit=0')).status, 400);
    assert.equal((await admin.get('/admin/api/audit?before=yesterday')).status, 400);
  });
});

describe('tenant isolation (from the outside, every route)', () => {
  it('a user of one account can neither read, change nor learn of another account\'s credentials', async () => {
    const mine = await portalTenant(t.region);
    const theirs = await portalTenant(t.region);
    const them = await PortalClient.signIn(t.baseUrl, theirs.admin.email, PASSWORD);
    const foreign = (await them.post('/admin/api/credentials', { name: 'theirs', scopes: ['stats'] })).body as { id: string; clientId: string; clientSecret: string };
    const legacy = await t.region.issuer.importAccountLevel(theirs.account.id, { name: 'their legacy', scopes: ['stats'] }, { id: null, email: 'ops' });
    const before = await snapshot(theirs.account.id);

    for (const email of [mine.admin.email, mine.supervisor.email]) {
      const me = await PortalClient.signIn(t.baseUrl, email, PASSWORD);
      for (const id of [foreign.id, legacy.credential.id, 'does-not-exist']) {
        const responses = [
          await me.get(`/admin/api/credentials/${id}`),
          await me.patch(`/admin/api/credentials/${id}`, { name: 'mine now' }),
          await me.patch(`/admin/api/credentials/${id}`, { scopes: ['stats'] }),
          await me.post(`/admin/api/credentials/${id}/secret`, { graceSeconds: 0 }),
          await me.delete(`/admin/api/credentials/${id}`),
        ];
        for (const res of responses) {
          assert.equal(res.status, 404, `${email} ${id}`);
          assert.deepEqual(res.body, { error: 'not_found', message: 'No such API credential' });
        }
      }
      for (const path of ['/admin/api/credentials', '/admin/api/credentials?owner=all', '/admin/api/credentials?level=account', '/admin/api/audit?limit=200']) {
        const res = await me.get(path);
        assert.ok(!res.text.includes(foreign.id) && !res.text.includes(legacy.credential.id) && !res.text.includes(theirs.account.id), path);
      }
    }
    assert.equal(await snapshot(theirs.account.id), before);
    assert.equal((await token(foreign.clientId, foreign.clientSecret, 'stats')).status, 200);
  });
});
