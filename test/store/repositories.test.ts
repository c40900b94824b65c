import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { changesSince, latestChangeId } from '../../src/store/changes.js';
import type { Store } from '../../src/store/store.js';
import { describeEachDialect, type StoreFixture } from '../support/dialects.js';

await describeEachDialect('store repositories', (makeFixture, dialect) => {
  let fixture: StoreFixture;
  let store: Store;
  before(async () => {
    fixture = makeFixture();
    store = await fixture.open();
  });
  after(async () => {
    await store.close();
    await fixture.cleanup();
  });

  it(`runs on ${dialect} and migrations are idempotent`, async () => {
    assert.equal(store.dialect, dialect);
    assert.deepEqual(await store.migrate(), []);
  });

  it('creates, reads, lists and updates accounts with SPEC defaults', async () => {
    const a = await store.accounts.create({ name: 'Acme' });
    assert.equal(a.apiCredentialsEnabled, false);
    assert.equal(a.accessTokenLifetimeSeconds, 900);
    assert.equal(a.apiRateLimitPerMinute, 600);
    assert.equal(a.status, 'active');
    const updated = await store.accounts.update(a.id, { apiCredentialsEnabled: true, accessTokenLifetimeSeconds: 7200, status: 'disabled' });
    assert.equal(updated?.apiCredentialsEnabled, true);
    assert.equal(updated?.accessTokenLifetimeSeconds, 7200);
    assert.equal(updated?.status, 'disabled');
    assert.equal(await store.accounts.update('no-such-id', { name: 'x' }), undefined);
    assert.ok((await store.accounts.list()).some((x) => x.id === a.id));
    assert.equal((await store.accounts.get(a.id))?.name, 'Acme');
    assert.ok((await store.accounts.maxTokenLifetimeSeconds()) >= 7200);
  });

  it('keeps emails unique across the region, case-insensitively', async () => {
    const a = await store.accounts.create({ name: 'One' });
    const b = await store.accounts.create({ name: 'Two' });
    const u = await store.users.create({ accountId: a.id, email: 'Jo@Example.test', license: 'admin', skills: ['French'], presence: 'Ready' });
    assert.equal(u.email, 'jo@example.test');
    assert.deepEqual(u.skills, ['French']);
    await assert.rejects(store.users.create({ accountId: b.id, email: 'jo@example.TEST', license: 'agent' }));
    assert.equal((await store.users.getByEmail('JO@example.test'))?.id, u.id);
    const changed = await store.users.update(u.id, { license: 'supervisor', status: 'disabled', skills: ['English', 'Sales'] });
    assert.equal(changed?.license, 'supervisor');
    assert.deepEqual(changed?.skills, ['English', 'Sales']);
    assert.deepEqual((await store.users.listByAccount(a.id)).map((x) => x.id), [u.id]);
  });

  it('stores credentials with their owner and account in one lookup, and records changes', async () => {
    const account = await store.accounts.create({ name: 'Creds', apiCredentialsEnabled: true });
    const owner = await store.users.create({ accountId: account.id, email: `owner-${dialect}@example.test`, license: 'admin' });
    const before = await latestChangeId(store.db);
    const c = await store.credentials.create({ accountId: account.id, level: 'user', ownerUserId: owner.id, name: 'n', clientId: `cid-${dialect}`, secretHash: 'h1$x', scopes: ['users:read', 'stats'] });
    assert.deepEqual(c.scopes, ['users:read', 'stats']);
    assert.equal(c.lastUsedAt, null);
    const client = await store.credentials.findClient(c.clientId);
    assert.equal(client?.credentialId, c.id);
    assert.equal(client?.account.apiCredentialsEnabled, true);
    assert.equal(client?.owner?.license, 'admin');
    assert.equal(await store.credentials.findClient('unknown'), undefined);
    const changes = await changesSince(store.db, before);
    assert.deepEqual(changes.map((x) => [x.kind, x.ref]), [['credential', c.clientId]]);
    // Many in one query (the client cache's batched refresh): the same records, unknown ids left out.
    const other = await store.credentials.create({ accountId: account.id, level: 'account', ownerUserId: null, name: 'm', clientId: `cid2-${dialect}`, secretHash: 'h2$x', scopes: ['stats'] });
    const many = await store.credentials.findClients([c.clientId, 'unknown', other.clientId]);
    assert.deepEqual(many.map((r) => r.clientId).sort(), [c.clientId, other.clientId].sort());
    assert.deepEqual(many.find((r) => r.clientId === c.clientId), client);
    assert.equal(many.find((r) => r.clientId === other.clientId)?.owner, null);
    assert.deepEqual(await store.credentials.findClients([]), []);
    await store.credentials.delete(other.id);

    const edited = await store.credentials.update(c.id, { name: 'renamed', scopes: ['stats'] });
    assert.equal(edited?.name, 'renamed');
    assert.deepEqual(edited?.scopes, ['stats']);

    const graceUntil = Date.now() + 60_000;
    await store.credentials.replaceSecret(c.id, 'h1$new', graceUntil);
    const rotated = await store.credentials.findClient(c.clientId);
    assert.equal(rotated?.secretHash, 'h1$new');
    assert.equal(rotated?.previousSecretHash, 'h1$x');
    assert.equal(rotated?.previousSecretExpiresAt, graceUntil);

    const at = Date.now();
    await store.credentials.touchLastUsed(new Map([[c.clientId, at]]));
    assert.equal((await store.credentials.get(c.id))?.lastUsedAt, new Date(at).toISOString());

    assert.equal((await store.credentials.listByAccount(account.id, { ownerUserId: owner.id })).length, 1);
    assert.equal((await store.credentials.listByAccount(account.id, { level: 'account' })).length, 0);
    assert.equal((await store.credentials.delete(c.id))?.id, c.id);
    assert.equal(await store.credentials.get(c.id), undefined);
    assert.equal(await store.credentials.delete(c.id), undefined);
  });

  it('writes lastUsedAt for many credentials in batches, never moving a time back', async () => {
    const account = await store.accounts.create({ name: 'Batch' });
    const owner = await store.users.create({ accountId: account.id, email: `batch.${Date.now()}.${Math.random().toString(36).slice(2)}@example.test`, license: 'admin' });
    const created = [];
    for (let i = 0; i < 1203; i++) created.push(await store.credentials.create({ name: `c${i}`, scopes: ['stats'], level: 'user', accountId: account.id, ownerUserId: owner.id, clientId: `batch-${i}-${Math.random().toString(36).slice(2)}`, secretHash: 'x' }));
    const base = Date.now() - 60_000;
    await store.credentials.touchLastUsed(new Map(created.map((c, i) => [c.clientId, base + i])));
    // A second instance's older times for the first 10 must not win.
    await store.credentials.touchLastUsed(new Map(created.slice(0, 10).map((c) => [c.clientId, base - 1000])));
    for (const i of [0, 9, 499, 500, 1202]) {
      const c = created[i] as (typeof created)[number];
      assert.equal((await store.credentials.get(c.id))?.lastUsedAt, new Date(base + i).toISOString(), `credential ${i}`);
    }
  });

  it('rolls back every write of a failed transaction', async () => {
    const account = await store.accounts.create({ name: 'Tx' });
    await assert.rejects(
      store.transaction(async (trx) => {
        await store.credentials.create({ accountId: account.id, level: 'account', ownerUserId: null, name: 'n', clientId: `tx-${dialect}`, secretHash: 'h', scopes: ['stats'] }, trx);
        await store.audit.record({ accountId: account.id, actor: { id: null, email: null }, action: 'credential.created', target: { type: 'credential', id: null, name: 'n' } }, trx);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await store.credentials.findClient(`tx-${dialect}`), undefined);
    assert.deepEqual(await store.audit.list(account.id, { limit: 10 }), []);
  });

  it('lists audit events newest first with paging', async () => {
    const account = await store.accounts.create({ name: 'Audit' });
    for (let i = 0; i < 3; i++) {
      await store.audit.record({ accountId: account.id, actor: { id: 'u', email: 'a@x.test' }, action: `a${i}`, target: { type: 'credential', id: `c${i}`, name: null }, changes: { i } });
      await new Promise((r) => setTimeout(r, 3));
    }
    const all = await store.audit.list(account.id, { limit: 10 });
    assert.deepEqual(all.map((e) => e.action), ['a2', 'a1', 'a0']);
    assert.deepEqual(all[0]?.changes, { i: 2 });
    const page = await store.audit.list(account.id, { limit: 10, before: Date.parse(all[0]?.at as string) });
    assert.deepEqual(page.map((e) => e.action), ['a1', 'a0']);
  });
});
