import { after, before, describe } from 'node:test';
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

/**
 * Opens a fresh store of the suite's dialect before its tests and closes and removes it after;
 * tests read it as `suite.store`.
 */
export function storeForSuite(makeFixture: () => StoreFixture): { readonly store: Store } {
  let fixture: StoreFixture | undefined;
  let store: Store | undefined;
  before(async () => {
    fixture = makeFixture();
    store = await fixture.open();
  });
  after(async () => {
    await store?.close();
    await fixture?.cleanup();
  });
  return {
    get store(): Store {
      if (!store) throw new Error('the suite store is opened in before()');
      return store;
    },
  };
}
