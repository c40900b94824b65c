import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCredential, startRegion, tokenRequest, type TestRegion } from '../support/region.js';
import { type ApiTenant, VERSIONED_JSON, apiTenant, assertBadRequest, assertInsufficientScope, assertNotFound, call } from './helpers.js';

describe('User Admin / Agents API', () => {
  let t: TestRegion;
  let a: ApiTenant;
  let b: ApiTenant;
  const agents: string[] = [];
  before(async () => {
    t = await startRegion();
    a = await apiTenant(t.region, t.baseUrl);
    b = await apiTenant(t.region, t.baseUrl);
    const store = t.region.store;
    const people: [string, string[], 'Ready' | 'Away' | 'Extended Away' | 'Logged Out'][] = [
      ['fr1', ['French', 'English'], 'Ready'],
      ['fr2', ['French'], 'Away'],
      ['en1', ['English', 'Sales'], 'Ready'],
      ['en2', ['english', 'Service'], 'Logged Out'],
      ['es1', ['Spanish'], 'Extended Away'],
    ];
    for (const [name, skills, presence] of people) {
      const u = await store.users.create({ accountId: a.account.id, email: `${name}.${a.account.id}@example.test`, name, license: 'agent', skills, presence });
      agents.push(u.id);
    }
  });
  after(async () => {
    await t.close();
  });

  const read = (path: string) => a.call('GET', path, 'users:read');
  const write = (method: string, path: string, body?: unknown) => a.call(method, path, 'users:write', body === undefined ? {} : { body });

  describe('GET /useradmin/users', () => {
    it("lists only the token's account's users, sorted by email, in the SPEC shape", async () => {
      const res = await read('/useradmin/users');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), VERSIONED_JSON);
      const items = res.json.items ?? [];
      const expected = (await t.region.store.users.listByAccount(a.account.id)).map((u) => u.email);
      assert.deepEqual(items.map((u) => u.email), expected);
      assert.deepEqual(res.json.meta, { page: 1, count: 8, pageCount: 1, totalCount: 8 });
      for (const u of items) assert.deepEqual(Object.keys(u).sort(), ['email', 'id', 'license', 'name', 'presence', 'skills', 'status']);
      const bIds = new Set((await t.region.store.users.listByAccount(b.account.id)).map((u) => u.id));
      assert.ok(items.every((u) => !bIds.has(u.id as string)), "no user of another account");
    });

    it('pages with page and pageSize; a page past the end is empty', async () => {
      const all = (await read('/useradmin/users')).json.items ?? [];
      const p2 = await read('/useradmin/users?page=2&pageSize=3');
      assert.equal(p2.status, 200);
      assert.deepEqual(p2.json.meta, { page: 2, count: 3, pageCount: 3, totalCount: 8 });
      assert.deepEqual(p2.json.items?.map((u) => u.id), all.slice(3, 6).map((u) => u.id));
      const p3 = await read('/useradmin/users?page=3&pageSize=3');
      assert.deepEqual(p3.json.meta, { page: 3, count: 2, pageCount: 3, totalCount: 8 });
      const past = await read('/useradmin/users?page=9&pageSize=3');
      assert.equal(past.status, 200);
      assert.deepEqual(past.json.meta, { page: 9, count: 0, pageCount: 3, totalCount: 8 });
      assert.deepEqual(past.json.items, []);
      const max = await read('/useradmin/users?pageSize=50');
      assert.equal(max.json.meta?.count, 8);
    });

    it('filters by skill (all of them, case-insensitive), presence, status and license', async () => {
      const emails = async (q: string) => ((await read(`/useradmin/users?${q}`)).json.items ?? []).map((u) => String(u.name));
      assert.deepEqual((await emails('skill=french')).sort(), ['fr1', 'fr2']);
      assert.deepEqual(await emails('skill=French,English'), ['fr1']);
      assert.deepEqual((await emails('skill=English')).sort(), ['en1', 'en2', 'fr1']);
      assert.deepEqual((await emails('presence=Ready&license=agent')).sort(), ['en1', 'fr1']);
      assert.deepEqual(await emails('presence=Extended%20Away'), ['es1']);
      assert.deepEqual((await emails('license=admin')).length, 1);
      assert.deepEqual((await emails('status=disabled')).length, 0);
      const filtered = await read('/useradmin/users?skill=English&pageSize=2');
      assert.deepEqual(filtered.json.meta, { page: 1, count: 2, pageCount: 2, totalCount: 3 });
    });

    it('answers 400 with a clear message for every invalid query parameter', async () => {
      assertBadRequest(await read('/useradmin/users?pageSize=51'), /^Request exceeded maximum number for users of 50 in one query\.$/);
      assertBadRequest(await read('/useradmin/users?pageSize=0'), /^Query parameter pageSize must be >= 1$/);
      assertBadRequest(await read('/useradmin/users?page=0'), /^Query parameter page must be >= 1$/);
      assertBadRequest(await read('/useradmin/users?page=abc'), /^Query parameter page must be an integer$/);
      assertBadRequest(await read('/useradmin/users?pageSize=2.5'), /^Query parameter pageSize must be an integer$/);
      assertBadRequest(await read('/useradmin/users?presence=Busy'), /^Query parameter presence must be one of: Ready, Away, Extended Away, Logged Out$/);
      assertBadRequest(await read('/useradmin/users?status=gone'), /^Query parameter status must be one of: active, disabled$/);
      assertBadRequest(await read('/useradmin/users?license=boss'), /^Query parameter license must be one of: admin, supervisor, agent$/);
      assertBadRequest(await read('/useradmin/users?skill=,,'), /skill must name at least one skill/);
    });
  });

  describe('GET /useradmin/users/{id}', () => {
    it('reads a user of the account', async () => {
      const id = agents[0] as string;
      const res = await read(`/useradmin/users/${id}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { id, email: `fr1.${a.account.id}@example.test`, name: 'fr1', license: 'agent', status: 'active', skills: ['French', 'English'], presence: 'Ready' });
    });

    it("is 404 for another account's user and for an unknown id", async () => {
      assertNotFound(await read(`/useradmin/users/${b.agent.id}`));
      assertNotFound(await read(`/useradmin/users/${b.admin.id}`));
      assertNotFound(await read('/useradmin/users/00000000-0000-4000-8000-000000000000'));
      assertNotFound(await read('/useradmin/users/not-a-uuid'));
    });
  });

  describe('PATCH /useradmin/users/{id}', () => {
    it('changes name (trimmed) and skills (trimmed, duplicates dropped) and answers the user', async () => {
      const id = agents[2] as string;
      const res = await write('PATCH', `/useradmin/users/${id}`, { name: '  Eve  English ', skills: [' English', 'Sales', 'english', 'Retention '] });
      assert.equal(res.status, 200);
      assert.equal(res.json.name, 'Eve  English');
      assert.deepEqual(res.json.skills, ['English', 'Sales', 'Retention']);
      const stored = await t.region.store.users.get(id);
      assert.equal(stored?.name, 'Eve  English');
      assert.deepEqual(stored?.skills, ['English', 'Sales', 'Retention']);
      const cleared = await write('PATCH', `/useradmin/users/${id}`, { skills: [] });
      assert.deepEqual(cleared.json.skills, []);
      await write('PATCH', `/useradmin/users/${id}`, { skills: ['English', 'Sales'], name: 'en1' });
    });

    it('refuses every invalid body with 400 naming the problem, and changes nothing', async () => {
      const id = agents[1] as string;
      const before = await t.region.store.users.get(id);
      const cases: [unknown, RegExp][] = [
        [{}, /^The request body must set at least one of: name, skills, status$/],
        [{ nickname: 'x' }, /^Unknown field nickname: this request accepts name, skills, status$/],
        [{ name: 'ok', license: 'admin', email: 'x@y' }, /^Unknown fields license, email: this request accepts name, skills, status$/],
        [{ name: '' }, /^Field name must be at least 1 character long$/],
        [{ name: '    ' }, /^Field name must be 1\.\.100 characters after trimming$/],
        [{ name: 'x'.repeat(101) }, /^Field name must be at most 100 characters long$/],
        [{ name: 42 }, /^Field name must be a string$/],
        [{ name: null }, /^Field name must be a string$/],
        [{ skills: 'French' }, /^Field skills must be an array$/],
        [{ skills: ['French', 7] }, /^Field skills\[1\] must be a string$/],
        [{ skills: ['x'.repeat(51)] }, /^Field skills\[0\] must be at most 50 characters long$/],
        [{ skills: [''] }, /^Field skills\[0\] must be at least 1 character long$/],
        [{ skills: ['  '] }, /^Field skills\[0\] must be 1\.\.50 characters after trimming$/],
        [{ skills: ['French,English'] }, /^Field skills\[0\] must not contain a comma$/],
        [{ skills: Array.from({ length: 51 }, (_, i) => `s${i}`) }, /^Field skills must have at most 50 items$/],
        [{ status: 'suspended' }, /^Field status must be one of: active, disabled$/],
        [[{ name: 'x' }], /^The request body must be a JSON object$/],
        ['just a string', /^The request body must be a JSON object$/],
      ];
      for (const [body, message] of cases) {
        assertBadRequest(await write('PATCH', `/useradmin/users/${id}`, body), message);
      }
      assertBadRequest(await a.call('PATCH', `/useradmin/users/${id}`, 'users:write', { rawBody: '{"name":' }), /JSON/i);
      const noBody = await a.call('PATCH', `/useradmin/users/${id}`, 'users:write');
      assertBadRequest(noBody, /^The request body must be a JSON object$/);
      assert.equal((await a.call('PATCH', `/useradmin/users/${id}`, 'users:write', { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status, 415);
      assert.deepEqual(await t.region.store.users.get(id), before);
    });

    it("is 404 for another account's user, which stays unchanged", async () => {
      const res = await write('PATCH', `/useradmin/users/${b.agent.id}`, { name: 'hijacked', status: 'disabled' });
      assertNotFound(res);
      const stored = await t.region.store.users.get(b.agent.id);
      assert.equal(stored?.name, b.agent.name);
      assert.equal(stored?.status, 'active');
      assertNotFound(await write('PATCH', '/useradmin/users/00000000-0000-4000-8000-000000000000', { name: 'x' }));
    });

    it("disabling a user makes their credentials' tokens stop working at once; enabling restores new tokens", async () => {
      const { credential, clientSecret } = await createCredential(t.region, a.supervisor, ['users:read']);
      const form = { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'users:read' };
      const issued = await tokenRequest(t.baseUrl, form);
      const supervisorToken = issued.body.access_token as string;
      assert.equal((await call(t.baseUrl, 'GET', '/useradmin/users', { token: supervisorToken })).status, 200);

      const res = await write('PATCH', `/useradmin/users/${a.supervisor.id}`, { status: 'disabled' });
      assert.equal(res.status, 200);
      assert.equal(res.json.status, 'disabled');
      let status = 0;
      for (let i = 0; i < 40; i++) {
        status = (await call(t.baseUrl, 'GET', '/useradmin/users', { token: supervisorToken })).status;
        if (status === 401) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status, 401, "a disabled owner's token is refused within 2 s");
      assert.equal((await tokenRequest(t.baseUrl, form)).body.error, 'invalid_client');

      assert.equal((await write('PATCH', `/useradmin/users/${a.supervisor.id}`, { status: 'active' })).json.status, 'active');
      let reissued = 0;
      for (let i = 0; i < 40 && reissued !== 200; i++) {
        reissued = (await tokenRequest(t.baseUrl, form)).status;
        if (reissued !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(reissued, 200);
    });

    it('refuses to disable the user the token acts for', async () => {
      assertBadRequest(await write('PATCH', `/useradmin/users/${a.admin.id}`, { status: 'disabled' }), /cannot disable the user this access token acts for/);
      assert.equal((await t.region.store.users.get(a.admin.id))?.status, 'active');
    });
  });

  describe('PUT /useradmin/users/{id}/presence', () => {
    it('sets the presence, which Agent Availability then counts', async () => {
      const id = agents[4] as string;
      const count = async () => (await a.call('GET', '/agents-availability?skillNames=Spanish', 'agents-availability:read')).json;
      assert.deepEqual(await count(), { Ready: 0, Away: 0, 'Extended Away': 1, 'Logged Out': 0 });
      const res = await write('PUT', `/useradmin/users/${id}/presence`, { presence: 'Ready' });
      assert.equal(res.status, 200);
      assert.equal(res.json.presence, 'Ready');
      assert.equal((await t.region.store.users.get(id))?.presence, 'Ready');
      assert.deepEqual(await count(), { Ready: 1, Away: 0, 'Extended Away': 0, 'Logged Out': 0 });
    });

    it('refuses invalid bodies and answers 404 for other accounts', async () => {
      const id = agents[4] as string;
      assertBadRequest(await write('PUT', `/useradmin/users/${id}/presence`, { presence: 'Busy' }), /^Field presence must be one of: Ready, Away, Extended Away, Logged Out$/);
      assertBadRequest(await write('PUT', `/useradmin/users/${id}/presence`, {}), /^Field presence is required$/);
      assertBadRequest(await write('PUT', `/useradmin/users/${id}/presence`, { presence: 'Away', status: 'x' }), /^Unknown field status/);
      assertBadRequest(await write('PUT', `/useradmin/users/${id}/presence`, { presence: 1 }), /^Field presence must be a string$/);
      assert.equal((await t.region.store.users.get(id))?.presence, 'Ready');
      assertNotFound(await write('PUT', `/useradmin/users/${b.agent.id}/presence`, { presence: 'Away' }));
      assert.equal((await t.region.store.users.get(b.agent.id))?.presence, b.agent.presence);
    });
  });

  describe('scopes', () => {
    it('reads need users:read and changes users:write', async () => {
      const id = agents[0] as string;
      assertInsufficientScope(await a.call('GET', '/useradmin/users', 'users:write'), 'users:read');
      assertInsufficientScope(await a.call('GET', `/useradmin/users/${id}`, 'stats'), 'users:read');
      assertInsufficientScope(await a.call('PATCH', `/useradmin/users/${id}`, 'users:read', { body: { name: 'x' } }), 'users:write');
      assertInsufficientScope(await a.call('PUT', `/useradmin/users/${id}/presence`, 'users:read', { body: { presence: 'Away' } }), 'users:write');
      assert.equal((await t.region.store.users.get(id))?.name, 'fr1');
      assert.equal((await call(t.baseUrl, 'GET', '/useradmin/users')).status, 401);
    });

    it('a supervisor credential with users:read lists the users', async () => {
      const sup = await apiTenant(t.region, t.baseUrl, (x) => x.supervisor);
      const res = await sup.call('GET', '/useradmin/users', 'users:read');
      assert.equal(res.status, 200);
      assert.equal(res.json.meta?.totalCount, 3);
    });
  });
});
