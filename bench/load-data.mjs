// The data loader of the "scale" scenario: fills a ccauth store (the BUILT code in dist/; run
// `npm run build` first) with N API credentials spread over accounts and users, and M revoked
// token ids, quickly, so that a region started on it really serves them.
//
//   node bench/load-data.mjs --credentials 1000000 --revoked 100000 --store sqlite [--data-dir DIR]
//   DATABASE_BENCH_URL=postgres://... node bench/load-data.mjs --credentials 1000000 --store postgres --schema bench_x
//   node bench/load-data.mjs --revoked 100000 --only-revoked --store sqlite --data-dir DIR   # add revoked ids later
//
// How: the store is opened (and migrated) through dist/store/store.js; ONE template row of each
// table is made through the repositories and the credential issuer (so it has every column the
// code of this checkout writes, whatever columns were added since this script was written); the
// other rows are clones of the template row with the identifying columns replaced (ids, names,
// e-mail, client id, secret hash, times), written in big transactions: prepared statements in
// SQLite, `INSERT ... SELECT * FROM json_populate_recordset(...)` batches in PostgreSQL. The
// column list is read at run time from the template row.
//
// Secrets are hashed by the product's own SecretHasher (dist/auth/secrets.js: HMAC-SHA-256 keyed
// with the master key's derived key), so every loaded credential works at the token endpoint.
// The master key: CCAUTH_MASTER_KEY if set, else (SQLite) <data dir>/master.key, created if need
// be; PostgreSQL without CCAUTH_MASTER_KEY: a fresh key written to <out>/master.key (start the
// server with CCAUTH_MASTER_KEY set to its content). The secrets of a sample of the credentials
// (--sample, default 10,000, spread over all of them and over all accounts) go to
// <out>/secrets.json; the others are not kept.
//
// Layout: --accounts (default 1,000, at most one per credential) accounts with API credentials
// on and the highest API limit; --users-per-account (default 10) admin users per account, each
// owning an equal share of the account's credentials (1,000,000 credentials: 100 per user);
// every credential has the scopes `stats agents-availability:read`. Revoked ids are random UUIDs
// that expire in --revoked-ttl seconds (default 3,600), plus the ids given with --revoke-jti.
// The bulk rows write no change-feed rows (a running region does not hear of them; a region
// started afterwards loads them, as in production after a restart).
//
// Prints one JSON document on stdout: { store, dataDir | schema, counts, timings, secretsFile, ... }.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    credentials: { type: 'string', default: '1000000' },
    revoked: { type: 'string', default: '100000' },
    store: { type: 'string', default: 'sqlite' },
    'data-dir': { type: 'string' },
    'database-url': { type: 'string' },
    schema: { type: 'string' },
    accounts: { type: 'string', default: '1000' },
    'users-per-account': { type: 'string', default: '10' },
    sample: { type: 'string', default: '10000' },
    out: { type: 'string' },
    'revoked-ttl': { type: 'string', default: '3600' },
    'revoke-jti': { type: 'string', default: '' },
    'only-revoked': { type: 'boolean', default: false },
    batch: { type: 'string', default: '20000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: node bench/load-data.mjs [--credentials N] [--revoked M] [--store sqlite|postgres] [--data-dir DIR]\n' +
      '         [--database-url URL] [--schema NAME] [--accounts A] [--users-per-account U] [--sample S] [--out DIR]\n' +
      '         [--revoked-ttl SECONDS] [--revoke-jti ID,ID] [--only-revoked] [--batch ROWS]\n' +
      'PostgreSQL: URL from --database-url, DATABASE_BENCH_URL or postgres://postgres@127.0.0.1:5432/test; schema from --schema (default: a new bench_<random> schema)\n',
  );
  process.exit(0);
}

const int = (name, min = 0) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) fail(`--${name} takes an integer >= ${min}`);
  return n;
};
const onlyRevoked = values['only-revoked'];
const N = onlyRevoked ? 0 : int('credentials', 1);
const M = int('revoked');
const storeKind = values.store;
if (storeKind !== 'sqlite' && storeKind !== 'postgres') fail('--store is sqlite or postgres');
const A = Math.max(1, Math.min(int('accounts', 1), N || 1));
const U = int('users-per-account', 1);
const SAMPLE = Math.min(int('sample'), N);
const BATCH = int('batch', 1);
const revokedTtlMs = int('revoked-ttl', 1) * 1000;
const extraRevoked = values['revoke-jti'].split(',').map((s) => s.trim()).filter(Boolean);
const SCOPES = ['stats', 'agents-availability:read'];
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

