// `ccauth serve` as a real process: SIGTERM under load drains (every request the server has
// received is answered, none with an error), flushes lastUsedAt, closes store and Redis and exits 0;
// a shutdown that cannot finish exits 1 within the bound; a start that fails leaks nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { root, cleanEnv, ensureBuilt, serve } from '../cli/helpers.js';
import { freePort, postgresAvailable, redisUrl } from '../support/env.js';
import { redisAvailable } from '../support/redis.js';
import { type ProcessStore, exitWithin, processStore, seedAdmin, send, slowUpstream, tokenAnswer } from './support.js';

const pgUp = await postgresAvailable();
const redisUp = await redisAvailable();

/** Two requests pipelined on one keep-alive connection; resolves with the status of each answer. */
function pipelined(port: number, paths: [string, string], headers: Record<string, string>): { written: Promise<void>; statuses: Promise<number[]> } {
  const socket = connect(port, '127.0.0.1');
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const written = new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`GET ${paths[0]} HTTP/1.1\r\nhost: 127.0.0.1\r\n${head}\r\nGET ${paths[1]} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n${head}\r\n`, () => resolve());
    });
  });
  const statuses = new Promise<number[]>((resolve) => {
    let data = '';
    socket.setEncoding('utf8').on('data', (d: string) => (data += d));
    const done = () => resolve([...data.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1])));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.setTimeout(20_000, () => socket.destroy());
  });
  return { written, statuses };
}

describe('ccauth serve: SIGTERM under load [postgres + redis]', { skip: !pgUp || !redisUp ? 'PostgreSQL or Redis is not reachable (required in CI)' : false }, () => {
  let store: ProcessStore;
  before(async () => {
    await ensureBuilt();
    store = processStore('postgres');
    await store.prepare();
  });
  after(() => store.cleanup());

  it('finishes every received request, refuses none with an error, flushes lastUsedAt, closes everything and exits 0', async (t) => {
    const upstream = await slowUpstream(1200);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    try {
      const seeded = await seedAdmin(store.env, 'stats,users:read');
      const { clientId, clientSecret } = seeded.credential;
      const server = await serve([], {
        ...store.env,
        PORT: String(port),
        CCAUTH_HOST: '127.0.0.1',
        CCAUTH_REGION: `life-${process.pid}`,
        REDIS_URL: redisUrl,
        CCAUTH_UPSTREAMS: JSON.stringify([{ prefix: '/slow', url: upstream.url, scopes: { GET: 'users:read' }, timeoutMs: 20_000 }]),
        // Only the shutdown writes lastUsedAt.
        CCAUTH_LAST_USED_FLUSH_MS: '600000',
        CCAUTH_SHUTDOWN_TIMEOUT_MS: '10000',
      });
      const first = await tokenAnswer(base, clientId, clientSecret, 'users:read');
      assert.equal(first.status, 200, first.body);
      const bearer = { authorization: `Bearer ${(JSON.parse(first.body) as { access_token: string }).access_token}` };

      // In flight at the signal: slow gateway requests on their own connections, and two requests
      // pipelined on one keep-alive connection (the second waits in the server behind the first).
      const slow = Array.from({ length: 10 }, (_, i) => send(`${base}/slow/r${i}`, { headers: bearer }).catch((err: Error) => ({ status: 0, body: err.message })));
      const pipe = pipelined(port, ['/slow/p1', '/slow/p2'], bearer);
      await pipe.written;

      // Token requests in a loop, 6 at a time, until the signal.
      let signalledAt = Infinity;
      const outcomes: { startedAt: number; status: number; error?: string }[] = [];
      const worker = async () => {
        while (Date.now() < signalledAt) {
          const startedAt = Date.now();
          try {
            const r = await tokenAnswer(base, clientId, clientSecret, 'stats');
            outcomes.push({ startedAt, status: r.status });
          } catch (err) {
            outcomes.push({ startedAt, status: 0, error: (err as Error).message });
          }
        }
      };
      const load = Array.from({ length: 6 }, worker);
      const deadline = Date.now() + 10_000;
      while (upstream.received() < 11) {
        assert.ok(Date.now() < deadline, `the slow requests reached the upstream (${upstream.received()})`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 300));
      // The load has run for a while (on a loaded CI machine 300 ms may not be 20 answers).
      while (outcomes.filter((o) => o.status !== 0).length < 20) {
        assert.ok(Date.now() < deadline + 10_000, `the load ran (${outcomes.length} answers)`);
        await new Promise((r) => setTimeout(r, 20));
      }

      signalledAt = Date.now();
      server.child.kill('SIGTERM');
      const code = await exitWithin(server.child, 15_000);
      const took = Date.now() - signalledAt;
      await Promise.all(load);
      const slowAnswers = await Promise.all(slow);
      const pipeStatuses = await pipe.statuses;

      assert.equal(code, 0, `exit code 0 after SIGTERM; stderr:\n${server.stderr().slice(-3000)}`);
      assert.ok(took < 10_000, `exited within the 10 s bound (${took} ms)`);
      assert.deepEqual(
        slowAnswers.map((a) => a.status),
        slowAnswers.map(() => 200),
        'every in-flight gateway request completed',
      );
      assert.deepEqual(pipeStatuses, [200, 200], 'both pipelined requests were answered, none with 503');

      const answered = outcomes.filter((o) => o.status !== 0);
      assert.ok(answered.length >= 20, `the load ran (${answered.length} answers)`);
      assert.deepEqual([...new Set(answered.map((o) => o.status))], [200], 'every answered token request succeeded');
      // A connection the server had not accepted when it stopped listening is refused; anything
      // older was in flight and must have been answered.
      const lost = outcomes.filter((o) => o.status === 0 && o.startedAt < signalledAt - 250);
      assert.deepEqual(lost, [], 'no request sent well before the signal failed');
      t.diagnostic(`${answered.length} token requests answered 200, ${outcomes.length - answered.length} refused at the connection after the signal; exit ${code} after ${took} ms`);

      const lastIssued = Math.max(...outcomes.filter((o) => o.status === 200).map((o) => o.startedAt));
      const db = await store.open();
      try {
        const row = await db.db.selectFrom('api_credentials').select('last_used_at').where('client_id', '=', clientId).executeTakeFirstOrThrow();
        assert.ok(row.last_used_at !== null && Number(row.last_used_at) >= lastIssued, `lastUsedAt flushed at shutdown (${row.last_used_at} >= ${lastIssued})`);
      } finally {
        await db.close();
      }
      assert.match(server.stderr(), /shutting down/);
    } finally {
      await upstream.close();
    }
  });
});

