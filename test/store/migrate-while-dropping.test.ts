import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { Store } from '../../src/store/store.js';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/env.js';

const available = await postgresAvailable();

/**
 * Another schema of the same database dropped while a store migrates (another ccauth store, a
 * test cleaning up) must not fail the migration: Kysely's own introspection reads every schema's
 * tables and fails with "schema ... does not exist" when one goes away during that read.
 */
describe('migrating while other schemas come and go', { skip: available ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  it('migrates fresh schemas while another process keeps creating and dropping schemas', async () => {
    const churn = new pg.Client({ connectionString: postgresUrl });
    await churn.connect();
    let stop = false;
    const churned: string[] = [];
    const loop = (async () => {
      while (!stop) {
        const other = uniqueSchema('ccauth_churn');
        churned.push(other);
        await churn.query(`create schema "${other}"`);
        for (let t = 0; t < 8; t++) await churn.query(`create table "${other}".t${t} (id bigserial primary key, a text, b bigint, c text, d text)`);
        await churn.query(`drop schema "${other}" cascade`);
      }
    })();
    const schemas: string[] = [];
    try {
      for (let round = 0; round < 8; round++) {
        const schema = uniqueSchema();
        schemas.push(schema);
        const store = await Store.open({ dataDir: '/nonexistent', databaseUrl: postgresUrl, databaseSchema: schema });
        await store.close();
      }
    } finally {
      stop = true;
      await loop.catch(() => undefined);
      await churn.end();
      for (const s of schemas) await dropSchema(s);
      for (const s of churned) await dropSchema(s).catch(() => undefined);
    }
    assert.ok(churned.length > 1, 'the other schemas really came and went meanwhile');
  });
});
