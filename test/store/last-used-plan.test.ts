import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { type CompiledQuery, Kysely, SqliteDialect } from 'kysely';
import { CredentialRepository } from '../../src/store/credentials.js';
import type { Database } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../support/env.js';

// lastUsedAt is written in batches of up to 500 credentials. On SQLite the batch's UPDATE must
// find its rows through the client_id index: a plan that scans the credentials table costs the
// whole table per batch, on the event loop (1.1 s per batch at 1,000,000 credentials).
const CREDENTIALS = 5000;
const dir = tempDir();
let sqlite: SQLite.Database;
const clientIds: string[] = [];

before(async () => {
  const store = await Store.open({ dataDir: dir.path });
  const account = await store.accounts.create({ name: 'Plan', apiCredentialsEnabled: true });
  const template = await store.credentials.create({ accountId: account.id, level: 'account', ownerUserId: null, name: 'template', clientId: 'template-client', secretHash: 'h$x', scopes: ['stats'] });
  await store.close();
  sqlite = new SQLite(join(dir.path, 'ccauth.sqlite'));
  const columns = (sqlite.prepare('select * from api_credentials where id = ?').get(template.id) as Record<string, unknown>);
  const names = Object.keys(columns);
  const insert = sqlite.prepare(`insert into api_credentials (${names.map((n) => `"${n}"`).join(', ')}) values (${names.map(() => '?').join(', ')})`);
  sqlite.transaction(() => {
    for (let i = 0; i < CREDENTIALS; i++) {
      const row = { ...columns, id: `cred-${i}`, client_id: `client-${String(i).padStart(6, '0')}`, name: `c${i}`, name_folded: `c${i}` };
      insert.run(...names.map((n) => row[n as keyof typeof row] as unknown));
      clientIds.push(row.client_id);
    }
  })();
  sqlite.exec('analyze');
});

after(() => {
  sqlite?.close();
  dir.remove();
});

it('writes a batch of lastUsedAt through the client_id index, never scanning the credentials table', async () => {
  const queries: CompiledQuery[] = [];
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }), log: (event) => void queries.push(event.query) });
  const batch = new Map(clientIds.slice(0, 1200).map((id, i) => [id, 1_800_000_000_000 + i]));
  await new CredentialRepository(db).touchLastUsed(batch);

  const updates = queries.filter((q) => /update\s+api_credentials/i.test(q.sql));
  assert.equal(updates.length, 3, 'three statements of at most 500');
  for (const q of updates) {
    const plan = (sqlite.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[]).map((r) => r.detail);
    assert.ok(!plan.some((d) => /^SCAN api_credentials\b/.test(d)), `the UPDATE scans the table:\n${plan.join('\n')}`);
    assert.ok(plan.some((d) => /^SEARCH api_credentials USING .*INDEX.*\(client_id=\?\)/.test(d)), `the UPDATE does not use the client_id index:\n${plan.join('\n')}`);
  }
  const stored = sqlite.prepare('select client_id, last_used_at from api_credentials where last_used_at is not null order by client_id').all() as { client_id: string; last_used_at: number }[];
  assert.equal(stored.length, 1200);
  for (const row of stored) assert.equal(Number(row.last_used_at), batch.get(row.client_id));

  // A time never moves back, and an unknown client ID changes nothing.
  await new CredentialRepository(db).touchLastUsed(new Map([[clientIds[0] as string, 1], ['no-such-client', 5]]));
  assert.equal(Number((sqlite.prepare('select last_used_at from api_credentials where client_id = ?').get(clientIds[0]) as { last_used_at: number }).last_used_at), 1_800_000_000_000);
});
