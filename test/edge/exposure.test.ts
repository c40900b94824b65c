import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createRegion } from '../../src/server.js';
import { ccauth, ensureBuilt, serve } from '../cli/helpers.js';
import { freePort, tempDir } from '../support/env.js';
import { nodeRequest } from '../support/oauth.js';
import { type TestRegion, createCredential, createTenant, startRegion, tokenRequest } from '../support/region.js';
import { RecordingServer, get, isSpecError, raw } from './support.js';

/** Trust and exposure (issue 7 "Hardening"): proxies, /metrics, the listen address, secrets. */

describe('CCAUTH_TRUST_PROXY: hops or addresses, never the left-most X-Forwarded-For', () => {
  let upstream: RecordingServer;
  before(async () => {
    upstream = await new RecordingServer().start();
  });
  after(async () => upstream?.stop());

  /** What the upstream hears about the client of one request, for a setting and a source address. */
  async function forwardedFor(trust: string, xff: string | undefined, localAddress = '127.0.0.1'): Promise<string | undefined> {
    const t = await startRegion({
      CCAUTH_TRUST_PROXY: trust,
      CCAUTH_UPSTREAMS: JSON.stringify([{ prefix: '/crm', url: `http://127.0.0.1:${upstream.port}/base`, scopes: { GET: 'users:read' } }]),
    });
    try {
      const tenant = await createTenant(t.region);
      const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['users:read']);
      const res = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'users:read' });
      const headers: Record<string, string> = { authorization: `Bearer ${res.body.access_token as string}`, 'x-forwarded-host': 'spoofed.example' };
      if (xff !== undefined) headers['x-forwarded-for'] = xff;
      const answer = await nodeRequest(t.baseUrl, '/crm/who', 'GET', headers, undefined, localAddress);
      assert.equal(answer.status, 200, answer.text);
      const seen = upstream.received.at(-1)?.headers;
      return seen?.['x-forwarded-for'] as string | undefined;
    } finally {
      await t.close();
    }
  }

  it('a hop count trusts that many hops from the right; true is one hop', async () => {
    assert.equal(await forwardedFor('1', '6.6.6.6, 10.0.0.1'), '10.0.0.1, 127.0.0.1');
    assert.equal(await forwardedFor('true', '6.6.6.6, 10.0.0.1'), '10.0.0.1, 127.0.0.1');
    assert.equal(await forwardedFor('2', '6.6.6.6, 10.0.0.1'), '6.6.6.6, 10.0.0.1, 127.0.0.1');
    assert.equal(await forwardedFor('false', '6.6.6.6, 10.0.0.1'), '127.0.0.1');
  });

  it('an address list trusts only those hops', async () => {
    // 10.0.0.1 is not one of ours: it is the client, whatever it claims to the left.
    assert.equal(await forwardedFor('127.0.0.1', '6.6.6.6, 10.0.0.1'), '10.0.0.1, 127.0.0.1');
    assert.equal(await forwardedFor('127.0.0.1, 10.0.0.0/8', '6.6.6.6, 10.0.0.1'), '6.6.6.6, 10.0.0.1, 127.0.0.1');
    assert.equal(await forwardedFor('loopback', '6.6.6.6, 10.0.0.1'), '10.0.0.1, 127.0.0.1');
    // A peer that is not a proxy of ours speaks only for itself.
    assert.equal(await forwardedFor('127.0.0.1', '6.6.6.6', '127.0.0.2'), '127.0.0.2');
  });

  it('bad settings are refused at start', () => {
    for (const bad of ['maybe', '10.0.0.0/33', '300.1.1.1', '1.2.3.4/8/9', '-1']) {
      assert.throws(() => loadConfig({ CCAUTH_TRUST_PROXY: bad }), (err: Error) => err instanceof ConfigError && /CCAUTH_TRUST_PROXY/.test(err.message), bad);
    }
  });
});

