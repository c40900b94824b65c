import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { type Region, createRegion } from '../../src/server.js';
import { freePort, tempDir } from '../support/env.js';
import { basicAuthorization } from '../support/oauth.js';
import { createCredential, createTenant, tokenRequest } from '../support/region.js';
import { RecordingServer, get, isOAuthError, isSpecError, post, raw } from './support.js';

/**
 * Hostile input at the edge (issue 7 items 6 and 7), over real sockets: every bad request gets a
 * 4xx in SPEC's error shape with an X-Request-Id, never a 500 or a framework's error body.
 */

let region: Region;
let baseUrl: string;
let dir: { path: string; remove: () => void };
const logLines: Record<string, unknown>[] = [];
let upstreamWithBase: RecordingServer;
let upstreamAtRoot: RecordingServer;
let elsewhere: RecordingServer;
let clientId: string;
let clientSecret: string;
let otherBasic: string;
let token: string;
let writeToken: string;

before(async () => {
  [upstreamWithBase, upstreamAtRoot, elsewhere] = await Promise.all([new RecordingServer().start(), new RecordingServer().start(), new RecordingServer().start()]);
  const deadPort = await freePort();
  dir = tempDir();
  const port = await freePort();
  const config = loadConfig({
    CCAUTH_DATA_DIR: dir.path,
    PORT: String(port),
    CCAUTH_HOST: '127.0.0.1',
    CCAUTH_LOG_LEVEL: 'info',
    CCAUTH_CHANGE_POLL_MS: '50',
    CCAUTH_AUTH_FAILURES_PER_MINUTE: '1000',
    CCAUTH_UPSTREAMS: JSON.stringify([
      { prefix: '/crm', url: `http://127.0.0.1:${upstreamWithBase.port}/base`, scopes: { '*': 'users:read' } },
      { prefix: '/files', url: `http://127.0.0.1:${upstreamAtRoot.port}`, scopes: { GET: 'users:read' } },
      { prefix: '/down', url: `http://127.0.0.1:${deadPort}`, scopes: { GET: 'users:read' }, timeoutMs: 1000 },
    ]),
  });
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  region = await createRegion(config, { log });
  await region.listen();
  baseUrl = `http://127.0.0.1:${port}`;
  const tenant = await createTenant(region);
  await region.store.accounts.update(tenant.account.id, { apiRateLimitPerMinute: 100000 });
  ({
    credential: { clientId },
    clientSecret,
  } = await createCredential(region, tenant.admin));
  const other = await createCredential(region, tenant.admin, ['users:read'], 'second');
  otherBasic = basicAuthorization(other.credential.clientId, other.clientSecret);
  const res = await tokenRequest(baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'users:read' });
  assert.equal(res.status, 200);
  token = res.body.access_token as string;
  const write = await tokenRequest(baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'interactions:write' });
  writeToken = write.body.access_token as string;
});

after(async () => {
  await region?.close();
  await Promise.all([upstreamWithBase, upstreamAtRoot, elsewhere].map((s) => s?.stop()));
  dir?.remove();
});

const FORM_TYPE = 'Content-Type: application/x-www-form-urlencoded';

function assertRequestId(a: { headers: Record<string, string[]> }): string {
  const ids = a.headers['x-request-id'] ?? [];
  assert.equal(ids.length, 1, 'exactly one X-Request-Id');
  assert.match(ids[0] as string, /^[A-Za-z0-9._:-]{1,128}$/);
  return ids[0] as string;
}

