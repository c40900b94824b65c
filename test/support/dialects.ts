import { describe } from 'node:test';
import { Store } from '../../src/store/store.js';
import { dropSchema, postgresAvailable, postgresUrl, tempDir, uniqueSchema } from './env.js';

export interface StoreFixture {
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

/** A fresh store of one dialect: a temp SQLite file, or a fresh PostgreSQL schema dropped afterwards. */
export function storeFixture(dialect: 'sqlite' | 'postgres'): StoreFixture {
  if (dialect === 'sqlite') {
    const dir = tempDir();
    return {
      open: () => Store.open({ dataDir: dir.path }),
      cleanup: async () => dir.remove(),
    };
  }
  const schema = uniqueSchema();
  return {
    open: () => Store.open({ dataDir: '/nonexistent', databaseUrl: postgresUrl, databaseSchema: schema }),
    cleanup: () => dropSchema(schema),
  };
}

/**
 * Runs the same suite against SQLite and PostgreSQL. PostgreSQL is skipped only outside CI when it
 * does not answer; in CI its absence fails the run.
 */
export async function describeEachDialect(name: string, suite: (fixture: () => StoreFixture, dialect: 'sqlite' | 'postgres') => void): Promise<void> {
  const pg = await postgresAvailable();
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const skip = dialect === 'postgres' && !pg ? 'PostgreSQL is not reachable (required in CI)' : false;
    describe(`${name} [${dialect}]`, { skip }, () => suite(() => storeFixture(dialect), dialect));
  }
}
