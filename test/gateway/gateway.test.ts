import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion, type Tenant } from '../support/region.js';

const INVALID = { error: 'invalid_token', message: 'The access token is invalid or has expired' };
const INVALID_CHALLENGE = 'Bearer error="invalid_token", error_description="The access token is invalid or has expired"';

let t: TestRegion;
let other: TestRegion;
let tenant: Tenant;
let clientId: string;
let clientSecret: string;

before(async () => {
  t = await startRegion({ CCAUTH_REGION: 'emea' });
  other = await startRegion({ CCAUTH_REGION: 'nam' });
  tenant = await createTenant(t.region);
  ({ credential: { clientId }, clientSecret } = await createCredential(t.region, tenant.admin, ['agents-availability:read', 'stats', 'users:read']));
});
after(async () => {
  await t.close();
  await other.close();
});

async function getToken(region: TestRegion, id: string, secret: string, scope: string): Promise<string> {
  const res = await tokenRequest(region.baseUrl, { grant_type: 'client_credentials', client_id: id, client_secret: secret, scope });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.access_token as string;
}

async function call(token: string | undefined, options: { path?: string; accept?: string; authorization?: string; base?: string } = {}) {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (options.accept !== undefined) headers.accept = options.accept;
  const res = await fetch(`${options.base ?? t.baseUrl}${options.path ?? '/agents-availability?skillNames=English'}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function assertInvalid(res: Awaited<ReturnType<typeof call>>, why: string) {
  assert.equal(res.status, 401, why);
  assert.deepEqual(res.body, INVALID, why);
  assert.equal(res.headers.get('www-authenticate'), INVALID_CHALLENGE, why);
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('bearer check', () => {
  it('lets a valid token through with the versioned media type and rate-limit headers', async () => {
    const res = await call(await getToken(t, clientId, clientSecret, 'agents-availability:read'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/vnd\.newvoicemedia\.v1\+json/);
    assert.deepEqual(Object.keys(res.body).sort(), ['Away', 'Extended Away', 'Logged Out', 'Ready']);
    assert.equal(res.headers.get('ratelimit-limit'), '600');
    assert.match(res.headers.get('ratelimit-remaining') ?? '', /^\d+$/);
    assert.match(res.headers.get('ratelimit-reset') ?? '', /^\d+$/);
  });

  it('answers a request without Authorization with the realm challenge and no error code', async () => {
    const res = await call(undefined);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, INVALID);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${t.config.publicUrl}"`);
  });

  it('refuses malformed, tampered, alg-confused, foreign and expired tokens alike', async () => {
    const good = await getToken(t, clientId, clientSecret, 'agents-availability:read');
    const [h, p, s] = good.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const jwks = (await (await fetch(`${t.baseUrl}/Auth/.well-known/openid-configuration/jwks`)).json()) as { keys: { kid: string; n: string; e: string }[] };
    const jwk = jwks.keys.find((k) => k.kid === header.kid) as { kty?: string; n: string; e: string };
    const publicPem = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const hs256 = (() => {
      const hh = b64({ ...header, alg: 'HS256' });
      return `${hh}.${p}.${createHmac('sha256', publicPem).update(`${hh}.${p}`).digest('base64url')}`;
    })();
    const { privateKey: attackerKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signWith = (hdr: unknown, body: unknown) => {
      const input = `${b64(hdr)}.${b64(body)}`;
      return `${input}.${sign('sha256', Buffer.from(input), attackerKey).toString('base64url')}`;
    };
    const now = Math.floor(Date.now() / 1000);
    const foreign = await (async () => {
      const ot = await createTenant(other.region);
      const oc = await createCredential(other.region, ot.admin, ['agents-availability:read']);
      return getToken(other, oc.credential.clientId, oc.clientSecret, 'agents-availability:read');
    })();
    const cases: [string, string | undefined, string?][] = [
      ['garbage', 'not-a-jwt'],
      ['two parts', `${h}.${p}`],
      ['alg none', `${b64({ ...header, alg: 'none' })}.${p}.`],
      ['alg none, no signature', `${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.`],
      ['HS256 with the public key as secret', hs256],
      ['tampered payload', `${h}.${b64({ ...claims, scope: 'stats agents-availability:read' })}.${s}`],
      ['tampered signature', `${h}.${p}.${s.slice(0, -4)}AAAA`],
      ['signed by another key under our kid', signWith(header, claims)],
      ['wrong typ', `${b64({ ...header, typ: 'JWT' })}.${p}.${s}`],
      ['another region', foreign],
      ['', undefined, 'Basic abc'],
      ['', undefined, `Bearer`],
      ['', undefined, `Bearer ${good} extra`],
      ['', undefined, good],
    ];
    // The good token first: its signature is then cached, and a tampered copy that carries the
    // same signature must not be taken for it.
    assert.equal((await call(good)).status, 200, 'control: the good token passes');
    for (const [name, token, authorization] of cases) {
      assertInvalid(await call(token, authorization !== undefined ? { authorization } : {}), name || authorization || '');
    }
    // Tokens signed with the region's own key but with wrong claims: forge them through the key set.
    const key = t.region.keys.signingKey();
    const own = (body: Record<string, unknown>) => {
      const input = `${key.encodedHeader}.${b64(body)}`;
      return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
    };
    assert.equal((await call(own(claims))).status, 200, 'control: a re-signed copy of a good token passes');
    assertInvalid(await call(own({ ...claims, exp: now - 60 })), 'expired');
    assertInvalid(await call(own({ ...claims, nbf: now + 600 })), 'not yet valid');
    assertInvalid(await call(own({ ...claims, iss: 'https://evil.example/Auth' })), 'wrong issuer');
    assertInvalid(await call(own({ ...claims, aud: 'https://evil.example' })), 'wrong audience');
    assertInvalid(await call(own({ ...claims, region: 'nam' })), 'wrong region claim');
    assertInvalid(await call(own({ ...claims, account_id: 'someone-else' })), 'account not the credential\'s');
    assertInvalid(await call(own({ ...claims, scope: 'globalpci agents-availability:read' })), 'scope the credential lacks');
    assertInvalid(await call(own({ ...claims, client_id: 'nobody' })), 'unknown client');
    const { exp: _e, ...noExp } = claims;
    assertInvalid(await call(own(noExp)), 'no exp');
  });

  it('refuses a token without the route\'s scope with 403 naming the scope', async () => {
    const res = await call(await getToken(t, clientId, clientSecret, 'stats'));
    assert.equal(res.status, 403);
    assert.equal(res.body.error, 'insufficient_scope');
    assert.match(res.body.message as string, /agents-availability:read/);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="agents-availability:read"');
  });
});

