import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { createCredential, createTenant, type TestRegion } from '../support/region.js';
import { FORM, assertOAuthError, decodeJwt, fetchJwks, postForm, rawTokenPost, startPublicRegion } from '../support/oauth.js';

type PublicRegion = TestRegion & { publicUrl: string; issuer: string };

/**
 * SPEC 1: each region has its own issuer, signing keys and data store; a token issued in one
 * region is refused by every other. Until the gateway exists, "refused" is checked the way any
 * relying party of the other region checks a token: jose against that region's published JWKS,
 * issuer and audience (from its discovery document).
 */
describe('two regions: emea and nam', () => {
  let emea: PublicRegion;
  let nam: PublicRegion;
  const tokens: Record<'emea' | 'nam', string> = { emea: '', nam: '' };
  const creds: Record<'emea' | 'nam', Record<string, string>> = { emea: {}, nam: {} };

  before(async () => {
    [emea, nam] = await Promise.all([startPublicRegion({ CCAUTH_REGION: 'emea' }), startPublicRegion({ CCAUTH_REGION: 'nam' })]);
    for (const [name, r] of [['emea', emea], ['nam', nam]] as const) {
      const tenant = await createTenant(r.region);
      const { credential, clientSecret } = await createCredential(r.region, tenant.admin, ['stats']);
      creds[name] = { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' };
      const res = await rawTokenPost(r.baseUrl, postForm(creds[name]), FORM);
      assert.equal(res.status, 200, res.text);
      tokens[name] = res.json?.access_token as string;
    }
  });
  after(async () => {
    await Promise.all([emea?.close(), nam?.close()]);
  });

  async function relyingParty(r: PublicRegion) {
    const doc = (await (await fetch(`${r.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    const jwks = createRemoteJWKSet(new URL(doc.jwks_uri));
    return (token: string, options: { issuer?: string; audience?: string } = {}) =>
      jwtVerify(token, jwks, { issuer: options.issuer ?? doc.issuer, audience: options.audience ?? r.publicUrl, typ: 'at+jwt', algorithms: ['RS256'] });
  }

  it('the regions are separate: data dirs, issuers, signing keys', async () => {
    assert.notEqual(emea.dataDir, nam.dataDir);
    assert.notEqual(emea.issuer, nam.issuer);
    const [keysEmea, keysNam] = await Promise.all([fetchJwks(`${emea.issuer}/.well-known/openid-configuration/jwks`), fetchJwks(`${nam.issuer}/.well-known/openid-configuration/jwks`)]);
    const kidsNam = new Set(keysNam.map((k) => k.kid));
    assert.ok(keysEmea.every((k) => !kidsNam.has(k.kid)), 'no key is shared');
    assert.ok(keysEmea.every((k) => keysNam.every((n) => n.n !== k.n)), 'no modulus is shared');
  });

  it('each token verifies in its own region and carries its region claim', async () => {
    const inEmea = await (await relyingParty(emea))(tokens.emea);
    const inNam = await (await relyingParty(nam))(tokens.nam);
    assert.equal(inEmea.payload.region, 'emea');
    assert.equal(inNam.payload.region, 'nam');
    assert.equal(inEmea.payload.iss, emea.issuer);
    assert.equal(inNam.payload.iss, nam.issuer);
    assert.notEqual(inEmea.payload.iss, inNam.payload.iss);
  });

  it('a token of one region fails verification against the other region (keys, issuer, audience)', async () => {
    const verifyAtNam = await relyingParty(nam);
    const verifyAtEmea = await relyingParty(emea);
    // The other region's keys do not know the token's kid.
    await assert.rejects(verifyAtNam(tokens.emea), errors.JWKSNoMatchingKey);
    await assert.rejects(verifyAtEmea(tokens.nam), errors.JWKSNoMatchingKey);
    // Even told to accept the issuing region's iss and aud, the other region's keys refuse it.
    await assert.rejects(verifyAtNam(tokens.emea, { issuer: emea.issuer, audience: emea.publicUrl }), errors.JWKSNoMatchingKey);

    // A token whose header names a key of the other region (kid and x5t rewritten) is still
    // refused: its signature does not verify with that key.
    const namKeys = await fetchJwks(`${nam.issuer}/.well-known/openid-configuration/jwks`);
    const [, payload, signature] = tokens.emea.split('.');
    const header = { ...decodeJwt(tokens.emea).header, kid: namKeys[0]?.kid, x5t: namKeys[0]?.x5t };
    const forged = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payload}.${signature}`;
    await assert.rejects(verifyAtNam(forged, { issuer: emea.issuer, audience: emea.publicUrl }), errors.JWSSignatureVerificationFailed);

    // With the right keys but the other region's issuer and audience, the claims are refused.
    await assert.rejects(verifyAtEmea(tokens.emea, { issuer: nam.issuer }), errors.JWTClaimValidationFailed);
    await assert.rejects(verifyAtEmea(tokens.emea, { audience: nam.publicUrl }), errors.JWTClaimValidationFailed);
  });

  it('a credential of one region is unknown in the other', async () => {
    const atNam = await rawTokenPost(nam.baseUrl, postForm(creds.emea as Record<string, string>), FORM);
    assertOAuthError(atNam, 401, 'invalid_client');
    const atEmea = await rawTokenPost(emea.baseUrl, postForm(creds.nam as Record<string, string>), FORM);
    assertOAuthError(atEmea, 401, 'invalid_client');
  });
});
