import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import type { Credential, User } from '../../src/domain/model.js';
import { PASSWORD, PortalClient, portalTenant } from '../support/portal-client.js';
import type { TestRegion } from '../support/region.js';
import { describeEachRegion } from './console-support.js';

type Item = Record<string, unknown> & { id: string; name: string; clientId: string; scopes: string[]; lastUsedAt: string | null; createdAt: string };

const DAY = 86_400_000;

/** Names that search and sort must treat as text, never as SQL or LIKE syntax. */
const SPECIAL_NAMES = [
  '100% ready',
  'snake_case name',
  'back\\slash',
  "quote ' name",
  "x' OR '1'='1",
  'Robert"); DROP TABLE api_credentials;--',
  'Ünïcødé Straße',
  'ＦＵＬＬ ｗｉｄｔｈ',
  '日本語の資格情報',
  'emoji 🚀 rocket',
];

async function seed(t: TestRegion) {
  const tenant = await portalTenant(t.region);
  const other = await portalTenant(t.region);
  const store = t.region.store;
  const make = async (owner: User | null, name: string, scopes: string[]): Promise<Credential> =>
    owner
      ? (await t.region.issuer.createUserLevel(owner, { name, scopes }, { id: owner.id, email: owner.email })).credential
      : (await t.region.issuer.importAccountLevel(tenant.account.id, { name, scopes }, { id: null, email: 'ops' })).credential;
  const created: Credential[] = [];
  for (let i = 0; i < 24; i++) created.push(await make(tenant.admin, `Admin key ${String(i).padStart(2, '0')}`, i % 3 === 0 ? ['stats', 'users:read'] : ['stats']));
  for (const name of SPECIAL_NAMES) created.push(await make(tenant.admin, name, ['globalpci']));
  for (let i = 0; i < 4; i++) created.push(await make(tenant.admin2, `Second admin ${i}`, ['users:read']));
  for (let i = 0; i < 5; i++) created.push(await make(tenant.supervisor, `Supervisor ${i}`, ['users:read', 'interaction-content:read']));
  for (let i = 0; i < 2; i++) created.push(await make(null, `Legacy ${i}`, ['stats']));
  // Another account's credentials must never appear.
  await make(other.admin, 'Admin key of another account', ['stats']);
  // Ties on purpose: several credentials share a creation time and a last-used time.
  const now = Date.now();
  for (const [i, c] of created.entries()) {
    const lastUsed = i % 4 === 0 ? null : i % 4 === 1 ? now - 10 * DAY : i % 4 === 2 ? now - DAY : now - 10 * DAY;
    await store.db
      .updateTable('api_credentials')
      .set({ created_at: now - 3 * DAY + Math.floor(i / 3) * 1000, last_used_at: lastUsed })
      .where('id', '=', c.id)
      .execute();
  }
  return { tenant, other, created: await Promise.all(created.map(async (c) => (await store.credentials.get(c.id)) as Credential)) };
}

/** Every page of a list, following nextCursor; fails on a page larger than the limit or a loop. */
async function allPages(client: PortalClient, path: string, limit: number): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await client.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(res.status, 200, res.text);
    const page = res.body.items as Item[];
    assert.ok(page.length <= limit);
    items.push(...page);
    cursor = res.body.nextCursor as string | null;
    if (cursor === null) return items;
    assert.ok(page.length === limit, 'only the last page is short');
  }
  throw new Error('paging did not end');
}

const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const fold = (s: string) => s.normalize('NFKC').toLowerCase();

function expectedOrder(credentials: Credential[], sort: string): string[] {
  const desc = sort.startsWith('-');
  const field = desc ? sort.slice(1) : sort;
  const key = (c: Credential): number | string =>
    field === 'name' ? fold(c.name) : field === 'created' ? Date.parse(c.createdAt) : c.lastUsedAt === null ? (desc ? -1 : Number.MAX_SAFE_INTEGER) : Date.parse(c.lastUsedAt);
  const sorted = [...credentials].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    const primary = typeof ka === 'string' ? byCodePoint(ka, kb as string) : ka - (kb as number);
    return primary !== 0 ? primary : byCodePoint(a.id, b.id);
  });
  if (desc) sorted.reverse();
  return sorted.map((c) => c.id);
}

