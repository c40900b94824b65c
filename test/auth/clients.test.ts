import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyResult } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { ALL_SCOPES } from '../../src/domain/scopes.js';
import type { Tenant } from '../support/region.js';
import { createCredential, createTenant, type TestRegion } from '../support/region.js';
import { FORM, assertWellFormedJwk, basicAuthorization, decodeJwt, fetchJwks, postForm, rawTokenPost, startPublicRegion, waitUntil } from '../support/oauth.js';

/**
 * Real OAuth clients against a running region: openid-client and oauth4webapi find the token
 * endpoint through discovery and authenticate with client_secret_post and client_secret_basic;
 * jose verifies every token through the published JWKS.
 */
describe('real OAuth clients get tokens that verify through the JWKS', () => {
  let t: TestRegion & { publicUrl: string; issuer: string };
  let tenant: Tenant;
  let admin: { clientId: string; secret: string };
  let supervisor: { clientId: string; secret: string };
  let accountLevel: { clientId: string; secret: string };
  let JWKS: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    t = await startPublicRegion();
    tenant = await createTenant(t.region);
    const a = await createCredential(t.region, tenant.admin, ['stats', 'users:read', 'globalpci']);
    admin = { clientId: a.credential.clientId, secret: a.clientSecret };
    const s = await createCredential(t.region, tenant.supervisor, ['users:read']);
    supervisor = { clientId: s.credential.clientId, secret: s.clientSecret };
    const imported = await t.region.issuer.importAccountLevel(tenant.account.id, { name: 'legacy integration', scopes: ['stats'] }, { id: null, email: null });
    accountLevel = { clientId: imported.credential.clientId, secret: imported.clientSecret };
    JWKS = createRemoteJWKSet(new URL(`${t.issuer}/.well-known/openid-configuration/jwks`));
  });
  after(async () => {
    await t.close();
  });

  async function verify(token: string): Promise<JWTVerifyResult<JWTPayload>> {
    return jwtVerify(token, JWKS, { issuer: t.issuer, audience: t.publicUrl, typ: 'at+jwt', algorithms: ['RS256'] });
  }

  it('publishes a discovery document at the issuer (OIDC) and at the RFC 8414 location', async () => {
    const res = await fetch(`${t.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.issuer, t.issuer);
    assert.equal(doc.issuer, `${t.publicUrl}/Auth`);
    assert.equal(doc.token_endpoint, `${t.issuer}/connect/token`);
    assert.equal(doc.jwks_uri, `${t.issuer}/.well-known/openid-configuration/jwks`);
    assert.deepEqual(doc.grant_types_supported, ['client_credentials']);
    assert.deepEqual([...(doc.token_endpoint_auth_methods_supported as string[])].sort(), ['client_secret_basic', 'client_secret_post']);
    assert.deepEqual([...(doc.scopes_supported as string[])].sort(), [...ALL_SCOPES].sort());

    const rfc8414 = await fetch(`${t.publicUrl}/.well-known/oauth-authorization-server/Auth`);
    assert.equal(rfc8414.status, 200);
    assert.deepEqual(await rfc8414.json(), doc);
  });

  it('openid-client: discovery + clientCredentialsGrant with client_secret_post', async () => {
    const config = await client.discovery(new URL(t.issuer), admin.clientId, undefined, client.ClientSecretPost(admin.secret), { execute: [client.allowInsecureRequests] });
    assert.equal(config.serverMetadata().token_endpoint, `${t.issuer}/connect/token`);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'stats' });
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'stats');
    assert.equal(tokens.expires_in, 900);
    const { payload } = await verify(tokens.access_token);
    assert.equal(payload.client_id, admin.clientId);
    assert.equal(payload.scope, 'stats');
  });

  it('openid-client: discovery + clientCredentialsGrant with client_secret_basic', async () => {
    const config = await client.discovery(new URL(t.issuer), supervisor.clientId, undefined, client.ClientSecretBasic(supervisor.secret), { execute: [client.allowInsecureRequests] });
    const tokens = await client.clientCredentialsGrant(config, { scope: 'users:read' });
    assert.equal(tokens.scope, 'users:read');
    const { payload } = await verify(tokens.access_token);
    assert.equal(payload.sub, supervisor.clientId);
    assert.equal(payload.user_id, tenant.supervisor.id);
  });

  it('openid-client: a wrong secret is an invalid_client error the library understands', async () => {
    const post = await client.discovery(new URL(t.issuer), admin.clientId, undefined, client.ClientSecretPost(admin.secret + 'x'), { execute: [client.allowInsecureRequests] });
    await assert.rejects(client.clientCredentialsGrant(post, { scope: 'stats' }), (err: unknown) => {
      assert.ok(err instanceof client.ResponseBodyError, String(err));
      assert.equal(err.error, 'invalid_client');
      assert.equal(err.status, 401);
      return true;
    });
    // With Basic, the 401 carries a Basic challenge (RFC 6749 5.2), which the library surfaces.
    const basic = await client.discovery(new URL(t.issuer), admin.clientId, undefined, client.ClientSecretBasic(admin.secret + 'x'), { execute: [client.allowInsecureRequests] });
    await assert.rejects(client.clientCredentialsGrant(basic, { scope: 'stats' }), (err: unknown) => {
      assert.ok(err instanceof client.WWWAuthenticateChallengeError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.cause[0]?.scheme, 'basic');
      return true;
    });
  });

  for (const algorithm of ['oidc', 'oauth2'] as const) {
    for (const method of ['client_secret_post', 'client_secret_basic'] as const) {
      it(`oauth4webapi: ${algorithm} discovery + client credentials grant with ${method}`, async () => {
        const issuer = new URL(t.issuer);
        const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm, [oauth.allowInsecureRequests]: true }));
        assert.equal(as.issuer, t.issuer);
        const c: oauth.Client = { client_id: admin.clientId };
        // oauth4webapi form-encodes even "-", "_" and "." in Basic (RFC 6749 2.3.1), so this
        // also proves the server decodes what it is sent rather than comparing raw text.
        const auth = method === 'client_secret_post' ? oauth.ClientSecretPost(admin.secret) : oauth.ClientSecretBasic(admin.secret);
        const response = await oauth.clientCredentialsGrantRequest(as, c, auth, { scope: 'stats users:read' }, { [oauth.allowInsecureRequests]: true });
        assert.equal(response.headers.get('cache-control'), 'no-store');
        const result = await oauth.processClientCredentialsResponse(as, c, response);
        assert.equal(result.token_type, 'bearer');
        assert.equal(result.scope, 'stats users:read');
        const { payload } = await verify(result.access_token);
        assert.equal(payload.scope, 'stats users:read');
      });
    }
  }

  it('the token header and the JWKS key match: alg, typ, kid, x5t, and x5c is a certificate for the key', async () => {
    const res = await rawTokenPost(t.baseUrl, postForm({ grant_type: 'client_credentials', client_id: admin.clientId, client_secret: admin.secret, scope: 'stats' }), FORM);
    assert.equal(res.status, 200, res.text);
    const token = res.json?.access_token as string;
    const { protectedHeader } = await verify(token);
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(typeof protectedHeader.kid, 'string');
    assert.equal(typeof protectedHeader.x5t, 'string');

    const keys = await fetchJwks(`${t.issuer}/.well-known/openid-configuration/jwks`);
    const key = keys.find((k) => k.kid === protectedHeader.kid);
    assert.ok(key, 'the signing key is published');
    assert.equal(key.x5t, protectedHeader.x5t, 'header x5t equals the JWKS key x5t');
    assert.equal(key.alg, 'RS256');
    assert.equal(key.use, 'sig');
    for (const k of keys) assertWellFormedJwk(k);
    assert.equal(new Set(keys.map((k) => k.kid)).size, keys.length, 'kids are unique');
  });

  it('claims: iss, aud, sub = client_id, scope, iat/nbf/exp (900 s default), jti, account_id, region, user_id', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await rawTokenPost(t.baseUrl, postForm({ grant_type: 'client_credentials', scope: 'globalpci' }), { ...FORM, authorization: basicAuthorization(admin.clientId, admin.secret) });
    const after = Math.ceil(Date.now() / 1000);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.json ?? {}).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(res.json?.token_type, 'Bearer');
    assert.equal(res.json?.expires_in, 900);
    const { payload } = await verify(res.json?.access_token as string);
    assert.equal(payload.iss, `${t.publicUrl}/Auth`);
    assert.equal(payload.aud, t.publicUrl);
    assert.equal(payload.sub, admin.clientId);
    assert.equal(payload.client_id, admin.clientId);
    assert.equal(payload.scope, 'globalpci');
    assert.ok(typeof payload.iat === 'number' && payload.iat >= before && payload.iat <= after, `iat ${payload.iat} in [${before}, ${after}]`);
    assert.equal(payload.nbf, payload.iat);
    assert.equal((payload.exp as number) - payload.iat, 900);
    assert.match(payload.jti as string, /^[0-9a-f-]{36}$/);
    assert.equal(payload.account_id, tenant.account.id);
    assert.equal(payload.region, 'emea');
    assert.equal(payload.user_id, tenant.admin.id);
  });

  it('an account-level credential gets a token without user_id', async () => {
    const res = await rawTokenPost(t.baseUrl, postForm({ grant_type: 'client_credentials', client_id: accountLevel.clientId, client_secret: accountLevel.secret, scope: 'stats' }), FORM);
    assert.equal(res.status, 200, res.text);
    const { payload } = await verify(res.json?.access_token as string);
    assert.equal(payload.sub, accountLevel.clientId);
    assert.equal(payload.account_id, tenant.account.id);
    assert.ok(!('user_id' in payload), 'no user_id for an account-level credential');
  });

  it('every token has its own jti', async () => {
    const jtis = new Set<string>();
    const tokens = await Promise.all(
      Array.from({ length: 25 }, () => rawTokenPost(t.baseUrl, postForm({ grant_type: 'client_credentials', client_id: admin.clientId, client_secret: admin.secret, scope: 'stats' }), FORM)),
    );
    for (const res of tokens) {
      assert.equal(res.status, 200);
      jtis.add(decodeJwt(res.json?.access_token as string).payload.jti as string);
    }
    assert.equal(jtis.size, 25);
  });

  it("the account's token lifetime is the token's: a change to 7200 s takes effect", async () => {
    const other = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, other.supervisor, ['users:read']);
    const form = postForm({ grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'users:read' });
    const first = await rawTokenPost(t.baseUrl, form, FORM);
    assert.equal(first.json?.expires_in, 900);

    await t.region.store.accounts.update(other.account.id, { accessTokenLifetimeSeconds: 7200 });
    let last: Awaited<ReturnType<typeof rawTokenPost>> | undefined;
    await waitUntil(
      async () => {
        last = await rawTokenPost(t.baseUrl, form, FORM);
        return last.json?.expires_in === 7200;
      },
      1000,
      'the new lifetime applies',
    );
    const { payload } = await verify(last?.json?.access_token as string);
    assert.equal((payload.exp as number) - (payload.iat as number), 7200);
    // Other accounts keep theirs.
    const mine = await rawTokenPost(t.baseUrl, postForm({ grant_type: 'client_credentials', client_id: admin.clientId, client_secret: admin.secret, scope: 'stats' }), FORM);
    assert.equal(mine.json?.expires_in, 900);
  });

  describe('client_secret_basic with RFC 6749 2.3.1 form-encoding', () => {
    // Our issued secrets are base64url; to prove the decoding, give one credential a secret full
    // of characters that must be encoded (as an operator-imported or migrated secret could be).
    const oddSecret = 'a b+c%d:e&f=g/h?é€';
    let odd: { clientId: string };

    before(async () => {
      const created = await createCredential(t.region, tenant.admin, ['stats']);
      await t.region.store.credentials.replaceSecret(created.credential.id, t.region.hasher.hash(oddSecret), null);
      await t.region.feed.poll();
      odd = { clientId: created.credential.clientId };
    });

    it('an issued (base64url) secret works in Basic both plain and fully percent-encoded', async () => {
      const everyChar = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
      for (const encode of [(s: string) => s, everyChar]) {
        const res = await rawTokenPost(t.baseUrl, 'grant_type=client_credentials&scope=stats', { ...FORM, authorization: basicAuthorization(admin.clientId, admin.secret, encode) });
        assert.equal(res.status, 200, res.text);
      }
    });

    it('a secret with reserved characters: form-encoded in Basic, plain form field in the body', async () => {
      const basic = await rawTokenPost(t.baseUrl, 'grant_type=client_credentials&scope=stats', { ...FORM, authorization: basicAuthorization(odd.clientId, oddSecret) });
      assert.equal(basic.status, 200, basic.text);
      const post = await rawTokenPost(t.baseUrl, postForm({ grant_type: 'client_credentials', client_id: odd.clientId, client_secret: oddSecret, scope: 'stats' }), FORM);
      assert.equal(post.status, 200, post.text);
    });

    it('"+" in Basic is decoded as a space and "%25" as "%": the raw secret is not what is compared', async () => {
      // "a b+c%d" form-encoded is "a+b%2Bc%25d": a client that sends the secret unencoded sends
      // a literal "+" (a space after decoding) and a bare "%d:" (malformed): neither may match.
      const unencoded = `Basic ${Buffer.from(`${odd.clientId}:${oddSecret}`, 'utf8').toString('base64')}`;
      const res = await rawTokenPost(t.baseUrl, 'grant_type=client_credentials&scope=stats', { ...FORM, authorization: unencoded });
      assert.ok(res.status === 400 || res.status === 401, `${res.status} ${res.text}`);
      assert.ok(res.json?.error === 'invalid_request' || res.json?.error === 'invalid_client');

      const plusSecret = 'x+y';
      const created = await createCredential(t.region, tenant.admin, ['stats']);
      await t.region.store.credentials.replaceSecret(created.credential.id, t.region.hasher.hash(plusSecret), null);
      await t.region.feed.poll();
      const raw = (s: string) => s;
      const asSpace = await rawTokenPost(t.baseUrl, 'grant_type=client_credentials&scope=stats', { ...FORM, authorization: basicAuthorization(created.credential.clientId, plusSecret, raw) });
      assert.equal(asSpace.status, 401, 'a literal + is a space, so "x+y" unencoded is the secret "x y"');
      const encoded = await rawTokenPost(t.baseUrl, 'grant_type=client_credentials&scope=stats', { ...FORM, authorization: basicAuthorization(created.credential.clientId, plusSecret) });
      assert.equal(encoded.status, 200, encoded.text);
      const spaceSecret = await rawTokenPost(t.baseUrl, 'grant_type=client_credentials&scope=stats', { ...FORM, authorization: basicAuthorization(created.credential.clientId, 'x y', raw) });
      assert.equal(spaceSecret.status, 401);
    });

    it('openid-client and oauth4webapi with Basic and a secret that needs encoding', async () => {
      const config = await client.discovery(new URL(t.issuer), odd.clientId, undefined, client.ClientSecretBasic(oddSecret), { execute: [client.allowInsecureRequests] });
      const tokens = await client.clientCredentialsGrant(config, { scope: 'stats' });
      await verify(tokens.access_token);

      const issuer = new URL(t.issuer);
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }));
      const c: oauth.Client = { client_id: odd.clientId };
      const response = await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(oddSecret), { scope: 'stats' }, { [oauth.allowInsecureRequests]: true });
      const result = await oauth.processClientCredentialsResponse(as, c, response);
      await verify(result.access_token);
    });
  });
});
