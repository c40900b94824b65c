import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegion, type TestRegion } from '../support/region.js';
import { type ApiTenant, apiTenant, assertBadRequest, assertInsufficientScope } from './helpers.js';

describe('Agent Availability API', () => {
  let t: TestRegion;
  let a: ApiTenant;
  let b: ApiTenant;
  before(async () => {
    t = await startRegion();
    a = await apiTenant(t.region, t.baseUrl);
    b = await apiTenant(t.region, t.baseUrl);
    const mk = (tenant: ApiTenant, n: string, skills: string[], presence: 'Ready' | 'Away' | 'Extended Away' | 'Logged Out') =>
      t.region.store.users.create({ accountId: tenant.account.id, email: `${n}.${tenant.account.id}@example.test`, license: 'agent', skills, presence });
    await mk(a, 'one', ['French', 'English'], 'Ready');
    await mk(a, 'two', ['french', 'English', 'Sales'], 'Away');
    await mk(a, 'three', ['French'], 'Ready');
    await mk(b, 'four', ['French', 'English'], 'Ready');
  });
  after(async () => {
    await t.close();
  });

  const get = (q: string, tenant = a) => tenant.call('GET', `/agents-availability${q}`, 'agents-availability:read');

  it("counts the account's agents tagged with all the skills, by presence", async () => {
    assert.deepEqual((await get('?skillNames=French,English')).json, { Ready: 1, Away: 1, 'Extended Away': 0, 'Logged Out': 0 });
    assert.deepEqual((await get('?skillNames=French')).json, { Ready: 2, Away: 1, 'Extended Away': 0, 'Logged Out': 0 });
    assert.deepEqual((await get('?skillNames=French,English', b)).json, { Ready: 1, Away: 0, 'Extended Away': 0, 'Logged Out': 0 });
  });

  it('answers the SPEC body without skillNames, and the common error shape for other invalid queries', async () => {
    for (const q of ['', '?skillNames=', '?skillNames=,']) {
      const res = await get(q);
      assert.equal(res.status, 400);
      assert.deepEqual(res.json, { SkillNames: ['The SkillNames field is required.'] });
    }
    assertBadRequest(await get('?skillNames=French&skillNames=English'), /^Query parameter skillNames must be a string$/);
  });

  it('needs agents-availability:read', async () => {
    assertInsufficientScope(await a.call('GET', '/agents-availability?skillNames=French', 'users:read'), 'agents-availability:read');
  });
});
