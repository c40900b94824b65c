// Instances that start together on one PostgreSQL schema, and ccauth schemas that share a database
// (issue 7 item 5): migrations run once under a lock, exactly one active and one next signing key.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { MasterKey } from '../../src/auth/master-key.js';
import { KeySet } from '../../src/auth/signing-keys.js';
import { Store } from '../../src/store/store.js';
import { dropSchema, postgresAvailable, postgresUrl, tempDir, uniqueSchema } from '../support/env.js';

const available = await postgresAvailable();
const root = fileURLToPath(new URL('../..', import.meta.url));
const child = fileURLToPath(new URL('./start-instance.ts', import.meta.url));

interface Started {
  code: number | null;
  result: { ok: boolean; applied?: string[]; error?: string } | undefined;
  stderr: string;
}

/** Spawns `n` instance starts, waits until all have loaded, then lets them go at once. */
async function startTogether(n: number, args: string[]): Promise<Started[]> {
  const children = Array.from({ length: n }, () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.startsWith('ready\n')) markReady();
    });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = new Promise<Started>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 45_000);
      proc.on('close', (code) => {
        clearTimeout(timer);
        markReady();
        let result: Started['result'];
        try {
          result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Started['result'];
        } catch {
          result = undefined;
        }
        resolve({ code, result, stderr });
      });
    });
    return { proc, done, ready };
  });
  // Every child has loaded its modules (tsx compiles the sources first): now all start at once.
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.proc.stdin.write('go\n');
  return Promise.all(children.map((c) => c.done));
}

async function query<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('concurrent first start on SQLite (one data directory)', () => {
  it('3 processes starting together on an empty data directory all start; each migration runs once; one active and one next key (3 rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = tempDir('ccauth-start-sqlite-');
      try {
        const started = await startTogether(3, ['sqlite', dir.path, randomBytes(32).toString('base64')]);
        for (const s of started) assert.equal(s.code, 0, `round ${round}: an instance failed to start: ${JSON.stringify(s.result)} ${s.stderr.slice(-2000)}`);
        const db = new Database(join(dir.path, 'ccauth.sqlite'), { readonly: true });
        try {
          const recorded = (db.prepare('select name from kysely_migration order by name').all() as { name: string }[]).map((r) => r.name);
          assert.deepEqual(started.flatMap((s) => s.result?.applied ?? []).sort(), recorded, `round ${round}: every migration applied exactly once`);
          assert.deepEqual(db.prepare('select state, count(*) as n from signing_keys group by state order by state').all(), [
            { state: 'active', n: 1 },
            { state: 'next', n: 1 },
          ], `round ${round}: signing keys`);
        } finally {
          db.close();
        }
      } finally {
        dir.remove();
      }
    }
  });
});

describe('concurrent first start on PostgreSQL', { skip: available ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schemas: string[] = [];
  after(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  it('3 instances starting together on an empty schema all start; each migration runs once; one active and one next key (3 rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      const schema = uniqueSchema('ccauth_start');
      schemas.push(schema);
      const started = await startTogether(3, ['postgres', postgresUrl, schema, randomBytes(32).toString('base64')]);
      for (const s of started) assert.equal(s.code, 0, `round ${round}: an instance failed to start: ${JSON.stringify(s.result)} ${s.stderr.slice(-2000)}`);
      const applied = started.flatMap((s) => s.result?.applied ?? []).sort();
      const recorded = (await query<{ name: string }>(`select name from "${schema}".kysely_migration order by name`)).map((r) => r.name);
      assert.ok(recorded.length > 0);
      assert.deepEqual(applied, recorded, `round ${round}: every migration applied exactly once across the instances`);
      const keys = await query<{ state: string; n: string }>(`select state, count(*)::text as n from "${schema}".signing_keys group by state order by state`);
      assert.deepEqual(keys, [
        { state: 'active', n: '1' },
        { state: 'next', n: '1' },
      ], `round ${round}: signing keys`);
    }
  });

  it('first-start key creation by 3 instances at once (one process, own connections): one active and one next key (3 rounds)', async () => {
    const dir = tempDir('ccauth-keys-race-');
    try {
      for (let round = 0; round < 3; round++) {
        const schema = uniqueSchema('ccauth_keys');
        schemas.push(schema);
        const options = { dataDir: dir.path, databaseUrl: postgresUrl, databaseSchema: schema };
        const first = await Store.open(options);
        const stores = [first, await Store.open(options, { migrate: false }), await Store.open(options, { migrate: false })];
        try {
          const masterKey = MasterKey.load({ masterKey: randomBytes(32).toString('base64'), dataDir: dir.path });
          await Promise.all(stores.map((store) => new KeySet(store, masterKey, 'emea').ensureAndLoad()));
          const keys = await query<{ state: string; n: string }>(`select state, count(*)::text as n from "${schema}".signing_keys group by state order by state`);
          assert.deepEqual(keys, [
            { state: 'active', n: '1' },
            { state: 'next', n: '1' },
          ], `round ${round}: signing keys`);
        } finally {
          for (const s of stores) await s.close();
        }
      }
    } finally {
      dir.remove();
    }
  });

  it('two ccauth schemas in one database both migrate and work', async () => {
    const dir = tempDir('ccauth-two-schemas-');
    const [a, b] = [uniqueSchema('ccauth_two_a'), uniqueSchema('ccauth_two_b')];
    schemas.push(a, b);
    const masterKey = MasterKey.load({ masterKey: randomBytes(32).toString('base64'), dataDir: dir.path });
    const stores: Store[] = [];
    try {
      for (const schema of [a, b]) {
        const store = await Store.open({ dataDir: dir.path, databaseUrl: postgresUrl, databaseSchema: schema });
        stores.push(store);
        await new KeySet(store, masterKey, 'emea').ensureAndLoad();
        const account = await store.accounts.create({ name: `In ${schema}`, apiCredentialsEnabled: true });
        assert.equal((await store.accounts.get(account.id))?.name, `In ${schema}`);
        // Opening again finds this schema's migrations done, not another schema's.
        assert.deepEqual(await store.migrate(), []);
      }
      for (const schema of [a, b]) {
        const rows = await query<{ n: string }>(`select count(*)::text as n from "${schema}".accounts`);
        assert.equal(rows[0]?.n, '1', `${schema} holds only its own account`);
      }
    } finally {
      for (const s of stores) await s.close();
      dir.remove();
    }
  });
});