describe('media type versions', () => {
  it('serves v1 for the vendor type, application/json, */* and none; 406 otherwise', async () => {
    const token = await getToken(t, clientId, clientSecret, 'agents-availability:read');
    for (const accept of [undefined, 'application/vnd.newvoicemedia.v1+json', 'application/json', '*/*', 'text/html, application/json;q=0.5', 'APPLICATION/VND.NEWVOICEMEDIA.V1+JSON']) {
      const res = await call(token, accept === undefined ? {} : { accept });
      assert.equal(res.status, 200, String(accept));
      assert.match(res.headers.get('content-type') ?? '', /^application\/vnd\.newvoicemedia\.v1\+json/);
    }
    for (const accept of ['application/vnd.newvoicemedia.v2+json', 'application/vnd.newvoicemedia.v3+json', 'text/html', 'application/json;q=0']) {
      const res = await call(token, { accept });
      assert.equal(res.status, 406, accept);
      assert.equal(res.body.error, 'not_acceptable');
      assert.match(res.body.message as string, /v1\+json/);
    }
  });
});

describe('account API limit', () => {
  it('counts every request with a valid token of the account and answers 429 past the limit', async () => {
    const limited = await createTenant(t.region);
    await t.region.store.accounts.update(limited.account.id, { apiRateLimitPerMinute: 5 });
    const c = await createCredential(t.region, limited.admin, ['agents-availability:read', 'stats']);
    const token = await getToken(t, c.credential.clientId, c.clientSecret, 'agents-availability:read');
    const statsToken = await getToken(t, c.credential.clientId, c.clientSecret, 'stats');
    await t.region.feed.poll();
    assertInvalid(await call(`${token}x`), 'a 401 does not count');
    const remaining: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call(token);
      assert.equal(res.status, 200);
      remaining.push(res.headers.get('ratelimit-remaining') as string);
    }
    assert.deepEqual(remaining, ['4', '3', '2', '1']);
    assert.equal((await call(statsToken)).status, 403, 'a 403 counts too: one budget for all requests');
    const refused = await call(token);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error, 'rate_limited');
    assert.equal(typeof refused.body.message, 'string');
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.equal(refused.headers.get('ratelimit-limit'), '5');
    assert.equal(refused.headers.get('ratelimit-remaining'), '0');
    // Another account is not affected.
    assert.equal((await call(await getToken(t, clientId, clientSecret, 'agents-availability:read'))).status, 200);
  });
});

