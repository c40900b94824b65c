// One instance's start as its own process (used by concurrent-start.test.ts): open the store,
// apply the migrations, make sure of the signing keys; print what it did as one JSON line.
// Waits for a line on stdin first, so that several of them start at the same moment.
import { MasterKey } from '../../src/auth/master-key.js';
import { KeySet } from '../../src/auth/signing-keys.js';
import { Store } from '../../src/store/store.js';

const [databaseUrl, schema, masterKey] = process.argv.slice(2) as [string, string, string];
// Loaded before the signal, as a running server would have them.
await import('pg');
await import('node-forge');
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
try {
  const store = await Store.open({ dataDir: '/nonexistent', databaseUrl, databaseSchema: schema }, { migrate: false });
  try {
    const applied = await store.migrate();
    await new KeySet(store, MasterKey.load({ masterKey, dataDir: '/nonexistent' }), 'emea').ensureAndLoad();
    process.stdout.write(`${JSON.stringify({ ok: true, applied })}\n`);
  } finally {
    await store.close();
  }
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: (err as Error).message })}\n`);
  process.exitCode = 1;
}
process.stdin.destroy();
