// One schema per shape (issue 9 section 5): every admin API route parses its request with the
// schemas the OpenAPI document is written from (src/admin/schemas.ts REQUESTS), the same objects,
// and a route cannot parse with another operation's schemas. Checked on the table, on the routes as
// registered, and from the outside against a started region.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { z } from 'zod';
import { ADMIN_API_PREFIX, ADMIN_OPERATIONS, adminOpenApiDocument } from '../../src/admin/openapi.js';
import { operation, parseRequest } from '../../src/admin/request.js';
import { adminRoutes } from '../../src/admin/routes.js';
import { ADMIN_COMPONENTS, REQUESTS } from '../../src/admin/schemas.js';
import { PASSWORD, PortalClient, portalTenant } from '../support/portal-client.js';
import { type TestRegion, startRegion } from '../support/region.js';

/** Served by src/docs/ui.ts next to /openapi.json, outside the admin routes; it parses nothing. */
const SERVED_ELSEWHERE = new Set(['getAdminOpenApi']);

describe('the document and the routes share one request schema per operation', () => {
  it('every documented operation takes its parameters and body from REQUESTS, the same objects', () => {
    assert.deepEqual(ADMIN_OPERATIONS.map((o) => o.operationId).sort(), Object.keys(REQUESTS).sort(), 'one REQUESTS entry per operation');
    for (const op of ADMIN_OPERATIONS) {
      const shared = REQUESTS[op.operationId] as { params?: unknown; query?: unknown; body?: unknown };
      assert.equal(op.request, shared, op.operationId);
      for (const part of ['params', 'query', 'body'] as const) assert.equal((op.request as typeof shared)[part], shared[part], `${op.operationId} ${part}`);
      assert.equal(op.path.includes('{id}'), shared.params !== undefined, `${op.operationId}: a path parameter iff a params schema`);
    }
  });

  it("the document's request bodies and parameters are those schemas", () => {
    type Op = { parameters?: { name: string; in: string; schema: unknown }[]; requestBody?: { content: { 'application/json': { schema: { $ref: string } } } } };
    const doc = adminOpenApiDocument({ publicUrl: 'http://127.0.0.1:1', region: 'x' }) as { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, unknown> } };
    for (const op of ADMIN_OPERATIONS) {
      const documented = doc.paths[`${ADMIN_API_PREFIX}${op.path}`]?.[op.method] as Op;
      const request = REQUESTS[op.operationId] as { params?: z.ZodType; query?: z.ZodType; body?: z.ZodType };
      const body = documented.requestBody?.content['application/json'].schema.$ref;
      assert.equal(body, request.body ? `#/components/schemas/${ADMIN_COMPONENTS.get(request.body)?.id}` : undefined, op.operationId);
      for (const [where, schema] of [['query', request.query], ['path', request.params]] as const) {
        const json = schema ? (z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, { description?: string; pattern?: string }> }) : { properties: {} };
        const names = (documented.parameters ?? []).filter((p) => p.in === where).map((p) => p.name);
        assert.deepEqual(names.sort(), Object.keys(json.properties).sort(), `${op.operationId} ${where}`);
      }
    }
  });

  it('every admin route is registered for its documented operation, and only those', async () => {
    const app = Fastify();
    const routes: { method: string; url: string; operationId: unknown }[] = [];
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) if (method !== 'HEAD') routes.push({ method: method.toLowerCase(), url: route.url, operationId: (route.config as { operationId?: unknown } | undefined)?.operationId });
    });
    // Registration only: no request reaches these stand-ins.
    await app.register(adminRoutes, { prefix: ADMIN_API_PREFIX, store: { db: {} } as never, sessions: {} as never, credentials: {} as never, secureCookies: false, cursors: {} as never });
    await app.ready();
    try {
      const registered = routes.map((r) => `${r.method} ${r.url.replace(/:id\b/g, '{id}')} ${String(r.operationId)}`).sort();
      const documented = ADMIN_OPERATIONS.filter((o) => !SERVED_ELSEWHERE.has(o.operationId))
        .map((o) => `${o.method} ${ADMIN_API_PREFIX}${o.path} ${o.operationId}`)
        .sort();
      assert.deepEqual(registered, documented);
    } finally {
      await app.close();
    }
  });

  it('a handler that parses as another operation fails (500) instead of using an undocumented schema', async () => {
    const app = Fastify();
    app.get('/x', operation('getSession'), async (request) => parseRequest(request, 'listCredentials').query);
    app.get('/y', operation('listCredentials'), async (request) => parseRequest(request, 'listCredentials').query);
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/x' })).statusCode, 500);
      const ok = await app.inject({ method: 'GET', url: '/y?limit=7' });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(JSON.parse(ok.body), { limit: 7 });
    } finally {
      await app.close();
    }
  });
});

