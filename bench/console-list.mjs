// The console's list at scale (issue 9 section 2): one account with 10,000 API credentials, on
// SQLite and on PostgreSQL, and the p50/p95/max of the admin API's list and search queries
// through HTTP (sign-in cookie, the same requests the portal makes). Not a test: it prints figures.
//
//   npm run build --silent && node bench/console-list.mjs [--count 10000] [--rounds 100] [--sqlite-only]
//
// PostgreSQL: DATABASE_TEST_URL (default postgres://postgres@127.0.0.1:5432/test); a fresh schema
// is created and dropped. Target: p95 < 50 ms for every query.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { hashPassword } from '../dist/auth/secrets.js';
import { loadConfig } from '../dist/config.js';
import { createRegion } from '../dist/server.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const COUNT = flag('count', 10_000);
const ROUNDS = flag('rounds', 100);
const SQLITE_ONLY = args.includes('--sqlite-only');
const TARGET_P95_MS = 50;
const PASSWORD = 'bench password';
const postgresUrl = process.env.DATABASE_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const WORDS = ['billing', 'crm', 'nightly', 'export', 'sync', 'alpha', 'beta', 'reporting', 'wallboard', 'payments', 'Zürich', 'ＤＥＶ', 'qa', 'prod', 'legacy'];
const SCOPE_SETS = [['stats'], ['users:read'], ['users:read', 'users:write'], ['stats', 'interaction-content:read'], ['globalpci'], ['agents-availability:read', 'users:read', 'stats']];

const log = (message) => process.stderr.write(`[console-list] ${message}\n`);

