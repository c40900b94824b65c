// The OpenAPI 3.1 document at /openapi.json and the API reference at /docs: what the document
// lists (the platform APIs with their scopes, upstreams, the token endpoint; nothing of the portal
// or operations), the page and its assets, and "Try it out" in a real browser, with a pasted bearer
// token and with a token Swagger UI gets itself (OAuth 2.0 client credentials).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page, chromium } from 'playwright-core';
import { SCOPE_CATALOGUE } from '../../src/domain/scopes.js';
import { inCI } from '../support/env.js';
import { type TestRegion, type Tenant, createCredential, createTenant, startRegion, tokenRequest } from '../support/region.js';

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  tags: { name: string; description?: string }[];
  components: { securitySchemes: Record<string, Record<string, unknown>> };
}

/** The platform API routes of SPEC 3; those the region has must all be in the document. */
const PLATFORM_ROUTES: [method: string, route: string, documented: string][] = [
  ['GET', '/agents-availability', '/agents-availability'],
  ['GET', '/useradmin/users', '/useradmin/users'],
  ['GET', '/useradmin/users/:id', '/useradmin/users/{id}'],
  ['PATCH', '/useradmin/users/:id', '/useradmin/users/{id}'],
  ['PUT', '/useradmin/users/:id/presence', '/useradmin/users/{id}/presence'],
  ['GET', '/interaction-content/interactions/:id/content', '/interaction-content/interactions/{id}/content'],
  ['GET', '/interaction-content/interactions/:id/content/:contentId', '/interaction-content/interactions/{id}/content/{contentId}'],
  ['DELETE', '/interaction-content/interactions/:id/content/:contentId', '/interaction-content/interactions/{id}/content/{contentId}'],
  ['GET', '/conversation-analyzer/interactions', '/conversation-analyzer/interactions'],
  ['GET', '/stats/interactions', '/stats/interactions'],
  ['GET', '/stats/agent-activities', '/stats/agent-activities'],
  ['POST', '/interactions', '/interactions'],
  ['PATCH', '/interactions/:id', '/interactions/{id}'],
  ['POST', '/payments/sessions', '/payments/sessions'],
  ['GET', '/payments/sessions/:id', '/payments/sessions/{id}'],
];

const CATALOGUE = SCOPE_CATALOGUE.map((s) => s.value);

let t: TestRegion;
let doc: OpenApiDocument;

before(async () => {
  t = await startRegion({
    CCAUTH_UPSTREAMS: JSON.stringify([{ prefix: '/crm', url: 'http://127.0.0.1:9/api', scopes: { GET: 'users:read', POST: 'users:write' }, description: 'The CRM' }]),
  });
  const res = await fetch(`${t.baseUrl}/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  doc = (await res.json()) as OpenApiDocument;
});
after(async () => {
  await t?.close();
});

const operations = () => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

describe('/openapi.json', () => {
  it('is OpenAPI 3.1 with the region as its server', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(
      doc.servers.map((s) => s.url),
      [t.config.publicUrl],
    );
    assert.match(doc.info.title, /emea/);
  });

  it('declares bearer (JWT) and OAuth 2.0 client credentials with the token endpoint and the scope catalogue', () => {
    const { bearerAuth, oauth2 } = doc.components.securitySchemes;
    assert.deepEqual({ type: bearerAuth?.type, scheme: bearerAuth?.scheme, bearerFormat: bearerAuth?.bearerFormat }, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    const flow = (oauth2 as { flows: { clientCredentials: { tokenUrl: string; scopes: Record<string, string> } } }).flows.clientCredentials;
    assert.equal(flow.tokenUrl, `${t.config.publicUrl}/Auth/connect/token`);
    assert.deepEqual(Object.keys(flow.scopes).sort(), [...CATALOGUE].sort());
    assert.equal(flow.scopes['agents-availability:read'], 'View agent availability');
  });

  it('lists every platform API route with bearer security, its scope and the gateway errors', () => {
    const routes = PLATFORM_ROUTES.filter(([method, url]) => t.region.app.hasRoute({ method: method as 'GET', url }));
    assert.ok(routes.some(([, url]) => url === '/agents-availability'));
    for (const [method, , path] of routes) {
      const op = doc.paths[path]?.[method.toLowerCase()];
      assert.ok(op, `${method} ${path} is documented`);
      const scopes = op.security?.flatMap((s) => [...(s.bearerAuth ?? []), ...(s.oauth2 ?? [])]) ?? [];
      assert.ok(op.security?.some((s) => s.bearerAuth?.length === 1), `${method} ${path} has bearer security`);
      assert.ok(scopes.length > 0 && scopes.every((s) => CATALOGUE.includes(s)), `${method} ${path} names its scope: ${scopes}`);
      for (const status of ['401', '403', '406', '429']) assert.ok(op.responses[status], `${method} ${path} documents ${status}`);
      assert.ok(op.summary && op.operationId && op.tags?.length, `${method} ${path} has a summary, an operationId and a tag`);
    }
    const availability = doc.paths['/agents-availability']?.get;
    assert.deepEqual(availability?.security, [{ bearerAuth: ['agents-availability:read'] }, { oauth2: ['agents-availability:read'] }]);
    assert.ok(availability?.responses['200']?.content?.['application/vnd.newvoicemedia.v1+json']);
  });

  it('describes each upstream generically, with the scope of each method', () => {
    const item = doc.paths['/crm/{path}'];
    assert.ok(item, 'the upstream is documented');
    assert.deepEqual(Object.keys(item).sort(), ['get', 'post']);
    assert.deepEqual(item.get?.security, [{ bearerAuth: ['users:read'] }, { oauth2: ['users:read'] }]);
    assert.deepEqual(item.post?.security, [{ bearerAuth: ['users:write'] }, { oauth2: ['users:write'] }]);
    assert.ok(item.get?.responses['502'] && item.get?.responses['504']);
    assert.ok(doc.tags.some((tag) => tag.name === 'Upstream /crm' && /users:read/.test(tag.description ?? '')));
  });

  it('documents the token endpoint, and nothing of the portal, its API or the operations endpoints', () => {
    assert.ok(doc.paths['/Auth/connect/token']?.post);
    const paths = Object.keys(doc.paths);
    for (const hidden of ['/admin', '/healthz', '/readyz', '/metrics', '/docs', '/openapi.json', '/.well-known', '/Auth/.well-known', '/Auth/connect/introspect']) {
      assert.ok(!paths.some((p) => p === hidden || p.startsWith(`${hidden}/`)), `${hidden} is not in the document`);
    }
  });

  it('has unique operationIds and declares every tag it uses', () => {
    const ids = operations().map(({ op }) => op.operationId);
    assert.equal(new Set(ids).size, ids.length);
    const declared = new Set(doc.tags.map((tag) => tag.name));
    for (const { op } of operations()) for (const tag of op.tags ?? []) assert.ok(declared.has(tag), tag);
  });
});

describe('/docs', () => {
  it('serves Swagger UI with its own security headers and assets', async () => {
    const res = await fetch(`${t.baseUrl}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<div id="swagger-ui">/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css', 'swagger-initializer.js']) {
      const a = await fetch(`${t.baseUrl}/docs/static/${asset}`);
      assert.equal(a.status, 200, asset);
      assert.match(a.headers.get('content-type') ?? '', asset.endsWith('.js') ? /javascript/ : /text\/css/, asset);
      await a.arrayBuffer();
    }
    const spec = await fetch(`${t.baseUrl}/docs/json`);
    assert.deepEqual(await spec.json(), doc);
  });

  it('leaves the Admin Portal its own policy', async () => {
    const res = await fetch(`${t.baseUrl}/admin/`);
    await res.arrayBuffer();
    if (res.status === 503) return; // the portal is not built in this checkout
    assert.match(res.headers.get('content-security-policy') ?? '', /form-action 'self'/);
    assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /connect-src/);
  });
});

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !inCI ? `no Chromium at ${CHROMIUM}` : false;