describe('two Authorization headers (RFC 6749 5.2, RFC 6750 3.1)', () => {
  it('the token endpoint refuses them with invalid_request, whichever comes first', async () => {
    const body = 'grant_type=client_credentials&scope=users%3Aread';
    const valid = `Authorization: ${basicAuthorization(clientId, clientSecret)}`;
    for (const pair of [
      [valid, 'Authorization: Basic Zm9vOmJhcg=='],
      ['Authorization: Basic Zm9vOmJhcg==', valid],
      [valid, `Authorization: ${otherBasic}`],
      [valid, valid],
      [valid, 'authorization: Bearer x'],
    ]) {
      const a = await raw(baseUrl, post('/Auth/connect/token', body, [FORM_TYPE, ...pair]));
      assert.equal(a.status, 400, a.body);
      assert.ok(isOAuthError(a), a.body);
      assert.equal(a.json?.error, 'invalid_request');
      assert.equal(a.headers['cache-control']?.[0], 'no-store');
      assertRequestId(a);
    }
    // One header still works.
    const one = await raw(baseUrl, post('/Auth/connect/token', body, [FORM_TYPE, valid]));
    assert.equal(one.status, 200, one.body);
  });

  it('introspection and revocation refuse them too', async () => {
    const valid = `Authorization: ${basicAuthorization(clientId, clientSecret)}`;
    for (const path of ['/Auth/connect/introspect', '/Auth/connect/revocation']) {
      const a = await raw(baseUrl, post(path, `token=${token}`, [FORM_TYPE, valid, `Authorization: ${otherBasic}`]));
      assert.equal(a.status, 400, `${path}: ${a.body}`);
      assert.ok(isOAuthError(a), a.body);
      assert.equal(a.json?.error, 'invalid_request');
    }
    // The token was not revoked by the refused request.
    const still = await raw(baseUrl, get('/useradmin/users', [`Authorization: Bearer ${token}`]));
    assert.equal(still.status, 200);
  });

  it('the gateway answers 400 invalid_request in both orders', async () => {
    for (const pair of [
      [`Authorization: Bearer ${token}`, 'Authorization: Bearer garbage'],
      ['Authorization: Bearer garbage', `Authorization: Bearer ${token}`],
      [`Authorization: Bearer ${token}`, `authorization: Bearer ${token}`],
      [`Authorization: Bearer ${token}`, 'AUTHORIZATION: '],
    ]) {
      for (const path of ['/useradmin/users', '/crm/x']) {
        const a = await raw(baseUrl, get(path, pair));
        assert.equal(a.status, 400, `${path} ${pair.join(' | ').slice(0, 60)}: ${a.body}`);
        assert.ok(isSpecError(a), a.body);
        assert.equal(a.json?.error, 'invalid_request');
        assertRequestId(a);
      }
    }
    assert.equal(upstreamWithBase.received.length, 0, 'nothing reached the upstream');
    const one = await raw(baseUrl, get('/useradmin/users', [`Authorization: Bearer ${token}`]));
    assert.equal(one.status, 200);
  });
});