async function seed(region) {
  const store = region.store;
  const account = await store.accounts.create({ name: 'Bench Contact Center', apiCredentialsEnabled: true });
  const passwordHash = await hashPassword(PASSWORD);
  const tag = randomBytes(4).toString('hex');
  const users = [];
  for (let i = 0; i < 50; i++) {
    users.push(await store.users.create({ accountId: account.id, email: `user${i}.${tag}@bench.test`, license: i < 10 ? 'admin' : 'supervisor', passwordHash }));
  }
  const t0 = performance.now();
  const now = Date.now();
  const batch = 500;
  for (let start = 0; start < COUNT; start += batch) {
    await store.transaction(async (trx) => {
      for (let i = start; i < Math.min(COUNT, start + batch); i++) {
        const owner = users[i % users.length];
        const name = `${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]} ${i}`;
        const scopes = SCOPE_SETS[i % SCOPE_SETS.length];
        const c = await store.credentials.create({ accountId: account.id, level: 'user', ownerUserId: owner.id, name, clientId: randomBytes(16).toString('hex'), secretHash: 'h1$bench', scopes }, trx);
        // Spread creation and last use over a year; a third never used.
        await trx
          .updateTable('api_credentials')
          .set({ created_at: now - (i % 365) * 86_400_000 - i, last_used_at: i % 3 === 0 ? null : now - ((i * 13) % 200) * 86_400_000 })
          .where('id', '=', c.id)
          .execute();
      }
    });
  }
  log(`${region.store.dialect}: seeded ${COUNT} credentials in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // Planner statistics, as autovacuum (PostgreSQL) would have them in steady state: without them
  // a table that grew by 10,000 rows a moment ago is planned as if it were nearly empty.
  await sql`analyze`.execute(store.db);
  const someClientId = (await store.db.selectFrom('api_credentials').select('client_id').where('account_id', '=', account.id).limit(1).executeTakeFirstOrThrow()).client_id;
  return { admin: users[0], supervisor: users[20], someClientId };
}

async function signIn(baseUrl, email) {
  const res = await fetch(`${baseUrl}/admin/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status}`);
  await res.arrayBuffer();
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
}

async function get(baseUrl, cookie, path) {
  const t0 = performance.now();
  const res = await fetch(`${baseUrl}${path}`, { headers: { cookie } });
  const body = await res.json();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return { ms, body };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function measure(dialect, env) {
  const dir = mkdtempSync(join(tmpdir(), 'ccauth-bench-console-'));
  const config = loadConfig({ CCAUTH_DATA_DIR: dir, PORT: String(await freePort()), CCAUTH_HOST: '127.0.0.1', CCAUTH_LOG_LEVEL: 'silent', ...env });
  const region = await createRegion(config);
  try {
    await region.listen();
    const baseUrl = `http://127.0.0.1:${config.port}`;
    const { admin, supervisor, someClientId } = await seed(region);
    const adminCookie = await signIn(baseUrl, admin.email);
    const supervisorCookie = await signIn(baseUrl, supervisor.email);
    // A cursor deep in the list (page 100 of 50 by name) for the keyset query.
    let deep = '/admin/api/credentials?sort=name';
    {
      let cursor = null;
      for (let page = 0; page < 100; page++) {
        const { body } = await get(baseUrl, adminCookie, `/admin/api/credentials?sort=name${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        cursor = body.nextCursor;
      }
      deep = `/admin/api/credentials?sort=name&cursor=${encodeURIComponent(cursor)}`;
    }
    const queries = [
      ['default (50, -created)', adminCookie, '/admin/api/credentials'],
      ['sort=name', adminCookie, '/admin/api/credentials?sort=name'],
      ['sort=name, page 100 (cursor)', adminCookie, deep],
      ['sort=-last_used', adminCookie, '/admin/api/credentials?sort=-last_used'],
      ['limit=200', adminCookie, '/admin/api/credentials?limit=200'],
      ['q=name substring', adminCookie, `/admin/api/credentials?q=${encodeURIComponent('wallboard')}`],
      ['q=rare name (few hits)', adminCookie, `/admin/api/credentials?q=${encodeURIComponent('zürich prod 99')}`],
      ['q=client ID prefix', adminCookie, `/admin/api/credentials?q=${someClientId.slice(0, 8)}`],
      ['q=owner email', adminCookie, `/admin/api/credentials?q=${encodeURIComponent('user7.')}`],
      ['q=no match', adminCookie, '/admin/api/credentials?q=nothing-matches-this'],
      ['scope=globalpci', adminCookie, '/admin/api/credentials?scope=globalpci'],
      ['unused_days=30', adminCookie, '/admin/api/credentials?unused_days=30'],
      ['q + scope + sort=name', adminCookie, `/admin/api/credentials?q=billing&scope=stats&sort=name`],
      ['supervisor, own (200 of 10,000)', supervisorCookie, '/admin/api/credentials'],
    ];
    const rows = [];
    for (const [label, cookie, path] of queries) {
      for (let i = 0; i < 5; i++) await get(baseUrl, cookie, path); // warm-up
      const times = [];
      let items = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const { ms, body } = await get(baseUrl, cookie, path);
        times.push(ms);
        items = body.items.length;
      }
      times.sort((a, b) => a - b);
      const p95 = percentile(times, 95);
      rows.push({ dialect, query: label, items, p50: percentile(times, 50), p95, max: times[times.length - 1], pass: p95 < TARGET_P95_MS });
    }
    return rows;
  } finally {
    await region.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
results.push(...(await measure('sqlite', {})));
if (!SQLITE_ONLY) {
  const schema = `ccauth_bench_console_${process.pid}_${Date.now().toString(36)}`;
  try {
    results.push(...(await measure('postgres', { DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema, CCAUTH_MASTER_KEY: randomBytes(32).toString('base64') })));
  } finally {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  }
}

const fmt = (ms) => ms.toFixed(1).padStart(6);
console.log(`\n${COUNT} credentials in one account, ${ROUNDS} sequential requests per query (ms, through HTTP on 127.0.0.1)\n`);
console.log(`| dialect  | query                              | items |    p50 |    p95 |    max | p95 < ${TARGET_P95_MS} ms |`);
console.log('| :------- | :--------------------------------- | ----: | -----: | -----: | -----: | :---------- |');
for (const r of results) {
  console.log(`| ${r.dialect.padEnd(8)} | ${r.query.padEnd(34)} | ${String(r.items).padStart(5)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.max)} | ${r.pass ? 'PASS' : 'FAIL'}        |`);
}
const failed = results.filter((r) => !r.pass);
console.log(failed.length ? `\n${failed.length} queries over the target` : '\nall queries within the target');
process.exitCode = failed.length ? 1 : 0;
