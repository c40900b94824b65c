// The Admin Portal API's OpenAPI 3.1 document (GET /admin/api/openapi.json): every admin route of
// SPEC is in it, its schemas are the ones in src/admin/openapi.ts, what the running server answers
// fits them, and /docs offers it next to the platform APIs (checked in a real browser).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { z } from 'zod';
import { adminOpenApiDocument } from '../../src/admin/openapi.js';
import { AuditList, CreatedCredential, CredentialView, RotatedCredential, ScopeList, SessionView } from '../../src/admin/schemas.js';
import { inCI } from '../support/env.js';
import { PASSWORD, PortalClient, portalTenant, rawRequest } from '../support/portal-client.js';
import { type TestRegion, startRegion } from '../support/region.js';

/** SPEC 3 "Admin Portal and its API" and "Console additions": every route of the admin API. */
const SPEC_ROUTES = [
  'post /admin/api/session',
  'delete /admin/api/session',
  'get /admin/api/me',
  'get /admin/api/scopes',
  'get /admin/api/credentials',
  'post /admin/api/credentials',
  'get /admin/api/credentials/{id}',
  'patch /admin/api/credentials/{id}',
  'delete /admin/api/credentials/{id}',
  'post /admin/api/credentials/{id}/secret',
  'post /admin/api/credentials/{id}/secret/end-grace',
  'get /admin/api/credentials/{id}/usage',
  'get /admin/api/usage',
  'get /admin/api/credentials/{id}/evaluate',
  'get /admin/api/events',
  'get /admin/api/audit',
  'get /admin/api/openapi.json',
];

