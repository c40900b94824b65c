// Fault injection (issue 7 item 2 and "Store outage"): `ccauth serve` as a child process reaches
// PostgreSQL and Redis through TCP proxies that the test cuts, stalls and delays, under a steady
// load of token requests. The process must never exit, cached credentials must keep getting tokens,
// an unknown client gets 503 temporarily_unavailable (never invalid_client or a 500), /readyz says
// so within 1 s, and everything recovers without a restart.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CredentialIssuer } from '../../src/auth/credentials.js';
import { MasterKey } from '../../src/auth/master-key.js';
import { SecretHasher } from '../../src/auth/secrets.js';
import type { User } from '../../src/domain/model.js';
import { Store } from '../../src/store/store.js';
import { dropSchema, freePort, postgresAvailable, postgresUrl, tempDir, uniqueSchema } from '../support/env.js';
import { redisAvailable } from '../support/redis.js';
import { redisUrl } from '../support/env.js';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.js';

const available = (await postgresAvailable()) && (await redisAvailable());
const root = fileURLToPath(new URL('../..', import.meta.url));
const serveChild = fileURLToPath(new URL('./serve-child.ts', import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SCOPE = 'users:read';

interface Cred {
  id: string;
  clientId: string;
  clientSecret: string;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  ms: number;
}

async function call(url: string, init: RequestInit = {}, timeoutMs = 8000): Promise<Answer> {
  const started = Date.now();
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
    throw new Error(`${init.method ?? 'GET'} ${new URL(url).pathname}: ${why}`);
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, headers: res.headers, body, ms: Date.now() - started };
}

describe('store and Redis faults under load (child process behind TCP proxies)', { skip: available ? false : 'PostgreSQL and Redis are required (in CI they must be reachable)' }, () => {
  const schema = uniqueSchema('ccauth_faults');
  const region = `ft-${randomBytes(4).toString('hex')}`;
  const masterKeyText = randomBytes(32).toString('base64');
  const dir = tempDir('ccauth-faults-');
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let store: Store;
  let issuer: CredentialIssuer;
  let owner: User;
  let child: ChildProcess;
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let stderr = '';
  let base = '';
  let upstream: Server;
  const loadCreds: Cred[] = [];
  let standby: Cred;
  // Background load: cached credentials asking for tokens all the time.
  const loadStatuses = new Map<number, number>();
  const loadFailures: string[] = [];
  let loadRunning = true;
  let load: Promise<void> = Promise.resolve();

  const alive = () => assert.equal(exited, undefined, `the server process exited: ${JSON.stringify(exited)}\n${stderr.slice(-3000)}`);
  const newCredential = async (name: string): Promise<Cred> => {
    const created = await issuer.createUserLevel(owner, { name, scopes: [SCOPE] }, { id: owner.id, email: owner.email });
    return { id: created.credential.id, clientId: created.credential.clientId, clientSecret: created.clientSecret };
  };
  const token = (cred: Pick<Cred, 'clientId' | 'clientSecret'>, timeoutMs = 8000) =>
    call(`${base}/Auth/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: cred.clientId, client_secret: cred.clientSecret, scope: SCOPE }).toString(),
    }, timeoutMs);
  const viaGateway = (accessToken: string) => call(`${base}/echo/ping`, { headers: { authorization: `Bearer ${accessToken}` } });
  /** A new credential created in the store (directly, not through the proxies) gets a token at the instance within `withinMs`. */
  const newCredentialWorksWithin = async (withinMs: number, name: string) => {
    const cred = await newCredential(name);
    const started = Date.now();
    for (;;) {
      const answer = await token(cred, 4000);
      if (answer.status === 200) return Date.now() - started;
      assert.ok(Date.now() - started < withinMs, `a credential created after the fault got ${answer.status} ${JSON.stringify(answer.body)} for ${Date.now() - started} ms`);
      await sleep(50);
    }
  };
  /** The change feed runs again: a credential the instance holds in memory, deleted in the store, is refused within `withinMs`. */
  const deletionReachesWithin = async (withinMs: number, name: string) => {
    const cred = await newCredential(name);
    assert.equal((await token(cred, 4000)).status, 200);
    await store.credentials.delete(cred.id);
    const started = Date.now();
    for (;;) {
      const answer = await token(cred, 4000);
      if (answer.status === 401) return Date.now() - started;
      assert.ok(Date.now() - started < withinMs, `a deleted credential still got ${answer.status} after ${Date.now() - started} ms`);
      await sleep(50);
    }
  };
  const noUnhandledErrors = () => {
    assert.doesNotMatch(stderr, /Unhandled error event|Unhandled 'error' event|uncaughtException|unhandledRejection/i);
  };

  before(async () => {
    pgProxy = await startTcpProxy(Number(new URL(postgresUrl).port || 5432), new URL(postgresUrl).hostname);
    redisProxy = await startTcpProxy(Number(new URL(redisUrl).port || 6379), new URL(redisUrl).hostname);
    upstream = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ upstream: true, path: req.url }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;

    // The test's own connection to the store: never through the proxies.
    store = await Store.open({ dataDir: dir.path, databaseUrl: postgresUrl, databaseSchema: schema });
    const masterKey = MasterKey.load({ masterKey: masterKeyText, dataDir: dir.path });
    issuer = new CredentialIssuer(store, new SecretHasher(masterKey.derive('client-secret-hash')));
    const account = await store.accounts.create({ name: 'Faults', apiCredentialsEnabled: true });
    owner = await store.users.create({ accountId: account.id, email: `admin.${region}@faults.test`, license: 'admin' });
    for (let i = 0; i < 8; i++) loadCreds.push(await newCredential(`load ${i}`));
    standby = await newCredential('standby');

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CCAUTH_') && !['PORT', 'DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS'].includes(k)) env[k] = v;
    Object.assign(env, {
      PORT: String(port),
      CCAUTH_HOST: '127.0.0.1',
      CCAUTH_REGION: region,
      CCAUTH_DATA_DIR: dir.path,
      CCAUTH_MASTER_KEY: masterKeyText,
      DATABASE_URL: pgProxy.url(postgresUrl),
      CCAUTH_DATABASE_SCHEMA: schema,
      REDIS_URL: redisProxy.url(redisUrl),
      CCAUTH_STORE_TIMEOUT_MS: '1500',
      CCAUTH_CHANGE_POLL_MS: '50',
      // Frequent lastUsed writes: transactions are in flight when connections drop.
      CCAUTH_LAST_USED_FLUSH_MS: '20',
      CCAUTH_AUTH_FAILURES_PER_MINUTE: '100000',
      CCAUTH_LOG_LEVEL: 'warn',
      CCAUTH_UPSTREAMS: JSON.stringify([{ prefix: '/echo', url: `http://127.0.0.1:${upstreamPort}/base`, scopes: { GET: SCOPE } }]),
    });
    child = spawn(process.execPath, ['--import', 'tsx', serveChild, 'serve', '--json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('exit', (code, signal) => (exited = { code, signal }));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 60_000);
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes('\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`serve exited before listening: ${stderr}`)));
    });

    // Warm: every load credential is known to the instance.
    for (const cred of loadCreds) assert.equal((await token(cred)).status, 200);
    const worker = async (w: number) => {
      for (let i = w; loadRunning; i++) {
        const cred = loadCreds[i % loadCreds.length] as Cred;
        try {
          const answer = await token(cred, 10_000);
          loadStatuses.set(answer.status, (loadStatuses.get(answer.status) ?? 0) + 1);
          if (answer.status !== 200) loadFailures.push(`${answer.status} ${JSON.stringify(answer.body)}`);
        } catch (err) {
          loadFailures.push(`request failed: ${(err as Error).message}`);
          if (exited) return;
        }
        await sleep(5);
      }
    };
    load = Promise.all([0, 1, 2].map(worker)).then(() => undefined);
  });

  after(async () => {
    loadRunning = false;
    await load;
    if (child && !exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
      await new Promise((r) => child.once('exit', r));
      clearTimeout(killer);
    }
    await pgProxy?.close();
    await redisProxy?.close();
    await new Promise((r) => upstream?.close(r));
    await store?.close();
    await dropSchema(schema);
    dir.remove();
  });

  it('serves tokens and reports ready with the store up', async () => {
    assert.equal((await call(`${base}/readyz`)).status, 200);
    const answer = await token(loadCreds[0] as Cred);
    assert.equal(answer.status, 200);
    assert.equal((await viaGateway(answer.body.access_token as string)).status, 200);
  });

  it('PostgreSQL connections cut again and again under load: no exit, cached credentials keep getting tokens, recovery without restart', async () => {
    for (let i = 0; i < 12; i++) {
      pgProxy.cut();
      await sleep(120);
    }
    await sleep(300);
    alive();
    assert.ok(pgProxy.connections > 0, 'the instance reconnected to the store');
    const took = await newCredentialWorksWithin(1000, 'after cuts');
    assert.ok(took <= 1000);
    assert.ok((await deletionReachesWithin(1000, 'deleted after cuts')) <= 1000);
    assert.equal((await call(`${base}/readyz`)).status, 200);
    noUnhandledErrors();
  });

  it('PostgreSQL stalled: cached credentials served from memory; unknown client 503 temporarily_unavailable with Retry-After; /readyz 503 within 1 s; recovery after heal', async () => {
    // A valid credential the instance knew, then forgot (a change to it invalidates its cache entry).
    const forgotten = await token(standby);
    assert.equal(forgotten.status, 200);
    await store.credentials.update(standby.id, { name: 'standby (renamed)' });
    await sleep(400);
    const cached = await token(loadCreds[1] as Cred);
    assert.equal(cached.status, 200);

    pgProxy.stall();
    try {
      await sleep(200);
      const ready = await call(`${base}/readyz`, {}, 3000);
      assert.equal(ready.status, 503);
      assert.ok(ready.ms <= 1000, `/readyz took ${ready.ms} ms`);
      assert.equal((ready.body.checks as Record<string, string>).store, 'unavailable');

      // Known from memory: tokens and gateway calls need no store.
      for (let i = 0; i < 5; i++) assert.equal((await token(loadCreds[i] as Cred, 3000)).status, 200);
      assert.equal((await viaGateway(cached.body.access_token as string)).status, 200);

      // Not in memory: the store must be asked, and cannot answer. All at once, as clients would.
      const caller = loadCreds[1] as Cred;
      const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
      const [unknown, uncached, gated, introspect, revoke] = await Promise.all([
        token({ clientId: `nobody-${randomBytes(6).toString('hex')}`, clientSecret: 'x'.repeat(43) }),
        token(standby),
        // The gateway must look this token's client up.
        viaGateway(forgotten.body.access_token as string),
        // Introspection by a caller that is not in memory.
        call(`${base}/Auth/connect/introspect`, form({ client_id: `nobody-${randomBytes(4).toString('hex')}`, client_secret: 'y'.repeat(43), token: cached.body.access_token as string })),
        // Revocation by a known caller must be written to the store: 503, not 200 and not 500.
        call(`${base}/Auth/connect/revocation`, form({ client_id: caller.clientId, client_secret: caller.clientSecret, token: cached.body.access_token as string })),
      ]);
      for (const [what, answer] of Object.entries({ unknown, uncached, introspect, revoke })) {
        assert.equal(answer.status, 503, `${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.error, 'temporarily_unavailable', what);
        assert.equal(typeof answer.body.error_description, 'string', what);
        assert.match(answer.headers.get('retry-after') ?? '', /^\d+$/, what);
        // Bounded by the store timeout (1.5 s for a connection, 1.5 s for the query), not hanging.
        assert.ok(answer.ms < 4000, `${what} took ${answer.ms} ms`);
      }
      // The gateway: 503 in the API's error shape.
      assert.equal(gated.status, 503, JSON.stringify(gated.body));
      assert.equal(gated.body.error, 'temporarily_unavailable');
      assert.equal(typeof gated.body.message, 'string');
      assert.match(gated.headers.get('retry-after') ?? '', /^\d+$/);
      alive();
    } finally {
      pgProxy.heal();
    }
    const took = await newCredentialWorksWithin(1000, 'after stall');
    assert.ok(took <= 1000);
    assert.equal((await token(standby)).status, 200);
    assert.ok((await deletionReachesWithin(1000, 'deleted after stall')) <= 1000);
    assert.equal((await call(`${base}/readyz`)).status, 200);
    alive();
    noUnhandledErrors();
  });

  it('PostgreSQL slow (delayed): slow is not down; unknown clients get invalid_client, known ones tokens', async () => {
    pgProxy.delay(100);
    try {
      const unknown = await token({ clientId: `nobody-${randomBytes(6).toString('hex')}`, clientSecret: 'x'.repeat(43) });
      assert.equal(unknown.status, 401, JSON.stringify(unknown.body));
      assert.equal(unknown.body.error, 'invalid_client');
      assert.equal((await token(loadCreds[2] as Cred)).status, 200);
      assert.ok((await newCredentialWorksWithin(2000, 'while slow')) <= 2000);
    } finally {
      pgProxy.heal();
    }
    alive();
  });

  it('Redis cut, stalled and delayed: no exit, tokens and the gateway keep working, changes still arrive', async () => {
    const cached = await token(loadCreds[3] as Cred);
    assert.equal(cached.status, 200);
    for (const fault of ['cut', 'stall', 'delay'] as const) {
      if (fault === 'cut') {
        for (let i = 0; i < 5; i++) {
          redisProxy.cut();
          await sleep(150);
        }
      } else if (fault === 'stall') redisProxy.stall();
      else redisProxy.delay(300);
      try {
        await sleep(300);
        for (let i = 0; i < 5; i++) assert.equal((await token(loadCreds[i] as Cred, 3000)).status, 200, `token during Redis ${fault}`);
        const gated = await viaGateway(cached.body.access_token as string);
        assert.equal(gated.status, 200, `gateway during Redis ${fault}: ${JSON.stringify(gated.body)}`);
        // A change made elsewhere still reaches the instance (polling carries it while Redis is out).
        assert.ok((await newCredentialWorksWithin(1000, `during redis ${fault}`)) <= 1000);
        alive();
      } finally {
        redisProxy.heal();
      }
    }
    await sleep(1500);
    assert.ok((await newCredentialWorksWithin(1000, 'after redis faults')) <= 1000);
    alive();
    noUnhandledErrors();
  });

  it('the load of cached credentials never saw anything but 200, and the process is still running', async () => {
    loadRunning = false;
    await load;
    alive();
    const total = [...loadStatuses.values()].reduce((a, b) => a + b, 0);
    assert.ok(total > 100, `load ran (${total} requests)`);
    assert.deepEqual(loadFailures.slice(0, 10), [], `statuses: ${JSON.stringify([...loadStatuses])}`);
    noUnhandledErrors();
  });
});
