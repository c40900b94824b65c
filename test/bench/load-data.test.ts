// The data loader of the benchmark (bench/load-data.mjs, run on the BUILT code in dist/): what it
// loads must be real data for a region started on the store afterwards. Every sampled credential
// gets a token from the token endpoint (its secret hashed as the product hashes it), the counts
// are what was asked for, the cloned rows equal the template row but for their own identity,
// and the revoked ids (the one named with --revoke-jti included) are loaded by the region.
// SQLite and PostgreSQL (own schema, dropped afterwards).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { dropSchema, inCI, postgresAvailable, postgresUrl, tempDir, uniqueSchema } from '../support/env.js';
import { type TestRegion, startRegion, tokenRequest } from '../support/region.js';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
const distBuilt = existsSync(join(ROOT, 'dist', 'store', 'store.js'));

interface LoadSummary {
  counts: { accounts: number; users: number; credentials: number; revoked: number };
  secretsFile?: string;
  timings: Record<string, number>;
}

async function loadData(args: string[], env: Record<string, string> = {}): Promise<LoadSummary> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'bench', 'load-data.mjs'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as LoadSummary;
}

const IDENTITY = {
  api_credentials: ['id', 'account_id', 'owner_user_id', 'name', 'client_id', 'secret_hash', 'created_at', 'updated_at'],
  users: ['id', 'account_id', 'email', 'name', 'created_at', 'updated_at'],
} as const;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`bench/load-data.mjs on ${dialect}`, { skip: !distBuilt && !inCI ? 'run `npm run build` first (the loader runs on dist/)' : false }, () => {
    const dir = tempDir('ccauth-bench-load-');
    const schema = uniqueSchema('ccauth_bench_load');
    const masterKey = randomBytes(32).toString('base64');
    let region: TestRegion | undefined;
    after(async () => {
      await region?.close();
      dir.remove();
      if (dialect === 'postgres' && (await postgresAvailable())) await dropSchema(schema);
    });

    it('loads credentials that work at the token endpoint, and revoked ids a region loads', async (t) => {
      if (dialect === 'postgres' && !(await postgresAvailable())) return t.skip('PostgreSQL is not available');
      const storeArgs = ['--store', dialect, '--data-dir', dir.path, ...(dialect === 'postgres' ? ['--database-url', postgresUrl, '--schema', schema] : [])];
      const env: Record<string, string> = dialect === 'postgres' ? { CCAUTH_MASTER_KEY: masterKey } : {};
      const revokedJti = randomUUID();
      const loaded = await loadData([...storeArgs, '--credentials', '2400', '--revoked', '300', '--accounts', '30', '--users-per-account', '4', '--sample', '24', '--batch', '700', '--revoke-jti', revokedJti], env);
      assert.deepEqual(loaded.counts, { accounts: 30, users: 120, credentials: 2400, revoked: 300 });
      const more = await loadData([...storeArgs, '--only-revoked', '--revoked', '50'], env);
      assert.equal(more.counts.revoked, 50);

      region = await startRegion({
        CCAUTH_DATA_DIR: dir.path,
        ...(dialect === 'postgres' ? { DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema, CCAUTH_MASTER_KEY: masterKey } : {}),
      });
      const db = region.region.store.db;
      const count = async (table: 'accounts' | 'users' | 'api_credentials' | 'revoked_tokens') =>
        Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      assert.equal(await count('accounts'), 30);
      assert.equal(await count('users'), 120);
      assert.equal(await count('api_credentials'), 2400);
      assert.equal(await count('revoked_tokens'), 350);

      // Each of 30 accounts x 4 users owns 20 credentials.
      const perOwner = await db.selectFrom('api_credentials').select(['owner_user_id', (eb) => eb.fn.countAll().as('n')]).groupBy('owner_user_id').execute();
      assert.equal(perOwner.length, 120);
      assert.ok(perOwner.every((r) => Number(r.n) === 20));

      // The clones are the template row but for their identity, whatever other columns exist.
      for (const table of ['api_credentials', 'users'] as const) {
        const rows = (await db.selectFrom(table).selectAll().execute()) as Record<string, unknown>[];
        const template = rows.find((r) => r.name === (table === 'users' ? 'Admin 0 of 0' : 'bench-0'));
        assert.ok(template, `${table}: the template row`);
        const clone = rows.find((r) => r.name === (table === 'users' ? 'Admin 3 of 29' : 'bench-2399'));
        assert.ok(clone, `${table}: a clone`);
        for (const column of Object.keys(template)) {
          if ((IDENTITY[table] as readonly string[]).includes(column)) continue;
          assert.deepEqual(clone[column], template[column], `${table}.${column}`);
        }
      }

      // Every sampled secret works at the token endpoint of the region.
      const secrets = JSON.parse(readFileSync(loaded.secretsFile as string, 'utf8')) as { credentials: { clientId: string; clientSecret: string; accountId: string }[] };
      assert.equal(secrets.credentials.length, 24);
      assert.equal(new Set(secrets.credentials.map((c) => c.accountId)).size > 10, true, 'the sample spreads over accounts');
      for (const c of secrets.credentials) {
        const res = await tokenRequest(region.baseUrl, { grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret, scope: 'stats' });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      const [first] = secrets.credentials;
      const wrong = await tokenRequest(region.baseUrl, { grant_type: 'client_credentials', client_id: first!.clientId, client_secret: `${first!.clientSecret}x`, scope: 'stats' });
      assert.equal(wrong.status, 401);

      // The revoked ids are loaded by the region at start, the named one among them.
      assert.ok(region.region.revocations.size >= 350);
      assert.equal(region.region.revocations.isRevoked(revokedJti), true);
    });
  });
}