describe('"Try it out" in a browser', { skip, timeout: 120_000 }, () => {
  let browser: Browser;
  let tenant: Tenant;
  let clientId: string;
  let clientSecret: string;
  const problems: string[] = [];

  before(async () => {
    tenant = await createTenant(t.region);
    ({ credential: { clientId }, clientSecret } = await createCredential(t.region, tenant.admin, ['agents-availability:read']));
    await t.region.store.users.create({ accountId: tenant.account.id, email: `french.${Date.now()}@example.test`, license: 'agent', skills: ['French'], presence: 'Ready' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
  });

  async function openDocs(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    // The public URL, as the document's server and token URL name it.
    await page.goto(`${t.config.publicUrl}/docs`);
    await page.locator('#operations-Agent_Availability-getAgentsAvailability').waitFor();
    return page;
  }

  async function tryAvailability(page: Page): Promise<string> {
    const op = page.locator('#operations-Agent_Availability-getAgentsAvailability');
    await op.locator('.opblock-summary').first().click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    await op.locator('tr[data-param-name="skillNames"] input').fill('French');
    await op.getByRole('button', { name: 'Execute' }).click();
    const status = op.locator('.live-responses-table .response .response-col_status');
    await status.waitFor();
    return (await status.innerText()).trim();
  }

  it('calls an API with a pasted bearer token', async () => {
    const token = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'agents-availability:read' });
    const page = await openDocs();
    await page.locator('button.authorize').first().click();
    const bearer = page.locator('.auth-container').filter({ hasText: 'bearerAuth' });
    await bearer.locator('#auth-bearer-value').fill(token.body.access_token as string);
    await bearer.locator('button.authorize').click();
    await page.locator('.modal-ux .close-modal').click();
    assert.equal(await tryAvailability(page), '200');
    const body = await page.locator('#operations-Agent_Availability-getAgentsAvailability .live-responses-table .response-col_description pre').first().innerText();
    assert.match(body, /"Ready": 1/);
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('gets a token itself with the client credentials of an API credential, then calls the API', async () => {
    const page = await openDocs();
    await page.locator('button.authorize').first().click();
    const oauth = page.locator('.auth-container').filter({ hasText: 'oauth2' });
    await oauth.locator('#client_id_clientCredentials').fill(clientId);
    await oauth.locator('#client_secret_clientCredentials').fill(clientSecret);
    await oauth.locator('label').filter({ hasText: 'agents-availability:read' }).click();
    await oauth.locator('button.authorize').click();
    // Swagger UI has called the token endpoint: the dialog now offers to log out.
    await oauth.locator('button[aria-label="Remove authorization"]').waitFor();
    await page.locator('.modal-ux .close-modal').click();
    assert.equal(await tryAvailability(page), '200');
    await page.context().close();
    assert.deepEqual(problems, []);
  });
});