describe('revocation and introspection', () => {
  async function fresh(scopes = ['agents-availability:read', 'users:read']) {
    const tn = await createTenant(t.region);
    const c = await createCredential(t.region, tn.admin, scopes);
    const token = await getToken(t, c.credential.clientId, c.clientSecret, 'agents-availability:read');
    assert.equal((await call(token)).status, 200);
    return { tn, c, token };
  }
  async function refusedWithin(token: string, ms: number) {
    const start = Date.now();
    for (;;) {
      const res = await call(token);
      if (res.status === 401) {
        assertInvalid(res, 'revoked');
        return Date.now() - start;
      }
      if (Date.now() - start > ms) assert.fail(`still accepted after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('a deleted credential\'s tokens fail', async () => {
    const { c, token } = await fresh();
    await t.region.store.credentials.delete(c.credential.id);
    await refusedWithin(token, 1000);
  });
  it('removing a token\'s scope makes it fail; other scopes\' tokens keep working', async () => {
    const { c, token } = await fresh();
    const usersToken = await getToken(t, c.credential.clientId, c.clientSecret, 'users:read');
    await t.region.store.credentials.update(c.credential.id, { scopes: ['users:read'] });
    await refusedWithin(token, 1000);
    const res = await call(usersToken, { path: '/agents-availability?skillNames=x' });
    assert.equal(res.status, 403, 'still a valid token, just not for this route');
  });
  it('disabling the owner or the account, or a rotation without grace, makes tokens fail', async () => {
    const a = await fresh();
    await t.region.store.users.update(a.tn.admin.id, { status: 'disabled' });
    await refusedWithin(a.token, 1000);
    const b = await fresh();
    await t.region.store.accounts.update(b.tn.account.id, { status: 'disabled' });
    await refusedWithin(b.token, 1000);
    const c = await fresh();
    await t.region.store.accounts.update(c.tn.account.id, { apiCredentialsEnabled: false });
    await refusedWithin(c.token, 1000);
    const d = await fresh();
    await new Promise((r) => setTimeout(r, 1000)); // the cut is at whole seconds
    await t.region.store.credentials.replaceSecret(d.c.credential.id, t.region.hasher.hash('new-secret'), null);
    await refusedWithin(d.token, 1000);
    const e = await fresh();
    await t.region.store.credentials.replaceSecret(e.c.credential.id, t.region.hasher.hash('new-secret-2'), Date.now() + 60_000);
    await t.region.feed.poll();
    assert.equal((await call(e.token)).status, 200, 'rotation with grace keeps issued tokens');
  });

  const form = (body: Record<string, string>, id: string, secret: string) =>
    fetch(`${t.baseUrl}/Auth/connect/${body.__endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
      body: new URLSearchParams(Object.fromEntries(Object.entries(body).filter(([k]) => k !== '__endpoint'))),
    });

  it('introspects per RFC 7662; another account\'s token is not active', async () => {
    const { c, token } = await fresh();
    const res = await form({ __endpoint: 'introspect', token }, c.credential.clientId, c.clientSecret);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.active, true);
    assert.equal(body.client_id, c.credential.clientId);
    assert.equal(body.scope, 'agents-availability:read');
    assert.equal(typeof body.exp, 'number');
    const foreignView = (await (await form({ __endpoint: 'introspect', token }, clientId, clientSecret)).json()) as Record<string, unknown>;
    assert.deepEqual(foreignView, { active: false });
    const junk = (await (await form({ __endpoint: 'introspect', token: 'junk' }, c.credential.clientId, c.clientSecret)).json()) as Record<string, unknown>;
    assert.deepEqual(junk, { active: false });
    assert.equal((await form({ __endpoint: 'introspect', token }, c.credential.clientId, 'wrong')).status, 401);
    assert.equal((await form({ __endpoint: 'introspect' }, c.credential.clientId, c.clientSecret)).status, 400);
  });

  it('revokes per RFC 7009: at once here, not across accounts', async () => {
    const { c, token } = await fresh();
    const foreign = await form({ __endpoint: 'revocation', token }, clientId, clientSecret);
    assert.equal(foreign.status, 200);
    assert.equal((await call(token)).status, 200, 'another account cannot revoke it');
    const res = await form({ __endpoint: 'revocation', token, token_type_hint: 'access_token' }, c.credential.clientId, c.clientSecret);
    assert.equal(res.status, 200);
    assertInvalid(await call(token), 'revoked');
    const intro = (await (await form({ __endpoint: 'introspect', token }, c.credential.clientId, c.clientSecret)).json()) as Record<string, unknown>;
    assert.deepEqual(intro, { active: false });
    assert.equal((await form({ __endpoint: 'revocation', token: 'junk' }, c.credential.clientId, c.clientSecret)).status, 200);
    const discovery = (await (await fetch(`${t.baseUrl}/Auth/.well-known/openid-configuration`)).json()) as Record<string, string>;
    assert.equal(discovery.introspection_endpoint, `${t.config.issuer}/connect/introspect`);
    assert.equal(discovery.revocation_endpoint, `${t.config.issuer}/connect/revocation`);
  });
});
