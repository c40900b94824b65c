// Store outage longer than the client cache's TTL: a known client keeps getting tokens from the
// entry it had (stale-if-error, bounded), because this instance's change feed fails too; an
// unknown client gets 503 temporarily_unavailable; all recovers when the store is back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { type Region, createRegion } from '../../src/server.js';
import { dropSchema, freePort, postgresAvailable, postgresUrl, tempDir, uniqueSchema } from '../support/env.js';
import { createCredential, createTenant, tokenRequest } from '../support/region.js';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.js';

const pg = await postgresAvailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TTL_MS = 800;

describe('client cache: stale-if-error during a store outage', { skip: pg ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schema = uniqueSchema('ccauth_stale');
  const dir = tempDir();
  let proxy: TcpProxy;
  let region: Region;
  let base = '';
  before(async () => {
    proxy = await startTcpProxy(Number(new URL(postgresUrl).port || 5432), new URL(postgresUrl).hostname);
    const port = await freePort();
    const config = loadConfig({
      CCAUTH_DATA_DIR: dir.path,
      PORT: String(port),
      CCAUTH_HOST: '127.0.0.1',
      CCAUTH_LOG_LEVEL: 'silent',
      CCAUTH_CHANGE_POLL_MS: '50',
      CCAUTH_STORE_TIMEOUT_MS: '400',
      DATABASE_URL: proxy.url(postgresUrl),
      CCAUTH_DATABASE_SCHEMA: schema,
      CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'),
    });
    region = await createRegion(config, { clientCache: { ttlMs: TTL_MS } });
    await region.listen();
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    proxy?.heal();
    await region?.close();
    await proxy?.close();
    dir.remove();
    await dropSchema(schema);
  });

  it('a known client keeps getting tokens past the TTL while the store is stalled; an unknown one gets 503', async () => {
    const tenant = await createTenant(region);
    const { credential, clientSecret } = await createCredential(region, tenant.admin, ['stats']);
    const form = { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' };
    assert.equal((await tokenRequest(base, form)).status, 200);
    // Once the feed has delivered the creation, a read is kept in the cache.
    await sleep(300);
    assert.equal((await tokenRequest(base, form)).status, 200);

    proxy.stall();
    try {
      // Past the TTL, and long enough for the feed's poll to time out (400 ms) and report it.
      await sleep(TTL_MS + 1200);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await tokenRequest(base, form)).status);
        await sleep(TTL_MS);
      }
      assert.deepEqual(statuses, [200, 200, 200], 'served from the expired entry while the outage lasts');
      const unknown = await tokenRequest(base, { ...form, client_id: randomBytes(16).toString('hex') });
      assert.equal(unknown.status, 503);
      assert.equal(unknown.body.error, 'temporarily_unavailable');
    } finally {
      proxy.heal();
    }
    // Back: the entry is read again and everything works without a restart.
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline && (status = (await tokenRequest(base, form)).status) !== 200) await sleep(100);
    assert.equal(status, 200);
  });
});
