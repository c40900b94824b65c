// Two rotations of one credential at the same moment (one without grace, one with): whatever order
// they apply in, the secret cut by the rotation without grace never comes back as the previous
// secret, and a secret that a rotation handed out is never silently lost while the other keeps it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { CredentialIssuer } from '../../src/auth/credentials.js';
import { SecretHasher } from '../../src/auth/secrets.js';
import { describeEachDialect, storeForSuite } from '../support/dialects.js';

await describeEachDialect('concurrent rotations', (makeFixture, dialect) => {
  const suite = storeForSuite(makeFixture);

  it('a rotation with grace never keeps a secret that a concurrent rotation without grace cut', async () => {
    const { store } = suite;
    const hasher = new SecretHasher(randomBytes(32));
    const account = await store.accounts.create({ name: 'Race', apiCredentialsEnabled: true });
    const user = await store.users.create({ accountId: account.id, email: `race-${dialect}@example.test`, license: 'admin' });
    const issuer = new CredentialIssuer(store, hasher);
    const rounds = dialect === 'postgres' ? 40 : 10;
    const failures: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const { credential } = await issuer.createUserLevel(user, { name: `c${i}`, scopes: ['stats'] }, { id: user.id, email: user.email });
      const original = (await store.credentials.findClient(credential.clientId))!;
      const cut = store.transaction((trx) => store.credentials.replaceSecret(credential.id, hasher.hash(`B${i}`), null, trx));
      const graced = store.transaction((trx) => store.credentials.replaceSecret(credential.id, hasher.hash(`C${i}`), Date.now() + 3_600_000, trx));
      const [a, b] = await Promise.all([cut, graced]);
      assert.ok(a && b);
      const now = (await store.credentials.findClient(credential.clientId))!;
      const live = [now.secretHash, now.previousSecretHash];
      const liveIds = [now.secretId, now.previousSecretId];
      if (live.includes(original.secretHash) || liveIds.includes(original.secretId)) failures.push(`round ${i}: the cut secret is live again`);
      // Serial outcomes only: (cut, graced) → current C, previous B; (graced, cut) → current B, no previous.
      const cutFirst = now.secretHash === hasher.hash(`C${i}`) && now.previousSecretHash === hasher.hash(`B${i}`);
      const gracedFirst = now.secretHash === hasher.hash(`B${i}`) && now.previousSecretHash === null && now.previousSecretId === null;
      if (!cutFirst && !gracedFirst) failures.push(`round ${i}: not a serial outcome`);
    }
    assert.deepEqual(failures, []);
  });
});