describe('/metrics', () => {
  let t: TestRegion;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    t = await startRegion({ CCAUTH_METRICS_ADDR: `127.0.0.1:${metricsPort}` });
  });
  after(async () => t?.close());

  it('is not on the public port', async () => {
    const a = await raw(t.baseUrl, get('/metrics'));
    assert.equal(a.status, 404);
    assert.ok(isSpecError(a), a.body);
    assert.equal(a.json?.error, 'not_found');
  });

  it('is served on CCAUTH_METRICS_ADDR', async () => {
    await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x', scope: 'stats' });
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /ccauth_token_requests_total\{[^}]*outcome="invalid_client"[^}]*\} 1/);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/admin/`)).status, 404);
  });

  it('is off by default, and a taken address fails the start', async () => {
    assert.equal(loadConfig({}).metricsAddr, undefined);
    const dir = tempDir();
    const region = await createRegion(loadConfig({ CCAUTH_DATA_DIR: dir.path, PORT: '0', CCAUTH_LOG_LEVEL: 'silent', CCAUTH_METRICS_ADDR: `127.0.0.1:${metricsPort}` }));
    try {
      await assert.rejects(region.listen(), /CCAUTH_METRICS_ADDR/);
    } finally {
      await region.close();
      dir.remove();
    }
  });
});

describe('the listen address, the CLI and the demo secret', () => {
  const dir = tempDir('ccauth-edge-cli-');
  before(() => ensureBuilt());
  after(() => dir.remove());

  it('listens on loopback by default and says how to serve other hosts', async () => {
    assert.equal(loadConfig({}).host, '127.0.0.1');
    const [port, metricsPort] = [await freePort(), await freePort()];
    const env: Record<string, string> = { CCAUTH_DATA_DIR: dir.path, PORT: String(port) };
    const served = await serve(['--metrics-addr', `127.0.0.1:${metricsPort}`], env, { human: true });
    try {
      assert.match(served.stdout(), /listening on 127\.0\.0\.1 only.*CCAUTH_HOST=0\.0\.0\.0/);
      assert.equal(served.child.exitCode, null);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
      const deadline = Date.now() + 5000;
      while (!served.stdout().includes('metrics: ') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.match(served.stdout(), new RegExp(`metrics: http://127\\.0\\.0\\.1:${metricsPort}/metrics`));
      assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status, 200);
    } finally {
      await served.stop();
    }
  });

  it('ccauth token takes the secret from CCAUTH_CLIENT_SECRET or stdin; the demo secret is never in a log line', async () => {
    const port = await freePort();
    const env: Record<string, string> = { CCAUTH_DATA_DIR: dir.path, PORT: String(port), CCAUTH_LOG_REQUESTS: 'true', CCAUTH_LOG_LEVEL: 'trace' };
    const served = await serve(['--demo'], { ...env, CCAUTH_DATA_DIR: `${dir.path}/demo` });
    try {
      const demo = served.info.demo as { credential: { clientId: string; clientSecret: string } };
      const { clientId, clientSecret } = demo.credential;
      const url = `http://127.0.0.1:${port}`;
      const args = ['token', '--url', url, '--client-id', clientId, '--scope', 'agents-availability:read', '--json'];
      const fromEnv = await ccauth(args, { env: { CCAUTH_CLIENT_SECRET: clientSecret } });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      assert.equal((JSON.parse(fromEnv.stdout) as { token_type: string }).token_type, 'Bearer');
      const fromStdin = await ccauth([...args, '--client-secret-stdin'], { env: {}, input: `${clientSecret}\n` });
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      const fromArg = await ccauth([...args, '--client-secret', clientSecret], { env: {} });
      assert.equal(fromArg.code, 0, fromArg.stderr);
      const none = await ccauth(args, { env: {} });
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /CCAUTH_CLIENT_SECRET/);
      const wrong = await ccauth([...args, '--client-secret-stdin'], { env: {}, input: 'wrong\n' });
      assert.equal(wrong.code, 1);
      // The secret reached stdout once, in the one JSON document; the logs (stderr, requests logged at trace) never carry it.
      assert.equal(served.stdout().split(clientSecret).length - 1, 3, 'the document names it in the credential and the two first-token commands');
      assert.ok(served.stderr().length > 0, 'request logs were written');
      assert.ok(!served.stderr().includes(clientSecret), 'no log line carries the demo secret');
    } finally {
      await served.stop();
    }
  });
});
