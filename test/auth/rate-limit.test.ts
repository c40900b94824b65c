import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CLIENT_CEILING_FACTOR, FailureLimiter } from '../../src/auth/failure-limiter.js';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/env.js';
import { createCredential, createTenant, type TestRegion } from '../support/region.js';
import { FORM, type RawResponse, assertOAuthError, nodeRequest, postForm, rawTokenPost, startPublicRegion } from '../support/oauth.js';

/**
 * SPEC 3: failed client authentications are limited per (client ID, IP) pair and per IP address,
 * with a far higher per-client ceiling; past a limit, 429 temporarily_unavailable with Retry-After.
 *
 * Different client addresses are real: requests are sent from different loopback source
 * addresses (127.0.0.x, all local on Linux), to a region that does not trust X-Forwarded-For.
 *
 * What is verified, and the decisions behind it:
 * - Only failed *authentications* (unknown client or wrong secret) count. Malformed requests,
 *   unsupported grant types and scope errors do not, and successful requests are never counted.
 * - The limit is checked before the secret is: once a client ID (or an address) is over the
 *   limit, even the right secret gets 429 until the window frees up. Otherwise the limiter would
 *   not stop guessing: a guess that happened to be right would still be answered 200.
 * - Per IP: failures with many different client IDs from one address add up, so an attacker
 *   cannot dodge the per-client limit by spraying IDs; other addresses are not affected.
 * - Per (client ID, IP): failures from an attacker's address never lock the client out of its
 *   own address. Per client ID, failures from many addresses add up to a ceiling 50x the limit
 *   that only a distributed guess reaches.
 * - A concurrent burst gets no more than the limit of 401s (the limit is checked again after
 *   the client lookup, which may wait for the store).
 * - X-Forwarded-For is ignored unless CCAUTH_TRUST_PROXY is on: a header cannot mint fresh
 *   "addresses".
 */
const LIMIT = 5;

const loopbackAliases = await new Promise<boolean>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const socket = connect({ port: (probe.address() as AddressInfo).port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    socket.on('connect', () => {
      socket.destroy();
      probe.close(() => resolve(true));
    });
    socket.on('error', () => probe.close(() => resolve(false)));
  });
});

async function attemptFrom(baseUrl: string, ip: string, form: Record<string, string> | string, headers: Record<string, string> = FORM): Promise<RawResponse> {
  const body = typeof form === 'string' ? form : postForm(form);
  const res = await nodeRequest(baseUrl, '/Auth/connect/token', 'POST', headers, body, ip);
  const h = new Headers();
  for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) h.set(name, Array.isArray(value) ? value.join(', ') : value);
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: h, text: res.text, json };
}

