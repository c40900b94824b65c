// A retired key leaves the JWKS once its publish_until has passed; when the reload that should
// drop it fails (a store blip, an unreadable row), a later JWKS request tries again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegion, type TestRegion } from '../support/region.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('JWKS reload after a retired key expires', () => {
  let t: TestRegion;
  before(async () => {
    t = await startRegion();
  });
  after(async () => {
    await t?.close();
  });

  const kids = async (): Promise<string[]> => {
    const res = await fetch(`${t.baseUrl}/Auth/.well-known/openid-configuration/jwks`);
    return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  };

  it('a failed reload is retried by a later request, and the expired key leaves the set', async () => {
    const db = t.region.store.db;
    const active = await db.selectFrom('signing_keys').selectAll().where('state', '=', 'active').executeTakeFirstOrThrow();
    const retiredKid = `retired-${Date.now()}`;
    const jwk = { ...(JSON.parse(active.public_jwk) as Record<string, unknown>), kid: retiredKid };
    await t.region.store.keys.insert({ ...active, kid: retiredKid, public_jwk: JSON.stringify(jwk), state: 'retired', retired_at: Date.now(), publish_until: Date.now() + 600 });
    await t.region.feed.poll();
    assert.ok((await kids()).includes(retiredKid));
    // An unreadable row, written without a change: the reload the expiry triggers fails.
    const poison = `poison-${Date.now()}`;
    await db.insertInto('signing_keys').values({ ...active, kid: poison, public_jwk: 'not json', state: 'next', activated_at: null }).execute();
    await sleep(700);
    assert.ok((await kids()).includes(retiredKid), 'the reload failed: the set is unchanged');
    await db.deleteFrom('signing_keys').where('kid', '=', poison).execute();
    const deadline = Date.now() + 3000;
    let listed = await kids();
    while (listed.includes(retiredKid) && Date.now() < deadline) {
      await sleep(200);
      listed = await kids();
    }
    assert.ok(!listed.includes(retiredKid), 'the expired key left the JWKS');
  });
});
