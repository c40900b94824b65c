import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { mediaType, parseBasicAuthorization, parseForm } from '../../src/auth/form.js';
import { InvalidRequestError } from '../../src/domain/errors.js';
import { BearerError, BearerVerifier } from '../../src/gateway/bearer.js';
import { negotiateVersion } from '../../src/gateway/media-type.js';
import { pageMeta, pageRequest } from '../../src/apis/shared/paging.js';
import { MAX_PAGE, MAX_PAGE_SIZE } from '../../src/apis/shared/schemas.js';
import { requestIdOf } from '../../src/http/request-id.js';
import { upstreamPath } from '../../src/gateway/upstream.js';
import { basicAuthorization, formEncode } from '../support/oauth.js';
import { type TestRegion, createCredential, createTenant, startRegion, tokenRequest } from '../support/region.js';

/**
 * Property-based tests of the edge's parsers: arbitrary input never throws out of the edge other
 * than as the typed error that becomes SPEC's shape, and over HTTP always maps to a 4xx in that
 * shape (a few hundred runs against a started region; bounded).
 */

/** Characters that make parsers work: separators, escapes, broken escapes, non-ASCII. */
const formUnit = fc.constantFrom('a', 'Z', '0', '9', 'F', '=', '&', '%', '%2', '%zz', '%E0%A4%A', '%C3%A9', '+', ' ', ':', 'é', '\u0000', 'grant_type', 'client_id', 'client_secret', 'scope', '\uD800');
const formLike = fc.string({ unit: formUnit, maxLength: 40 });
/** Printable ASCII and tab: what an HTTP header value can carry here. */
const headerChar = fc.mapToConstant({ num: 95, build: (v) => String.fromCharCode(0x20 + v) }, { num: 1, build: () => '\t' });
const headerValue = fc.string({ unit: headerChar, maxLength: 80 });
const anyText = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), formLike);

function onlyTyped<T>(fn: () => T, ...allowed: (abstract new (...args: never[]) => Error)[]): T | Error {
  try {
    return fn();
  } catch (err) {
    assert.ok(
      allowed.some((type) => err instanceof type),
      `threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`,
    );
    return err as Error;
  }
}

