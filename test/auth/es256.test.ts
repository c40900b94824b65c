import assert from 'node:assert/strict';
import { X509Certificate, createHash, createHmac, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { rotateKeys } from '../../src/auth/signing-keys.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { dropSchema, freePort, postgresAvailable, postgresUrl, tempDir, uniqueSchema } from '../support/env.js';
import { ccauth, ccauthJson, ensureBuilt } from '../cli/helpers.js';
import { FORM, decodeJwt, postForm, rawTokenPost, startPublicRegion, waitUntil } from '../support/oauth.js';
import { createCredential, createTenant, startRegion, type TestRegion } from '../support/region.js';

/**
 * CCAUTH_SIGNING_ALG=ES256 (issue 8 item 4): P-256 keys with a certificate in x5c, ES256 tokens
 * (JWS signature R || S) that real clients accept through discovery and the JWKS, a gateway and
 * introspection that pin the alg to the key's own, rotation, and a region switched from RS256.
 */

interface EcJwk {
  kty: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  alg?: string;
  use?: string;
  kid: string;
  x5t?: string;
  x5c?: string[];
}

type JwksKeys = Parameters<typeof createLocalJWKSet>[0]['keys'];

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const GATEWAY_PATH = '/agents-availability?skillNames=English';
const INVALID = { error: 'invalid_token', message: 'The access token is invalid or has expired' };

async function jwksOf(issuer: string): Promise<EcJwk[]> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration/jwks`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { keys: EcJwk[] }).keys;
}

async function gateway(baseUrl: string, token: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}${GATEWAY_PATH}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A published P-256 key as a relying party that pins certificates checks it. */
function assertEcJwk(jwk: EcJwk): void {
  assert.equal(jwk.kty, 'EC');
  assert.equal(jwk.crv, 'P-256');
  assert.equal(jwk.alg, 'ES256');
  assert.equal(jwk.use, 'sig');
  assert.ok(!('d' in jwk), 'no private member');
  assert.equal(Buffer.from(jwk.x as string, 'base64url').length, 32);
  assert.equal(Buffer.from(jwk.y as string, 'base64url').length, 32);
  // RFC 7638 thumbprint: required members in lexicographic order.
  assert.equal(jwk.kid, createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y })).digest('base64url'));
  assert.ok(Array.isArray(jwk.x5c) && jwk.x5c.length === 1);
  const der = Buffer.from(jwk.x5c[0] as string, 'base64');
  assert.equal(der.toString('base64'), jwk.x5c[0], 'x5c is standard base64 of DER');
  assert.equal(jwk.x5t, createHash('sha1').update(der).digest('base64url'), 'x5t = base64url(SHA-1(DER))');
  const cert = new X509Certificate(der);
  const certJwk = cert.publicKey.export({ format: 'jwk' }) as { crv: string; x: string; y: string };
  assert.deepEqual([certJwk.crv, certJwk.x, certJwk.y], ['P-256', jwk.x, jwk.y], 'the certificate is for the published key');
  assert.ok(cert.verify(cert.publicKey), 'self-signed by the key (ecdsa-with-SHA256)');
  assert.equal(cert.subject, cert.issuer);
  assert.ok(new Date(cert.validFrom).getTime() <= Date.now() && new Date(cert.validTo).getTime() > Date.now() + 365 * 24 * 3600_000);
  assert.equal(cert.ca, false);
}

describe('a region signing with ES256', () => {
  let t: TestRegion & { publicUrl: string; issuer: string };
  let clientId: string;
  let clientSecret: string;
  let form: string;

  before(async () => {
    t = await startPublicRegion({ CCAUTH_SIGNING_ALG: 'ES256' });
    const tenant = await createTenant(t.region);
    ({ credential: { clientId }, clientSecret } = await createCredential(t.region, tenant.admin, ['agents-availability:read', 'stats']));
    form = postForm({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'agents-availability:read' });
  });
  after(async () => {
    await t.close();
  });

  async function token(): Promise<string> {
    const res = await rawTokenPost(t.baseUrl, form, FORM);
    assert.equal(res.status, 200, res.text);
    return res.json?.access_token as string;
  }

  async function verify(jwt: string) {
    return jwtVerify(jwt, createRemoteJWKSet(new URL(`${t.issuer}/.well-known/openid-configuration/jwks`)), { issuer: t.issuer, audience: t.publicUrl, typ: 'at+jwt', algorithms: ['ES256'] });
  }

  it('publishes P-256 keys (kty EC, crv, x, y, alg ES256, use sig, kid, x5t) with an x5c certificate for the same key', async () => {
    const keys = await jwksOf(t.issuer);
    assert.equal(keys.length, 2, 'active + next');
    keys.forEach(assertEcJwk);
    const rows = await t.region.store.keys.listAll();
    assert.deepEqual(rows.map((r) => r.alg), ['ES256', 'ES256']);
  });

  it('issues ES256 tokens (64-byte R || S signature) that jose verifies through the remote JWKS', async () => {
    const jwt = await token();
    const { header } = decodeJwt(jwt);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'at+jwt');
    const active = (await t.region.store.keys.listAll()).find((r) => r.state === 'active');
    assert.equal(header.kid, active?.kid);
    assert.equal(header.x5t, active?.x5t);
    assert.equal(Buffer.from(jwt.split('.')[2] as string, 'base64url').length, 64, 'JWS ES256 signatures are IEEE P1363, not DER');
    const { payload, protectedHeader } = await verify(jwt);
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.client_id, clientId);
    assert.equal(payload.region, 'emea');
    // And jose refuses it as RS256: the alg is really ES256.
    await assert.rejects(jwtVerify(jwt, createLocalJWKSet({ keys: (await jwksOf(t.issuer)) as JwksKeys }), { algorithms: ['RS256'] }));
  });

  it('discovery names ES256; openid-client and oauth4webapi get tokens through it, and oauth4webapi validates them (RFC 9068)', async () => {
    const doc = (await (await fetch(`${t.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.deepEqual(doc.id_token_signing_alg_values_supported, ['ES256']);

    const config = await client.discovery(new URL(t.issuer), clientId, undefined, client.ClientSecretPost(clientSecret), { execute: [client.allowInsecureRequests] });
    const viaOpenidClient = await client.clientCredentialsGrant(config, { scope: 'stats' });
    assert.equal((await verify(viaOpenidClient.access_token)).payload.scope, 'stats');

    const issuer = new URL(t.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }));
    const c: oauth.Client = { client_id: clientId };
    const response = await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(clientSecret), { scope: 'stats' }, { [oauth.allowInsecureRequests]: true });
    const result = await oauth.processClientCredentialsResponse(as, c, response);
    // A resource server validating the JWT access token with the AS metadata and its jwks_uri.
    const request = new Request(`${t.publicUrl}/stats`, { headers: { authorization: `Bearer ${result.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(as, request, t.publicUrl, { [oauth.allowInsecureRequests]: true, signingAlgorithms: ['ES256'] });
    assert.equal(claims.client_id, clientId);
    assert.equal(claims.scope, 'stats');
  });

  it('the gateway accepts ES256 tokens and refuses RS256-signed, alg none, HS256-with-the-public-key, DER-signed, foreign-key and tampered ones', async () => {
    const good = await token();
    assert.equal((await gateway(t.baseUrl, good)).status, 200);
    const [h, p, s] = good.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const jwk = (await jwksOf(t.issuer)).find((k) => k.kid === header.kid) as EcJwk;
    const publicKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string }, format: 'jwk' });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const own = t.region.keys.signingKey().privateKey;
    const signed = (hdr: Record<string, unknown>, body: Record<string, unknown>, signer: (input: Buffer) => Buffer) => {
      const input = `${b64(hdr)}.${b64(body)}`;
      return `${input}.${signer(Buffer.from(input)).toString('base64url')}`;
    };
    const hmac = (secret: string) => (input: Buffer) => createHmac('sha256', secret).update(input).digest();
    const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

    // Control: the harness signs what the region signs.
    assert.equal((await gateway(t.baseUrl, signed(header, claims, (i) => sign('sha256', i, { key: own, dsaEncoding: 'ieee-p1363' })))).status, 200, 'control: re-signed with the region key');
    const cases: [string, string][] = [
      ['RS256 header under the ES256 kid, signed with an RSA key', signed({ ...header, alg: 'RS256' }, claims, (i) => sign('sha256', i, rsaKey))],
      ['RS256 header under the ES256 kid, with the ES256 signature', `${b64({ ...header, alg: 'RS256' })}.${p}.${s}`],
      // Alg confusion with a signature that is right for the key: only the pin refuses it.
      ['RS256 header, ES256 signature by the region key', signed({ ...header, alg: 'RS256' }, claims, (i) => sign('sha256', i, { key: own, dsaEncoding: 'ieee-p1363' }))],
      ['alg none', `${b64({ ...header, alg: 'none' })}.${p}.`],
      ['alg none with the original signature', `${b64({ ...header, alg: 'none' })}.${p}.${s}`],
      ['HS256 with the public key PEM as secret', signed({ ...header, alg: 'HS256' }, claims, hmac(publicPem))],
      ['HS256 with the public JWK as secret', signed({ ...header, alg: 'HS256' }, claims, hmac(JSON.stringify(jwk)))],
      ['ES384 header', signed({ ...header, alg: 'ES384' }, claims, (i) => sign('sha384', i, { key: own, dsaEncoding: 'ieee-p1363' }))],
      ['ES256 with a DER signature by the region key', signed(header, claims, (i) => sign('sha256', i, own))],
      ['ES256 signed by another P-256 key under our kid', signed(header, claims, (i) => sign('sha256', i, { key: attackerEc, dsaEncoding: 'ieee-p1363' }))],
      ['tampered payload', `${h}.${b64({ ...claims, scope: 'agents-availability:read stats' })}.${s}`],
      ['truncated signature', `${h}.${p}.${s.slice(0, 80)}`],
      ['signature with a byte added', `${h}.${p}.${Buffer.concat([Buffer.from(s, 'base64url'), Buffer.from([0])]).toString('base64url')}`],
    ];
    for (const [name, jwt] of cases) {
      const res = await gateway(t.baseUrl, jwt);
      assert.equal(res.status, 401, name);
      assert.deepEqual(res.body, INVALID, name);
    }
  });

  it('introspection and revocation work for ES256 tokens', async () => {
    const jwt = await token();
    const introspect = () =>
      fetch(`${t.baseUrl}/Auth/connect/introspect`, { method: 'POST', headers: FORM, body: postForm({ token: jwt, client_id: clientId, client_secret: clientSecret }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    const active = await introspect();
    assert.equal(active.status, 200);
    assert.equal(active.body.active, true);
    assert.equal(active.body.client_id, clientId);
    assert.equal(active.body.scope, 'agents-availability:read');

    const revoked = await fetch(`${t.baseUrl}/Auth/connect/revocation`, { method: 'POST', headers: FORM, body: postForm({ token: jwt, client_id: clientId, client_secret: clientSecret }) });
    assert.equal(revoked.status, 200);
    assert.deepEqual((await introspect()).body, { active: false });
    assert.equal((await gateway(t.baseUrl, jwt)).status, 401);
  });

  it('rotation: the pre-published ES256 next key signs; the retired key stays published and its tokens stay valid', async () => {
    const before = await jwksOf(t.issuer);
    const states = new Map((await t.region.store.keys.listAll()).map((r) => [r.kid, r.state]));
    const next = before.find((k) => states.get(k.kid) === 'next') as EcJwk;
    const oldToken = await token();
    const result = await rotateKeys(t.region.store, t.region.masterKey, t.config.region, t.config.signingAlg);
    assert.equal(result.activated, next.kid, 'the key published before the rotation signs');
    await waitUntil(async () => decodeJwt(await token()).header.kid === next.kid, 1000, 'tokens are signed by the former next key');
    const newToken = await token();
    assert.equal(decodeJwt(newToken).header.alg, 'ES256');

    const afterKeys = await jwksOf(t.issuer);
    assert.equal(afterKeys.length, 3, 'retired + active + next');
    afterKeys.forEach(assertEcJwk);
    assert.ok(afterKeys.some((k) => k.kid === result.retired) && afterKeys.some((k) => k.kid === result.next));
    for (const jwt of [oldToken, newToken]) {
      assert.equal((await gateway(t.baseUrl, jwt)).status, 200);
      await verify(jwt);
    }
  });
});

/**
 * A region switched from RS256 to ES256 during a rolling deploy: an instance still configured
 * RS256 and one started with ES256 share the store. The ES256 key is published at once (it
 * replaces the next key, which never signed), signs from the next rotation on, and the RS256
 * tokens already issued stay valid everywhere while their key stays published.
 */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`switching a region from RS256 to ES256 [${dialect}]`, async () => {
    const pg = dialect === 'postgres' ? await postgresAvailable() : true;
    it('the ES256 key is published at the switch, signs from the next rotation, and RS256 tokens stay valid', { skip: pg ? false : 'PostgreSQL is not reachable (required in CI)' }, async () => {
      const dir = tempDir();
      const schema = uniqueSchema();
      const storeEnv: Record<string, string> = dialect === 'sqlite' ? { CCAUTH_DATA_DIR: dir.path } : { DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema };
      const publicUrl = `http://127.0.0.1:${await freePort()}`;
      const common = { ...storeEnv, CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'), CCAUTH_PUBLIC_URL: publicUrl };
      const issuer = `${publicUrl}/Auth`;
      const started: TestRegion[] = [];
      try {
        const rs = await startRegion(common);
        started.push(rs);
        const tenant = await createTenant(rs.region);
        const { credential, clientSecret } = await createCredential(rs.region, tenant.admin, ['agents-availability:read']);
        const form = postForm({ grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'agents-availability:read' });
        const tokenAt = async (r: TestRegion) => {
          const res = await rawTokenPost(r.baseUrl, form, FORM);
          assert.equal(res.status, 200, res.text);
          return res.json?.access_token as string;
        };
        const rsToken = await tokenAt(rs);
        assert.equal(decodeJwt(rsToken).header.alg, 'RS256');
        const rsKeys = await jwksOf(rs.baseUrl + '/Auth');
        const rsRows = await rs.region.store.keys.listAll();
        const rsNext = rsRows.find((r) => r.state === 'next');
        assert.ok(rsNext);

        // A second instance, configured ES256, starts on the same store.
        const es = await startRegion({ ...common, CCAUTH_SIGNING_ALG: 'ES256' });
        started.push(es);
        const published = await jwksOf(es.baseUrl + '/Auth');
        const activeKid = decodeJwt(rsToken).header.kid as string;
        assert.deepEqual(published.map((k) => [k.kid === activeKid ? 'active' : 'other', k.kty]).sort(), [['active', 'RSA'], ['other', 'EC']], 'the active RSA key and a new EC next key');
        const ecNext = published.find((k) => k.kty === 'EC') as EcJwk;
        assertEcJwk(ecNext);
        assert.ok(!published.some((k) => k.kid === rsNext.kid), 'the RS256 next key, which never signed, is withdrawn');
        assert.equal(rsKeys.length, 2);
        // The running RS256 instance publishes the same set within a second (change feed).
        await waitUntil(async () => JSON.stringify(await jwksOf(rs.baseUrl + '/Auth')) === JSON.stringify(published), 1000, 'the other instance publishes the ES256 key');
        // Nothing signs with a key before the next rotation.
        for (const r of [rs, es]) assert.equal(decodeJwt(await tokenAt(r)).header.kid, activeKid);
        const doc = (await (await fetch(`${es.baseUrl}/Auth/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
        assert.deepEqual(doc.id_token_signing_alg_values_supported, ['RS256', 'ES256']);

        const rotated = await rotateKeys(es.region.store, es.region.masterKey, es.config.region, es.config.signingAlg);
        assert.equal(rotated.activated, ecNext.kid, 'the ES256 key published at the switch signs');
        for (const r of [rs, es]) {
          await waitUntil(async () => decodeJwt(await tokenAt(r)).header.kid === ecNext.kid, 1000, 'both instances sign with the ES256 key');
        }
        const esToken = await tokenAt(rs);
        assert.equal(decodeJwt(esToken).header.alg, 'ES256');
        const keys = await jwksOf(es.baseUrl + '/Auth');
        assert.deepEqual(keys.map((k) => k.kty).sort(), ['EC', 'EC', 'RSA'], 'retired RSA key (its tokens live), active and next EC keys');
        const local = createLocalJWKSet({ keys: keys as JwksKeys });
        for (const jwt of [rsToken, esToken]) {
          await jwtVerify(jwt, local, { issuer, audience: publicUrl, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] });
          for (const r of [rs, es]) assert.equal((await gateway(r.baseUrl, jwt)).status, 200, `${decodeJwt(jwt).header.alg} token at ${r.config.signingAlg} instance`);
        }
        // The pinning holds per key: the RS256 token's payload under the EC kid is refused.
        const [, p, s] = rsToken.split('.') as [string, string, string];
        assert.equal((await gateway(es.baseUrl, `${b64({ ...decodeJwt(rsToken).header, kid: ecNext.kid })}.${p}.${s}`)).status, 401);
        assert.deepEqual((await es.region.store.keys.listAll()).map((r) => `${r.alg}:${r.state}`).sort(), ['ES256:active', 'ES256:next', 'RS256:retired', 'RS256:retired']);
      } finally {
        for (const r of started.reverse()) await r.close();
        dir.remove();
        if (dialect === 'postgres' && pg) await dropSchema(schema);
      }
    });
  });
}

describe('CCAUTH_SIGNING_ALG', () => {
  it('is RS256 by default, accepts RS256 and ES256, and names the variable for anything else', () => {
    assert.equal(loadConfig({}).signingAlg, 'RS256');
    assert.equal(loadConfig({ CCAUTH_SIGNING_ALG: 'ES256' }).signingAlg, 'ES256');
    assert.equal(loadConfig({ CCAUTH_SIGNING_ALG: 'es256' }).signingAlg, 'ES256');
    assert.equal(loadConfig({}, { signingAlg: 'ES256' }).signingAlg, 'ES256', 'the --signing-alg flag');
    for (const bad of ['HS256', 'none', 'PS256', 'ES384']) {
      assert.throws(() => loadConfig({ CCAUTH_SIGNING_ALG: bad }), (err: unknown) => err instanceof ConfigError && err.message.includes(`CCAUTH_SIGNING_ALG: expected RS256 or ES256 (default RS256), got "${bad}"`));
    }
  });
});

describe('ccauth keys --signing-alg', () => {
  const dir = tempDir('ccauth-es256-cli-');
  const env = { CCAUTH_DATA_DIR: dir.path };
  before(() => ensureBuilt());
  after(() => dir.remove());

  it('keys rotate makes keys of the configured alg; the next key published before the switch signs first', async () => {
    type Info = { kid: string; alg: string; state: string };
    const list = () => ccauthJson<Info[]>(['keys', 'list'], { env });
    const initial = await list();
    assert.deepEqual(initial.map((k) => `${k.alg}:${k.state}`).sort(), ['RS256:active', 'RS256:next']);
    const first = await ccauthJson<{ activated: string; next: string }>(['keys', 'rotate', '--signing-alg', 'ES256'], { env });
    let keys = new Map((await list()).map((k) => [k.kid, k]));
    assert.equal(keys.get(first.activated)?.alg, 'RS256', 'the RS256 key published before the switch signs now');
    assert.equal(keys.get(first.next)?.alg, 'ES256', 'an ES256 key is published next');
    const second = await ccauthJson<{ activated: string }>(['keys', 'rotate'], { env: { ...env, CCAUTH_SIGNING_ALG: 'ES256' } });
    keys = new Map((await list()).map((k) => [k.kid, k]));
    assert.equal(second.activated, first.next);
    assert.equal(keys.get(second.activated)?.state, 'active');
    assert.equal(keys.get(second.activated)?.alg, 'ES256');

    const bad = await ccauth(['keys', 'list', '--signing-alg', 'HS256'], { env });
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /CCAUTH_SIGNING_ALG: expected RS256 or ES256 \(default RS256\), got "HS256"/);
  });
});
