import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createCredential, createTenant, startRegion, type TestRegion } from '../support/region.js';

/**
 * Issue 8: the signature (~85-90% of a token's CPU) is computed on the libuv thread pool, so the
 * event loop only parses and answers while the pool's threads sign in parallel. Proven by where
 * the CPU goes, not by timing: the main thread's own CPU time (Linux /proc/self/task/<pid>/stat)
 * against the whole process's during a burst of token requests. The gateway's first check of a
 * token is asynchronous too, and done once for concurrent calls with the same new token.
 */

/** CPU time of the main thread (its tid is the pid), in milliseconds (clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const BURST = 400;

describe('signatures on the thread pool', () => {
  let t: TestRegion;
  let payload: string;

  before(async () => {
    t = await startRegion();
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['stats', 'agents-availability:read']);
    payload = new URLSearchParams({ grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' }).toString();
  });
  after(async () => {
    await t.close();
  });

  const issue = () => t.region.app.inject({ method: 'POST', url: '/Auth/connect/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });

  it(`a burst of ${BURST} RS256 tokens: the signatures' CPU is spent outside the main thread`, { skip: process.platform === 'linux' ? false : 'needs Linux /proc for per-thread CPU time' }, async (ctx) => {
    // Warmed up first, so that the JIT's compiling (on its own threads) is mostly done.
    for (let i = 0; i < 100; i++) assert.equal((await issue()).statusCode, 200);
    // Up to three bursts, the lowest share counts: a CI machine under load charges the main
    // thread with more than its work now and then (the 10 ms ticks, GC), while signing on the
    // event loop would put ~90% there in every burst.
    const shares: string[] = [];
    let lowest = Infinity;
    for (let burst = 0; burst < 3 && lowest >= 0.5; burst++) {
      const process0 = process.cpuUsage();
      const main0 = mainThreadCpuMs();
      const responses = await Promise.all(Array.from({ length: BURST }, issue));
      const mainMs = mainThreadCpuMs() - main0;
      const used = process.cpuUsage(process0);
      const processMs = (used.user + used.system) / 1000;
      for (const res of responses) assert.equal(res.statusCode, 200, res.body);
      const share = mainMs / processMs;
      lowest = Math.min(lowest, share);
      shares.push(`main thread ${mainMs} ms of ${processMs.toFixed(0)} ms process CPU (${(share * 100).toFixed(0)}%)`);
    }
    // Signing on the main thread puts ~90% of the CPU there; on the pool, the loop's part (parsing,
    // the secret's hash, answering) is well under half.
    ctx.diagnostic(shares.join('; '));
    assert.ok(lowest < 0.5, `${shares.join('; ')}: the signatures are computed on the event loop`);
  });

  it('the gateway checks a new token\'s signature once for a burst of calls with it, then not again', async () => {
    const res = await t.region.app.inject({ method: 'POST', url: '/Auth/connect/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: payload.replace('scope=stats', 'scope=agents-availability%3Aread') });
    assert.equal(res.statusCode, 200, res.body);
    const token = (JSON.parse(res.body) as { access_token: string }).access_token;
    const call = () => t.region.app.inject({ method: 'GET', url: '/agents-availability?skillNames=English', headers: { authorization: `Bearer ${token}` } });
    const before = t.region.verifier.signatureChecks;
    for (const r of await Promise.all(Array.from({ length: 50 }, call))) assert.equal(r.statusCode, 200, r.body);
    assert.equal(t.region.verifier.signatureChecks - before, 1, 'one signature check for 50 concurrent calls with a new token');
    for (const r of await Promise.all(Array.from({ length: 50 }, call))) assert.equal(r.statusCode, 200, r.body);
    assert.equal(t.region.verifier.signatureChecks - before, 1, 'none once it is cached');
  });
});