function assertLimited(res: RawResponse, context: string): void {
  assertOAuthError(res, 429, 'temporarily_unavailable', context);
  const retryAfter = res.headers.get('retry-after');
  assert.match(retryAfter ?? '', /^\d+$/, `Retry-After is whole seconds (${context})`);
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter} within the 60 s window (${context})`);
}

describe('failed client authentication limits', { skip: loopbackAliases ? false : 'needs 127.0.0.x source addresses (Linux loopback)' }, () => {
  let t: TestRegion;
  let clientId: string;
  let secret: string;
  let ipCounter = 1;
  /** A fresh client address for each use. */
  const freshIp = () => `127.0.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 2}`;

  before(async () => {
    t = await startPublicRegion({ CCAUTH_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
    const tenant = await createTenant(t.region);
    const created = await createCredential(t.region, tenant.admin, ['stats']);
    clientId = created.credential.clientId;
    secret = created.clientSecret;
  });
  after(async () => {
    await t.close();
  });

  async function attempt(id: string, clientSecret: string, ip: string): Promise<RawResponse> {
    return attemptFrom(t.baseUrl, ip, { grant_type: 'client_credentials', client_id: id, client_secret: clientSecret, scope: 'stats' });
  }

  it('per (client ID, address): failures from one address lock that address out, not the client\'s own', async () => {
    const tenant = await createTenant(t.region);
    const victim = await createCredential(t.region, tenant.admin, ['stats']);
    const id = victim.credential.clientId;
    const attacker = freshIp();
    for (let i = 0; i < LIMIT; i++) {
      const res = await attempt(id, 'wrong-' + i, attacker);
      assertOAuthError(res, 401, 'invalid_client', `failure ${i + 1}`);
      assert.equal(res.headers.get('retry-after'), null);
    }
    assertLimited(await attempt(id, 'wrong-again', attacker), 'client ID over the limit from that address');
    // Decision documented above: the right secret does not get through from the limited address.
    assertLimited(await attempt(id, victim.clientSecret, attacker), 'right secret from the limited address');
    // The client from its own address keeps working (SPEC 3), and so do other clients.
    const own = await attempt(id, victim.clientSecret, freshIp());
    assert.equal(own.status, 200, own.text);
    const other = await attempt(clientId, secret, freshIp());
    assert.equal(other.status, 200, other.text);
  });

  it(`per client ID: a guess spread over many addresses stops at the ceiling (${CLIENT_CEILING_FACTOR}x the limit)`, async () => {
    const tenant = await createTenant(t.region);
    const victim = await createCredential(t.region, tenant.admin, ['stats']);
    const id = victim.credential.clientId;
    const ceiling = LIMIT * CLIENT_CEILING_FACTOR;
    for (let i = 0; i < ceiling; i++) {
      const res = await attempt(id, 'wrong-' + i, freshIp());
      assertOAuthError(res, 401, 'invalid_client', `failure ${i + 1}`);
    }
    assertLimited(await attempt(id, 'wrong-again', freshIp()), 'client ID over its ceiling, new address');
    assertLimited(await attempt(id, victim.clientSecret, freshIp()), 'right secret while the client ID is at its ceiling');
    const other = await attempt(clientId, secret, freshIp());
    assert.equal(other.status, 200, other.text);
  });

  it('per IP: failures with different (unknown) client IDs from one address add up', async () => {
    const ip = freshIp();
    for (let i = 0; i < LIMIT; i++) {
      assertOAuthError(await attempt(randomBytes(16).toString('hex'), 'x', ip), 401, 'invalid_client', `failure ${i + 1}`);
    }
    assertLimited(await attempt(randomBytes(16).toString('hex'), 'x', ip), 'sixth client ID from the same address');
    assertLimited(await attempt(clientId, secret, ip), 'a valid client from the limited address');
    // The same requests from another address are not limited.
    assertOAuthError(await attempt(randomBytes(16).toString('hex'), 'x', freshIp()), 401, 'invalid_client', 'other address');
    assert.equal((await attempt(clientId, secret, freshIp())).status, 200);
  });

  it('wrong secrets for known clients from one address are limited per IP too', async () => {
    const ip = freshIp();
    const tenant = await createTenant(t.region);
    const ids: string[] = [];
    for (let i = 0; i <= LIMIT; i++) ids.push((await createCredential(t.region, tenant.admin, ['stats'])).credential.clientId);
    for (let i = 0; i < LIMIT; i++) assertOAuthError(await attempt(ids[i] as string, 'wrong', ip), 401, 'invalid_client');
    assertLimited(await attempt(ids[LIMIT] as string, 'wrong', ip), 'per IP, a client ID with no failures yet');
  });

  it('a concurrent burst of failures cannot overshoot the limit', async () => {
    const ip = freshIp();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(i % 2 ? clientId : randomBytes(16).toString('hex'), 'wrong', ip)));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, LIMIT, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 429).length, 30 - LIMIT);
  });

  it('failures that are not failed authentications do not count', async () => {
    const ip = freshIp();
    for (let i = 0; i < LIMIT * 2; i++) {
      assertOAuthError(await attemptFrom(t.baseUrl, ip, 'grant_type=password&username=a&password=b'), 400, 'unsupported_grant_type');
      assertOAuthError(await attemptFrom(t.baseUrl, ip, { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'nope' }), 400, 'invalid_scope');
      assertOAuthError(await attemptFrom(t.baseUrl, ip, '{"grant_type":"client_credentials"}', { 'content-type': 'application/json' }), 400, 'invalid_request');
    }
    assert.equal((await attempt(clientId, secret, ip)).status, 200);
    assertOAuthError(await attempt(clientId, 'wrong', ip), 401, 'invalid_client', 'the first real failure is still only a 401');
  });

  it('successful requests are not limited', async () => {
    const ip = freshIp();
    const results = await Promise.all(Array.from({ length: LIMIT * 6 }, () => attempt(clientId, secret, ip)));
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
  });

  it('X-Forwarded-For (not trusted by default) does not change the address that is limited', async () => {
    const ip = freshIp();
    for (let i = 0; i < LIMIT; i++) {
      const res = await attemptFrom(t.baseUrl, ip, { grant_type: 'client_credentials', client_id: randomBytes(16).toString('hex'), client_secret: 'x', scope: 'stats' }, { ...FORM, 'x-forwarded-for': `203.0.113.${i}` });
      assertOAuthError(res, 401, 'invalid_client');
    }
    const spoofed = await attemptFrom(t.baseUrl, ip, { grant_type: 'client_credentials', client_id: randomBytes(16).toString('hex'), client_secret: 'x', scope: 'stats' }, { ...FORM, 'x-forwarded-for': '203.0.113.200' });
    assertLimited(spoofed, 'spoofed forwarded address');
  });
});

describe('FailureLimiter window (unit, with an injected clock)', () => {
  it('allows the limit, refuses past it with the seconds until the oldest failure ages out, then allows again', () => {
    const limiter = new FailureLimiter({ perPair: 3, perIp: 3, perSubject: 3 }, { windowMs: 60_000 });
    const k = [{ key: 'k', limit: 3 }];
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfter(k, t0 + i * 1000), 0);
      void limiter.recordFailure(k, t0 + i * 1000);
    }
    assert.equal(limiter.retryAfter(k, t0 + 2500), 58, 'oldest failure at t0 leaves the window at t0 + 60 s');
    assert.equal(limiter.retryAfter(k, t0 + 59_999), 1, 'never 0 while limited: at least 1 second');
    assert.equal(limiter.retryAfter(k, t0 + 60_000), 0, 'the oldest failure aged out');
    assert.equal(limiter.retryAfter([{ key: 'other', limit: 3 }], t0 + 2500), 0, 'keys are independent');
    // Failures keep sliding: two more at the end of the window.
    void limiter.recordFailure(k, t0 + 60_000);
    assert.ok(limiter.retryAfter(k, t0 + 60_001) > 0);
    assert.equal(limiter.retryAfter(k, t0 + 122_001), 0);
  });

  it('keeps at most maxKeys keys, forgetting the least recently used first (bounded memory, O(1) eviction)', () => {
    const limiter = new FailureLimiter({ perPair: 1, perIp: 1, perSubject: 1 }, { windowMs: 60_000, maxKeys: 1000 });
    const key = (i: number) => [{ key: `k${i}`, limit: 1 }];
    const t0 = 1_000_000;
    void limiter.recordFailure(key(0), t0);
    for (let i = 1; i < 5000; i++) {
      void limiter.recordFailure(key(i), t0);
      // Key 0 stays in use (an address under attack keeps trying): it is never the least recent.
      if (i % 500 === 0) assert.ok(limiter.retryAfter(key(0), t0) > 0, `key 0 still limited after ${i} other keys`);
    }
    assert.ok(limiter.retryAfter(key(4999), t0 + 1) > 0, 'the newest keys are kept');
    assert.equal(limiter.retryAfter(key(1), t0 + 1), 0, 'an old, unused key was forgotten');
    assert.equal(limiter.retryAfter(key(3000), t0 + 1), 0);
  });
});

const pgAvailable = await postgresAvailable();

describe('failed client authentication limits on PostgreSQL (the lookup really waits for I/O)', { skip: pgAvailable ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schema = uniqueSchema();
  let t: TestRegion;
  before(async () => {
    t = await startPublicRegion({ DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema, CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'), CCAUTH_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
  });
  after(async () => {
    await t?.close();
    await dropSchema(schema);
  });

  it('a concurrent burst of failures from one address gets exactly LIMIT answers of 401', async () => {
    const tenant = await createTenant(t.region);
    const { credential } = await createCredential(t.region, tenant.admin, ['stats']);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        rawTokenPost(t.baseUrl, postForm({ grant_type: 'client_credentials', client_id: i % 2 ? credential.clientId : randomBytes(16).toString('hex'), client_secret: 'wrong', scope: 'stats' }), FORM),
      ),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, LIMIT, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 429).length, 40 - LIMIT);
  });
});