describe('ccauth serve: the shutdown bound [sqlite]', () => {
  let store: ProcessStore;
  before(async () => {
    await ensureBuilt();
    store = processStore('sqlite');
    await store.prepare();
  });
  after(() => store.cleanup());

  it('a shutdown that cannot finish within CCAUTH_SHUTDOWN_TIMEOUT_MS logs why and exits 1', async () => {
    const upstream = await slowUpstream(60_000);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    try {
      const seeded = await seedAdmin(store.env, 'users:read');
      const server = await serve([], {
        ...store.env,
        PORT: String(port),
        CCAUTH_HOST: '127.0.0.1',
        CCAUTH_UPSTREAMS: JSON.stringify([{ prefix: '/slow', url: upstream.url, scopes: { GET: 'users:read' }, timeoutMs: 30_000 }]),
        CCAUTH_SHUTDOWN_TIMEOUT_MS: '1500',
      });
      const token = await tokenAnswer(base, seeded.credential.clientId, seeded.credential.clientSecret, 'users:read');
      const bearer = { authorization: `Bearer ${(JSON.parse(token.body) as { access_token: string }).access_token}` };
      const stuck = send(`${base}/slow/stuck`, { headers: bearer }).catch((err: Error) => ({ status: 0, body: err.message }));
      const deadline = Date.now() + 5000;
      while (upstream.received() < 1) {
        assert.ok(Date.now() < deadline, 'the request reached the upstream');
        await new Promise((r) => setTimeout(r, 20));
      }
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      const code = await exitWithin(server.child, 8000);
      const took = Date.now() - signalledAt;
      if (code === null) server.child.kill('SIGKILL');
      await stuck;
      assert.equal(code, 1, `exit 1 once the bound is past (took ${took} ms); stderr:\n${server.stderr().slice(-2000)}`);
      assert.ok(took >= 1400 && took < 5000, `exited at the bound (${took} ms)`);
      assert.match(server.stderr(), /shutdown did not finish in time/);
    } finally {
      await upstream.close();
    }
  });
});

describe('ccauth serve: a start that fails leaks nothing [postgres + redis]', { skip: !pgUp || !redisUp ? 'PostgreSQL or Redis is not reachable (required in CI)' : false }, () => {
  let store: ProcessStore;
  before(async () => {
    await ensureBuilt();
    store = processStore('postgres');
    await store.prepare();
    // The store and its signing keys exist (encrypted with the test's master key).
    await seedAdmin(store.env, 'stats');
    const first = await serve([], { ...store.env, PORT: String(await freePort()), CCAUTH_HOST: '127.0.0.1' });
    assert.equal(await first.stop(), 0);
  });
  after(() => store.cleanup());

  /** Runs `ccauth serve`, expecting it to fail; resolves with its exit code and how long it lived. */
  async function failingServe(env: Record<string, string>): Promise<{ code: number | null; ms: number; stderr: string }> {
    const started = Date.now();
    const child = spawn(process.execPath, [join(root, 'bin', 'ccauth.js'), 'serve', '--json'], { cwd: root, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    const code = await exitWithin(child, 20_000);
    if (code === null) child.kill('SIGKILL');
    return { code, ms: Date.now() - started, stderr };
  }

  const common = async () => ({ ...store.env, PORT: String(await freePort()), CCAUTH_HOST: '127.0.0.1', CCAUTH_REGION: `life-fail-${process.pid}`, REDIS_URL: redisUrl });

  it('a master key that cannot decrypt the stored signing keys: exit 1 at once, no pool left open', async () => {
    const r = await failingServe({ ...(await common()), CCAUTH_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /master key differs/);
    // A PostgreSQL pool left open keeps the process alive for its idle timeout (10 s).
    assert.ok(r.ms < 7000, `the process ended on its own at once (${r.ms} ms)`);
  });

  it('an upstream overlapping a route of the region: exit 1 at once, no pool, Redis connection or timer left', async () => {
    const r = await failingServe({ ...(await common()), CCAUTH_UPSTREAMS: JSON.stringify([{ prefix: '/stats', url: 'http://127.0.0.1:9', scopes: { GET: 'stats' } }]) });
    // A configuration error: exit 2 (bad input), like every invalid setting.
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the prefix \/stats overlaps the route/);
    assert.ok(r.ms < 7000, `the process ended on its own at once (${r.ms} ms)`);
  });
});
