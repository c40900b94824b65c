// `ccauth serve --demo`: seeds the demo account on an empty store, once, and says how to get a
// first token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, tempDir } from '../support/env.js';
import { ccauth, ccauthJson, ensureBuilt, serve } from './helpers.js';

describe('ccauth serve --demo', () => {
  const dir = tempDir('ccauth-cli-demo-');
  const env: Record<string, string> = { CCAUTH_DATA_DIR: dir.path, CCAUTH_HOST: '127.0.0.1' };

  before(() => ensureBuilt());
  after(() => dir.remove());

  it('seeds the demo account on an empty store and prints how to get a first token; a second start does not seed again', async () => {
    const port = await freePort();
    const first = await serve(['--demo'], { ...env, PORT: String(port) }, { human: true });
    let accountId: string;
    let seededUsers: number;
    try {
      const out = first.stdout();
      assert.match(out, /Demo account "Demo Contact Center" created/);
      assert.match(out, /sign-in: admin@demo\.test, supervisor@demo\.test, agent@demo\.test {2}password: (\S{12,})/, 'no CCAUTH_DEMO_PASSWORD: a generated password, printed once');
      assert.match(out, new RegExp(`Get a first token:\\n\\s+curl -s -X POST http://127\\.0\\.0\\.1:${port}/Auth/connect/token `));
      // The printed ccauth command works as printed.
      const printed = /npx ccauth (token .*)$/m.exec(out);
      assert.ok(printed, `a ccauth token command is printed:\n${out}`);
      const [token, accounts] = await Promise.all([
        ccauth([...(printed[1] as string).split(' '), '--json'], { env }),
        ccauthJson<{ id: string; name: string; apiCredentialsEnabled: boolean }[]>(['account', 'list'], { env }),
      ]);
      assert.equal(token.code, 0, token.stderr);
      assert.equal((JSON.parse(token.stdout) as { scope: string }).scope, 'agents-availability:read');
      // The CLI sees the seeded account while the server runs.
      assert.deepEqual(
        accounts.map((a) => [a.name, a.apiCredentialsEnabled]),
        [['Demo Contact Center', true]],
      );
      accountId = (accounts[0] as { id: string }).id;
      const users = await ccauthJson<{ email: string; license: string }[]>(['user', 'list', '--account', accountId], { env });
      seededUsers = users.length;
      const byEmail = new Map(users.map((u) => [u.email, u.license]));
      assert.equal(byEmail.get('admin@demo.test'), 'admin');
      assert.equal(byEmail.get('supervisor@demo.test'), 'supervisor');
      assert.equal(byEmail.get('agent@demo.test'), 'agent');
      const agents = users.filter((u) => u.license === 'agent').length;
      assert.ok(agents >= 12, `at least 12 agents, got ${agents}`);
    } finally {
      assert.equal(await first.stop(), 0);
    }

    // Second start, with --json: one document saying nothing was seeded, and nothing is.
    const second = await serve(['--demo'], { ...env, PORT: String(await freePort()) });
    try {
      assert.deepEqual(second.info.demo, { seeded: false, reason: 'the store already has accounts' });
      assert.ok(!second.stdout().includes('client_secret') && !second.stdout().includes('clientSecret'));
    } finally {
      await second.stop();
    }
    const [accounts, users] = await Promise.all([
      ccauthJson<{ id: string }[]>(['account', 'list'], { env }),
      ccauthJson<unknown[]>(['user', 'list', '--account', accountId], { env }),
    ]);
    assert.deepEqual(
      accounts.map((a) => a.id),
      [accountId],
    );
    assert.equal(users.length, seededUsers, 'no user seeded twice');
  });
});
