// ccauth keys and ccauth migrate, as a user runs them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../support/env.js';
import { ccauth, ccauthJson, ensureBuilt } from './helpers.js';

interface KeyInfo {
  kid: string;
  state: string;
  publishedUntil: string | null;
  retiredAt: string | null;
}

describe('ccauth keys and migrate', () => {
  const dir = tempDir('ccauth-cli-keys-');
  const env = { CCAUTH_DATA_DIR: dir.path };
  const run = (args: string[]) => ccauth(args, { env });
  const json = <T>(args: string[]) => ccauthJson<T>(args, { env });

  before(() => ensureBuilt());
  after(() => dir.remove());

  it('keys list shows the active and next keys; keys rotate activates the next key and keeps the old one published', async () => {
    const keys = await json<KeyInfo[]>(['keys', 'list']);
    assert.ok(Array.isArray(keys));
    const active = keys.filter((k) => k.state === 'active');
    const next = keys.filter((k) => k.state === 'next');
    assert.equal(active.length, 1);
    assert.equal(next.length, 1);
    const rotated = await json<{ activated: string; retired: string | null; next: string }>(['keys', 'rotate']);
    assert.equal(rotated.activated, next[0]?.kid, 'the pre-published key starts signing');
    assert.equal(rotated.retired, active[0]?.kid);
    assert.notEqual(rotated.next, rotated.activated);
    const after = await json<KeyInfo[]>(['keys', 'list']);
    const byKid = new Map(after.map((k) => [k.kid, k]));
    assert.equal(after.filter((k) => k.state === 'active').length, 1);
    assert.equal(byKid.get(rotated.activated)?.state, 'active');
    assert.equal(byKid.get(rotated.next)?.state, 'next');
    const old = byKid.get(active[0]?.kid as string);
    assert.equal(old?.state, 'retired', 'the old key is still listed');
    assert.ok(old?.publishedUntil, 'with the time until which it stays published');
    // Published at least as long as a token it signed may live (900 s by default).
    assert.ok(old.retiredAt);
    assert.ok(Date.parse(old.publishedUntil) - Date.parse(old.retiredAt) >= 900_000, `retired ${old.retiredAt}, published until ${old.publishedUntil}`);
    const human = await run(['keys', 'list']);
    assert.equal(human.code, 0);
    assert.match(human.stdout, new RegExp(`${rotated.retired}\\s+retired`));
  });

  it('migrate is idempotent', async () => {
    const fresh = tempDir('ccauth-cli-migrate-');
    try {
      const e = { env: { CCAUTH_DATA_DIR: fresh.path } };
      const first = await ccauthJson<{ applied: string[] }>(['migrate'], e);
      assert.ok(Array.isArray(first.applied));
      assert.ok(first.applied.length > 0, 'a fresh store gets its schema');
      const second = await ccauthJson<{ applied: string[] }>(['migrate'], e);
      assert.deepEqual(second.applied, []);
      const human = await ccauth(['migrate'], e);
      assert.equal(human.code, 0);
      assert.match(human.stdout, /already up to date/);
    } finally {
      fresh.remove();
    }
  });
});
