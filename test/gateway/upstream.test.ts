import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createRegion } from '../../src/server.js';
import { freePort, tempDir } from '../support/env.js';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion, type Tenant } from '../support/region.js';

/** A real upstream: records what it receives and answers per path. */
class Upstream {
  readonly server: Server;
  readonly received: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  /** Hooks a test sets for the streaming paths. */
  onUploadChunk: () => void = () => undefined;
  resumeDownload: Promise<void> = Promise.resolve();
  port = 0;

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path === '/base/download') return this.download(res);
    if (path === '/base/slow') {
      await new Promise((r) => setTimeout(r, 3000));
      if (!res.destroyed) res.end('late');
      return;
    }
    const hash = createHash('sha256');
    let size = 0;
    let first = true;
    for await (const chunk of req) {
      if (first) this.onUploadChunk();
      first = false;
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    if (path === '/base/teapot') {
      res.writeHead(418, {
        'content-type': 'text/plain; charset=utf-8',
        'x-upstream': 'yes',
        'set-cookie': 'upstream_session=1; Path=/',
        'ratelimit-limit': '999999',
        'keep-alive': 'timeout=1',
      });
      res.end("I'm a teapot");
      return;
    }
    if (path === '/base/bogus') {
      res.writeHead(999, { 'content-type': 'text/html', 'x-internal': 'secret' });
      res.end('<h1>upstream stack trace</h1>');
      return;
    }
    if (path === '/base/json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"from":"upstream"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, size, sha256: hash.digest('hex') }));
  }

  static readonly DOWNLOAD_CHUNK = 64 * 1024;
  static readonly DOWNLOAD_CHUNKS = 512; // 32 MiB
  static chunkOf(i: number): Buffer {
    return Buffer.alloc(Upstream.DOWNLOAD_CHUNK, i % 251);
  }

  private async download(res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(Upstream.DOWNLOAD_CHUNK * Upstream.DOWNLOAD_CHUNKS) });
    res.write(Upstream.chunkOf(0));
    // The rest only once the client has the first chunk: a gateway that buffered would hang here.
    await this.resumeDownload;
    for (let i = 1; i < Upstream.DOWNLOAD_CHUNKS; i++) {
      if (!res.write(Upstream.chunkOf(i))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  }
}

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms).unref())]);

let upstream: Upstream;
let t: TestRegion;
let tenant: Tenant;
let clientId: string;
let readWrite: string;
let readOnly: string;

before(async () => {
  upstream = new Upstream();
  await upstream.start();
  const downPort = await freePort();
  t = await startRegion({
    CCAUTH_UPSTREAMS: JSON.stringify([
      { prefix: '/crm', url: `http://127.0.0.1:${upstream.port}/base/`, scopes: { GET: 'users:read', POST: 'users:write', put: 'users:write' } },
      { prefix: '/slow', url: `http://127.0.0.1:${upstream.port}/base`, scopes: { '*': 'users:read' }, timeoutMs: 300 },
      { prefix: '/down', url: `http://127.0.0.1:${downPort}`, scopes: { GET: 'users:read' } },
    ]),
  });
  tenant = await createTenant(t.region);
  const full = await createCredential(t.region, tenant.admin, ['users:read', 'users:write']);
  clientId = full.credential.clientId;
  readWrite = await token(full.credential.clientId, full.clientSecret, 'users:read users:write');
  const limited = await createCredential(t.region, tenant.supervisor, ['users:read']);
  readOnly = await token(limited.credential.clientId, limited.clientSecret, 'users:read');
});
after(async () => {
  await t?.close();
  await upstream?.stop();
});

async function token(id: string, secret: string, scope: string): Promise<string> {
  const res = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: id, client_secret: secret, scope });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.access_token as string;
}

