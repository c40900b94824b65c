// A user update is a change for the caches (a row in the change table, which every instance polls
// and which invalidates cached clients of that owner) only when a token depends on it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { latestChangeId } from '../../src/store/changes.js';
import { describeEachDialect, storeForSuite } from '../support/dialects.js';

await describeEachDialect('user changes in the change feed', (makeFixture, dialect) => {
  const suite = storeForSuite(makeFixture);

  it('presence, skills, name and password updates add no change row; license and status updates do', async () => {
    const { store } = suite;
    const account = await store.accounts.create({ name: 'Presence', apiCredentialsEnabled: true });
    const user = await store.users.create({ accountId: account.id, email: `p-${dialect}@example.test`, license: 'admin' });
    const rows = async () => (await store.db.selectFrom('changes').select('id').where('ref', '=', user.id).execute()).length;
    const start = await latestChangeId(store.db);
    await store.users.update(user.id, { presence: 'Ready' });
    await store.users.update(user.id, { skills: ['English'] });
    await store.users.update(user.id, { name: 'Renamed' });
    await store.users.update(user.id, { passwordHash: 'x' });
    assert.equal(await rows(), 0);
    assert.equal(await latestChangeId(store.db), start);
    await store.users.update(user.id, { license: 'supervisor' });
    assert.equal(await rows(), 1);
    await store.users.update(user.id, { status: 'disabled' });
    assert.equal(await rows(), 2);
  });
});
