// One `ccauth serve` with CCAUTH_WORKERS=2 in two worker processes, SQLite, no Redis: what must be
// one per instance stays one (the account's API budget, the failure counts), and a change made
// through one worker reaches the other within a second.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/env.js';
import { PortalClient } from '../support/portal-client.js';
import { type Instance, type Tenant, awayFromWindowEnd, childPids, fresh, pool, startInstance, tenant, token } from './helpers.js';

describe('serve with 2 worker processes, no Redis', () => {
  let instance: Instance;

  before(async () => {
    // Changes written through a worker must reach the other at once through the primary's nudge:
    // the change feed's own poll is made too slow (5 s) to meet the 1-second promise by itself.
    instance = await startInstance({ CCAUTH_CHANGE_POLL_MS: '5000', CCAUTH_METRICS_ADDR: `127.0.0.1:${await freePort()}` });
  });
  after(async () => {
    await instance?.close();
  });

  it('runs 2 worker processes under one primary and says so', () => {
    const info = instance.served.info as Record<string, unknown>;
    assert.equal(info.workers, 2);
    assert.equal(info.processes, 2);
    assert.equal(info.pid, instance.served.child.pid, 'the pid is the primary, the process that was started');
    assert.equal((info.workerPids as number[]).length, 2);
  });

  it('the account API limit is one budget for the instance: exactly 20 of 60 requests over both workers', async () => {
    const t = await tenant(instance, 'Budget', 20);
    const bearer = await token(instance.base, t.credential);
    await awayFromWindowEnd(10_000);
    const responses = await pool(60, 4, () => fresh(instance.base, 'GET', '/useradmin/users', { headers: { authorization: `Bearer ${bearer}` } }));
    const statuses = responses.map((r) => r.status);
    assert.deepEqual(statuses.filter((s) => s !== 200 && s !== 429), [], `only 200 and 429: ${statuses.join(' ')}`);
    assert.equal(statuses.filter((s) => s === 200).length, 20, `allowed: ${statuses.join(' ')}`);
    assert.equal(new Set(responses.map((r) => r.worker)).size, 2, 'both workers answered');
    assert.equal(new Set(responses.filter((r) => r.status === 200).map((r) => r.worker)).size, 2, 'both workers allowed some');
    const refused = responses.find((r) => r.status === 429);
    assert.equal(refused?.body.error, 'rate_limited');
  });

  it('/metrics (CCAUTH_METRICS_ADDR) counts the whole instance, whichever worker served', async () => {
    const url = new URL(instance.served.info.metrics as string);
    const counted = async () => {
      const r = await fresh(url.origin, 'GET', url.pathname);
      assert.equal(r.status, 200);
      const text = r.body.text as string;
      const value = (outcome: string) => Number(new RegExp(`^ccauth_gateway_requests_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1]);
      return { allowed: value('allowed'), rateLimited: value('rate_limited') };
    };
    // The 60 requests of the budget test, over both workers.
    assert.deepEqual(await counted(), { allowed: 20, rateLimited: 40 });
    assert.deepEqual(await counted(), { allowed: 20, rateLimited: 40 });
  });

  describe('changes reach every worker within 1 s', () => {
    let t: Tenant;
    before(async () => {
      t = await tenant(instance, 'Changes', 100_000);
    });

    /** Fresh-connection requests with the token until 10 in a row, from both workers, are 401; the ms it took. */
    const untilRefusedEverywhere = async (bearer: string, since: number) => {
      let streak: string[] = [];
      for (let i = 0; i < 400; i++) {
        const r = await fresh(instance.base, 'GET', '/useradmin/users', { headers: { authorization: `Bearer ${bearer}` } });
        streak = r.status === 401 ? [...streak, r.worker] : [];
        if (streak.length >= 10 && new Set(streak).size === 2) return Date.now() - since;
        if (Date.now() - since > 8000) break;
      }
      throw new Error('the change did not reach both workers within 8 s');
    };

    const acceptedEverywhere = async (bearer: string) => {
      const rs = await pool(6, 2, () => fresh(instance.base, 'GET', '/useradmin/users', { headers: { authorization: `Bearer ${bearer}` } }));
      assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      assert.equal(new Set(rs.map((r) => r.worker)).size, 2);
    };

    it('RFC 7009 revocation at one worker', async () => {
      const bearer = await token(instance.base, t.credential);
      await acceptedEverywhere(bearer);
      const revoked = await fresh(instance.base, 'POST', '/Auth/connect/revocation', { form: { token: bearer, client_id: t.credential.clientId, client_secret: t.credential.clientSecret } });
      assert.equal(revoked.status, 200);
      const ms = await untilRefusedEverywhere(bearer, Date.now());
      assert.ok(ms <= 1000, `revocation reached both workers after ${ms} ms`);
    });

    it('a credential deleted through the admin API', async () => {
      const credential = await instance.json<Tenant['credential']>(['credential', 'create', '--user', t.email, '--name', 'Doomed', '--scopes', 'users:read']);
      const bearer = await token(instance.base, credential);
      await acceptedEverywhere(bearer);
      const admin = await PortalClient.signIn(instance.base, t.email, t.password);
      const deleted = await admin.request('DELETE', `/admin/api/credentials/${credential.id}`);
      assert.ok(deleted.status === 200 || deleted.status === 204, `delete: ${deleted.status} ${deleted.text}`);
      const ms = await untilRefusedEverywhere(bearer, Date.now());
      assert.ok(ms <= 1000, `the deletion reached both workers after ${ms} ms`);
    });
  });

  it('admin sign-in lockout counts across workers: 5 wrong passwords spread over both lock the email and IP everywhere', async () => {
    const t = await tenant(instance, 'Signin', 600);
    const signIn = (password: string) => fresh(instance.base, 'POST', '/admin/api/session', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: t.email, password }) });
    const wrong = await pool(5, 1, () => signIn('not the password'));
    assert.deepEqual(wrong.map((r) => r.status), [401, 401, 401, 401, 401]);
    assert.equal(new Set(wrong.map((r) => r.worker)).size, 2, 'the failures were spread over both workers');
    const right = await pool(4, 1, () => signIn(t.password));
    assert.deepEqual(right.map((r) => r.status), [429, 429, 429, 429], JSON.stringify(right.map((r) => [r.worker, r.body])));
    assert.equal(new Set(right.map((r) => r.worker)).size, 2, 'refused by both workers');
    assert.equal(right[0]?.body.error, 'rate_limited');
  });

  // Last: it locks 127.0.0.1 out of client authentication on this instance.
  it('the failure limiter counts across workers: 20 failures spread over both lock the pair everywhere', async () => {
    const t = await tenant(instance, 'Lockout', 600);
    const wrong = await pool(20, 2, () => fresh(instance.base, 'POST', '/Auth/connect/token', { form: { grant_type: 'client_credentials', client_id: t.credential.clientId, client_secret: 'not-the-secret', scope: 'users:read' } }));
    assert.deepEqual([...new Set(wrong.map((r) => r.status))], [401], 'the 20 failures themselves are answered invalid_client');
    const counts = new Map<string, number>();
    for (const r of wrong) counts.set(r.worker, (counts.get(r.worker) ?? 0) + 1);
    assert.equal(counts.size, 2, 'the failures were spread over both workers');
    assert.ok(Math.max(...counts.values()) < 20);
    // Each worker alone has seen fewer than 20: only the shared count locks the pair, on both.
    const right = await pool(6, 1, () => fresh(instance.base, 'POST', '/Auth/connect/token', { form: { grant_type: 'client_credentials', client_id: t.credential.clientId, client_secret: t.credential.clientSecret, scope: 'users:read' } }));
    assert.deepEqual(right.map((r) => r.status), [429, 429, 429, 429, 429, 429], JSON.stringify({ wrong: wrong.map((r) => [r.status, r.worker]), right: right.map((r) => [r.status, r.worker, r.body.error]) }));
    assert.equal(new Set(right.map((r) => r.worker)).size, 2, 'refused by both workers');
    assert.equal(right[0]?.body.error, 'temporarily_unavailable');
    assert.ok(Number(right[0]?.headers['retry-after']) >= 1);
  });

  it('a worker that dies is replaced by the primary; the instance keeps serving', async () => {
    const [victim, survivor] = instance.served.info.workerPids as [number, number];
    process.kill(victim, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    let children: number[] = [];
    while (Date.now() < deadline) {
      children = childPids(instance.served.child.pid as number);
      if (children.length === 2 && !children.includes(victim)) {
        const rs = await pool(6, 2, () => fresh(instance.base, 'GET', '/healthz'));
        if (rs.every((r) => r.status === 200) && new Set(rs.map((r) => r.worker)).size === 2) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(children.length, 2, `two workers again: ${children.join(' ')}`);
    assert.ok(children.includes(survivor) && !children.includes(victim));
    const rs = await pool(6, 2, () => fresh(instance.base, 'GET', '/healthz'));
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    assert.equal(new Set(rs.map((r) => r.worker)).size, 2, 'the replacement serves too');
  });
});
