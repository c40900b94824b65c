// Invalid values and usage errors: exit 2, one clear line on stderr, nothing on stdout (with
// --json too), nothing changed in the store.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../support/env.js';
import { assertRefused, ccauth, ccauthJson, dumpStore, ensureBuilt, pool } from './helpers.js';

describe('ccauth CLI refuses invalid values', () => {
  const dir = tempDir('ccauth-cli-usage-');
  const env = { CCAUTH_DATA_DIR: dir.path };
  const run = (args: string[], input?: string) => ccauth(args, { env, input });
  const json = <T>(args: string[]) => ccauthJson<T>(args, { env });
  let account: { id: string };

  before(async () => {
    await ensureBuilt();
    account = await json<{ id: string }>(['account', 'create', '--name', 'Acme', '--api-credentials', 'on']);
    await json(['user', 'create', '--account', account.id, '--email', 'ada@acme.test', '--license', 'admin']);
  });
  after(() => dir.remove());

  it('refuses invalid values and usage errors with exit 2, changing nothing', async () => {
    const before = dumpStore(dir.path);
    const id = account.id;
    const long = 'x'.repeat(101);
    const cases: [label: string, args: string[], pattern: RegExp, input?: string][] = [
      ['unknown license', ['user', 'create', '--account', id, '--email', 'new1@acme.test', '--license', 'boss'], /--license must be one of admin, supervisor, agent.*boss/],
      ['bad email', ['user', 'create', '--account', id, '--email', 'not-an-email', '--license', 'agent'], /--email is not a valid email address.*not-an-email/],
      ['password on stdin too short', ['user', 'create', '--account', id, '--email', 'new4@acme.test', '--license', 'agent', '--password-stdin'], /8\.\.200 characters/, 'short\n'],
      ['--api-credentials yes', ['account', 'update', id, '--api-credentials', 'yes'], /--api-credentials must be on or off, not "yes"/],
      ['--api-credentials on create', ['account', 'create', '--name', 'Beta', '--api-credentials', 'true'], /--api-credentials must be on or off/],
      ['token lifetime 59', ['account', 'update', id, '--token-lifetime', '59'], /--token-lifetime must be a whole number from 60 to 86400, not "59"/],
      ['token lifetime 86401', ['account', 'update', id, '--token-lifetime', '86401'], /--token-lifetime must be a whole number from 60 to 86400/],
      ['rate limit 0', ['account', 'update', id, '--rate-limit', '0'], /--rate-limit must be a whole number from 1 to 100000, not "0"/],
      ['rate limit 100001', ['account', 'update', id, '--rate-limit', '100001'], /--rate-limit must be a whole number from 1 to 100000/],
      ['empty account name', ['account', 'create', '--name', '   '], /--name must not be empty/],
      ['empty credential name', ['credential', 'create', '--user', 'ada@acme.test', '--name', '  ', '--scopes', 'stats'], /--name must not be empty/],
      ['credential name 101 chars', ['credential', 'create', '--user', 'ada@acme.test', '--name', ` ${long} `, '--scopes', 'stats'], /--name must be at most 100 characters/],
      ['missing required option', ['credential', 'create', '--user', 'ada@acme.test', '--name', 'X'], /required option '--scopes <scopes>' not specified.*credential create --help/],
      ['unknown option', ['account', 'list', '--colour'], /unknown option '--colour'/],
      ['bad configuration', ['account', 'list', '--region', 'Europe West'], /CCAUTH_REGION/],
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
