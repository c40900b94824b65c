import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import { MasterKey } from '../../src/auth/master-key.js';
import { rotateKeys } from '../../src/auth/signing-keys.js';
import { createCredential, createTenant, type TestRegion } from '../support/region.js';
import { FORM, type PublishedJwk, assertWellFormedJwk, decodeJwt, fetchJwks, postForm, rawTokenPost, startPublicRegion, waitUntil } from '../support/oauth.js';

/**
 * Signing keys: the next key is published before it signs; rotation makes it active, keeps the
 * retired key published while its tokens may live, and publishes a new next key. Private keys
 * are encrypted at rest under the master key, whose file is owner-only.
 */
describe('signing keys and rotation', () => {
  let t: TestRegion & { publicUrl: string; issuer: string };
  let form: string;
  let jwksUri: string;

  before(async () => {
    t = await startPublicRegion();
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['stats']);
    form = postForm({ grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' });
    jwksUri = `${t.issuer}/.well-known/openid-configuration/jwks`;
  });
  after(async () => {
    await t.close();
  });

  async function token(): Promise<string> {
    const res = await rawTokenPost(t.baseUrl, form, FORM);
    assert.equal(res.status, 200, res.text);
    return res.json?.access_token as string;
  }

  /** Verify with a JWKS fetched now (a fresh set, so no caching hides a change). */
  async function verifyNow(jwt: string) {
    const keys = await fetchJwks(jwksUri);
    return jwtVerify(jwt, createLocalJWKSet({ keys: keys as unknown as Parameters<typeof createLocalJWKSet>[0]['keys'] }), { issuer: t.issuer, audience: t.publicUrl, typ: 'at+jwt', algorithms: ['RS256'] });
  }

  async function statesByKid(): Promise<Map<string, string>> {
    const rows = await t.region.store.keys.listAll();
    return new Map(rows.map((r) => [r.kid, r.state]));
  }

  it('rotation: the pre-published next key signs, the old key stays published, a new next key appears', async () => {
    // Before: the active key and the next key, both published; tokens use the active one.
    const before = await fetchJwks(jwksUri);
    assert.equal(before.length, 2, 'active + next');
    before.forEach(assertWellFormedJwk);
    const states = await statesByKid();
    const active = before.find((k) => states.get(k.kid) === 'active') as PublishedJwk;
    const next = before.find((k) => states.get(k.kid) === 'next') as PublishedJwk;
    assert.ok(active && next, JSON.stringify([...states]));
    const oldToken = await token();
    assert.equal(decodeJwt(oldToken).header.kid, active.kid);
    assert.equal(decodeJwt(oldToken).header.x5t, active.x5t);
    assert.notEqual(decodeJwt(oldToken).header.kid, next.kid, 'the next key does not sign before rotation');
    // A relying party that cached the JWKS before rotation already knows the next key.
    const cachedBeforeRotation = createLocalJWKSet({ keys: before as unknown as Parameters<typeof createLocalJWKSet>[0]['keys'] });

    const result = await rotateKeys(t.region.store, t.region.masterKey, t.config.region);
    assert.equal(result.activated, next.kid);
    assert.equal(result.retired, active.kid);

    // The running server picks the rotation up through the change feed (no restart, no poll() call).
    await waitUntil(async () => decodeJwt(await token()).header.kid === next.kid, 1000, 'new tokens are signed by the former next key');
    const newToken = await token();
    assert.equal(decodeJwt(newToken).header.x5t, next.x5t);

    const afterKeys = await fetchJwks(jwksUri);
    const kids = afterKeys.map((k) => k.kid);
    assert.equal(afterKeys.length, 3, 'retired + active + next');
    assert.ok(kids.includes(active.kid), 'the retired key stays published');
    assert.ok(kids.includes(next.kid));
    assert.ok(kids.includes(result.next), 'a new next key is published');
    assert.ok(![active.kid, next.kid].includes(result.next));
    afterKeys.forEach(assertWellFormedJwk);
    assert.equal((await statesByKid()).get(result.next), 'next');

    // The old token still verifies, against the live JWKS and through a remote JWKS client.
    await verifyNow(oldToken);
    await verifyNow(newToken);
    await jwtVerify(oldToken, createRemoteJWKSet(new URL(jwksUri)), { issuer: t.issuer, audience: t.publicUrl, typ: 'at+jwt', algorithms: ['RS256'] });
    // And a relying party with the JWKS from before rotation verifies the new token without refetching.
    await jwtVerify(newToken, cachedBeforeRotation, { issuer: t.issuer, audience: t.publicUrl, typ: 'at+jwt', algorithms: ['RS256'] });

    // The retired key is published at least as long as the longest token lifetime.
    const retiredRow = (await t.region.store.keys.listAll()).find((r) => r.kid === active.kid);
    assert.equal(retiredRow?.state, 'retired');
    assert.ok(Number(retiredRow?.publish_until) >= Date.now() + 900_000, 'published for at least the 900 s token lifetime');
  });

  it('a second rotation keeps both retired keys published while their tokens may live', async () => {
    const before = await fetchJwks(jwksUri);
    const tokenBefore = await token();
    const result = await rotateKeys(t.region.store, t.region.masterKey, t.config.region);
    await t.region.feed.poll();
    assert.equal(decodeJwt(await token()).header.kid, result.activated);
    const afterKeys = await fetchJwks(jwksUri);
    for (const k of before) assert.ok(afterKeys.some((a) => a.kid === k.kid), `still published: ${k.kid}`);
    assert.equal(afterKeys.length, before.length + 1);
    await verifyNow(tokenBefore);
  });

  it('private keys are encrypted at rest: no PEM or DER of a private key in the store', async () => {
    const rows = await t.region.store.db.selectFrom('signing_keys').selectAll().execute();
    assert.ok(rows.length >= 2);
    const files = readdirSync(t.dataDir).filter((f) => f.startsWith('ccauth.sqlite'));
    const onDisk = Buffer.concat(files.map((f) => readFileSync(join(t.dataDir, f))));
    for (const row of rows) {
      const sealed = row.private_key_enc;
      assert.ok(!/PRIVATE KEY|BEGIN/.test(sealed), 'no PEM');
      const der = t.region.masterKey.decrypt(sealed, 'signing-key');
      // It really is the private key of the published public key.
      const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { n: string };
      assert.equal(publicJwk.n, (JSON.parse(row.public_jwk) as { n: string }).n);
      // None of its encodings appear in the column, nor anywhere in the database files.
      const secretPart = (privateKey.export({ format: 'jwk' }) as { d: string }).d;
      for (const encoding of [der.toString('base64'), der.toString('base64url'), der.toString('hex'), secretPart]) {
        assert.ok(!sealed.includes(encoding.slice(0, 64)), 'the column does not hold the key in clear');
      }
      assert.equal(onDisk.indexOf(der.subarray(0, 64)), -1, 'the DER of the private key is not in the database files');
      assert.equal(onDisk.indexOf(Buffer.from(secretPart, 'base64url').subarray(0, 32)), -1, 'the private exponent is not in the database files');
      // Another master key cannot open it.
      const stranger = MasterKey.load({ masterKey: randomBytes(32).toString('base64'), dataDir: t.dataDir });
      assert.throws(() => stranger.decrypt(sealed, 'signing-key'));
    }
    // The JWKS publishes public members only (also checked by assertWellFormedJwk).
    for (const k of await fetchJwks(jwksUri)) assert.ok(!('d' in k));
  });

  it('the master key file is <dataDir>/master.key with mode 0600', async () => {
    const file = join(t.dataDir, 'master.key');
    const mode = statSync(file).mode & 0o777;
    assert.equal(mode.toString(8), '600');
    assert.equal(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').length, 32);
  });
});
