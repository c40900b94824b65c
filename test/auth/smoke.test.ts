import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion } from '../support/region.js';

describe('token endpoint smoke', () => {
  let t: TestRegion;
  before(async () => {
    t = await startRegion();
  });
  after(async () => {
    await t.close();
  });

  it('issues a token for a fresh credential', async () => {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['stats']);
    const res = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' });
    assert.equal(res.status, 200);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.scope, 'stats');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });
});
