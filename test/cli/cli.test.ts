// The ccauth CLI as a user runs it: the real bin/ccauth.js in a child process, on a temp store.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../support/env.js';
import { ccauth, ccauthJson, dumpStore, ensureBuilt, npx, root } from './helpers.js';

interface Account {
  id: string;
  name: string;
  status: string;
  apiCredentialsEnabled: boolean;
  accessTokenLifetimeSeconds: number;
  apiRateLimitPerMinute: number;
}
interface User {
  id: string;
  accountId: string;
  email: string;
  name: string;
  license: string;
  status: string;
  password?: string;
}
interface Credential {
  id: string;
  accountId: string;
  name: string;
  clientId: string;
  clientSecret?: string;
  scopes: string[];
  level: string;
  ownerUserId: string | null;
}

describe('ccauth CLI', () => {
  const dir = tempDir('ccauth-cli-');
  const env = { CCAUTH_DATA_DIR: dir.path };
  const run = (args: string[], input?: string) => ccauth(args, { env, input });
  const json = <T>(args: string[], input?: string) => ccauthJson<T>(args, { env, input });

  const dump = () => dumpStore(dir.path);

  let account: Account;

  before(async () => {
    await ensureBuilt();
    account = await json<Account>(['account', 'create', '--name', '  Acme Contact  ', '--api-credentials', 'on']);
  });
  after(() => dir.remove());

  it('--version and --help exit 0 and describe every command', async () => {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const [v, help, viaNpx, sub] = await Promise.all([
      run(['--version']),
      run(['--help']),
      // `npx ccauth` in the checkout goes through the package's bin.
      npx(['ccauth', '--version']),
      run(['credential', 'create', '--help']),
    ]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), version);
    assert.equal(help.code, 0, help.stderr);
    for (const command of ['serve', 'migrate', 'account', 'user', 'credential', 'keys', 'token']) assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'), command);
    for (const flag of ['--json', '--port', '--region', '--public-url', '--data-dir', '--database-url', '--redis-url']) assert.ok(help.stdout.includes(flag), flag);
    assert.match(help.stdout, /Exit codes/);
    assert.equal(viaNpx.code, 0, viaNpx.stderr);
    assert.equal(viaNpx.stdout.trim(), version);
    assert.equal(sub.code, 0, sub.stderr);
    for (const flag of ['--user <email>', '--name <name>', '--scopes <scopes>']) assert.ok(sub.stdout.includes(flag), flag);
    assert.match(help.stdout, /token \[options\]\s+get an access token/);
  });

  it('creates an account, users and credentials; --json prints one document, lists print arrays', async () => {
    assert.equal(account.name, 'Acme Contact', 'the name is trimmed');
    assert.equal(account.apiCredentialsEnabled, true);
    assert.equal(account.accessTokenLifetimeSeconds, 900);
    assert.equal(account.apiRateLimitPerMinute, 600);

    const [admin, supervisor, agent] = await Promise.all([
      json<User>(['user', 'create', '--account', account.id, '--email', 'Ada@Acme.test', '--license', 'admin', '--name', 'Ada Admin']),
      json<User>(['user', 'create', '--account', account.id, '--email', 'sam@acme.test', '--license', 'supervisor', '--password-stdin'], 'correct horse battery\n'),
      json<User>(['user', 'create', '--account', account.id, '--email', 'alex@acme.test', '--license', 'agent']),
    ]);
    assert.equal(admin.email, 'ada@acme.test');
    assert.equal(admin.license, 'admin');
    assert.equal(admin.accountId, account.id);
    // Without --password-stdin a random password is printed, once; with it, never.
    assert.equal(typeof admin.password, 'string');
    assert.ok((admin.password as string).length >= 12, 'a generated password is long enough');
    assert.notEqual(admin.password, agent.password);
    assert.equal(supervisor.password, undefined);
    assert.ok(!JSON.stringify(supervisor).includes('correct horse'));

    const [created, supCred, legacy] = await Promise.all([
      json<Credential>(['credential', 'create', '--user', 'ada@acme.test', '--name', ' CRM sync ', '--scopes', 'users:read,stats']),
      json<Credential>(['credential', 'create', '--user', 'sam@acme.test', '--name', 'Supervisor app', '--scopes', 'interaction-content:read']),
      json<Credential>(['credential', 'import-account-level', '--account', account.id, '--name', 'Legacy', '--scopes', 'stats,globalpci']),
    ]);
    assert.equal(created.name, 'CRM sync');
    assert.equal(created.level, 'user');
    assert.equal(created.ownerUserId, admin.id);
    assert.match(created.id, /\S/);
    assert.match(created.clientId, /^\S{16,}$/);
    assert.match(created.clientSecret as string, /^[A-Za-z0-9_-]{43,}$/, 'a URL-safe secret of >= 256 bits');
    assert.deepEqual([...created.scopes].sort(), ['stats', 'users:read']);

    assert.deepEqual(supCred.scopes, ['interaction-content:read']);
    assert.equal(legacy.level, 'account');
    assert.equal(legacy.ownerUserId, null);
    assert.match(legacy.clientSecret as string, /^[A-Za-z0-9_-]{43,}$/);

    const [accounts, users, credentials, human] = await Promise.all([
      json<Account[]>(['account', 'list']),
      json<User[]>(['user', 'list', '--account', account.id]),
      ccauth(['credential', 'list', '--account', account.id, '--json'], { env }),
      run(['user', 'list', '--account', account.id]),
    ]);
    assert.ok(Array.isArray(accounts));
    assert.deepEqual(
      accounts.map((a) => a.id),
      [account.id],
    );
    assert.ok(Array.isArray(users));
    assert.deepEqual(users.map((u) => u.email).sort(), ['ada@acme.test', 'alex@acme.test', 'sam@acme.test']);
    assert.ok(users.every((u) => u.password === undefined), 'a list never shows a password');
    assert.equal(credentials.code, 0, credentials.stderr);
    const list = JSON.parse(credentials.stdout) as Credential[];
    assert.ok(Array.isArray(list));
    assert.deepEqual(list.map((c) => c.id).sort(), [created.id, supCred.id, legacy.id].sort());
    // The secret is shown once: never again, not even its hash.
    for (const secret of [created.clientSecret, supCred.clientSecret, legacy.clientSecret]) assert.ok(!credentials.stdout.includes(secret as string));
    assert.ok(!/secret/i.test(credentials.stdout), 'no secret field in a list');
    // Without --json: a table for people.
    assert.equal(human.code, 0);
    assert.throws(() => JSON.parse(human.stdout));
    assert.match(human.stdout, /ada@acme\.test\s+Ada Admin\s+admin\s+active/);
  });

  it('updates accounts and users', async () => {
    const [edges, disabled] = await Promise.all([
      json<Account>(['account', 'update', account.id, '--token-lifetime', '60', '--rate-limit', '1', '--api-credentials', 'off', '--name', ' Acme CC ']),
      json<User>(['user', 'update', 'SAM@acme.test', '--status', 'disabled', '--license', 'admin']),
    ]);
    assert.equal(edges.id, account.id);
    assert.equal(edges.accessTokenLifetimeSeconds, 60);
    assert.equal(edges.apiRateLimitPerMinute, 1);
    assert.equal(edges.apiCredentialsEnabled, false);
    assert.equal(edges.name, 'Acme CC');
    assert.equal(disabled.email, 'sam@acme.test');
    assert.equal(disabled.status, 'disabled');
    assert.equal(disabled.license, 'admin');
    const [back, active] = await Promise.all([
      json<Account>(['account', 'update', account.id, '--token-lifetime', '86400', '--rate-limit', '100000', '--api-credentials', 'on']),
      json<User>(['user', 'update', 'sam@acme.test', '--status', 'active', '--license', 'supervisor']),
    ]);
    assert.equal(back.accessTokenLifetimeSeconds, 86400);
    assert.equal(back.apiRateLimitPerMinute, 100000);
    assert.equal(back.apiCredentialsEnabled, true);
    assert.equal(back.name, 'Acme CC', 'unchanged');
    assert.equal(active.status, 'active');
    assert.equal(active.license, 'supervisor');
    const stored = dump();
    assert.equal(stored.accounts?.[0]?.access_token_lifetime_seconds, 86400, 'the change is stored');
    assert.deepEqual(
      stored.users?.filter((u) => u.email === 'sam@acme.test').map((u) => [u.license, u.status]),
      [['supervisor', 'active']],
    );
  });
});
