import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { Store } from '../../src/store/store.js';
import { dropSchema, postgresAvailable, postgresUrl, tempDir, uniqueSchema } from '../support/env.js';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion } from '../support/region.js';

/**
 * A revocation must not wait behind requests. Every connection of an instance's request pool is
 * held (slow queries, or a flood of cache misses, do that), and another instance revokes a token:
 * the instance must still refuse it within 1 s, because its change feed reads on a connection of
 * its own. (With the feed on the request pool, its poll queued behind the held connections and the
 * token stayed valid until they were released.)
 */
const pg = await postgresAvailable();
const SCOPES = ['agents-availability:read'];
const HOLD_S = 4;

describe('change feed with the request pool exhausted (PostgreSQL)', { skip: pg ? false : 'PostgreSQL is required; in CI it must answer' }, () => {
  const schema = uniqueSchema('ccauth_feediso');
  const dir = tempDir();
  let region: TestRegion;
  let writer: Store;

  before(async () => {
    region = await startRegion({
      DATABASE_URL: postgresUrl,
      CCAUTH_DATABASE_SCHEMA: schema,
      CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'),
      CCAUTH_CHANGE_POLL_MS: '50',
    });
    writer = await Store.open({ dataDir: dir.path, databaseUrl: postgresUrl, databaseSchema: schema });
  });

  after(async () => {
    await region?.close();
    await writer?.close();
    dir.remove();
    await dropSchema(schema);
  });

  async function status(token: string): Promise<number> {
    const res = await fetch(`${region.baseUrl}/agents-availability?skillNames=English`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return res.status;
  }

  it('a revocation written elsewhere is refused within 1 s while every request connection is busy', { timeout: 60_000 }, async () => {
    const tenant = await createTenant(region.region);
    const { credential, clientSecret } = await createCredential(region.region, tenant.admin, SCOPES);
    const issued = await tokenRequest(region.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: SCOPES.join(' ') });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const token = issued.body.access_token as string;
    const control = (await tokenRequest(region.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: SCOPES.join(' ') })).body.access_token as string;
    assert.equal(await status(token), 200);
    assert.equal(await status(control), 200);
    await region.region.feed.poll();

    // Hold every connection of the request pool (10) and queue more behind them.
    const held = Array.from({ length: 14 }, () => sql`select pg_sleep(${HOLD_S})`.execute(region.region.store.db).catch(() => undefined));
    await sleep(200);
    const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { jti: string; exp: number };
    await writer.revokedTokens.add({ jti: payload.jti, accountId: tenant.account.id, clientId: credential.clientId, expiresAt: payload.exp * 1000 });
    const committed = performance.now();

    // A probe every 25 ms, each on its own (a probe the gateway let through before the feed had
    // the revocation then waits for the platform API's own store read, like every request that
    // needs the store meanwhile): the first probe answered 401, by when it was sent.
    const probes: Promise<{ sentAfter: number; status: number }>[] = [];
    while (performance.now() - committed < (HOLD_S - 1) * 1000) {
      const sentAfter = performance.now() - committed;
      probes.push(status(token).then((s) => ({ sentAfter, status: s })));
      await sleep(25);
    }
    const answers = await Promise.all(probes);
    await Promise.all(held);
    const first = answers.find((a) => a.status === 401);
    assert.ok(first !== undefined && first.sentAfter <= 1000, `first refusal: ${first === undefined ? `none in ${HOLD_S - 1} s` : `a probe sent after ${Math.round(first.sentAfter)} ms`}`);
    // Once refused, always refused; the token nothing happened to is still served.
    assert.deepEqual(answers.filter((a) => a.sentAfter > first.sentAfter && a.status !== 401), []);
    assert.equal(await status(token), 401);
    assert.equal(await status(control), 200);
  });
});