await describeEachRegion('console credential list', (region) => {
  let data: Awaited<ReturnType<typeof seed>>;
  let admin: PortalClient;
  let supervisor: PortalClient;
  before(async () => {
    data = await seed(region());
    admin = await PortalClient.signIn(region().baseUrl, data.tenant.admin.email, PASSWORD);
    supervisor = await PortalClient.signIn(region().baseUrl, data.tenant.supervisor.email, PASSWORD);
  });

  it('answers {items, nextCursor}: 50 by default, newest first', async () => {
    const res = await admin.get('/admin/api/credentials');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['items', 'nextCursor']);
    assert.equal(res.body.items?.length, 45);
    assert.equal(res.body.nextCursor, null);
    assert.deepEqual((res.body.items as Item[]).map((c) => c.id), expectedOrder(data.created, '-created'));
    const small = await admin.get('/admin/api/credentials?limit=44');
    assert.equal(typeof small.body.nextCursor, 'string');
  });

  for (const sort of ['name', '-name', 'created', '-created', 'last_used', '-last_used']) {
    it(`pages through sort=${sort} with every credential exactly once, ties broken by id`, async () => {
      const items = await allPages(admin, `/admin/api/credentials?sort=${encodeURIComponent(sort)}`, 7);
      assert.deepEqual(items.map((c) => c.id), expectedOrder(data.created, sort));
    });
  }

  it('sorts never-used credentials last in both directions of last_used', async () => {
    for (const sort of ['last_used', '-last_used']) {
      const items = (await admin.get(`/admin/api/credentials?sort=${sort}&limit=200`)).body.items as Item[];
      const firstNever = items.findIndex((c) => c.lastUsedAt === null);
      assert.ok(firstNever > 0);
      assert.ok(items.slice(firstNever).every((c) => c.lastUsedAt === null), sort);
    }
  });

  it('q: case-insensitive name substring, client ID prefix, owner email substring', async () => {
    const q = async (text: string) => ((await admin.get(`/admin/api/credentials?limit=200&q=${encodeURIComponent(text)}`)).body.items as Item[]).map((c) => c.name).sort();
    assert.deepEqual(await q('ADMIN KEY 0'), Array.from({ length: 10 }, (_, i) => `Admin key 0${i}`));
    const target = data.created[5] as Credential;
    assert.deepEqual(await q(target.clientId.slice(0, 12).toUpperCase()), [target.name]);
    // A client ID is matched by prefix only: its middle matches nothing.
    assert.deepEqual(await q(target.clientId.slice(3, 16)), []);
    assert.deepEqual(await q(`admin2.`), ['Second admin 0', 'Second admin 1', 'Second admin 2', 'Second admin 3']);
    assert.deepEqual(await q('SUP.'), ['Supervisor 0', 'Supervisor 1', 'Supervisor 2', 'Supervisor 3', 'Supervisor 4']);
    assert.deepEqual(await q('nothing like this'), []);
    const empty = await admin.get('/admin/api/credentials?q=nothing%20like%20this');
    assert.deepEqual(empty.body, { items: [], nextCursor: null });
  });

  it('q: unicode, full-width and case folding', async () => {
    const q = async (text: string) => ((await admin.get(`/admin/api/credentials?q=${encodeURIComponent(text)}`)).body.items as Item[]).map((c) => c.name);
    assert.deepEqual(await q('ÜNÏCØDÉ'), ['Ünïcødé Straße']);
    assert.deepEqual(await q('straße'), ['Ünïcødé Straße']);
    assert.deepEqual(await q('full width'), ['ＦＵＬＬ ｗｉｄｔｈ']);
    assert.deepEqual(await q('ｆｕｌｌ'), ['ＦＵＬＬ ｗｉｄｔｈ']);
    assert.deepEqual(await q('資格'), ['日本語の資格情報']);
    assert.deepEqual(await q('🚀'), ['emoji 🚀 rocket']);
  });

  it('q: injection-shaped text and LIKE wildcards match literally', async () => {
    const q = async (text: string) => {
      const res = await admin.get(`/admin/api/credentials?limit=200&q=${encodeURIComponent(text)}`);
      assert.equal(res.status, 200, `${text}: ${res.text}`);
      return (res.body.items as Item[]).map((c) => c.name).sort();
    };
    assert.deepEqual(await q('%'), ['100% ready']);
    assert.deepEqual(await q('_'), ['Robert"); DROP TABLE api_credentials;--', 'snake_case name']);
    assert.deepEqual(await q('e_c'), ['snake_case name']);
    assert.deepEqual(await q('\\'), ['back\\slash']);
    assert.deepEqual(await q("'"), ["quote ' name", "x' OR '1'='1"]);
    assert.deepEqual(await q("' OR '1'='1"), ["x' OR '1'='1"]);
    assert.deepEqual(await q("' OR 1=1 --"), []);
    assert.deepEqual(await q('"); DROP TABLE api_credentials;--'), ['Robert"); DROP TABLE api_credentials;--']);
    assert.deepEqual(await q('%%'), []);
    assert.deepEqual(await q('a_m'), []);
    // Still all there; blank text is no filter (not a client ID prefix that matches everything by accident).
    assert.equal(((await admin.get('/admin/api/credentials?limit=200')).body.items as Item[]).length, 45);
    assert.equal(((await admin.get('/admin/api/credentials?limit=200&q=')).body.items as Item[]).length, 45);
    assert.equal(((await admin.get('/admin/api/credentials?limit=200&q=%20%20')).body.items as Item[]).length, 45);
  });

  it('scope: credentials with every named scope, spaces or commas', async () => {
    const names = async (scope: string) => ((await admin.get(`/admin/api/credentials?limit=200&scope=${encodeURIComponent(scope)}`)).body.items as Item[]).map((c) => c.name);
    assert.equal((await names('globalpci')).length, SPECIAL_NAMES.length);
    const both = await names('stats,users:read');
    assert.deepEqual(both.sort(), ['Admin key 00', 'Admin key 03', 'Admin key 06', 'Admin key 09', 'Admin key 12', 'Admin key 15', 'Admin key 18', 'Admin key 21']);
    assert.deepEqual((await names('users:read stats')).sort(), both.sort());
    assert.equal((await names('interaction-content:read')).length, 5);
    for (const bad of ['no-such-scope', 'stats;users:read', ',']) {
      const res = await admin.get(`/admin/api/credentials?scope=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.message as string, /\bscope\b/);
    }
    assert.match((await admin.get('/admin/api/credentials?scope=stats%3Busers%3Aread')).body.message as string, /spaces or commas/);
  });

  it('unused_days: never used, or last used more than N days ago', async () => {
    const ids = async (query: string) => new Set(((await admin.get(`/admin/api/credentials?limit=200&${query}`)).body.items as Item[]).map((c) => c.id));
    const never = data.created.filter((c) => c.lastUsedAt === null).map((c) => c.id);
    const old = data.created.filter((c) => c.lastUsedAt !== null && Date.parse(c.lastUsedAt) < Date.now() - 5 * DAY).map((c) => c.id);
    assert.deepEqual(await ids('unused_days=5'), new Set([...never, ...old]));
    assert.deepEqual(await ids('unused_days=never'), new Set(never));
    assert.equal((await ids('unused_days=0')).size, 45);
    assert.deepEqual(await ids('unused_days=30'), new Set(never));
  });

  it('visibility: a supervisor gets only their own, whatever they ask; owner and level filter for admins', async () => {
    for (const query of ['', '?owner=all', '?owner=me', '?q=admin', '?level=account']) {
      const items = (await supervisor.get(`/admin/api/credentials${query}`)).body.items as Item[];
      assert.ok(items.every((c) => (c.owner as { id: string } | null)?.id === data.tenant.supervisor.id), query);
      if (query !== '?q=admin' && query !== '?level=account') assert.equal(items.length, 5, query);
    }
    assert.equal(((await supervisor.get('/admin/api/credentials?q=SUP.')).body.items as Item[]).length, 5);
    const mine = (await admin.get('/admin/api/credentials?owner=me&limit=200')).body.items as Item[];
    assert.equal(mine.length, 24 + SPECIAL_NAMES.length);
    const legacy = (await admin.get('/admin/api/credentials?level=account')).body.items as Item[];
    assert.deepEqual(legacy.map((c) => c.name).sort(), ['Legacy 0', 'Legacy 1']);
    const all = await allPages(admin, '/admin/api/credentials?sort=name', 10);
    assert.ok(!all.some((c) => c.name === 'Admin key of another account'));
  });

  it('refuses an unknown parameter or a bad value with 400 invalid_request naming it', async () => {
    const cases: [string, string][] = [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=-1', 'limit'],
      ['sort=size', 'sort'],
      ['sort=', 'sort'],
      ['unused_days=-1', 'unused_days'],
      ['unused_days=soon', 'unused_days'],
      ['owner=everyone', 'owner'],
      ['level=team', 'level'],
      ['q=a&q=b', 'q'],
      [`q=${'x'.repeat(201)}`, 'q'],
      ['search=x', 'search'],
      ['cursor=', 'cursor'],
      ['q=%00', 'q'],
      ['q=a%0Ab', 'q'],
      ['cursor=abc', 'cursor'],
    ];
    for (const [query, name] of cases) {
      const res = await admin.get(`/admin/api/credentials?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error, 'invalid_request', query);
      assert.ok((res.body.message as string).includes(name), `${query}: ${res.body.message as string}`);
    }
  });

  it('survives bytes that are not text: never a 500', async () => {
    for (const query of ['q=%ED%A0%80', 'q=%FF%FE', 'q=%C0%AF', 'q=%E2%80%AE', 'scope=%00', 'sort=%00', 'cursor=%00', 'q=%25%00']) {
      const res = await admin.get(`/admin/api/credentials?${query}`);
      assert.ok(res.status === 200 || res.status === 400, `${query}: ${res.status} ${res.text}`);
      if (res.status === 400) assert.equal(res.body.error, 'invalid_request');
    }
    for (const query of ['actor=%00', 'credential=%00', 'action=%00', 'actor=%ED%A0%80', 'credential=%FF']) {
      const res = await admin.get(`/admin/api/audit?${query}`);
      assert.ok(res.status === 200 || res.status === 400, `${query}: ${res.status} ${res.text}`);
    }
  });

  it('refuses a cursor changed by one character, from another query, list or user', async () => {
    const first = await admin.get('/admin/api/credentials?sort=name&limit=5&q=admin');
    const cursor = first.body.nextCursor as string;
    assert.equal(typeof cursor, 'string');
    const ok = await admin.get(`/admin/api/credentials?sort=name&limit=5&q=admin&cursor=${encodeURIComponent(cursor)}`);
    assert.equal(ok.status, 200);
    // The limit may change between pages; the filters and the sort may not.
    assert.equal((await admin.get(`/admin/api/credentials?q=admin&limit=9&sort=name&cursor=${encodeURIComponent(cursor)}`)).status, 200);
    const alphabet = 'ABCabc019_-.';
    for (let i = 0; i < cursor.length; i++) {
      const replacement = [...alphabet].find((ch) => ch !== cursor[i]) as string;
      const tampered = cursor.slice(0, i) + replacement + cursor.slice(i + 1);
      const res = await admin.get(`/admin/api/credentials?sort=name&limit=5&q=admin&cursor=${encodeURIComponent(tampered)}`);
      assert.equal(res.status, 400, `position ${i}`);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.message as string, /cursor/);
    }
    for (const other of ['sort=name&limit=5&q=admi', 'sort=-name&limit=5&q=admin', 'sort=name&limit=5&q=admin&scope=stats', 'sort=name&limit=5&q=admin&owner=me']) {
      const res = await admin.get(`/admin/api/credentials?${other}&cursor=${encodeURIComponent(cursor)}`);
      assert.equal(res.status, 400, other);
      assert.match(res.body.message as string, /cursor/);
    }
    const admin2 = await PortalClient.signIn(region().baseUrl, data.tenant.admin2.email, PASSWORD);
    assert.equal((await admin2.get(`/admin/api/credentials?sort=name&limit=5&q=admin&cursor=${encodeURIComponent(cursor)}`)).status, 400);
    const auditCursor = (await admin.get('/admin/api/audit?limit=1')).body.nextCursor as string;
    assert.equal((await admin.get(`/admin/api/credentials?cursor=${encodeURIComponent(auditCursor)}`)).status, 400);
    assert.equal((await admin.get(`/admin/api/credentials?sort=name&limit=5&q=admin&cursor=${encodeURIComponent(cursor + 'A')}`)).status, 400);
  });

  it('items carry the rotation fields', async () => {
    const item = ((await admin.get('/admin/api/credentials?limit=1')).body.items as Item[])[0] as Item;
    assert.equal(item.secretRotatedAt, null);
    assert.equal(item.previousSecretExpiresAt, null);
  });
});
