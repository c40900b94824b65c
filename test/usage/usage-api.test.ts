import assert from 'node:assert/strict';
import { randomUUID, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PASSWORD, PortalClient, portalTenant } from '../support/portal-client.js';
import { type TestRegion, startRegion } from '../support/region.js';
import { type UsageItem, apiCall, awayFromMinuteEnd, portalCredential, revoke, token, totals } from './helpers.js';
import { periodStart } from '../support/env.js';

const HOUR = 3_600_000;

/** A token this region signed, expired 100 s ago. */
function expiredToken(t: TestRegion, clientId: string, accountId: string): string {
  const key = t.region.keys.signingKey();
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: t.config.issuer, aud: t.config.publicUrl, sub: clientId, client_id: clientId, scope: 'users:read', iat: now - 1000, nbf: now - 1000, exp: now - 100, jti: randomUUID(), account_id: accountId, region: t.config.region };
  const input = `${key.encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}
const DAY = 86_400_000;

describe('usage you can see: counts through HTTP, buckets, events', () => {
  let t: TestRegion;
  let tenant: Awaited<ReturnType<typeof portalTenant>>;
  let admin: PortalClient;
  let supervisor: PortalClient;
  let main: { id: string; clientId: string; clientSecret: string };
  let supCred: { id: string; clientId: string; clientSecret: string };
  let disabledCred: { id: string; clientId: string; clientSecret: string };

  before(async () => {
    // Flushed by the test (region.usage.flush()), never by the timer in between.
    t = await startRegion({ CCAUTH_USAGE_FLUSH_MS: '600000' });
    tenant = await portalTenant(t.region);
    // A small API limit, set before any token exists: 429s come soon.
    await t.region.store.accounts.update(tenant.account.id, { apiRateLimitPerMinute: 5 });
    admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    supervisor = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    const admin2 = await PortalClient.signIn(t.baseUrl, tenant.admin2.email, PASSWORD);
    main = await portalCredential(admin, 'main', ['users:read']);
    supCred = await portalCredential(supervisor, 'supervisor one', ['users:read']);
    disabledCred = await portalCredential(admin2, 'owner disabled', ['users:read']);

    await awayFromMinuteEnd();
    // 3 tokens, 2 wrong secrets, 1 scope the credential lacks.
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await token(t.baseUrl, main.clientId, main.clientSecret, 'users:read');
      assert.equal(r.status, 200);
      tokens.push(r.accessToken);
    }
    assert.equal((await token(t.baseUrl, main.clientId, 'wrong-secret', 'users:read')).status, 401);
    assert.equal((await token(t.baseUrl, main.clientId, 'wrong-secret-2', 'users:read')).status, 401);
    assert.equal((await token(t.baseUrl, main.clientId, main.clientSecret, 'stats')).status, 400);
    // An unknown client is nobody's failure.
    assert.equal((await token(t.baseUrl, 'no-such-client', 'x', 'users:read')).status, 401);

    // API calls: 200, 403 (scope), then 200s up to the limit of 5, then 429s; a revoked token's 401.
    const [t1, t2, t3] = tokens as [string, string, string];
    assert.equal(await apiCall(t.baseUrl, '/useradmin/users', t1), 200);
    assert.equal(await apiCall(t.baseUrl, '/stats/interactions?start=2026-01-01&end=2026-01-02', t1), 403);
    for (let i = 0; i < 3; i++) assert.equal(await apiCall(t.baseUrl, '/useradmin/users', t2), 200);
    assert.equal(await apiCall(t.baseUrl, '/useradmin/users', t2), 429);
    assert.equal(await apiCall(t.baseUrl, '/useradmin/users', t2), 429);
    assert.equal(await revoke(t.baseUrl, main.clientId, main.clientSecret, t3), 200);
    assert.equal(await apiCall(t.baseUrl, '/useradmin/users', t3), 401);
    // An expired token signed by this region: a 401 counted for its credential.
    assert.equal(await apiCall(t.baseUrl, '/useradmin/users', expiredToken(t, main.clientId, tenant.account.id)), 401);
    // Garbage is counted for nobody.
    assert.equal(await apiCall(t.baseUrl, '/useradmin/users', 'not.a.token'), 401);

    // The owner disabled: the failure's reason is "disabled".
    await t.region.store.users.update(tenant.admin2.id, { status: 'disabled' });
    const deadline = Date.now() + 3000;
    let status = 200;
    while (status !== 401 && Date.now() < deadline) {
      status = (await token(t.baseUrl, disabledCred.clientId, disabledCred.clientSecret, 'users:read')).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 30));
    }
    assert.equal(status, 401);

    // The supervisor's own credential: one token.
    assert.equal((await token(t.baseUrl, supCred.clientId, supCred.clientSecret, 'users:read')).status, 200);
    await t.region.usage.flush();
  });
  after(async () => {
    await t?.close();
  });

  it('counts tokens, failures by reason and API calls by outcome for the credential', async () => {
    const res = await admin.get(`/admin/api/credentials/${main.id}/usage`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.bucket, 'hour');
    const items = res.body.items as unknown as UsageItem[];
    const sum = totals(items);
    assert.deepEqual(sum, { tokensIssued: 3, authFailures: 3, apiCalls: 9, r401: 2, r403: 1, r429: 2 });
    const now = items.find((i) => i.tokensIssued > 0) as UsageItem;
    assert.deepEqual(now.authFailuresByReason, { wrong_secret: 2, disabled: 0, scope: 1 });
    const apis = res.body.apis as { api: string; apiCalls: number }[];
    assert.deepEqual(
      apis.map((a) => [a.api, a.apiCalls]),
      [
        ['useradmin', 8],
        ['stats', 1],
      ],
    );

    const disabled = await admin.get(`/admin/api/credentials/${disabledCred.id}/usage`);
    assert.equal(disabled.status, 200);
    const d = (disabled.body.items as unknown as UsageItem[]).reduce((n, i) => n + i.authFailuresByReason.disabled!, 0);
    assert.equal(d, 1);
  });

  it('answers 24 zero-filled hourly buckets by default, ascending, on whole UTC hours', async () => {
    const res = await admin.get(`/admin/api/credentials/${main.id}/usage`);
    const items = res.body.items as unknown as UsageItem[];
    assert.equal(items.length, 24);
    const starts = items.map((i) => Date.parse(i.at));
    for (const s of starts) assert.equal(s % HOUR, 0);
    for (let i = 1; i < starts.length; i++) assert.equal(starts[i]! - starts[i - 1]!, HOUR);
    assert.equal(starts[23], periodStart(HOUR), 'the last bucket is the current hour');
    assert.equal(items.filter((i) => i.tokensIssued === 0 && i.apiCalls === 0 && i.authFailures === 0).length, 23);
    assert.deepEqual(items[0], { at: items[0]!.at, tokensIssued: 0, authFailures: 0, authFailuresByReason: { wrong_secret: 0, disabled: 0, scope: 0 }, apiCalls: 0, apiRejected: { '401': 0, '403': 0, '429': 0 } });
  });

  it('answers day buckets (30 by default) and explicit ranges in ISO or epoch ms', async () => {
    const res = await admin.get(`/admin/api/credentials/${main.id}/usage?bucket=day`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.bucket, 'day');
    const items = res.body.items as unknown as UsageItem[];
    assert.equal(items.length, 30);
    for (const i of items) assert.equal(Date.parse(i.at) % DAY, 0);
    assert.equal(items[29]!.tokensIssued, 3);
    assert.equal(items[29]!.apiCalls, 9);

    const today = periodStart(DAY);
    const iso = await admin.get(`/admin/api/credentials/${main.id}/usage?bucket=day&from=${new Date(today - 2 * DAY).toISOString()}&to=${today + DAY}`);
    assert.equal(iso.status, 200, iso.text);
    const days = iso.body.items as unknown as UsageItem[];
    assert.deepEqual(
      days.map((i) => i.at),
      [0, 1, 2].map((k) => new Date(today - (2 - k) * DAY).toISOString()),
    );
    assert.equal(days[2]!.tokensIssued, 3);

    // A range that starts mid-hour begins with that whole hour; hours outside the range are not counted.
    const hour = periodStart(HOUR);
    const past = await admin.get(`/admin/api/credentials/${main.id}/usage?from=${hour - 3 * HOUR + 1234}&to=${hour}`);
    assert.deepEqual(
      (past.body.items as unknown as UsageItem[]).map((i) => [i.at, i.tokensIssued]),
      [3, 2, 1].map((k) => [new Date(hour - k * HOUR).toISOString(), 0]),
    );
  });

  it('refuses bad parameters with 400 invalid_request naming them', async () => {
    const base = `/admin/api/credentials/${main.id}/usage`;
    const cases: [string, RegExp][] = [
      ['?bucket=week', /bucket/],
      ['?from=yesterday', /from/],
      ['?to=2026-13-45T99:00:00Z', /to/],
      ['?from=1&to=2', /from/],
      [`?from=${Date.now() - 91 * DAY}`, /90 days/],
      [`?from=${Date.now()}&to=${Date.now() - HOUR}`, /to must be later/],
      ['?bucket=hour&bucket=day', /bucket/],
      ['?q=1', /Unknown query parameter: q/],
    ];
    for (const [query, message] of cases) {
      const res = await admin.get(base + query);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.message as string, message, query);
    }
    for (const query of ['?limit=0', '?limit=201', '?type=token.minted', '?format=xml', '?cursor=abc', '?since=1']) {
      const res = await admin.get(`/admin/api/events${query}`);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.equal(res.body.error, 'invalid_request');
    }
  });

  it('shows a credential only to who may see it: 404 otherwise, the account page for admins only', async () => {
    assert.equal((await supervisor.get(`/admin/api/credentials/${supCred.id}/usage`)).status, 200);
    const hidden = await supervisor.get(`/admin/api/credentials/${main.id}/usage`);
    assert.equal(hidden.status, 404);
    assert.equal(hidden.body.error, 'not_found');
    assert.equal((await supervisor.get(`/admin/api/events?credential=${main.id}`)).status, 404);
    const account = await supervisor.get('/admin/api/usage');
    assert.equal(account.status, 403);
    assert.equal(account.body.error, 'forbidden');

    const other = await portalTenant(t.region);
    const outsider = await PortalClient.signIn(t.baseUrl, other.admin.email, PASSWORD);
    const res = await outsider.get(`/admin/api/credentials/${main.id}/usage`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error, 'not_found');
    assert.deepEqual((await outsider.get('/admin/api/events')).body.items, []);
    assert.equal(totals((await outsider.get('/admin/api/usage')).body.items as unknown as UsageItem[]).tokensIssued, 0);

    const anonymous = await fetch(`${t.baseUrl}/admin/api/credentials/${main.id}/usage`);
    assert.equal(anonymous.status, 401);
  });

  it("gives admins the account's totals and top credentials", async () => {
    const res = await admin.get('/admin/api/usage');
    assert.equal(res.status, 200, res.text);
    const sum = totals(res.body.items as unknown as UsageItem[]);
    assert.equal(sum.tokensIssued, 4, 'main 3 + the supervisor one 1');
    assert.equal(sum.apiCalls, 9);
    assert.equal(sum.r429, 2);
    assert.equal(sum.authFailures, 4, '3 of main, 1 of the disabled owner');
    assert.equal(res.body.apiRateLimitPerMinute, 5);
    const top = res.body.top as { credentialId: string; name: string; apiCalls: number; tokensIssued: number }[];
    assert.deepEqual(top[0], { credentialId: main.id, name: 'main', apiCalls: 9, tokensIssued: 3 });
    assert.deepEqual(top[1], { credentialId: supCred.id, name: 'supervisor one', apiCalls: 0, tokensIssued: 1 });
  });

  it('lists events: token.issued aggregated per minute, each failure with reason and IP, rate limited, revoked', async () => {
    const res = await admin.get(`/admin/api/events?credential=${main.id}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.nextCursor, null);
    const items = res.body.items as Record<string, unknown>[];
    const ofType = (type: string) => items.filter((e) => e.type === type);
    const issued = ofType('token.issued');
    assert.equal(issued.length, 1, 'one row for the minute');
    assert.equal(issued[0]!.count, 3);
    assert.equal(issued[0]!.credentialId, main.id);
    assert.equal(issued[0]!.clientId, main.clientId);
    assert.equal(Date.parse(issued[0]!.at as string) % 60_000, 0);
    const failed = ofType('client_auth.failed');
    assert.deepEqual(failed.map((e) => e.reason).sort(), ['scope', 'wrong_secret', 'wrong_secret']);
    for (const e of failed) {
      assert.equal(e.ip, '127.0.0.1');
      assert.equal(e.count, undefined);
      assert.equal(e.credentialId, main.id);
    }
    assert.deepEqual(ofType('api.rate_limited').map((e) => e.count), [2]);
    assert.equal(ofType('token.revoked').length, 1);
    assert.equal(items.length, 6);
    // Newest first.
    const times = items.map((e) => Date.parse(e.at as string));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));

    const onlyFailed = await admin.get(`/admin/api/events?credential=${main.id}&type=client_auth.failed`);
    assert.equal((onlyFailed.body.items as unknown[]).length, 3);
    const future = await admin.get(`/admin/api/events?from=${Date.now() + HOUR}`);
    assert.deepEqual(future.body.items, []);
  });

  it('pages events with an opaque cursor bound to its query', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await admin.get(`/admin/api/events?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200, res.text);
      const items = res.body.items as { id: string }[];
      assert.ok(items.length <= 2);
      seen.push(...items.map((i) => i.id));
      cursor = res.body.nextCursor as string | null;
      pages++;
    } while (cursor && pages < 20);
    const all = await admin.get('/admin/api/events?limit=200');
    assert.deepEqual(seen, (all.body.items as { id: string }[]).map((i) => i.id));
    assert.ok(seen.length >= 8, `${seen.length} events`);

    const first = await admin.get('/admin/api/events?limit=2');
    const next = first.body.nextCursor as string;
    const tampered = next.slice(0, 5) + (next[5] === 'A' ? 'B' : 'A') + next.slice(6);
    for (const [path, why] of [
      [`/admin/api/events?limit=2&cursor=${encodeURIComponent(tampered)}`, 'one character changed'],
      [`/admin/api/events?limit=2&type=token.issued&cursor=${encodeURIComponent(next)}`, 'another query'],
      [`/admin/api/events?limit=2&cursor=${encodeURIComponent(`${next}x`)}`, 'appended'],
      [`/admin/api/events?limit=2&cursor=${encodeURIComponent("' or 1=1 --")}`, 'injection-shaped'],
    ] as const) {
      const res = await admin.get(path);
      assert.equal(res.status, 400, why);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.message as string, /cursor/);
    }
    // Another user's cursor is not theirs to use.
    const admin2 = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    assert.equal((await admin2.get(`/admin/api/events?limit=2&cursor=${encodeURIComponent(next)}`)).status, 200, 'the same user in another session');
    const otherAdmin = await portalTenant(t.region);
    const outsider = await PortalClient.signIn(t.baseUrl, otherAdmin.admin.email, PASSWORD);
    assert.equal((await outsider.get(`/admin/api/events?limit=2&cursor=${encodeURIComponent(next)}`)).status, 400);
  });

  it('exports events as CSV for Accept: text/csv or format=csv', async () => {
    const byAccept = await fetch(`${t.baseUrl}/admin/api/events?credential=${main.id}`, { headers: { cookie: admin.cookie, accept: 'text/csv' } });
    assert.equal(byAccept.status, 200);
    assert.match(byAccept.headers.get('content-type') ?? '', /^text\/csv/);
    const lines = (await byAccept.text()).trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,at,type,credentialId,clientId,reason,ip,count');
    assert.equal(lines.length, 7);
    assert.ok(lines.some((l) => l.includes(',token.issued,') && l.endsWith(',3')));
    assert.ok(lines.some((l) => l.includes(',client_auth.failed,') && l.includes(',wrong_secret,127.0.0.1,')));

    const byFormat = await admin.get('/admin/api/events?format=csv&type=token.revoked');
    assert.equal(byFormat.status, 200);
    assert.match(byFormat.headers.get('content-type') ?? '', /^text\/csv/);
    assert.equal(byFormat.text.trimEnd().split('\r\n').length, 2);
    const paged = await admin.get('/admin/api/events?format=csv&limit=1');
    assert.ok(paged.headers.get('x-next-cursor'), 'a cut export says where to continue');
  });

  it("shows a supervisor only their own credentials' events", async () => {
    const res = await supervisor.get('/admin/api/events');
    assert.equal(res.status, 200);
    const items = res.body.items as { clientId: string; type: string; count?: number }[];
    assert.ok(items.length >= 1);
    for (const e of items) assert.equal(e.clientId, supCred.clientId);
    assert.deepEqual(
      items.map((e) => [e.type, e.count]),
      [['token.issued', 1]],
    );
  });
});
