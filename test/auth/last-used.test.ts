import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { LAST_USED_RESOLUTION_MS, LastUsedRecorder } from '../../src/auth/last-used.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../support/env.js';

/** lastUsedAt is written at most once a resolution per credential while running, and exactly at stop. */
describe('LastUsedRecorder', () => {
  it('writes a credential again only after the resolution, and everything at stop', async () => {
    const dir = tempDir();
    const store = await Store.open({ dataDir: dir.path });
    try {
      const account = await store.accounts.create({ name: 'LU' });
      const owner = await store.users.create({ accountId: account.id, email: 'lu@example.test', license: 'admin' });
      const c = await store.credentials.create({ name: 'c', scopes: ['stats'], level: 'user', accountId: account.id, ownerUserId: owner.id, clientId: 'lu-client', secretHash: 'x' });
      const stored = async () => (await store.credentials.get(c.id))?.lastUsedAt;
      const recorder = new LastUsedRecorder(store, 3_600_000, pino({ level: 'silent' }));
      const t0 = Date.now() - 10 * LAST_USED_RESOLUTION_MS;
      recorder.record(c.clientId, t0);
      await recorder.flush();
      assert.equal(await stored(), new Date(t0).toISOString(), 'the first use is written at once');
      recorder.record(c.clientId, t0 + 1000);
      await recorder.flush();
      assert.equal(await stored(), new Date(t0).toISOString(), 'a use within the resolution waits');
      recorder.record(c.clientId, t0 + LAST_USED_RESOLUTION_MS + 5);
      await recorder.flush();
      assert.equal(await stored(), new Date(t0 + LAST_USED_RESOLUTION_MS + 5).toISOString(), 'a use after the resolution is written');
      recorder.record(c.clientId, t0 + LAST_USED_RESOLUTION_MS + 2000);
      await recorder.stop();
      assert.equal(await stored(), new Date(t0 + LAST_USED_RESOLUTION_MS + 2000).toISOString(), 'stop writes the newest time');
    } finally {
      await store.close();
      dir.remove();
    }
  });
});
