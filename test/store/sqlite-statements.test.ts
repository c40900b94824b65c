import assert from 'node:assert/strict';
import { it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { cachingStatements } from '../../src/store/sqlite-statements.js';

it('reuses a prepared statement per SQL text, least recently used dropped past the bound', () => {
  const raw = new SQLite(':memory:');
  let prepared = 0;
  const counting = new Proxy(raw, { get: (target, key) => (key === 'prepare' ? (s: string) => (prepared++, target.prepare(s)) : Reflect.get(target, key)) });
  const db = cachingStatements(counting, 2);
  const a = db.prepare('select 1 as x');
  assert.equal(db.prepare('select 1 as x'), a);
  assert.equal(prepared, 1);
  db.prepare('select 2 as x');
  db.prepare('select 1 as x'); // touched: now the most recent
  db.prepare('select 3 as x'); // evicts `select 2`
  assert.equal(prepared, 3);
  db.prepare('select 1 as x');
  assert.equal(prepared, 3, 'select 1 was kept');
  db.prepare('select 2 as x');
  assert.equal(prepared, 4, 'select 2 was dropped');
  db.close();
  assert.equal(raw.open, false);
});

it('never hands out a statement that an open iterator still holds', () => {
  const db = cachingStatements(new SQLite(':memory:'));
  const first = db.prepare('select 1 as x union all select 2');
  const rows = first.iterate([]);
  rows.next();
  const second = db.prepare('select 1 as x union all select 2');
  assert.notEqual(second, first);
  assert.deepEqual(second.all([]), [{ x: 1 }, { x: 2 }]);
  assert.deepEqual([...rows], [{ x: 2 }]);
  assert.equal(db.prepare('select 1 as x union all select 2'), first, 'the cached one again once free');
  db.close();
});

it('answers through Kysely as before, also after the schema changed under a cached statement', async () => {
  const db = new Kysely<{ t: { a: number; b?: number } }>({ dialect: new SqliteDialect({ database: cachingStatements(new SQLite(':memory:')) }) });
  await sql`create table t (a integer)`.execute(db);
  await db.insertInto('t').values({ a: 1 }).execute();
  assert.deepEqual(await db.selectFrom('t').selectAll().execute(), [{ a: 1 }]);
  await sql`alter table t add column b integer default 7`.execute(db);
  assert.deepEqual(await db.selectFrom('t').selectAll().execute(), [{ a: 1, b: 7 }]);
  await db.destroy();
});
