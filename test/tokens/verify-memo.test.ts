import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BearerError } from '../../src/tokens/verify.js';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion } from '../support/region.js';

/**
 * The verifier remembers an acceptance per token (src/tokens/verify.ts) while the revocation list
 * is unchanged. A revocation that arrives while the check waits for the store (its client not
 * cached) must not be taken as "nothing revoked since": that request raced the revocation, every
 * later one must see it.
 */
describe('the remembered acceptance and a revocation during the store read', () => {
  let t: TestRegion;
  before(async () => {
    t = await startRegion();
  });
  after(async () => {
    await t?.close();
  });

  it('a token revoked while its client was being read is refused from the next request on', async () => {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['stats']);
    const res = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' });
    assert.equal(res.status, 200);
    const token = res.body.access_token as string;
    const { jti, exp } = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { jti: string; exp: number };
    const { clients, revocations, verifier } = t.region;

    // The client not cached, so the check reads it from the store; the revocation lands meanwhile.
    clients.invalidateClient(credential.clientId);
    assert.equal(clients.peek(credential.clientId), undefined);
    const get = clients.get.bind(clients);
    clients.get = async (clientId: string) => {
      const record = await get(clientId);
      revocations.add(jti, exp * 1000);
      return record;
    };
    try {
      // This one raced the revocation: either answer is right for it.
      await verifier.verifyToken(token).catch(() => undefined);
    } finally {
      clients.get = get;
    }
    assert.equal(revocations.isRevoked(jti), true);
    for (let i = 0; i < 3; i++) {
      await assert.rejects(verifier.verifyToken(token), (err: unknown) => err instanceof BearerError && err.reason === 'revoked', `request ${i + 1} after the revocation`);
      assert.throws(() => verifier.verifyNow(`Bearer ${token}`), (err: unknown) => err instanceof BearerError && err.reason === 'revoked');
    }
  });
});
