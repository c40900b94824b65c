// `ccauth serve` as a child process, and the CLI used next to it on the same store.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, tempDir } from '../support/env.js';
import { type Served, ccauth, ccauthJson, ensureBuilt, serve, tokenRequest, within } from './helpers.js';

interface Credential {
  id: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

describe('ccauth serve and the CLI on the same store', () => {
  const dir = tempDir('ccauth-cli-serve-');
  const env: Record<string, string> = { CCAUTH_DATA_DIR: dir.path };
  const json = <T>(args: string[], input?: string) => ccauthJson<T>(args, { env, input });
  let server: Served;
  let base: string;
  let accountId: string;
  let cred: Credential;

  before(async () => {
    await ensureBuilt();
    const port = await freePort();
    // The server's own default change poll (250 ms): the 1-second promise is tested as shipped.
    // --demo on an empty store: the JSON document carries the demo seed.
    server = await serve(['--demo'], { ...env, PORT: String(port), CCAUTH_HOST: '127.0.0.1' });
    base = `http://127.0.0.1:${port}`;
    const account = await json<{ id: string }>(['account', 'create', '--name', 'Served', '--api-credentials', 'on']);
    accountId = account.id;
    await Promise.all([
      json(['user', 'create', '--account', accountId, '--email', 'admin@served.test', '--license', 'admin']),
      json(['user', 'create', '--account', accountId, '--email', 'sup@served.test', '--license', 'supervisor']),
    ]);
    cred = await json<Credential>(['credential', 'create', '--user', 'admin@served.test', '--name', 'Ops', '--scopes', 'stats,users:read']);
  });
  after(async () => {
    await server?.stop();
    dir.remove();
  });

  it('serve --json --demo prints one JSON document once listening, with the demo seed', async () => {
    const info = server.info;
    assert.equal(info.status, 'listening');
    assert.equal(info.url, base);
    assert.equal(info.region, 'emea');
    assert.equal(typeof info.issuer, 'string');
    assert.match(info.issuer as string, /\/Auth$/);
    const demo = info.demo as { seeded: boolean; accountId: string; users: { email: string }[]; password: string; credential: { clientId: string; clientSecret: string }; firstToken: { curl: string; cli: string } };
    assert.equal(demo.seeded, true);
    assert.deepEqual(demo.users.map((u) => u.email).sort(), ['admin@demo.test', 'agent@demo.test', 'supervisor@demo.test']);
    assert.ok(demo.password.length >= 12);
    assert.ok(demo.firstToken.curl.startsWith(`curl -s -X POST ${base}/Auth/connect/token `));
    assert.ok(demo.firstToken.curl.includes(`client_id=${demo.credential.clientId}&client_secret=${demo.credential.clientSecret}`));
    assert.ok(demo.firstToken.cli.includes(`token --url ${base} --client-id ${demo.credential.clientId} --client-secret ${demo.credential.clientSecret}`));
    const res = await tokenRequest(base, demo.credential.clientId, demo.credential.clientSecret, 'agents-availability:read');
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('ccauth token gets a token from the running server; an OAuth error exits 1 with a clear message', async () => {
    const [ok, human, wrong, scope, unreachable] = await Promise.all([
      ccauth(['token', '--url', base, '--client-id', cred.clientId, '--client-secret', cred.clientSecret, '--scope', 'stats', '--json'], { env }),
      ccauth(['token', '--url', `${base}/`, '--client-id', cred.clientId, '--client-secret', cred.clientSecret, '--scope', 'users:read'], { env }),
      ccauth(['token', '--url', base, '--client-id', cred.clientId, '--client-secret', 'not-the-secret', '--scope', 'stats', '--json'], { env }),
      ccauth(['token', '--url', base, '--client-id', cred.clientId, '--client-secret', cred.clientSecret, '--scope', 'globalpci'], { env }),
      ccauth(['token', '--url', 'http://127.0.0.1:9', '--client-id', cred.clientId, '--client-secret', cred.clientSecret, '--scope', 'stats'], { env }),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim().split('\n').length, 1, 'one JSON document');
    const body = JSON.parse(ok.stdout) as { access_token: string; token_type: string; expires_in: number; scope: string };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'stats');
    assert.equal(body.expires_in, 900);
    assert.equal(body.access_token.split('.').length, 3, 'a JWT');
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims.client_id, cred.clientId);
    assert.equal(claims.account_id, accountId);

    assert.equal(human.code, 0, human.stderr);
    assert.equal((JSON.parse(human.stdout) as { scope: string }).scope, 'users:read', 'without --json: the token response, readable');

    for (const [r, pattern] of [
      [wrong, /401 invalid_client/],
      [scope, /400 invalid_scope.*globalpci/],
      [unreachable, /Could not reach the token endpoint/],
    ] as const) {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '', 'nothing on stdout, even with --json');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^error: /);
      assert.match(r.stderr, pattern);
    }
  });

  it('a credential created by the CLI while the server runs works at once', async () => {
    const fresh = await json<Credential>(['credential', 'create', '--user', 'sup@served.test', '--name', 'Fresh', '--scopes', 'interaction-content:read']);
    const res = await tokenRequest(base, fresh.clientId, fresh.clientSecret, 'interaction-content:read');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.scope, 'interaction-content:read');
  });

  it('account update --api-credentials off makes the running server refuse tokens within 1 second, and on again restores them', async () => {
    assert.equal((await tokenRequest(base, cred.clientId, cred.clientSecret, 'stats')).status, 200);
    await json(['account', 'update', accountId, '--api-credentials', 'off']);
    const ms = await within(1000, async () => {
      const r = await tokenRequest(base, cred.clientId, cred.clientSecret, 'stats');
      return r.status === 401 && r.body.error === 'invalid_client';
    }, 'refused after the switch went off');
    assert.ok(ms <= 1000);
    await json(['account', 'update', accountId, '--api-credentials', 'on']);
    await within(1000, async () => (await tokenRequest(base, cred.clientId, cred.clientSecret, 'stats')).status === 200, 'tokens again after the switch went on');
  });

  it('user update --status disabled makes the running server refuse the user\'s credentials within 1 second', async () => {
    assert.equal((await tokenRequest(base, cred.clientId, cred.clientSecret, 'stats')).status, 200);
    await json(['user', 'update', 'admin@served.test', '--status', 'disabled']);
    await within(1000, async () => {
      const r = await tokenRequest(base, cred.clientId, cred.clientSecret, 'stats');
      return r.status === 401 && r.body.error === 'invalid_client';
    }, 'refused after the owner was disabled');
  });

  it('stops on SIGTERM, and stdout held only the one JSON document', async () => {
    const code = await server.stop();
    assert.equal(code, 0);
    const lines = server.stdout().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `stdout: ${server.stdout()}`);
    assert.match(server.stderr(), /Server listening/, 'the logs went to stderr');
  });
});