const { loadConfig } = await import('../dist/config.js');
const { Store } = await import('../dist/store/store.js');
const { MasterKey } = await import('../dist/auth/master-key.js');
const { SecretHasher } = await import('../dist/auth/secrets.js');
const { CredentialIssuer } = await import('../dist/auth/credentials.js');

const t0 = performance.now();
const timings = {};
const lap = (name, since) => (timings[name] = Number(((performance.now() - since) / 1000).toFixed(3)));

const tempDataDir = values['data-dir'] === undefined;
const dataDir = resolve(values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'ccauth-bench-data-')));
const out = resolve(values.out ?? dataDir);
mkdirSync(out, { recursive: true });
const env = { ...process.env, CCAUTH_DATA_DIR: dataDir, CCAUTH_LOG_LEVEL: 'warn' };
delete env.DATABASE_URL;
let databaseUrl;
let schema;
if (storeKind === 'postgres') {
  databaseUrl = values['database-url'] ?? process.env.DATABASE_BENCH_URL ?? DEFAULT_PG_URL;
  schema = values.schema ?? `bench_${randomBytes(6).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) fail('--schema: lowercase letters, digits and _ only');
  env.DATABASE_URL = databaseUrl;
  env.CCAUTH_DATABASE_SCHEMA = schema;
  if (!env.CCAUTH_MASTER_KEY) {
    env.CCAUTH_MASTER_KEY = randomBytes(32).toString('base64');
    writeFileSync(join(out, 'master.key'), env.CCAUTH_MASTER_KEY + '\n', { mode: 0o600 });
  }
}
const config = loadConfig(env, {});
const masterKey = MasterKey.load(config);
const hasher = new SecretHasher(masterKey.derive('client-secret-hash'));

const tOpen = performance.now();
if (storeKind === 'postgres') await precreateKyselyTables(databaseUrl, schema);
const store = await Store.open(config);
lap('openAndMigrateSec', tOpen);

const bulk = storeKind === 'sqlite' ? await sqliteBulk(store.location) : await postgresBulk(databaseUrl, schema);
const counts = { accounts: 0, users: 0, credentials: 0, revoked: 0 };
const now = Date.now();
let sampleFile;

try {
  if (N > 0) {
    // 1. Templates, through the product's own code.
    const tTemplate = performance.now();
    const account = await store.accounts.create({ name: 'Bench account 0', apiCredentialsEnabled: true, apiRateLimitPerMinute: 100_000 });
    const owner = await store.users.create({ accountId: account.id, email: 'admin0.a0@bench.example', name: 'Admin 0 of 0', license: 'admin', skills: ['English'], presence: 'Ready' });
    const issuer = new CredentialIssuer(store, hasher);
    const { credential: templateCredential, clientSecret: templateSecret } = await issuer.createUserLevel(owner, { name: 'bench-0', scopes: SCOPES }, { id: null, email: null });
    lap('templatesSec', tTemplate);

    // 2. Accounts and users: clones of the templates.
    const tOwners = performance.now();
    const accountIds = [account.id];
    const accountRows = [];
    for (let a = 1; a < A; a++) {
      const id = randomUUID();
      accountIds.push(id);
      accountRows.push({ id, name: `Bench account ${a}`, created_at: now, updated_at: now });
    }
    await bulk.cloneInsert('accounts', 'id', account.id, accountRows);
    // Owner of credential i: account i % A, user floor(i / A) % U of that account.
    const ownerIds = new Array(A * U);
    ownerIds[0] = owner.id;
    const userRows = [];
    for (let a = 0; a < A; a++) {
      for (let u = 0; u < U; u++) {
        if (a === 0 && u === 0) continue;
        const id = randomUUID();
        ownerIds[a * U + u] = id;
        userRows.push({ id, account_id: accountIds[a], email: `admin${u}.a${a}@bench.example`, name: `Admin ${u} of ${a}`, created_at: now, updated_at: now });
      }
    }
    await bulk.cloneInsert('users', 'id', owner.id, userRows);
    counts.accounts = A;
    counts.users = A * U;
    lap('accountsAndUsersSec', tOwners);

    // 3. Credentials, in batches: fresh client ids and secrets, hashed by the product's hasher.
    const tCreds = performance.now();
    // The sample: the k-th is credential k * step + (k % step), so that it spreads over all the
    // credentials AND all the accounts (credential i belongs to account i % A: a plain stride
    // that shares a factor with A would only ever hit a few accounts).
    const step = SAMPLE > 0 ? Math.max(1, Math.floor(N / SAMPLE)) : 0;
    const sampleIndex = (k) => (k < SAMPLE ? k * step + (k % step) : Infinity);
    let sampled = 0;
    const samples = [];
    if (SAMPLE > 0) {
      samples.push({ clientId: templateCredential.clientId, clientSecret: templateSecret, accountId: account.id });
      sampled = 1;
    }
    let nextSample = sampleIndex(sampled);
    let hashSec = 0;
    for (let start = 1; start < N; start += BATCH) {
      const end = Math.min(N, start + BATCH);
      const rnd = randomBytes((end - start) * 48);
      const rows = [];
      const th = performance.now();
      for (let i = start; i < end; i++) {
        const o = (i - start) * 48;
        const clientId = rnd.toString('hex', o, o + 16);
        const clientSecret = rnd.toString('base64url', o + 16, o + 48);
        const a = i % A;
        const u = Math.floor(i / A) % U;
        rows.push({ id: randomUUID(), account_id: accountIds[a], owner_user_id: ownerIds[a * U + u], name: `bench-${i}`, client_id: clientId, secret_hash: hasher.hash(clientSecret), created_at: now, updated_at: now });
        if (i === nextSample) {
          samples.push({ clientId, clientSecret, accountId: accountIds[a] });
          nextSample = sampleIndex(++sampled);
        }
      }
      hashSec += (performance.now() - th) / 1000;
      await bulk.cloneInsert('api_credentials', 'id', templateCredential.id, rows);
    }
    counts.credentials = N;
    lap('credentialsSec', tCreds);
    timings.credentialsRowBuildSec = Number(hashSec.toFixed(3));
    sampleFile = join(out, 'secrets.json');
    writeFileSync(sampleFile, JSON.stringify({ scopes: SCOPES, credentials: samples }) + '\n', { mode: 0o600 });
  }

  // 4. Revoked token ids: a template through the repository (its change-feed row removed in the
  // same transaction, like the bulk rows, which have none), the rest cloned.
  if (M + extraRevoked.length > 0) {
    const tRev = performance.now();
    const expiresAt = now + revokedTtlMs;
    const templateJti = extraRevoked[0] ?? randomUUID();
    await store.transaction(async (trx) => {
      await store.revokedTokens.add({ jti: templateJti, accountId: 'bench-revoked', clientId: 'bench-revoked', expiresAt }, trx);
      await trx.deleteFrom('changes').where('kind', '=', 'revocation').where('ref', '=', templateJti).execute();
    });
    const total = Math.max(M, extraRevoked.length);
    for (let start = 1; start < total; start += BATCH) {
      const end = Math.min(total, start + BATCH);
      const rows = [];
      for (let i = start; i < end; i++) rows.push({ jti: extraRevoked[i] ?? randomUUID(), revoked_at: now, expires_at: expiresAt });
      await bulk.cloneInsert('revoked_tokens', 'jti', templateJti, rows);
    }
    counts.revoked = total;
    lap('revokedSec', tRev);
  }
  const tAnalyze = performance.now();
  await bulk.analyze();
  lap('analyzeSec', tAnalyze);
} finally {
  await bulk.close();
  await store.close();
  // PostgreSQL keeps nothing in a data directory made up here.
  if (storeKind === 'postgres' && tempDataDir && values.out !== undefined) rmSync(dataDir, { recursive: true, force: true });
}
timings.totalSec = Number(((performance.now() - t0) / 1000).toFixed(3));

process.stdout.write(
  JSON.stringify({
    store: storeKind,
    ...(storeKind === 'sqlite' ? { dataDir } : { databaseUrl: redact(databaseUrl), schema, masterKeyFile: process.env.CCAUTH_MASTER_KEY ? undefined : join(out, 'master.key') }),
    counts,
    layout: { accounts: A, usersPerAccount: U, credentialsPerUser: N ? N / (A * U) : 0, scopes: SCOPES },
    secretsFile: sampleFile,
    samples: sampleFile ? SAMPLE : 0,
    timings,
  }) + '\n',
);

/**
 * Clones of a template row: `rows` give the columns to replace; every other column is the
 * template's. The column list is read from the template row itself.
 */
async function sqliteBulk(file) {
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(file);
  db.pragma('busy_timeout = 30000');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144'); // 256 MiB while loading
  const quote = (c) => `"${c.replace(/"/g, '""')}"`;
  return {
    async cloneInsert(table, keyColumn, templateKey, rows) {
      if (rows.length === 0) return;
      const template = db.prepare(`SELECT * FROM ${quote(table)} WHERE ${quote(keyColumn)} = ?`).get(templateKey);
      if (!template) throw new Error(`no template row in ${table}`);
      const columns = Object.keys(template);
      const insert = db.prepare(`INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
      const base = columns.map((c) => template[c]);
      const index = new Map(columns.map((c, i) => [c, i]));
      const insertAll = db.transaction((list) => {
        for (const row of list) {
          const v = base.slice();
          for (const key in row) v[index.get(key)] = row[key];
          insert.run(v);
        }
      });
      for (const key of Object.keys(rows[0])) if (!index.has(key)) throw new Error(`${table} has no column ${key}`);
      insertAll(rows);
    },
    async analyze() {
      db.exec('ANALYZE');
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    async close() {
      db.close();
    },
  };
}

async function postgresBulk(url, schemaName) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, options: `-c search_path="${schemaName}"` });
  await client.connect();
  await client.query('SET synchronous_commit = off');
  return {
    async cloneInsert(table, keyColumn, templateKey, rows) {
      if (rows.length === 0) return;
      const { rows: found, fields } = await client.query(`SELECT * FROM "${table}" WHERE "${keyColumn}" = $1`, [templateKey]);
      if (found.length !== 1) throw new Error(`no template row in ${table}`);
      const template = found[0];
      const columns = fields.map((f) => f.name);
      for (const key of Object.keys(rows[0])) if (!columns.includes(key)) throw new Error(`${table} has no column ${key}`);
      const list = columns.map((c) => `"${c}"`).join(', ');
      // One JSON array of whole rows per statement; PostgreSQL casts each field to its column type.
      await client.query('BEGIN');
      try {
        for (let i = 0; i < rows.length; i += 20_000) {
          const json = JSON.stringify(rows.slice(i, i + 20_000).map((r) => ({ ...template, ...r })));
          await client.query(`INSERT INTO "${table}" (${list}) SELECT ${list} FROM json_populate_recordset(NULL::"${table}", $1::json)`, [json]);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    },
    async analyze() {
      await client.query('ANALYZE');
    },
    async close() {
      await client.end();
    },
  };
}

/**
 * Works around a defect of the store's migration on PostgreSQL (src/store/migrations.ts): Kysely's
 * Migrator is given no migrationTableSchema, so it looks for its tables (kysely_migration,
 * kysely_migration_lock) in EVERY schema of the database; when another schema has them (another
 * instance's, a test's), it skips creating them in this one and the migration fails with
 * 'relation "kysely_migration_lock" does not exist'. Creating them here first, as Kysely would,
 * lets the migration run.
 */
async function precreateKyselyTables(url, schemaName) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schemaName}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${schemaName}".kysely_migration (name varchar(255) NOT NULL PRIMARY KEY, timestamp varchar(255) NOT NULL)`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${schemaName}".kysely_migration_lock (id varchar(255) NOT NULL PRIMARY KEY, is_locked integer NOT NULL DEFAULT 0)`);
  } finally {
    await client.end();
  }
}

function redact(url) {
  const u = new URL(url);
  u.password = '';
  return u.toString();
}

function fail(message) {
  process.stderr.write(`load-data: ${message}\n`);
  process.exit(2);
}