async function call(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  const res = await fetch(`${t.baseUrl}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

function rawGet(path: string, bearer: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('upstream routing', () => {
  it('forwards the path after the prefix and the query string, without the client credentials, with who is calling', async () => {
    const res = await call('/crm/contacts/42?q=a%20b&x=1&x=2', {
      token: readWrite,
      headers: { cookie: 'session=abc', 'x-ccauth-account-id': 'someone-else', 'x-ccauth-scope': 'everything', 'x-forwarded-for': '6.6.6.6', 'x-custom': 'kept' },
    });
    assert.equal(res.status, 200, res.text);
    const seen = res.json() as { method: string; url: string; headers: Record<string, string> };
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/base/contacts/42?q=a%20b&x=1&x=2');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers.cookie, undefined);
    assert.equal(seen.headers['x-ccauth-account-id'], tenant.account.id);
    assert.equal(seen.headers['x-ccauth-client-id'], clientId);
    assert.equal(seen.headers['x-ccauth-user-id'], tenant.admin.id);
    assert.equal(seen.headers['x-ccauth-scope'], 'users:read users:write');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], new URL(t.baseUrl).host);
    assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.match(res.headers.get('ratelimit-remaining') ?? '', /^\d+$/);
  });

  it('maps the bare prefix to the base path', async () => {
    const res = await call('/crm?page=2', { token: readOnly });
    assert.equal(res.status, 200, res.text);
    assert.equal((res.json() as { url: string }).url, '/base?page=2');
  });

  it('answers 401 without a token, and the upstream never hears of it', async () => {
    const before = upstream.received.length;
    const res = await call('/crm/contacts');
    assert.equal(res.status, 401);
    assert.deepEqual(res.json(), { error: 'invalid_token', message: 'The access token is invalid or has expired' });
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${t.config.publicUrl}"`);
    const bad = await call('/crm/contacts', { token: `${readWrite}x`, method: 'POST', body: 'x' });
    assert.equal(bad.status, 401);
    assert.equal(upstream.received.length, before);
  });

  it("checks each method's scope: 403 names the scope the method needs", async () => {
    assert.equal((await call('/crm/contacts', { token: readOnly })).status, 200);
    const before = upstream.received.length;
    for (const method of ['POST', 'PUT']) {
      const res = await call('/crm/contacts', { token: readOnly, method, body: '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 403, method);
      assert.equal(res.json().error, 'insufficient_scope');
      assert.match(res.json().message as string, /users:write/);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="users:write"');
    }
    assert.equal(upstream.received.length, before);
    assert.equal((await call('/crm/contacts', { token: readWrite, method: 'POST', body: '{}' })).status, 200);
  });

  it('lets HEAD need what GET needs', async () => {
    const res = await fetch(`${t.baseUrl}/crm/contacts`, { method: 'HEAD', headers: { authorization: `Bearer ${readOnly}` } });
    assert.equal(res.status, 200);
    assert.equal(upstream.received.at(-1)?.method, 'HEAD');
  });

  it('answers 405 with Allow for a method the upstream does not route', async () => {
    const res = await call('/crm/contacts/1', { token: readWrite, method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD, POST, PUT');
    assert.equal(res.json().error, 'method_not_allowed');
  });

  it("passes the upstream's status, headers and body on, less its hop-by-hop headers, cookies and rate-limit headers", async () => {
    const res = await call('/crm/teapot', { token: readOnly });
    assert.equal(res.status, 418);
    assert.equal(res.text, "I'm a teapot");
    assert.equal(res.headers.get('x-upstream'), 'yes');
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.headers.get('set-cookie'), null);
    assert.equal(res.headers.get('ratelimit-limit'), '600');
    assert.notEqual(res.headers.get('keep-alive'), 'timeout=1');
  });

  it('refuses . and .. segments instead of forwarding them', async () => {
    // fetch would resolve the dot segments itself: send the path exactly as written.
    for (const path of ['/crm/a/%2e%2e/%2e%2e/secret', '/crm/../admin/api/me', '/crm/./x']) {
      const res = await rawGet(path, readOnly);
      assert.equal(res.status, 400, path);
      assert.equal(JSON.parse(res.body).error, 'invalid_request', path);
    }
  });
});

describe('streaming', () => {
  it('streams a large response: the client has the first bytes before the upstream has sent the rest', async () => {
    let resume!: () => void;
    upstream.resumeDownload = new Promise<void>((r) => (resume = r));
    const res = await within(fetch(`${t.baseUrl}/crm/download`, { headers: { authorization: `Bearer ${readOnly}` } }), 10_000, 'the response headers');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(res.headers.get('content-length'), String(Upstream.DOWNLOAD_CHUNK * Upstream.DOWNLOAD_CHUNKS));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await within(reader.read(), 10_000, 'the first chunk');
    assert.ok(first.value && first.value.length > 0);
    resume();
    const expected = createHash('sha256');
    for (let i = 0; i < Upstream.DOWNLOAD_CHUNKS; i++) expected.update(Upstream.chunkOf(i));
    const got = createHash('sha256').update(first.value);
    let size = first.value.length;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      got.update(value);
    }
    assert.equal(size, Upstream.DOWNLOAD_CHUNK * Upstream.DOWNLOAD_CHUNKS);
    assert.equal(got.digest('hex'), expected.digest('hex'));
    upstream.resumeDownload = Promise.resolve();
  });

  it('streams an upload of any content type: the upstream has the first chunk before the client has sent the rest', async () => {
    let arrived!: () => void;
    const firstChunkArrived = new Promise<void>((r) => (arrived = r));
    upstream.onUploadChunk = () => arrived();
    const chunks = Array.from({ length: 64 }, () => randomBytes(128 * 1024)); // 8 MiB
    const expected = createHash('sha256');
    for (const c of chunks) expected.update(c);
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // After the first chunk, wait until the upstream has it: a gateway that buffered would hang.
        if (i === 1) await within(firstChunkArrived, 10_000, 'the first chunk at the upstream');
        const chunk = chunks[i++];
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${t.baseUrl}/crm/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readWrite}`, 'content-type': 'multipart/form-data; boundary=xyz' },
      body,
      duplex: 'half',
    } as RequestInit);
    const text = await res.text();
    upstream.onUploadChunk = () => undefined;
    assert.equal(res.status, 200, text);
    const seen = JSON.parse(text) as { size: number; sha256: string; headers: Record<string, string> };
    assert.equal(seen.size, 64 * 128 * 1024);
    assert.equal(seen.sha256, expected.digest('hex'));
    assert.equal(seen.headers['content-type'], 'multipart/form-data; boundary=xyz');
  });

  it('forwards bodies unparsed: broken JSON, form data and no content type at all', async () => {
    for (const [type, body] of [
      ['application/json', '{"not json'],
      ['application/x-www-form-urlencoded', 'a=1&a=2'],
      [undefined, 'raw bytes'],
    ] as const) {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const res = await call('/crm/echo', { token: readWrite, method: 'POST', body: Buffer.from(body), headers });
      assert.equal(res.status, 200, `${type}: ${res.text}`);
      const seen = res.json() as { size: number; sha256: string; headers: Record<string, string> };
      assert.equal(seen.size, Buffer.byteLength(body), String(type));
      assert.equal(seen.sha256, createHash('sha256').update(body).digest('hex'));
      if (type) assert.equal(seen.headers['content-type'], type);
    }
  });
});

describe('upstream failures', () => {
  it('answers 502 bad_gateway when the upstream is down, without its internals', async () => {
    const res = await call('/down/anything', { token: readOnly });
    assert.equal(res.status, 502);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['error', 'message']);
    assert.equal(body.error, 'bad_gateway');
    assert.doesNotMatch(res.text, /127\.0\.0\.1|ECONNREFUSED|undici|stack/i);
  });

  it('answers 502 bad_gateway, without any of its headers, when the upstream answers with an invalid status', async () => {
    const res = await call('/crm/bogus', { token: readOnly });
    assert.equal(res.status, 502);
    assert.equal(res.json().error, 'bad_gateway');
    assert.equal(res.headers.get('x-internal'), null);
    assert.match(res.headers.get('content-type') ?? '', /^application\/vnd\.newvoicemedia\.v1\+json/);
    assert.doesNotMatch(res.text, /stack trace/);
  });

  it('answers 504 gateway_timeout when the upstream is slower than its timeout', async () => {
    const started = Date.now();
    const res = await call('/slow/slow', { token: readOnly });
    assert.equal(res.status, 504);
    assert.equal(res.json().error, 'gateway_timeout');
    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
  });
});

describe('media types of upstreams', () => {
  it("does not apply the platform's version negotiation to upstream routes", async () => {
    const res = await call('/crm/contacts', { token: readOnly, headers: { accept: 'text/csv' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(upstream.received.at(-1)?.headers.accept, 'text/csv');
  });

  it("keeps the upstream's own JSON media type, while the gateway's own errors keep the platform's", async () => {
    const res = await call('/crm/json', { token: readOnly });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const refused = await call('/crm/json', { token: readOnly, method: 'POST', body: '{}' });
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get('content-type') ?? '', /^application\/vnd\.newvoicemedia\.v1\+json/);
  });
});

describe('CCAUTH_UPSTREAMS', () => {
  const parse = (value: unknown) => loadConfig({ CCAUTH_UPSTREAMS: typeof value === 'string' ? value : JSON.stringify(value) }).upstreams;
  const refuses = (value: unknown, pattern: RegExp) =>
    assert.throws(() => parse(value), (e: Error) => e instanceof ConfigError && pattern.test(e.message), `expected ${pattern}`);

  it('is empty by default and normalises an entry', () => {
    assert.deepEqual(loadConfig({}).upstreams, []);
    assert.deepEqual(parse([{ prefix: '/crm/', url: 'https://crm.internal/api/', scopes: { get: 'users:read', '*': 'users:write' } }]), [
      {
        prefix: '/crm',
        url: 'https://crm.internal/api',
        scopes: { GET: 'users:read', HEAD: 'users:read', POST: 'users:write', PUT: 'users:write', PATCH: 'users:write', DELETE: 'users:write', OPTIONS: 'users:write' },
        timeoutMs: 30000,
        description: undefined,
      },
    ]);
  });

  it('reads @/path/to/file.json', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'upstreams.json');
      writeFileSync(file, JSON.stringify([{ prefix: '/crm', url: 'http://127.0.0.1:9000', scopes: { GET: 'stats' }, timeoutMs: 1000 }]));
      assert.equal(parse(`@${file}`)[0]?.timeoutMs, 1000);
      refuses(`@${join(dir.path, 'missing.json')}`, /CCAUTH_UPSTREAMS: cannot read .*missing\.json/);
    } finally {
      dir.remove();
    }
  });

  it('names the bad entry and what is wrong with it', () => {
    refuses('[{', /CCAUTH_UPSTREAMS: not valid JSON/);
    refuses({ prefix: '/crm' }, /must be a JSON array/);
    refuses([{ prefix: '/crm', url: 'http://a', scopes: { GET: 'crm:read' } }], /\[0\] \(\/crm\)\.scopes\.GET: "crm:read" is not a scope of the catalogue/);
    refuses([{ prefix: '/crm', url: 'http://a', scopes: { FETCH: 'stats' } }], /\[0\] \(\/crm\)\.scopes\.FETCH: "FETCH" is not a method/);
    refuses([{ prefix: '/crm', url: 'http://a', scopes: {} }], /\[0\] \(\/crm\)\.scopes: must name the scope of at least one method/);
    refuses([{ prefix: 'crm', url: 'http://a', scopes: { GET: 'stats' } }], /\[0\] \(crm\)\.prefix: must be a path/);
    refuses([{ prefix: '/Auth', url: 'http://a', scopes: { GET: 'stats' } }], /\.prefix: must not start with a path of the region itself/);
    refuses([{ prefix: '/crm', url: 'ftp://a', scopes: { GET: 'stats' } }], /\.url: must be an http or https URL/);
    refuses([{ prefix: '/crm', url: 'http://user:pw@a', scopes: { GET: 'stats' } }], /\.url: must not contain credentials/);
    refuses([{ prefix: '/crm', url: 'http://a', scopes: { GET: 'stats' }, timeoutMs: 5 }], /\.timeoutMs/);
    refuses([{ prefix: '/crm', url: 'http://a', scopes: { GET: 'stats' }, scope: 'x' }], /\[0\] \(\/crm\).*scope/);
    refuses(
      [
        { prefix: '/crm', url: 'http://a', scopes: { GET: 'stats' } },
        { prefix: '/x', url: 'http://a', scopes: { GET: 'nope' } },
      ],
      /\[1\] \(\/x\)\.scopes\.GET/,
    );
    refuses(
      [
        { prefix: '/crm', url: 'http://a', scopes: { GET: 'stats' } },
        { prefix: '/crm/', url: 'http://b', scopes: { GET: 'stats' } },
      ],
      /the prefix \/crm is configured twice/,
    );
  });

  it('refuses at start a prefix that overlaps a route of the region', async () => {
    const dir = tempDir();
    try {
      const config = loadConfig({
        CCAUTH_DATA_DIR: dir.path,
        CCAUTH_LOG_LEVEL: 'silent',
        CCAUTH_UPSTREAMS: JSON.stringify([{ prefix: '/agents-availability', url: 'http://127.0.0.1:9', scopes: { POST: 'stats' } }]),
      });
      await assert.rejects(createRegion(config), (e: Error) => e instanceof ConfigError && /\/agents-availability overlaps the route GET \/agents-availability/.test(e.message));
    } finally {
      dir.remove();
    }
  });
});
