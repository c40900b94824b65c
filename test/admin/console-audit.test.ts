import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { PASSWORD, PortalClient, portalTenant, rawRequest } from '../support/portal-client.js';
import { describeEachRegion, parseCsv } from './console-support.js';

/**
 * The audit log as a product (issue 9 section 4): failed sign-ins, filters, cursor paging and CSV
 * export, from the outside.
 */

type Event = { id: string; at: string; action: string; actor: { id: string | null; email: string | null }; target: { type: string; id: string | null; name: string | null }; changes: Record<string, unknown> };

await describeEachRegion('audit log filters, paging, CSV and failed sign-ins', (region) => {
  let tenant: Awaited<ReturnType<typeof portalTenant>>;
  let admin: PortalClient;
  let credentialIds: string[];
  const WRONG = 'Wr0ng-passw0rd-never-logged';
  before(async () => {
    const t = region();
    tenant = await portalTenant(t.region);
    admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    credentialIds = [];
    for (const name of ['first', 'has, comma and "quotes"\nand a line', '=HYPERLINK("http://evil.test","click")', '+1 plus', '-1 minus', '@SUM(A1)']) {
      credentialIds.push((await admin.post('/admin/api/credentials', { name, scopes: ['stats'] })).body.id as string);
    }
    await admin.patch(`/admin/api/credentials/${credentialIds[0] as string}`, { name: 'first renamed' });
    const admin2 = await PortalClient.signIn(t.baseUrl, tenant.admin2.email, PASSWORD);
    await admin2.post('/admin/api/credentials', { name: 'by admin2', scopes: ['stats'] });
    // Failed sign-ins: a wrong password for a known email (as typed, in capitals), an unknown email.
    assert.equal((await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { body: { email: `  ${tenant.supervisor.email.toUpperCase()}`, password: WRONG } })).status, 401);
    assert.equal((await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { body: { email: `ghost-${tenant.account.id}@example.test`, password: WRONG } })).status, 401);
  });

  const list = async (query: string) => {
    const res = await admin.get(`/admin/api/audit?${query}`);
    assert.equal(res.status, 200, `${query}: ${res.text}`);
    return res.body as unknown as { items: Event[]; nextCursor: string | null };
  };

  it('a failed sign-in is audited in the email\'s account, with the email as given and never the password', async () => {
    const failed = (await list('action=user.sign_in_failed')).items;
    assert.equal(failed.length, 1, 'the unknown email belongs to no account: not shown to this account');
    const event = failed[0] as Event;
    assert.equal(event.actor.email, tenant.supervisor.email);
    assert.equal(event.actor.id, tenant.supervisor.id);
    assert.equal(event.changes.email, `  ${tenant.supervisor.email.toUpperCase()}`);
    assert.equal(event.changes.reason, 'wrong_password');
    assert.equal(typeof event.changes.ip, 'string');
    const everything = JSON.stringify((await list('limit=200')).items);
    assert.ok(!everything.includes(WRONG));
    assert.ok(!everything.includes('ghost-'));
    // The unknown email is recorded without an account (for the operator), never with the password.
    const rows = await region().region.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'user.sign_in_failed').execute();
    const ghost = rows.find((r) => r.actor_email === `ghost-${tenant.account.id}@example.test`);
    assert.ok(ghost);
    assert.equal(ghost.account_id, null);
    assert.equal(JSON.parse(ghost.changes).reason, 'unknown_email');
    assert.ok(!rows.some((r) => JSON.stringify(r).includes(WRONG)));
  });

  it('a sign-in with an email that is not text is refused, never a 500, and audits nothing unreadable', async () => {
    for (const email of ['a\u0000b@example.test', '\ud800@example.test', 'x'.repeat(321)]) {
      const res = await rawRequest(region().baseUrl, 'POST', '/admin/api/session', { body: { email, password: WRONG } });
      assert.ok(res.status === 400 || res.status === 401, `${JSON.stringify(email)}: ${res.status} ${res.text}`);
    }
  });

  it('filters by action (exact or group), actor, credential and time range', async () => {
    const created = (await list('action=credential.created')).items;
    assert.equal(created.length, 7);
    assert.ok(created.every((e) => e.action === 'credential.created'));
    const credentialOnly = (await list('action=credential.*&limit=200')).items;
    assert.equal(credentialOnly.length, 8, 'sign-ins hidden with one filter');
    assert.ok(credentialOnly.every((e) => e.action.startsWith('credential.')));
    const signIns = (await list('action=user.signed_in,user.sign_in_failed&limit=200')).items;
    assert.deepEqual([...new Set(signIns.map((e) => e.action))].sort(), ['user.sign_in_failed', 'user.signed_in']);

    const byAdmin2 = (await list(`actor=${encodeURIComponent(tenant.admin2.email.toUpperCase())}`)).items;
    assert.deepEqual(byAdmin2.map((e) => e.action).sort(), ['credential.created', 'user.signed_in']);

    const first = (await list(`credential=${credentialIds[0] as string}`)).items;
    assert.deepEqual(first.map((e) => e.action), ['credential.updated', 'credential.created']);

    const all = (await list('limit=200')).items;
    const times = all.map((e) => Date.parse(e.at));
    const middle = times[Math.floor(times.length / 2)] as number;
    const from = (await list(`from=${middle}&limit=200`)).items;
    const to = (await list(`to=${new Date(middle).toISOString()}&limit=200`)).items;
    assert.ok(from.every((e) => Date.parse(e.at) >= middle));
    assert.ok(to.every((e) => Date.parse(e.at) < middle));
    assert.equal(from.length + to.length, all.length);
    assert.deepEqual((await list('from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z')).items, []);
  });

  it('pages with an opaque cursor, newest first, each event once; a tampered or foreign cursor is 400', async () => {
    const all = (await list('limit=200')).items;
    const paged: Event[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 50; i++) {
      const page = await list(`limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      paged.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(paged.map((e) => e.id), all.map((e) => e.id));
    for (let i = 1; i < all.length; i++) assert.ok(Date.parse((all[i - 1] as Event).at) >= Date.parse((all[i] as Event).at));

    const page1 = await list('limit=2&action=credential.*');
    const next = page1.nextCursor as string;
    assert.equal((await admin.get(`/admin/api/audit?limit=2&action=credential.*&cursor=${encodeURIComponent(next)}`)).status, 200);
    const tampered = next.slice(0, 10) + (next[10] === 'A' ? 'B' : 'A') + next.slice(11);
    for (const query of [`limit=2&action=credential.*&cursor=${encodeURIComponent(tampered)}`, `limit=2&action=user.*&cursor=${encodeURIComponent(next)}`, `limit=2&cursor=${encodeURIComponent(next)}`]) {
      const res = await admin.get(`/admin/api/audit?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.message as string, /cursor/);
    }
    const listCursor = (await admin.get('/admin/api/credentials?limit=1')).body.nextCursor as string;
    assert.equal((await admin.get(`/admin/api/audit?cursor=${encodeURIComponent(listCursor)}`)).status, 400);
  });

  it('refuses a bad filter with 400 invalid_request naming it', async () => {
    for (const [query, name] of [
      ['action=', 'action'],
      ['action=DROP TABLE', 'action'],
      ['action=credential.%', 'action'],
      ['actor=', 'actor'],
      ['from=yesterday', 'from'],
      ['to=12:00', 'to'],
      ['from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z', 'to'],
      ['limit=201', 'limit'],
      ['limit=0', 'limit'],
      ['format=xml', 'format'],
      ['target=x', 'target'],
      ['before=yesterday', 'before'],
    ]) {
      const res = await admin.get(`/admin/api/audit?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error, 'invalid_request');
      assert.ok((res.body.message as string).includes(name as string), `${query}: ${res.body.message as string}`);
    }
    const sup = await PortalClient.signIn(region().baseUrl, tenant.supervisor.email, PASSWORD);
    assert.equal((await sup.get('/admin/api/audit?format=csv')).status, 403);
  });

  it('exports CSV for format=csv or Accept: text/csv: header row, quoting, no formulas', async () => {
    const json = (await list('action=credential.*&limit=200')).items;
    for (const res of [
      await admin.get('/admin/api/audit?action=credential.*&format=csv'),
      await rawRequest(admin.baseUrl, 'GET', '/admin/api/audit?action=credential.*', { headers: { cookie: admin.cookie, accept: 'text/csv' } }),
    ]) {
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
      assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="audit\.csv"/);
      const rows = parseCsv(res.text);
      assert.deepEqual(rows[0], ['id', 'at', 'action', 'actor_id', 'actor_email', 'target_type', 'target_id', 'target_name', 'changes']);
      assert.equal(rows.length, json.length + 1);
      assert.deepEqual(rows.slice(1).map((r) => r[0]), json.map((e) => e.id));
      const names = rows.slice(1).map((r) => r[7] as string);
      assert.ok(names.includes('has, comma and "quotes"\nand a line'));
      for (const formula of ['=HYPERLINK("http://evil.test","click")', '+1 plus', '-1 minus', '@SUM(A1)']) {
        assert.ok(names.includes(`'${formula}`), formula);
        assert.ok(!names.includes(formula), formula);
      }
      for (const row of rows.slice(1)) {
        for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@]/);
        assert.deepEqual(JSON.parse(row[8] as string), json.find((e) => e.id === row[0])?.changes);
      }
    }
    // JSON stays the answer for JSON clients and for a wildcard.
    for (const accept of ['application/json', '*/*', 'application/json, text/csv']) {
      const res = await rawRequest(admin.baseUrl, 'GET', '/admin/api/audit?limit=1', { headers: { cookie: admin.cookie, accept } });
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, accept);
    }
    // A CSV page that does not hold everything says where to continue.
    const partial = await admin.get('/admin/api/audit?format=csv&limit=2');
    assert.equal(parseCsv(partial.text).length, 3);
    const next = partial.headers.get('x-next-cursor') as string;
    assert.ok(next);
    const rest = await admin.get(`/admin/api/audit?format=csv&limit=2&cursor=${encodeURIComponent(next)}`);
    assert.equal(rest.status, 200);
    assert.notDeepEqual(parseCsv(rest.text)[1], parseCsv(partial.text)[1]);
  });
});
