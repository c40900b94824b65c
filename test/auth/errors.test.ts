import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { User } from '../../src/domain/model.js';
import { createCredential, createTenant, type TestRegion, type Tenant } from '../support/region.js';
import { FORM, RFC6749_DESCRIPTION, type RawResponse, assertOAuthError, basicAuthorization, nodeRequest, postForm, rawHttp, rawTokenPost, startPublicRegion } from '../support/oauth.js';

/**
 * Every error case of SPEC 3 "Token service", sent the way curl would send it: raw bodies and
 * headers, no OAuth library in between. Store changes are followed by feed.poll() so that the
 * tests do not depend on the poll timer (propagation time has its own test in cache.test.ts).
 */
describe('token endpoint errors (RFC 6749 5.2)', () => {
  let t: TestRegion;
  let tenant: Tenant;
  let clientId: string;
  let secret: string;

  const good = () => ({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'stats' });

  before(async () => {
    // Many requests here are failed authentications: keep the limiter out of the way.
    t = await startPublicRegion({ CCAUTH_AUTH_FAILURES_PER_MINUTE: '1000000' });
    tenant = await createTenant(t.region);
    const created = await createCredential(t.region, tenant.admin, ['stats', 'users:read', 'interaction-content:read']);
    clientId = created.credential.clientId;
    secret = created.clientSecret;
  });
  after(async () => {
    await t.close();
  });

  async function post(body: string | Uint8Array | undefined, headers: Record<string, string> = FORM): Promise<RawResponse> {
    return rawTokenPost(t.baseUrl, body, headers);
  }

  /** A tenant of its own (so that changing its state disturbs no other test) with one admin credential. */
  async function freshClient(scopes = ['stats', 'users:read']): Promise<{ tenant: Tenant; owner: User; credentialId: string; form: Record<string, string> }> {
    const other = await createTenant(t.region);
    const created = await createCredential(t.region, other.admin, scopes);
    const form = { grant_type: 'client_credentials', client_id: created.credential.clientId, client_secret: created.clientSecret, scope: scopes[0] as string };
    const ok = await post(postForm(form));
    assert.equal(ok.status, 200, ok.text);
    return { tenant: other, owner: other.admin, credentialId: created.credential.id, form };
  }

  it('the control request succeeds', async () => {
    const res = await post(postForm(good()));
    assert.equal(res.status, 200, res.text);
  });

  describe('invalid_request (400)', () => {
    it('a content type other than application/x-www-form-urlencoded', async () => {
      const form = postForm(good());
      const cases: [string, string | Uint8Array, Record<string, string>][] = [
        ['application/json', JSON.stringify(good()), { 'content-type': 'application/json' }],
        ['text/plain', form, { 'content-type': 'text/plain' }],
        ['multipart/form-data', multipart(good()), { 'content-type': 'multipart/form-data; boundary=XyZ' }],
        ['no content type', new TextEncoder().encode(form), {}],
        ['empty content type', form, { 'content-type': '' }],
        ['a look-alike', form, { 'content-type': 'application/x-www-form-urlencoded-evil' }],
        ['garbage', form, { 'content-type': ';;;===' }],
      ];
      for (const [label, body, headers] of cases) assertOAuthError(await post(body, headers), 400, 'invalid_request', label);
      // Parameters of the right media type are fine.
      const withCharset = await post(form, { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' });
      assert.equal(withCharset.status, 200, withCharset.text);
    });

    it('a repeated parameter', async () => {
      const base = postForm(good());
      for (const extra of ['grant_type=client_credentials', 'scope=stats', `client_id=${clientId}`, `client_secret=${secret}`, 'scope=users%3Aread']) {
        assertOAuthError(await post(`${base}&${extra}`), 400, 'invalid_request', extra);
      }
    });

    it('two client authentication methods: Basic and client_secret in the body', async () => {
      const res = await post(postForm({ grant_type: 'client_credentials', client_secret: secret, scope: 'stats' }), { ...FORM, authorization: basicAuthorization(clientId, secret) });
      assertOAuthError(res, 400, 'invalid_request');
      // A client_id in the body that names another client than Basic does.
      const mismatch = await post(postForm({ grant_type: 'client_credentials', client_id: 'someone-else', scope: 'stats' }), { ...FORM, authorization: basicAuthorization(clientId, secret) });
      assertOAuthError(mismatch, 400, 'invalid_request');
      // The same client_id in both places is allowed (RFC 6749 2.3.1 does not forbid it).
      const same = await post(postForm({ grant_type: 'client_credentials', client_id: clientId, scope: 'stats' }), { ...FORM, authorization: basicAuthorization(clientId, secret) });
      assert.equal(same.status, 200, same.text);
    });

    it('a malformed body: bad percent-encoding, invalid UTF-8, binary garbage', async () => {
      const base = postForm(good());
      const bodies: [string, string | Uint8Array][] = [
        ['bare %', `${base}&x=%`],
        ['%ZZ', `${base}&x=%ZZ`],
        ['% in a name', `${base}&%G0=1`],
        ['truncated escape', `grant_type=client_credentials&client_id=${clientId}&client_secret=${secret}&scope=stats%2`],
        ['invalid UTF-8 escape', `${base}&x=%C3%28`],
        ['lone surrogate escape', `${base}&x=%ED%A0%80`],
      ];
      for (const [label, body] of bodies) assertOAuthError(await post(body), 400, 'invalid_request', label);
      const garbage = Uint8Array.from([0x00, 0xff, 0xfe, 0x80, 0x25, 0x3d, 0x26, 0x26, 0x3d, 0xc3, 0x28, 0x0a, 0x0d, 0x25, 0x7f]);
      assertOAuthError(await post(garbage, { ...FORM }), 400, 'invalid_request', 'binary garbage');
    });

    it('a body larger than 16 KiB', async () => {
      const huge = `${postForm(good())}&pad=${'a'.repeat(17 * 1024)}`;
      const res = await post(huge);
      assertOAuthError(res, 400, 'invalid_request');
      assert.match(res.json?.error_description as string, /too large/i);
      // A large but legal body is still fine.
      const fine = await post(`${postForm(good())}&pad=${'a'.repeat(8 * 1024)}`);
      assert.equal(fine.status, 200, fine.text);
    });

    it('a missing or empty grant_type', async () => {
      const { grant_type: _g, ...rest } = good();
      assertOAuthError(await post(postForm(rest)), 400, 'invalid_request', 'missing');
      assertOAuthError(await post(postForm({ ...rest, grant_type: '' })), 400, 'invalid_request', 'empty');
      assertOAuthError(await post(''), 400, 'invalid_request', 'empty body');
    });

    it('a malformed Basic header', async () => {
      for (const authorization of ['Basic', 'Basic !!!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from(':secret-without-id').toString('base64')}`, `Basic ${Buffer.from('id:%zz').toString('base64')}`]) {
        const res = await post('grant_type=client_credentials&scope=stats', { ...FORM, authorization });
        assertOAuthError(res, 400, 'invalid_request', authorization);
      }
    });
  });

  describe('unsupported_grant_type (400)', () => {
    // Odd values matter because the description names the grant type: it must stay within the
    // RFC 6749 5.2 character set (assertOAuthError checks every description for that).
    for (const grant of ['password', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'Client_Credentials', 'a"b', 'back\\slash', 'caf\u00e9', 'x'.repeat(300)]) {
      it(`grant_type=${grant.slice(0, 60)}`, async () => {
        const res = await post(postForm({ ...good(), grant_type: grant, username: 'u', password: 'p', code: 'c' }));
        assertOAuthError(res, 400, 'unsupported_grant_type');
      });
    }
  });

  describe('invalid_client (401)', () => {
    it('unknown client and wrong secret: byte-identical bodies and the same headers', async () => {
      const unknownId = randomBytes(16).toString('hex');
      const wrongSecret = randomBytes(32).toString('base64url');
      const unknown = await post(postForm({ ...good(), client_id: unknownId, client_secret: wrongSecret }));
      const wrong = await post(postForm({ ...good(), client_secret: wrongSecret }));
      assertOAuthError(unknown, 401, 'invalid_client', 'unknown client');
      assertOAuthError(wrong, 401, 'invalid_client', 'wrong secret');
      assert.equal(unknown.text, wrong.text);
      assert.deepEqual(comparableHeaders(unknown.headers), comparableHeaders(wrong.headers));
      // client_secret_post: no challenge.
      assert.equal(unknown.headers.get('www-authenticate'), null);
      assert.equal(wrong.headers.get('www-authenticate'), null);

      const unknownBasic = await post('grant_type=client_credentials&scope=stats', { ...FORM, authorization: basicAuthorization(unknownId, wrongSecret) });
      const wrongBasic = await post('grant_type=client_credentials&scope=stats', { ...FORM, authorization: basicAuthorization(clientId, wrongSecret) });
      assertOAuthError(unknownBasic, 401, 'invalid_client');
      assertOAuthError(wrongBasic, 401, 'invalid_client');
      assert.equal(unknownBasic.text, wrongBasic.text);
      assert.equal(unknownBasic.text, unknown.text);
      assert.deepEqual(comparableHeaders(unknownBasic.headers), comparableHeaders(wrongBasic.headers));
      // Basic was used: RFC 6749 5.2 requires the challenge.
      assert.match(unknownBasic.headers.get('www-authenticate') ?? '', /^Basic\b/);
      assert.match(wrongBasic.headers.get('www-authenticate') ?? '', /^Basic\b/);
    });

    it('no client authentication at all, or a client_id without a secret', async () => {
      assertOAuthError(await post('grant_type=client_credentials&scope=stats'), 401, 'invalid_client', 'none');
      assertOAuthError(await post(postForm({ grant_type: 'client_credentials', client_id: clientId, scope: 'stats' })), 401, 'invalid_client', 'no secret');
      assertOAuthError(await post(postForm({ grant_type: 'client_credentials', client_id: clientId, client_secret: '', scope: 'stats' })), 401, 'invalid_client', 'empty secret');
      assertOAuthError(await post(postForm({ grant_type: 'client_credentials', client_id: '', client_secret: secret, scope: 'stats' })), 401, 'invalid_client', 'empty client_id');
    });

    it('an Authorization scheme other than Basic is an unsupported authentication method', async () => {
      // RFC 6749 5.2: invalid_client covers "unsupported authentication method", and a client
      // that tried the Authorization header gets 401 with a WWW-Authenticate challenge.
      for (const authorization of [`Bearer ${secret}`, 'Digest username="x"', 'Negotiate abc']) {
        const res = await post(postForm({ grant_type: 'client_credentials', scope: 'stats' }), { ...FORM, authorization });
        assertOAuthError(res, 401, 'invalid_client', authorization);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Basic\b/);
      }
    });

    it('a disabled owner', async () => {
      const c = await freshClient();
      await t.region.store.users.update(c.owner.id, { status: 'disabled' });
      await t.region.feed.poll();
      assertOAuthError(await post(postForm(c.form)), 401, 'invalid_client');
      await t.region.store.users.update(c.owner.id, { status: 'active' });
      await t.region.feed.poll();
      assert.equal((await post(postForm(c.form))).status, 200, 'works again once re-enabled');
    });

    it('an owner whose license is now agent', async () => {
      const c = await freshClient();
      await t.region.store.users.update(c.owner.id, { license: 'agent' });
      await t.region.feed.poll();
      const res = await post(postForm(c.form));
      assertOAuthError(res, 401, 'invalid_client');
      // Basic: the challenge comes with every invalid_client.
      const basic = await post(postForm({ grant_type: 'client_credentials', scope: c.form.scope as string }), { ...FORM, authorization: basicAuthorization(c.form.client_id as string, c.form.client_secret as string) });
      assertOAuthError(basic, 401, 'invalid_client');
      assert.match(basic.headers.get('www-authenticate') ?? '', /^Basic\b/);
    });

    it('a disabled account', async () => {
      const c = await freshClient();
      await t.region.store.accounts.update(c.tenant.account.id, { status: 'disabled' });
      await t.region.feed.poll();
      assertOAuthError(await post(postForm(c.form)), 401, 'invalid_client');
    });

    it('an account with API credentials switched off', async () => {
      const c = await freshClient();
      await t.region.store.accounts.update(c.tenant.account.id, { apiCredentialsEnabled: false });
      await t.region.feed.poll();
      assertOAuthError(await post(postForm(c.form)), 401, 'invalid_client');
      await t.region.store.accounts.update(c.tenant.account.id, { apiCredentialsEnabled: true });
      await t.region.feed.poll();
      assert.equal((await post(postForm(c.form))).status, 200);
    });

    it('a deleted credential stops working at once', async () => {
      const c = await freshClient();
      await t.region.store.credentials.delete(c.credentialId);
      await t.region.feed.poll();
      const res = await post(postForm(c.form));
      assertOAuthError(res, 401, 'invalid_client');
      // Indistinguishable from a client that never existed.
      const never = await post(postForm({ ...c.form, client_id: randomBytes(16).toString('hex') }));
      assert.equal(res.text, never.text);
    });

    it('secret rotation: the old secret works during the grace period only', async () => {
      const c = await freshClient();
      const oldForm = c.form;
      const newSecret1 = randomBytes(32).toString('base64url');
      await t.region.store.credentials.replaceSecret(c.credentialId, t.region.hasher.hash(newSecret1), Date.now() + 600);
      await t.region.feed.poll();
      assert.equal((await post(postForm(oldForm))).status, 200, 'old secret during the grace period');
      assert.equal((await post(postForm({ ...oldForm, client_secret: newSecret1 }))).status, 200, 'new secret at once');
      await new Promise((r) => setTimeout(r, 700));
      assertOAuthError(await post(postForm(oldForm)), 401, 'invalid_client', 'old secret after the grace period');
      assert.equal((await post(postForm({ ...oldForm, client_secret: newSecret1 }))).status, 200, 'new secret after the grace period');

      // Without grace, the previous secret stops at once.
      const newSecret2 = randomBytes(32).toString('base64url');
      await t.region.store.credentials.replaceSecret(c.credentialId, t.region.hasher.hash(newSecret2), null);
      await t.region.feed.poll();
      assertOAuthError(await post(postForm({ ...oldForm, client_secret: newSecret1 })), 401, 'invalid_client', 'rotated without grace');
      assert.equal((await post(postForm({ ...oldForm, client_secret: newSecret2 }))).status, 200);

      // A second rotation with grace: only the immediately previous secret is honoured.
      const newSecret3 = randomBytes(32).toString('base64url');
      await t.region.store.credentials.replaceSecret(c.credentialId, t.region.hasher.hash(newSecret3), Date.now() + 60_000);
      await t.region.feed.poll();
      assert.equal((await post(postForm({ ...oldForm, client_secret: newSecret2 }))).status, 200);
      assertOAuthError(await post(postForm({ ...oldForm, client_secret: newSecret1 })), 401, 'invalid_client', 'two rotations ago');
    });
  });

  describe('invalid_scope (400)', () => {
    it('missing, empty, unknown, not on the credential, malformed', async () => {
      const { scope: _s, ...noScope } = good();
      const cases: [string, string][] = [
        ['missing', postForm(noScope)],
        ['empty', postForm({ ...good(), scope: '' })],
        ['blank', postForm({ ...good(), scope: '   ' })],
        ['unknown', postForm({ ...good(), scope: 'stats:everything' })],
        ['unknown among known', postForm({ ...good(), scope: 'stats nope' })],
        ['not on the credential', postForm({ ...good(), scope: 'globalpci' })],
        ['one of several not on the credential', postForm({ ...good(), scope: 'stats globalpci' })],
        ['comma-separated is not the syntax', postForm({ ...good(), scope: 'stats,users:read' })],
        ['tab-separated', postForm({ ...good(), scope: 'stats\tusers:read' })],
      ];
      for (const [label, body] of cases) assertOAuthError(await post(body), 400, 'invalid_scope', label);
    });

    it('several space-separated scopes are accepted (and "+" is a space)', async () => {
      const res = await post(postForm({ ...good(), scope: 'stats users:read' }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json?.scope, 'stats users:read');
      const plus = await post(`grant_type=client_credentials&client_id=${clientId}&client_secret=${secret}&scope=users%3Aread+interaction-content%3Aread+stats`);
      assert.equal(plus.status, 200, plus.text);
      assert.deepEqual((plus.json?.scope as string).split(' ').sort(), ['interaction-content:read', 'stats', 'users:read']);
    });

    it('a scope the owner license no longer allows', async () => {
      const c = await freshClient(['stats', 'users:read']);
      assert.equal((await post(postForm({ ...c.form, scope: 'stats' }))).status, 200);
      await t.region.store.users.update(c.owner.id, { license: 'supervisor' });
      await t.region.feed.poll();
      const res = await post(postForm({ ...c.form, scope: 'stats' }));
      assertOAuthError(res, 400, 'invalid_scope');
      assertOAuthError(await post(postForm({ ...c.form, scope: 'users:read stats' })), 400, 'invalid_scope', 'with an allowed one');
      // What a supervisor may grant still works.
      const allowed = await post(postForm({ ...c.form, scope: 'users:read' }));
      assert.equal(allowed.status, 200, allowed.text);
    });

    it('a scope removed from the credential', async () => {
      const c = await freshClient(['stats', 'users:read']);
      await t.region.store.credentials.update(c.credentialId, { scopes: ['users:read'] });
      await t.region.feed.poll();
      assertOAuthError(await post(postForm({ ...c.form, scope: 'stats' })), 400, 'invalid_scope');
      assert.equal((await post(postForm({ ...c.form, scope: 'users:read' }))).status, 200);
    });

    it('the scope is only decided for an authenticated client: a wrong secret is invalid_client whatever the scope', async () => {
      assertOAuthError(await post(postForm({ ...good(), client_secret: 'x', scope: 'nope' })), 401, 'invalid_client');
    });
  });

  describe('methods and framing', () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      it(`${method} on the token endpoint is 405 with Allow: POST`, async () => {
        const res = await nodeRequest(t.baseUrl, '/Auth/connect/token', method, {});
        assert.equal(res.status, 405);
        assert.equal(res.headers.allow, 'POST');
        assert.match(String(res.headers['cache-control']), /no-store/);
        const body = JSON.parse(res.text) as Record<string, unknown>;
        assert.equal(typeof body.error, 'string');
        assert.equal(typeof body.error_description, 'string');
      });
    }

    it('GET with the credentials in the query string does not issue a token', async () => {
      const res = await nodeRequest(t.baseUrl, `/Auth/connect/token?${postForm(good())}`, 'GET', {});
      assert.equal(res.status, 405);
      assert.ok(!res.text.includes('access_token'));
    });

    it('credentials in the query string of a POST are not used', async () => {
      const res = await rawTokenPost(`${t.baseUrl}`, 'grant_type=client_credentials&scope=stats', FORM, 'POST');
      assert.equal(res.status, 401);
      const viaQuery = await fetch(`${t.baseUrl}/Auth/connect/token?client_id=${clientId}&client_secret=${secret}`, { method: 'POST', headers: FORM, body: 'grant_type=client_credentials&scope=stats' });
      assert.equal(viaQuery.status, 401);
    });

    it('raw HTTP: obs-text in Authorization, duplicate Content-Type, a chunked body', async () => {
      const host = new URL(t.baseUrl).host;
      const body = postForm(good());
      const requests: [string, Buffer, (status: number, response: string) => void][] = [
        [
          'latin-1 bytes in Authorization',
          Buffer.concat([Buffer.from(`POST /Auth/connect/token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Basic `), Buffer.from([0xe9, 0xff, 0xa0]), Buffer.from(`\r\nContent-Length: 40\r\nConnection: close\r\n\r\ngrant_type=client_credentials&scope=stat`)]),
          (status) => assert.equal(status, 400),
        ],
        [
          'two Content-Type headers',
          Buffer.from(`POST /Auth/connect/token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`),
          (status) => assert.ok(status === 400 || status === 200, String(status)),
        ],
        [
          'chunked body',
          Buffer.from(`POST /Auth/connect/token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`),
          (status, response) => {
            assert.equal(status, 200, response);
            assert.match(response, /access_token/);
          },
        ],
      ];
      for (const [label, payload, check] of requests) {
        const { status, response } = await rawHttp(t.baseUrl, payload);
        assert.ok(status < 500, `${label}: ${response}`);
        check(status, response);
      }
    });
  });

  it('never a 5xx: garbled bodies and headers (seeded, reproducible)', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 0x5eed);
    const rnd = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const randomText = (max: number) => {
      const alphabet = ['%', '&', '=', '+', ' ', ';', 'a', 'Z', '0', '%2', '%C3', '%00', '%FF', '\u00e9', '\u20ac', '\ud83d\ude00', 'grant_type', 'client_id', 'client_secret', 'scope', 'client_credentials', 'stats', clientId, secret, '\u0000', '\n', '"', '\\'];
      let s = '';
      const n = Math.floor(rnd() * max);
      for (let i = 0; i < n; i++) s += pick(alphabet);
      return s;
    };
    const contentTypes = ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded; charset=latin1', 'application/json', 'text/plain', 'multipart/form-data', 'multipart/form-data; boundary=', '*/*', 'application/x-www-form-urlencoded;;', ' application/x-www-form-urlencoded ', 'x/y; a="unterminated'];
    const authorizations = [
      undefined,
      '',
      'Basic',
      'Basic ',
      'basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64'),
      'BASIC ' + Buffer.from(`${clientId}:${secret}`).toString('base64') + '  ',
      'Basic ' + randomBytes(24).toString('base64'),
      'Basic ' + Buffer.from(':').toString('base64'),
      'Basic ' + Buffer.from('a:b:c').toString('base64'),
      'Basic ====',
      'Basic a',
      'Bearer x',
      'x',
      'Basic ' + Buffer.from('%:%').toString('base64'),
      'Basic ' + Buffer.from(`${'a'.repeat(5000)}:${'b'.repeat(5000)}`).toString('base64'),
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const headers: Record<string, string> = {};
      if (rnd() < 0.9) headers['content-type'] = pick(contentTypes);
      const authorization = pick(authorizations);
      if (authorization !== undefined) headers.authorization = authorization;
      const kind = rnd();
      let body: string | Uint8Array;
      if (kind < 0.4) body = randomText(60);
      else if (kind < 0.6) body = Uint8Array.from(randomBytes(Math.floor(rnd() * 200)));
      else if (kind < 0.9) {
        const parts = Object.entries(good()).map(([k, v]) => `${k}=${rnd() < 0.2 ? randomText(8) : encodeURIComponent(v)}`);
        if (rnd() < 0.3) parts.push(`${randomText(6)}=${randomText(6)}`);
        body = parts.sort(() => rnd() - 0.5).join(rnd() < 0.1 ? '&&' : '&');
      } else body = 'a='.repeat(Math.floor(rnd() * 9000));
      const res = await post(body, headers);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const context = `seed ${seed} #${i}: ${JSON.stringify(headers)} ${typeof body === 'string' ? JSON.stringify(body.slice(0, 200)) : `<${body.length} bytes>`} -> ${res.status} ${res.text.slice(0, 200)}`;
      assert.ok(res.status < 500, context);
      if (res.status === 200) continue;
      assert.ok([400, 401].includes(res.status), context);
      assert.ok(res.json && typeof res.json.error === 'string' && typeof res.json.error_description === 'string', context);
      assert.match(res.json.error_description as string, RFC6749_DESCRIPTION, context);
      assert.match(res.headers.get('cache-control') ?? '', /no-store/, context);
    }
    // The generator does reach the interesting outcomes, not only one kind of rejection.
    assert.ok((statuses.get(400) ?? 0) > 10 && (statuses.get(401) ?? 0) > 0, JSON.stringify([...statuses]));
  });
});

/** Headers that should not differ between two responses of the same kind. */
function comparableHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!['date', 'keep-alive', 'connection', 'x-request-id'].includes(name)) out[name] = value;
  });
  return out;
}

function multipart(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `--XyZ\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join('')
    .concat('--XyZ--\r\n');
}

/** A small seeded PRNG, so that a failing fuzz case can be replayed with FUZZ_SEED. */
function mulberry32(a: number): () => number {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
