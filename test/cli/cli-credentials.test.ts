// The credential lifecycle of the CLI (SPEC 4): list with filters, show, update, rotate with and
// without grace, end-grace, delete, usage. The real bin/ccauth.js in child processes, next to a
// running `ccauth serve` on the same store: every change reaches the server within a second.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, tempDir } from '../support/env.js';
import { type Served, assertRefused, ccauth, ccauthJson, dumpStore, ensureBuilt, serve, tokenRequest, within } from './helpers.js';

interface Row {
  id: string;
  accountId: string;
  name: string;
  clientId: string;
  scopes: string[];
  level: string;
  ownerUserId: string | null;
  ownerEmail: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
}
interface Detail extends Row {
  secretRotatedAt: string | null;
  previousSecretExpiresAt: string | null;
  clientSecret?: string;
}

const FORMS = /comma- or space-separated, e\.g\. --scopes users:read,stats or --scopes "users:read stats"/;

describe('ccauth credential lifecycle', () => {
  const dir = tempDir('ccauth-cli-cred-');
  const env: Record<string, string> = { CCAUTH_DATA_DIR: dir.path };
  const run = (args: string[]) => ccauth(args, { env });
  const json = <T>(args: string[]) => ccauthJson<T>(args, { env });
  let server: Served;
  let base: string;
  let accountId: string;
  let crm: Detail;
  let reports: Detail;
  let sup: Detail;
  let legacy: Detail;

  /** A gateway call with this token: the status. */
  const apiStatus = async (token: string) => {
    const res = await fetch(`${base}/useradmin/users?page=1&pageSize=1`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return res.status;
  };
  const tokenOf = async (clientId: string, secret: string, scope = 'users:read') => {
    const r = await tokenRequest(base, clientId, secret, scope);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.access_token as string;
  };

  before(async () => {
    await ensureBuilt();
    const port = await freePort();
    server = await serve([], { ...env, PORT: String(port), CCAUTH_HOST: '127.0.0.1', CCAUTH_LAST_USED_FLUSH_MS: '100', CCAUTH_USAGE_FLUSH_MS: '100' });
    base = `http://127.0.0.1:${port}`;
    accountId = (await json<{ id: string }>(['account', 'create', '--name', 'Lifecycle', '--api-credentials', 'on'])).id;
    await Promise.all([
      json(['user', 'create', '--account', accountId, '--email', 'ada@life.test', '--license', 'admin']),
      json(['user', 'create', '--account', accountId, '--email', 'sam@life.test', '--license', 'supervisor']),
    ]);
    // One separator rule: commas, spaces, or both, for create and import alike.
    [crm, reports, sup, legacy] = await Promise.all([
      json<Detail>(['credential', 'create', '--user', 'ada@life.test', '--name', 'CRM sync', '--scopes', 'users:read,stats']),
      json<Detail>(['credential', 'create', '--user', 'ada@life.test', '--name', 'Nightly reports', '--scopes', 'stats users:read']),
      json<Detail>(['credential', 'create', '--user', 'sam@life.test', '--name', 'Supervisor tool', '--scopes', ' users:read, interaction-content:read ']),
      json<Detail>(['credential', 'import-account-level', '--account', accountId, '--name', 'Legacy', '--scopes', 'stats  globalpci']),
    ]);
  });
  after(async () => {
    await server?.stop();
    dir.remove();
  });

  it('accepts scopes comma- or space-separated everywhere, and refuses anything else naming the accepted forms', async () => {
    assert.deepEqual(crm.scopes, ['users:read', 'stats']);
    assert.deepEqual(reports.scopes, crm.scopes, 'spaces give the same list as commas');
    assert.deepEqual(sup.scopes, ['users:read', 'interaction-content:read']);
    assert.deepEqual(legacy.scopes, ['stats', 'globalpci']);
    const [semicolon, empty, updateBad, tokenCommas] = await Promise.all([
      run(['credential', 'create', '--user', 'ada@life.test', '--name', 'X', '--scopes', 'users:read;stats', '--json']),
      run(['credential', 'import-account-level', '--account', accountId, '--name', 'X', '--scopes', ' , ', '--json']),
      run(['credential', 'update', crm.id, '--scopes', 'users:read|stats', '--json']),
      // `ccauth token --scope` follows the same rule (the token endpoint gets them space-separated).
      run(['token', '--url', base, '--client-id', crm.clientId, '--client-secret', crm.clientSecret as string, '--scope', 'users:read,stats', '--json']),
    ]);
    assertRefused(semicolon, /Unknown scope: users:read;stats in --scopes/, 'semicolon');
    assert.match(semicolon.stderr, FORMS);
    assertRefused(empty, /--scopes needs at least one scope/, 'empty');
    assert.match(empty.stderr, FORMS);
    assertRefused(updateBad, FORMS, 'update with a pipe');
    assert.equal(tokenCommas.code, 0, tokenCommas.stderr);
    assert.equal((JSON.parse(tokenCommas.stdout) as { scope: string }).scope, 'users:read stats');
  });

  it('list filters by text, scope and unused days; --json prints an array without secrets', async () => {
    // Make one credential used: the running server records the use.
    await tokenOf(reports.clientId, reports.clientSecret as string, 'stats');
    const all = await json<Row[]>(['credential', 'list', '--account', accountId]);
    assert.deepEqual(all.map((c) => c.id).sort(), [crm.id, reports.id, sup.id, legacy.id].sort());
    assert.ok(!/secret/i.test(JSON.stringify(all)), 'no secret, no hash');
    assert.equal(all.find((c) => c.id === sup.id)?.ownerEmail, 'sam@life.test');
    assert.equal(all.find((c) => c.id === legacy.id)?.ownerEmail, null);

    // crm got a token in the first test, reports just now.
    await within(5000, async () => (await json<Row[]>(['credential', 'list', '--account', accountId])).filter((c) => c.lastUsedAt !== null).length === 2, 'the uses are recorded');
    const ids = async (...args: string[]) => (await json<Row[]>(['credential', 'list', '--account', accountId, ...args])).map((c) => c.id).sort();
    const [byName, byClientIdPrefix, byOwnerEmail, byScope, unused, combined, none, unicode] = await Promise.all([
      ids('--q', 'SYNC'),
      ids('--q', crm.clientId.slice(0, 8)),
      ids('--q', 'sam@life'),
      ids('--scope', 'globalpci'),
      ids('--unused-days', '1'),
      ids('--scope', 'users:read', '--unused-days', '1', '--q', 'TOOL'),
      ids('--q', "' or 1=1 --"),
      ids('--q', 'Zürich 東京'),
    ]);
    assert.deepEqual(byName, [crm.id]);
    assert.deepEqual(byClientIdPrefix, [crm.id]);
    assert.deepEqual(byOwnerEmail, [sup.id]);
    assert.deepEqual(byScope, [legacy.id]);
    assert.deepEqual(unused, [sup.id, legacy.id].sort(), 'the never used ones; not those used just now');
    assert.deepEqual(combined, [sup.id]);
    assert.deepEqual(none, []);
    assert.deepEqual(unicode, []);

    const [badDays, badScope, emptyQ, unknownAccount, human] = await Promise.all([
      run(['credential', 'list', '--account', accountId, '--unused-days', 'soon', '--json']),
      run(['credential', 'list', '--account', accountId, '--scope', 'users:delete', '--json']),
      run(['credential', 'list', '--account', accountId, '--q', '  ', '--json']),
      run(['credential', 'list', '--account', 'nope', '--json']),
      run(['credential', 'list', '--account', accountId, '--q', 'sam@']),
    ]);
    assertRefused(badDays, /--unused-days must be a whole number from 0 to 3650, not "soon"/, 'bad days');
    assertRefused(badScope, /Unknown scope: users:delete in --scope/, 'bad scope');
    assertRefused(emptyQ, /--q must not be empty/, 'empty q');
    assertRefused(unknownAccount, /No account with the id nope/, 'unknown account');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /Supervisor tool\s+\S+\s+user\s+sam@life\.test/);
  });

  it('show prints one credential with its rotation state, never its secret; an unknown id exits 2', async () => {
    const [shown, human, unknown] = await Promise.all([json<Detail>(['credential', 'show', legacy.id]), run(['credential', 'show', crm.id]), run(['credential', 'show', 'no-such-id', '--json'])]);
    assert.equal(shown.id, legacy.id);
    assert.equal(shown.level, 'account');
    assert.equal(shown.secretRotatedAt, null);
    assert.equal(shown.previousSecretExpiresAt, null);
    assert.equal(shown.clientSecret, undefined);
    assert.ok(!JSON.stringify(shown).includes(legacy.clientSecret as string));
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`client_id:\\s+${crm.clientId}`));
    assert.match(human.stdout, /owner:\s+ada@life\.test/);
    assert.match(human.stdout, /rotated:\s+never/);
    assertRefused(unknown, /No credential with the id no-such-id/, 'unknown id');
  });

  it("update renames and rescopes within the owner's license; a removed scope stops working at the running server within 1 second", async () => {
    const token = await tokenOf(crm.clientId, crm.clientSecret as string, 'users:read');
    assert.equal(await apiStatus(token), 200);
    const updated = await json<Detail>(['credential', 'update', crm.id, '--name', '  CRM sync v2 ', '--scopes', 'stats']);
    assert.equal(updated.name, 'CRM sync v2');
    assert.deepEqual(updated.scopes, ['stats']);
    await within(1000, async () => (await apiStatus(token)) === 401, 'the token of the removed scope is refused');
    const refused = await tokenRequest(base, crm.clientId, crm.clientSecret as string, 'users:read');
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_scope');

    const [notGrantable, nothing, emptyName, unknown, legacyEdit] = await Promise.all([
      run(['credential', 'update', sup.id, '--scopes', 'users:read stats', '--json']),
      run(['credential', 'update', sup.id, '--json']),
      run(['credential', 'update', sup.id, '--name', ' ', '--json']),
      run(['credential', 'update', 'no-such-id', '--name', 'X', '--json']),
      json<Detail>(['credential', 'update', legacy.id, '--scopes', 'agents-availability:read,stats']),
    ]);
    assertRefused(notGrantable, /supervisor license of sam@life\.test may not grant the scope stats/, 'not grantable');
    assertRefused(nothing, /Nothing to change: give --name, --scopes or both/, 'nothing to change');
    assertRefused(emptyName, /--name must not be empty/, 'empty name');
    assertRefused(unknown, /No credential with the id no-such-id/, 'unknown id');
    assert.deepEqual(legacyEdit.scopes, ['agents-availability:read', 'stats'], 'account-level: any scope of the catalogue, in catalogue order');
  });

  it('rotate --grace keeps the old secret working until end-grace, which stops it and its tokens within 1 second', async () => {
    const oldToken = await tokenOf(reports.clientId, reports.clientSecret as string);
    const rotated = await json<Detail>(['credential', 'rotate', reports.id, '--grace', '3600']);
    assert.match(rotated.clientSecret as string, /^[A-Za-z0-9_-]{43,}$/);
    assert.notEqual(rotated.clientSecret, reports.clientSecret);
    assert.ok(rotated.secretRotatedAt !== null && Date.now() - Date.parse(rotated.secretRotatedAt) < 60_000, 'secretRotatedAt is now');
    const until = Date.parse(rotated.previousSecretExpiresAt as string);
    assert.ok(Math.abs(until - (Date.now() + 3600_000)) < 60_000, `grace until in an hour: ${rotated.previousSecretExpiresAt}`);
    // The secret is printed once: show never has it.
    const shown = await json<Detail>(['credential', 'show', reports.id]);
    assert.equal(shown.clientSecret, undefined);
    assert.equal(shown.previousSecretExpiresAt, rotated.previousSecretExpiresAt);

    // During the grace both secrets get tokens, and the old token still works.
    await within(1000, async () => (await tokenRequest(base, reports.clientId, rotated.clientSecret as string, 'users:read')).status === 200, 'the new secret works');
    assert.equal((await tokenRequest(base, reports.clientId, reports.clientSecret as string, 'users:read')).status, 200, 'the old secret works during the grace');
    assert.equal(await apiStatus(oldToken), 200);

    const ended = await json<Detail>(['credential', 'end-grace', reports.id]);
    assert.equal(ended.previousSecretExpiresAt, null);
    assert.equal(ended.secretRotatedAt, rotated.secretRotatedAt);
    await within(1000, async () => (await apiStatus(oldToken)) === 401, "the old secret's token is refused");
    await within(1000, async () => (await tokenRequest(base, reports.clientId, reports.clientSecret as string, 'users:read')).status === 401, 'the old secret is refused');
    assert.equal((await tokenRequest(base, reports.clientId, rotated.clientSecret as string, 'users:read')).status, 200, 'the new secret still works');

    const [again, badGrace, unknown] = await Promise.all([
      run(['credential', 'end-grace', reports.id, '--json']),
      run(['credential', 'rotate', reports.id, '--grace', '86401', '--json']),
      run(['credential', 'end-grace', 'no-such-id', '--json']),
    ]);
    assertRefused(again, /no grace period is running for the credential/, 'end-grace without grace');
    assertRefused(badGrace, /--grace must be a whole number from 0 to 86400, not "86401"/, 'grace too long');
    assertRefused(unknown, /No credential with the id no-such-id/, 'unknown id');
  });

  it('rotate without --grace prints the new secret once and stops the old secret and its tokens within 1 second', async () => {
    const oldToken = await tokenOf(sup.clientId, sup.clientSecret as string);
    const rotated = await run(['credential', 'rotate', sup.id]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const secret = /client_secret: (\S+)/.exec(rotated.stdout)?.[1] as string;
    assert.match(secret, /^[A-Za-z0-9_-]{43,}$/);
    assert.match(rotated.stdout, /the old secret and every token it got no longer work/);
    await within(1000, async () => (await apiStatus(oldToken)) === 401, 'the old token is refused');
    await within(1000, async () => (await tokenRequest(base, sup.clientId, secret, 'users:read')).status === 200, 'the new secret works');
    assert.equal((await tokenRequest(base, sup.clientId, sup.clientSecret as string, 'users:read')).status, 401);
  });

  it('delete removes the credential; its tokens stop working within 1 second; everything is audited with the operator as actor', async () => {
    const token = await tokenOf(legacy.clientId, legacy.clientSecret as string, 'stats');
    const deleted = await json<{ id: string; deleted: boolean; clientId: string }>(['credential', 'delete', legacy.id]);
    assert.deepEqual(deleted, { id: legacy.id, clientId: legacy.clientId, name: 'Legacy', deleted: true });
    await within(1000, async () => (await tokenRequest(base, legacy.clientId, legacy.clientSecret as string, 'stats')).status === 401, 'its secret is refused');
    const gone = await run(['credential', 'show', legacy.id, '--json']);
    assertRefused(gone, /No credential with the id/, 'deleted');
    const again = await run(['credential', 'delete', legacy.id]);
    assertRefused(again, /No credential with the id/, 'deleted twice');
    const res = await fetch(`${base}/stats/interactions?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    assert.equal(res.status, 401, "the deleted credential's token is refused");

    const audit = dumpStore(dir.path).audit_events ?? [];
    const actions = (id: string) => audit.filter((e) => e.target_id === id).map((e) => e.action);
    assert.deepEqual(actions(reports.id), ['credential.created', 'credential.secret_rotated', 'credential.grace_ended']);
    assert.deepEqual(actions(legacy.id), ['credential.created', 'credential.updated', 'credential.deleted']);
    assert.deepEqual(actions(crm.id), ['credential.created', 'credential.updated']);
    for (const e of audit.filter((e) => String(e.action).startsWith('credential.'))) assert.equal(e.actor_email, 'ccauth-cli');
    const all = JSON.stringify(audit);
    for (const secret of [crm.clientSecret, reports.clientSecret, sup.clientSecret, legacy.clientSecret]) assert.ok(!all.includes(secret as string), 'no secret in the audit log');
  });

  it("usage: --bucket is checked; the server's counts for the credential, in the admin API's shape", async () => {
    const bad = await run(['credential', 'usage', crm.id, '--bucket', 'week', '--json']);
    assertRefused(bad, /--bucket must be one of hour, day, not "week"/, 'bad bucket');
    const fresh = await json<Detail>(['credential', 'create', '--user', 'ada@life.test', '--name', 'Usage probe', '--scopes', 'stats']);
    const sum = (r: { items: { tokensIssued: number }[] }) => r.items.reduce((n, i) => n + i.tokensIssued, 0);
    for (let i = 0; i < 2; i++) assert.equal((await tokenRequest(base, fresh.clientId, fresh.clientSecret as string, 'stats')).status, 200);
    await within(3000, async () => {
      const r = await run(['credential', 'usage', fresh.id, '--json']);
      if (r.code !== 0) throw new Error(r.stderr);
      const report = JSON.parse(r.stdout) as { bucket: string; items: { at: string; tokensIssued: number }[] };
      return report.bucket === 'hour' && report.items.length === 24 && (report.items[0]?.at ?? '').endsWith(':00:00.000Z') && sum(report) === 2;
    }, 'two issued tokens counted');
    const byDay = JSON.parse((await run(['credential', 'usage', fresh.id, '--bucket', 'day', '--json'])).stdout) as { bucket: string; items: unknown[] };
    assert.equal(byDay.bucket, 'day');
    assert.equal(byDay.items.length, 30);
  });


});