interface Doc {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, { operationId: string; security: Record<string, string[]>[]; parameters?: { name: string; in: string }[]; responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
}

let t: TestRegion;
let doc: Doc;
before(async () => {
  t = await startRegion();
  const res = await fetch(`${t.baseUrl}/admin/api/openapi.json`, { headers: { 'x-request-id': 'doc-check-1' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.headers.get('x-request-id'), 'doc-check-1');
  doc = (await res.json()) as Doc;
});
after(async () => {
  await t?.close();
});

describe('GET /admin/api/openapi.json', () => {
  it('is an OpenAPI 3.1 document of every admin route of SPEC, readable without a session', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.servers[0]?.url, t.config.publicUrl);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    assert.deepEqual([...documented].sort(), [...SPEC_ROUTES].sort());
    const ids = documented.map((d) => {
      const [method, path] = d.split(' ') as [string, string];
      return doc.paths[path]?.[method]?.operationId;
    });
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it('describes the session and CSRF rules, the query parameters of SPEC and CSV answers', () => {
    const op = (method: string, path: string) => doc.paths[`/admin/api${path}`]?.[method] as Doc['paths'][string][string];
    assert.deepEqual(op('post', '/session').security, [], 'sign-in needs nothing');
    assert.deepEqual(op('get', '/credentials').security, [{ sessionCookie: [] }]);
    assert.deepEqual(op('patch', '/credentials/{id}').security, [{ sessionCookie: [], csrfToken: [] }], 'state changes need the CSRF header');
    const params = (method: string, path: string) => (op(method, path).parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name).sort();
    assert.deepEqual(params('get', '/credentials'), ['cursor', 'level', 'limit', 'owner', 'q', 'scope', 'sort', 'unused_days']);
    assert.deepEqual(params('get', '/audit'), ['action', 'actor', 'before', 'credential', 'cursor', 'format', 'from', 'limit', 'to']);
    assert.deepEqual(params('get', '/events'), ['credential', 'cursor', 'format', 'from', 'limit', 'to', 'type']);
    assert.deepEqual(params('get', '/credentials/{id}/usage'), ['bucket', 'from', 'to']);
    assert.ok(op('get', '/audit').responses['200']?.content?.['text/csv'], 'the audit log answers CSV');
    assert.ok(op('post', '/credentials/{id}/secret/end-grace').responses['409'], 'end-grace: 409 no_grace_period');
    const credential = doc.components.schemas.Credential;
    for (const field of ['id', 'name', 'clientId', 'scopes', 'level', 'owner', 'lastUsedAt', 'secretRotatedAt', 'previousSecretExpiresAt']) assert.ok(credential?.required?.includes(field), field);
    assert.ok(!JSON.stringify(credential).includes('clientSecret'), 'the credential view never has the secret');
    assert.ok(doc.components.schemas.CreatedCredential?.required?.includes('clientSecret'));
  });

  it('is generated from the same schemas the code imports (no second copy)', () => {
    const again = adminOpenApiDocument({ publicUrl: t.config.publicUrl, region: t.config.region });
    assert.deepEqual(again, doc);
    assert.deepEqual(doc.components.schemas.Credential, JSON.parse(JSON.stringify(doc.components.schemas.Credential)));
    const props = Object.keys(doc.components.schemas.Credential?.properties ?? {}).sort();
    assert.deepEqual(props, Object.keys(CredentialView.shape).sort());
  });
});

describe('the running admin API answers what the document says', () => {
  // Fields SPEC's Console additions add to the view; the "console-api" work fills them.
  const view = CredentialView.partial({ secretRotatedAt: true, previousSecretExpiresAt: true }).strict();

  it('session, scopes, credentials (create, list, read, edit, rotate) and the audit log fit their schemas', async () => {
    const tenant = await portalTenant(t.region);
    const signIn = await rawRequest(t.baseUrl, 'POST', '/admin/api/session', { body: { email: tenant.admin.email, password: PASSWORD } });
    assert.equal(signIn.status, 200, signIn.text);
    SessionView.strict().parse(signIn.body);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    ScopeList.parse((await admin.get('/admin/api/scopes')).body);
    SessionView.parse((await admin.get('/admin/api/me')).body);

    const created = await admin.post('/admin/api/credentials', { name: 'Doc check', scopes: ['users:read', 'stats'] });
    assert.equal(created.status, 201, created.text);
    CreatedCredential.partial({ secretRotatedAt: true, previousSecretExpiresAt: true }).strict().parse(created.body);
    const id = created.body.id as string;

    const list = await admin.get('/admin/api/credentials');
    assert.equal(list.status, 200);
    for (const item of list.body.items ?? []) view.parse(item);

    view.parse((await admin.get(`/admin/api/credentials/${id}`)).body);
    view.parse((await admin.patch(`/admin/api/credentials/${id}`, { name: 'Doc check 2' })).body);
    const rotated = await admin.post(`/admin/api/credentials/${id}/secret`, { graceSeconds: 60 });
    assert.equal(rotated.status, 200, rotated.text);
    RotatedCredential.partial({ secretRotatedAt: true, previousSecretExpiresAt: true }).strict().parse(rotated.body);

    const audit = await admin.get('/admin/api/audit?limit=10');
    assert.equal(audit.status, 200);
    AuditList.shape.items.parse(audit.body.items);
    assert.ok((audit.body.items ?? []).length >= 3);

    const refused = await admin.post('/admin/api/credentials', { name: 'X', scopes: ['no:such'] });
    assert.equal(refused.status, 400);
    z.object({ error: z.string(), message: z.string() }).strict().parse(refused.body);
  });
});

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !inCI ? `no Chromium at ${CHROMIUM}` : false;

describe('/docs offers both documents', { skip, timeout: 90_000 }, () => {
  it('the selector switches to the Admin Portal API; a link can open it directly', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      page.setDefaultTimeout(15_000);
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      await page.goto(`${t.baseUrl}/docs`);
      await page.locator('#operations-Agent_Availability-getAgentsAvailability').waitFor();
      const select = page.locator('.topbar select');
      assert.deepEqual(await select.locator('option').allInnerTexts(), ['Platform APIs', 'Admin Portal API']);
      await select.selectOption({ label: 'Admin Portal API' });
      await page.locator('#operations-API_credentials-listCredentials').waitFor();
      assert.match(await page.locator('.info .title').first().innerText(), /Admin Portal API/);

      await page.goto(`${t.baseUrl}/docs/?urls.primaryName=${encodeURIComponent('Admin Portal API')}`);
      await page.locator('#operations-API_credentials-rotateCredentialSecret').waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
