// One instance's start as its own process (used by concurrent-start.test.ts): open the store,
// apply the migrations, make sure of the signing keys; print what it did as one JSON line.
// Prints "ready" once loaded, then waits for a line on stdin, so that several start at once.
// Arguments: `postgres <url> <schema> <master key>` or `sqlite <data dir> <master key>`.
import { MasterKey } from '../../src/auth/master-key.js';
import { KeySet } from '../../src/auth/signing-keys.js';
import type { ConnectOptions } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

const args = process.argv.slice(2);
const [options, masterKey]: [ConnectOptions, string] =
  args[0] === 'sqlite'
    ? [{ dataDir: args[1] as string }, args[2] as string]
    : [{ dataDir: '/nonexistent', databaseUrl: args[1], databaseSchema: args[2] }, args[3] as string];
// Loaded before the signal, as a running server would have them.
if (options.databaseUrl) await import('pg');
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
try {
  const store = await Store.open(options, { migrate: false });
  try {
    const applied = await store.migrate();
    await new KeySet(store, MasterKey.load({ masterKey, dataDir: options.dataDir }), 'emea').ensureAndLoad();
    process.stdout.write(`${JSON.stringify({ ok: true, applied })}\n`);
  } finally {
    await store.close();
  }
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: (err as Error).message })}\n`);
  process.exitCode = 1;
}
process.stdin.destroy();
