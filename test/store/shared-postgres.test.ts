import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/env.js';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion } from '../support/region.js';

const pg = await postgresAvailable();

async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > withinMs) throw new Error(`condition not met within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('two instances on one PostgreSQL store', { skip: pg ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schema = uniqueSchema();
  const env = { DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema, CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'), CCAUTH_CHANGE_POLL_MS: '100' };
  let a: TestRegion;
  let b: TestRegion;
  before(async () => {
    a = await startRegion(env);
    b = await startRegion(env);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await dropSchema(schema);
  });

  it('share one key set and accept each other\'s credentials', async () => {
    const jwksA = await (await fetch(`${a.baseUrl}/Auth/.well-known/openid-configuration/jwks`)).json();
    const jwksB = await (await fetch(`${b.baseUrl}/Auth/.well-known/openid-configuration/jwks`)).json();
    assert.deepEqual(jwksA, jwksB);
    const tenant = await createTenant(a.region);
    const { credential, clientSecret } = await createCredential(a.region, tenant.admin, ['stats']);
    const form = { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' };
    assert.equal((await tokenRequest(b.baseUrl, form)).status, 200);
  });

  it('a change made through one instance reaches the other within 1 second', async () => {
    const tenant = await createTenant(a.region);
    const { credential, clientSecret } = await createCredential(a.region, tenant.supervisor, ['users:read']);
    const form = { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'users:read' };
    assert.equal((await tokenRequest(b.baseUrl, form)).status, 200); // now cached in b
    await a.region.store.accounts.update(tenant.account.id, { apiCredentialsEnabled: false });
    const took = await eventually(async () => (await tokenRequest(b.baseUrl, form)).status === 401, 1000);
    assert.ok(took <= 1000);
  });
});