describe('from the outside: each route refuses what its documented schema refuses', () => {
  let t: TestRegion;
  let admin: PortalClient;
  let id: string;
  before(async () => {
    t = await startRegion();
    const tenant = await portalTenant(t.region);
    admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    for (const name of ['Schema one', 'Schema two']) {
      const created = await admin.post('/admin/api/credentials', { name, scopes: ['stats'] });
      assert.equal(created.status, 201, created.text);
      id = created.body.id as string;
    }
  });
  after(async () => {
    await t?.close();
  });

  const pathOf = (path: string, value: string) => `${ADMIN_API_PREFIX}${path.replace('{id}', encodeURIComponent(value))}`;

  it('an unknown query parameter or body field: 400 invalid_request naming it', async () => {
    for (const op of ADMIN_OPERATIONS) {
      const request = REQUESTS[op.operationId] as { params?: unknown; query?: unknown; body?: unknown };
      const method = op.method.toUpperCase();
      if (request.query) {
        const res = await admin.request(method, `${pathOf(op.path, id)}?zz_unknown=1`);
        assert.equal(res.status, 400, `${op.operationId}: ${res.text}`);
        assert.equal(res.body.error, 'invalid_request');
        assert.equal(res.body.message, 'Unknown query parameter: zz_unknown', op.operationId);
      }
      if (request.body && op.operationId !== 'signIn') {
        // Required fields valid, so that the unknown one is the only fault.
        const valid = op.operationId === 'createCredential' ? { name: 'Refused', scopes: ['stats'] } : {};
        const res = await admin.request(method, pathOf(op.path, id), { body: { ...valid, zz_unknown: 1 } });
        assert.equal(res.status, 400, `${op.operationId}: ${res.text}`);
        assert.equal(res.body.error, 'invalid_request');
        assert.match(res.body.message as string, /^Unknown field in the request body: zz_unknown$/, op.operationId);
      }
      // (A path id past IdParams' 100 characters never reaches a handler: the router's own
      // maxParamLength answers 404 first; REQUESTS' identity with the document is checked above.)
    }
    const signIn = await admin.request('POST', `${ADMIN_API_PREFIX}/session`, { body: { email: 'a@b.test', password: 'x', zz_unknown: 1 } });
    assert.equal(signIn.status, 400);
    assert.equal(signIn.body.message, 'Unknown field in the sign-in body: zz_unknown');
  });

  it('keeps the domain wording where SPEC has its own (a bad graceSeconds, scopes of the wrong type)', async () => {
    const grace = await admin.post(`/admin/api/credentials/${id}/secret`, { graceSeconds: '60' });
    assert.equal(grace.status, 400);
    assert.deepEqual(grace.body, { error: 'invalid_request', message: 'graceSeconds must be a whole number from 0 to 86400' });
    const tooLong = await admin.post(`/admin/api/credentials/${id}/secret`, { graceSeconds: 86401 });
    assert.deepEqual(tooLong.body, { error: 'invalid_request', message: 'graceSeconds must be a whole number from 0 to 86400' });
    const edit = await admin.patch(`/admin/api/credentials/${id}`, { scopes: 5 });
    assert.equal(edit.status, 400);
    assert.equal(edit.body.error, 'invalid_scope');
    const asString = await admin.patch(`/admin/api/credentials/${id}`, { scopes: 'stats users:read' });
    assert.equal(asString.status, 200, asString.text);
    assert.deepEqual(asString.body.scopes, ['users:read', 'stats']);
  });

  it('the events list pages with the shared cursor codec: a credential-list cursor is another list', async () => {
    const page = await admin.get('/admin/api/credentials?limit=1');
    assert.equal(page.status, 200, page.text);
    const cursor = page.body.nextCursor as string;
    assert.match(cursor, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const res = await admin.get(`/admin/api/events?limit=1&cursor=${encodeURIComponent(cursor)}`);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error, 'invalid_request');
    assert.match(res.body.message as string, /^cursor: it belongs to another list/);
  });
});
