// Bad input that names something that does not exist, already exists or may not be: exit 2,
// one clear line on stderr, nothing on stdout (with --json too), nothing changed in the store.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../support/env.js';
import { assertRefused, ccauth, ccauthJson, dumpStore, ensureBuilt, pool } from './helpers.js';

describe('ccauth CLI refuses references it cannot honour', () => {
  const dir = tempDir('ccauth-cli-errors-');
  const env = { CCAUTH_DATA_DIR: dir.path };
  const run = (args: string[], input?: string) => ccauth(args, { env, input });
  const json = <T>(args: string[]) => ccauthJson<T>(args, { env });
  let account: { id: string };

  before(async () => {
    await ensureBuilt();
    account = await json<{ id: string }>(['account', 'create', '--name', 'Acme', '--api-credentials', 'on']);
    await Promise.all([
      json(['user', 'create', '--account', account.id, '--email', 'ada@acme.test', '--license', 'admin']),
      json(['user', 'create', '--account', account.id, '--email', 'sam@acme.test', '--license', 'supervisor']),
      json(['user', 'create', '--account', account.id, '--email', 'alex@acme.test', '--license', 'agent']),
    ]);
  });
  after(() => dir.remove());

  it('refuses unknown ids and emails, duplicates, agents and scopes with exit 2, changing nothing', async () => {
    const before = dumpStore(dir.path);
    const id = account.id;
    const cases: [label: string, args: string[], pattern: RegExp, input?: string][] = [
      ['unknown account (user create)', ['user', 'create', '--account', 'no-such-account', '--email', 'new2@acme.test', '--license', 'agent'], /No account with the id no-such-account/],
      ['duplicate email, other case', ['user', 'create', '--account', id, '--email', 'ADA@acme.test', '--license', 'agent'], /ada@acme\.test already exists/],
      ['unknown account (update)', ['account', 'update', 'no-such-account', '--api-credentials', 'on'], /No account with the id no-such-account/],
      ['unknown user email (update)', ['user', 'update', 'nobody@acme.test', '--status', 'disabled'], /No user with the email nobody@acme\.test/],
      ['unknown user email (credential)', ['credential', 'create', '--user', 'nobody@acme.test', '--name', 'X', '--scopes', 'stats'], /No user with the email nobody@acme\.test/],
      ['credential for an agent', ['credential', 'create', '--user', 'alex@acme.test', '--name', 'X', '--scopes', 'users:read'], /agent license.*only admin and supervisor/],
      ['unknown scope', ['credential', 'create', '--user', 'ada@acme.test', '--name', 'X', '--scopes', 'users:read,users:delete'], /Unknown scope: users:delete/],
      ['scope the license may not grant', ['credential', 'create', '--user', 'sam@acme.test', '--name', 'X', '--scopes', 'users:read,stats'], /supervisor license may not grant the scope stats/],
      ['unknown account (list)', ['credential', 'list', '--account', 'no-such-account'], /No account with the id no-such-account/],

    ];
    // Every case with --json (stdout must stay empty even then); the first few also without.
    const results = await pool(
      cases.flatMap(([label, args, pattern, input], i) => [
        async () => ({ label: `${label} --json`, pattern, r: await run([...args, '--json'], input) }),
        ...(i % 10 === 0 ? [async () => ({ label, pattern, r: await run(args, input) })] : []),
      ]),
      4,
    );
    for (const { label, pattern, r } of results) assertRefused(r, pattern, label);
    assert.deepEqual(dumpStore(dir.path), before, 'a refused command changes nothing in the store');
  });
});
