import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createCredential, createTenant, startRegion, type TestRegion } from '../support/region.js';

/**
 * SPEC 3: invalid_client has "the same body and timing for an unknown client and a wrong secret".
 * Measured in-process (Fastify inject: no sockets, less noise), interleaved so that machine load
 * hits both kinds alike, compared by medians.
 */

const SAMPLES = 200;
const WARMUP = 100;
/** A real leak (a store read on one side only: ~0.5 ms here) fails every round; noise rarely fails three. */
const ROUNDS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

describe('token endpoint timing: unknown client vs wrong secret', () => {
  let t: TestRegion;
  let clientId: string;
  let secret: string;

  before(async () => {
    // Every probe is a failed authentication: lift the limiter out of the way.
    t = await startRegion({ CCAUTH_AUTH_FAILURES_PER_MINUTE: '1000000' });
    const tenant = await createTenant(t.region);
    const created = await createCredential(t.region, tenant.admin, ['stats']);
    clientId = created.credential.clientId;
    secret = created.clientSecret;
  });
  after(async () => {
    await t.close();
  });

  async function timeRequest(id: string, clientSecret: string): Promise<{ ms: number; status: number; body: string }> {
    const payload = new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: clientSecret, scope: 'stats' }).toString();
    const started = process.hrtime.bigint();
    const res = await t.region.app.inject({ method: 'POST', url: '/Auth/connect/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { ms, status: res.statusCode, body: res.body };
  }

  /** Interleave the two kinds (alternating which goes first) and return both sample sets. */
  async function measure(unknownId: () => string): Promise<{ unknown: number[]; wrong: number[] }> {
    const wrongSecret = () => randomBytes(32).toString('base64url');
    // The known client has been used (it is in the cache, as a real client's would be).
    for (let i = 0; i < WARMUP; i++) {
      await timeRequest(unknownId(), wrongSecret());
      await timeRequest(clientId, wrongSecret());
    }
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const order = i % 2 === 0 ? ['u', 'w'] : ['w', 'u'];
      for (const kind of order) {
        const r = kind === 'u' ? await timeRequest(unknownId(), wrongSecret()) : await timeRequest(clientId, wrongSecret());
        assert.equal(r.status, 401);
        (kind === 'u' ? unknown : wrong).push(r.ms);
      }
    }
    return { unknown, wrong };
  }

  function compare(label: string, { unknown, wrong }: { unknown: number[]; wrong: number[] }): { ok: boolean; message: string } {
    const mu = median(unknown);
    const mw = median(wrong);
    const tolerance = Math.max(0.15, 0.25 * Math.min(mu, mw));
    const message = `${label}: median unknown ${mu.toFixed(3)} ms, wrong secret ${mw.toFixed(3)} ms, tolerance ${tolerance.toFixed(3)} ms`;
    return { ok: Math.abs(mu - mw) <= tolerance, message };
  }

  async function assertIndistinguishable(label: string, unknownId: () => string): Promise<void> {
    const messages: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const result = compare(label, await measure(unknownId));
      messages.push(result.message);
      console.log(result.message);
      if (result.ok) return;
    }
    assert.fail(`timing differs in every round:\n${messages.join('\n')}`);
  }

  it('the same unknown client ID again and again costs what a wrong secret does', async () => {
    const unknown = randomBytes(16).toString('hex');
    await assertIndistinguishable('repeated unknown ID', () => unknown);
  });

  it('a fresh unknown client ID every time (enumeration) costs what a wrong secret does', async () => {
    await assertIndistinguishable('fresh unknown IDs', () => randomBytes(16).toString('hex'));
  });

  it('the bodies are byte-identical', async () => {
    const a = await timeRequest(randomBytes(16).toString('hex'), secret + 'x');
    const b = await timeRequest(clientId, secret + 'x');
    assert.equal(a.status, 401);
    assert.equal(a.body, b.body);
  });
});