describe('edge parsers (unit properties)', () => {
  it('the form parser returns parameters or an invalid_request, for any body', () => {
    fc.assert(
      fc.property(anyText, (body) => {
        const result = onlyTyped(() => parseForm(body), InvalidRequestError);
        if (result instanceof Map) for (const [k, v] of result) assert.ok(typeof k === 'string' && typeof v === 'string');
      }),
      { numRuns: 2000 },
    );
  });

  it('the form parser reads back what a form encoder wrote', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 20 })), { selector: ([k]) => k, maxLength: 6 }), (pairs) => {
        const wellFormed = pairs.filter(([k, v]) => !/[\uD800-\uDFFF]/.test(k + v));
        const parsed = parseForm(wellFormed.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&'));
        assert.deepEqual([...parsed], wellFormed);
      }),
      { numRuns: 500 },
    );
  });

  it('the Basic header parser returns credentials, not-basic, or an invalid_request; it reads back RFC 6749 2.3.1 encoding', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, headerValue, anyText.map((s) => `Basic ${s}`), anyText.map((s) => `Basic ${Buffer.from(s).toString('base64')}`)), (header) => {
        const result = onlyTyped(() => parseBasicAuthorization(header), InvalidRequestError);
        if (typeof result === 'object' && !(result instanceof Error)) assert.ok(result.clientId.length > 0);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ maxLength: 60 }), (id, secret) => {
        fc.pre(!/[\uD800-\uDFFF]/.test(id + secret));
        assert.deepEqual(parseBasicAuthorization(basicAuthorization(id, secret)), { clientId: id, clientSecret: secret });
      }),
      { numRuns: 500 },
    );
  });

  it('media types: negotiation and Content-Type never throw', () => {
    const range = fc.tuple(fc.constantFrom('application/json', '*/*', 'application/*', 'text/html', 'application/vnd.newvoicemedia.v1+json', 'application/vnd.newvoicemedia.v2+json', 'application/vnd.newvoicemedia.v99999999999999999999+json', ''), fc.constantFrom('', ';q=0', ';q=1', ';q=0.5', ';q=abc', ';q=', ';charset=utf-8', ';q=NaN', ';q=-1'));
    const accept = fc.oneof(anyText, headerValue, fc.array(range, { maxLength: 4 }).map((rs) => rs.map(([t, p]) => t + p).join(', ')));
    fc.assert(
      fc.property(accept, (value) => {
        const n = negotiateVersion(value);
        if (n.ok) assert.equal(n.version, 1);
        else assert.ok(typeof n.message === 'string' && n.message.length > 0);
        assert.equal(typeof mediaType(value), 'string');
      }),
      { numRuns: 2000 },
    );
  });

  it('the bearer parser returns a token or a BearerError', () => {
    const b64 = fc.string({ unit: fc.constantFrom('A', 'z', '0', '-', '_', '.', '~', '+', '/', '='), maxLength: 60 });
    fc.assert(
      fc.property(fc.oneof(anyText, headerValue, b64.map((t) => `Bearer ${t}`), b64.map((t) => `bearer  ${t}  `)), (header) => {
        const result = onlyTyped(() => BearerVerifier.extract(header), BearerError);
        if (typeof result === 'string') assert.ok(result.length > 0 && !/\s/.test(result));
      }),
      { numRuns: 2000 },
    );
  });

  it('paging: every page a request may name gives exact, bounded offsets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_PAGE }), fc.integer({ min: 1, max: MAX_PAGE_SIZE }), fc.nat({ max: 10_000_000 }), (page, pageSize, total) => {
        const { offset, limit } = pageRequest({ page, pageSize });
        assert.ok(Number.isSafeInteger(offset) && offset >= 0 && limit === pageSize);
        const meta = pageMeta({ page, pageSize }, 0, total);
        assert.ok(Number.isSafeInteger(meta.pageCount));
      }),
    );
  });

  it('request ids and upstream paths: never echoed unchecked, never out of the base', () => {
    fc.assert(
      fc.property(anyText, (header) => {
        const id = requestIdOf(header);
        assert.match(id, /^[A-Za-z0-9._:-]{1,128}$/);
      }),
      { numRuns: 1000 },
    );
    const segment = fc.string({ unit: fc.constantFrom('a', '.', '..', '%2e', '%2E', '%5C', '\\', '/', '//', '%2F', '%', '%zz', ':', '@', '?', '#', 'evil.example'), maxLength: 12 });
    fc.assert(
      fc.property(fc.constantFrom('', '/base', '/a/b'), segment, (base, rest) => {
        const result = upstreamPath(base, `/${rest}`);
        if (typeof result === 'string') {
          const url = new URL(`http://upstream.test${result}`);
          assert.equal(url.host, 'upstream.test');
          assert.ok(url.pathname.startsWith(base));
          assert.ok(!url.pathname.split('/').includes('..'));
        } else assert.ok(result.problem.length > 0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('edge over HTTP (properties against a started region)', () => {
  let t: TestRegion;
  let token: string;
  before(async () => {
    t = await startRegion({ CCAUTH_AUTH_FAILURES_PER_MINUTE: '100000' });
    const tenant = await createTenant(t.region);
    await t.region.store.accounts.update(tenant.account.id, { apiRateLimitPerMinute: 100000 });
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['users:read']);
    const res = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'users:read' });
    token = res.body.access_token as string;
  });
  after(async () => t?.close());

  async function json(response: Response): Promise<Record<string, unknown>> {
    const text = await response.text();
    assert.doesNotMatch(text, /FST_/);
    return JSON.parse(text) as Record<string, unknown>;
  }

  it('token endpoint: any body and Authorization get RFC 6749 errors, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(formLike, fc.option(headerValue, { nil: undefined }), fc.constantFrom('application/x-www-form-urlencoded', 'text/plain', 'application/json', ''), async (body, authorization, type) => {
        const headers: Record<string, string> = type ? { 'content-type': type } : {};
        if (authorization !== undefined) headers.authorization = authorization;
        const response = await fetch(`${t.baseUrl}/Auth/connect/token`, { method: 'POST', headers, body: Buffer.from(body, 'utf8') });
        assert.ok(response.status >= 400 && response.status < 500, `${response.status} for ${JSON.stringify({ body, authorization, type })}`);
        const b = await json(response);
        assert.deepEqual(Object.keys(b).sort(), ['error', 'error_description']);
        assert.ok(['invalid_request', 'invalid_client', 'unsupported_grant_type', 'invalid_scope', 'temporarily_unavailable'].includes(b.error as string), String(b.error));
      }),
      { numRuns: 200 },
    );
  });

  it('gateway: any Authorization, Accept and paging get 200 or a 4xx in SPEC shape', async () => {
    const pageValue = fc.oneof(fc.string({ unit: fc.constantFrom('0', '1', '5', '9', '-', '.', 'e', 'E', '+', 'x', 'Infinity', 'NaN', ' ', '%'), maxLength: 25 }), fc.integer().map(String), fc.double().map(String));
    await fc.assert(
      fc.asyncProperty(
        fc.option(headerValue.map((v) => (v.startsWith('Bearer') ? v : `Bearer ${v}`)), { nil: undefined }),
        fc.option(headerValue, { nil: undefined }),
        fc.option(pageValue, { nil: undefined }),
        fc.option(pageValue, { nil: undefined }),
        async (authorization, accept, page, pageSize) => {
          const headers: Record<string, string> = { authorization: authorization ?? `Bearer ${token}` };
          if (accept !== undefined) headers.accept = accept;
          const query = new URLSearchParams();
          if (page !== undefined) query.set('page', page);
          if (pageSize !== undefined) query.set('pageSize', pageSize);
          const response = await fetch(`${t.baseUrl}/useradmin/users?${query.toString()}`, { headers });
          const b = await json(response);
          if (response.status === 200) {
            assert.ok(Array.isArray(b.items));
            return;
          }
          assert.ok([400, 401, 406].includes(response.status), `${response.status} ${JSON.stringify(b)} for ${JSON.stringify({ authorization, accept, page, pageSize })}`);
          assert.deepEqual(Object.keys(b).sort(), ['error', 'message']);
          assert.ok(response.headers.get('x-request-id'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('any path gets 200 or a 4xx in SPEC shape', async () => {
    const piece = fc.constantFrom('a', '%', '%zz', '%E0%A4%A', '%2e%2e', '..', '.', '\\', '%5C', '//', 'users', 'useradmin', 'Auth', 'connect', 'metrics', '~', ';', '@', ':', '%00', 'é');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 6 }), async (pieces) => {
        const path = `/useradmin/${pieces.join('/')}`;
        const response = await fetch(`${t.baseUrl}${encodeURI(path).replace(/%25/g, '%')}`, { headers: { authorization: `Bearer ${token}` } });
        assert.ok(response.status < 500, `${response.status} for ${path}`);
        if (response.status >= 400) {
          const b = await json(response);
          assert.deepEqual(Object.keys(b).sort(), ['error', 'message'], `${path}: ${JSON.stringify(b)}`);
        } else await response.arrayBuffer();
      }),
      { numRuns: 200 },
    );
  });
});