describe('bad input is a 4xx in SPEC shape, never a 500', () => {
  it('page and pageSize that are not small decimal integers', async () => {
    for (const path of ['/useradmin/users', '/stats/interactions?start=2024-05-01T00:00:00Z&end=2024-05-02T00:00:00Z', '/conversation-analyzer/interactions?start=2024-05-01T00:00:00Z&end=2024-05-02T00:00:00Z']) {
      const scope = path.startsWith('/stats') ? 'stats' : path.startsWith('/conv') ? 'interaction-content:read' : 'users:read';
      const res = await tokenRequest(baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope });
      const bearer = `Authorization: Bearer ${res.body.access_token as string}`;
      const sep = path.includes('?') ? '&' : '?';
      for (const q of ['page=1e308', 'page=Infinity', 'page=-Infinity', 'page=99999999999999999999', 'pageSize=Infinity', 'page=NaN', 'page=0x10', `page=${'9'.repeat(400)}`, 'page=2000000', 'pageSize=1e1']) {
        const a = await raw(baseUrl, get(`${path}${sep}${q}`, [bearer]));
        assert.equal(a.status, 400, `${path} ${q}: ${a.body}`);
        assert.ok(isSpecError(a), a.body);
        assert.equal(a.json?.error, 'invalid_request');
        assert.match(String(a.json?.message), /page/i);
      }
      const ok = await raw(baseUrl, get(`${path}${sep}page=1000000&pageSize=50`, [bearer]));
      assert.equal(ok.status, 200, ok.body);
    }
  });

  it('a backslash or dot path behind an upstream never leaves its base URL', async () => {
    const auth = `Authorization: Bearer ${token}`;
    const paths = [
      `/files/\\127.0.0.1:${elsewhere.port}/x`,
      `/files/%5C127.0.0.1:${elsewhere.port}/x`,
      `/crm/\\127.0.0.1:${elsewhere.port}/x`,
      '/crm/\\host/x',
      '/files/\\host/x',
      '/crm/%2e%2e/x',
      '/crm/a/%2E/x',
      '/crm/%2e%2e%2fsecret',
      '/crm/%zz',
      '/crm/a%00b',
    ];
    for (const path of paths) {
      const a = await raw(baseUrl, get(path, [auth]));
      assert.ok(a.status === 400 || a.status === 404, `${path}: ${a.status} ${a.body}`);
      assert.ok(isSpecError(a), `${path}: ${a.body}`);
      assertRequestId(a);
    }
    assert.equal(elsewhere.received.length, 0, 'no request reached another host');
    assert.equal(upstreamAtRoot.received.length, 0);
    assert.equal(upstreamWithBase.received.length, 0);
    // An ordinary path still goes through, as sent, below the base; a double slash stays on the upstream.
    const ok = await raw(baseUrl, get('/crm/a/b%20c?x=1', [auth]));
    assert.equal(ok.status, 200, ok.body);
    assert.equal(upstreamWithBase.received.at(-1)?.url, '/base/a/b%20c?x=1');
    const double = await raw(baseUrl, get(`/files//127.0.0.1:${elsewhere.port}/x`, [auth]));
    assert.equal(double.status, 200, double.body);
    assert.equal(upstreamAtRoot.received.at(-1)?.url, `//127.0.0.1:${elsewhere.port}/x`);
    assert.equal(elsewhere.received.length, 0);
  });

  it('framework errors and unknown routes get SPEC shape', async () => {
    const cases: [string, number | number[]][] = [
      [get('/useradmin/users/%E0%A4%A'), 400],
      [get('/admin/api/%zz'), 400],
      [get('/%'), 400],
      [get('/nope'), 404],
      [get('/Auth/nope'), 404],
      [get('/useradmin/nope/deeper'), 404],
      [get('/metrics/x'), 404],
      [`DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 404],
      [post('/admin/api/session', '{"email":', ['Content-Type: application/json']), 400],
      [post('/admin/api/session', 'x'.repeat(2 * 1024 * 1024), ['Content-Type: application/json']), [400, 413]],
      [post('/interactions', 'hello', ['Content-Type: text/plain', `Authorization: Bearer ${writeToken}`]), [400, 415]],
      [post('/interactions', '{"a":', ['Content-Type: application/json', `Authorization: Bearer ${writeToken}`]), 400],
      [post('/healthz', '{}', ['Content-Type: application/json']), 404],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400],
      ['NOT-HTTP\r\n\r\n', 400],
    ];
    for (const [request, status] of cases) {
      const a = await raw(baseUrl, request);
      const line = request.split('\r\n')[0]?.slice(0, 60);
      assert.ok([status].flat().includes(a.status), `${line}: ${a.status} ${a.body.slice(0, 200)}`);
      assert.ok(isSpecError(a), `${line}: ${a.body.slice(0, 200)}`);
      assert.ok(a.status !== 404 || a.json?.error === 'not_found', `${line}: ${a.body}`);
      assertRequestId(a);
    }
  });
});

describe('X-Request-Id', () => {
  it("keeps the caller's well-formed id, replaces any other, on every response", async () => {
    const own = 'abc.DEF_1:2-3';
    for (const request of [get('/healthz', [`X-Request-Id: ${own}`]), get('/nope', [`X-Request-Id: ${own}`]), get('/useradmin/users', [`X-Request-Id: ${own}`]), get('/%zz', [`X-Request-Id: ${own}`])]) {
      const a = await raw(baseUrl, request);
      assert.equal(assertRequestId(a), own);
    }
    const max = 'a'.repeat(128);
    assert.equal(assertRequestId(await raw(baseUrl, get('/healthz', [`X-Request-Id: ${max}`]))), max);
    const seen = new Set<string>();
    for (const bad of ['a'.repeat(129), 'a b', 'a/b', 'a,b', '"quoted"', 'ä']) {
      const id = assertRequestId(await raw(baseUrl, get('/healthz', [`X-Request-Id: ${bad}`])));
      assert.notEqual(id, bad);
      seen.add(id);
    }
    const twice = assertRequestId(await raw(baseUrl, get('/healthz', ['X-Request-Id: one', 'X-Request-Id: two'])));
    assert.ok(twice !== 'one' && twice !== 'two');
    seen.add(twice);
    assert.equal(seen.size, 7, 'each replaced id is new');
    const response = await fetch(`${baseUrl}/Auth/.well-known/openid-configuration`);
    assert.match(response.headers.get('x-request-id') ?? '', /^[A-Za-z0-9._:-]{1,128}$/);
  });

  it('appears in the log line of an error', async () => {
    const refused = await raw(baseUrl, get('/useradmin/%zz', ['X-Request-Id: edge-log-1']));
    assert.equal(refused.status, 400);
    const down = await raw(baseUrl, get('/down/x', [`Authorization: Bearer ${token}`, 'X-Request-Id: edge-log-2']));
    assert.equal(down.status, 502, down.body);
    assert.ok(isSpecError(down));
    assert.equal(assertRequestId(down), 'edge-log-2');
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && !logLines.some((l) => l.reqId === 'edge-log-2')) await new Promise((r) => setTimeout(r, 20));
    const first = logLines.find((l) => l.reqId === 'edge-log-1');
    assert.ok(first, 'the refused request is logged with its id');
    const second = logLines.find((l) => l.reqId === 'edge-log-2' && (l.level as number) >= 40);
    assert.ok(second, 'the upstream failure is logged with the request id');
    assert.ok(!JSON.stringify(logLines).includes(token), 'no token in a log line');
  });
});
