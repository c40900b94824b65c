import { z } from 'zod';
import {
  ADMIN_COMPONENTS,
  AccountUsage,
  AuditList,
  CreatedCredential,
  CredentialList,
  CredentialView,
  ErrorBody,
  EventList,
  Evaluation,
  REQUESTS,
  type OperationId,
  type RequestSchemas,
  RotatedCredential,
  ScopeList,
  SessionView,
  Usage,
} from './schemas.js';

/**
 * The admin API's OpenAPI 3.1 document, assembled from the shapes of src/admin/schemas.ts: the
 * operations' parameters and request bodies are REQUESTS (what the routes parse with), their
 * answers the view schemas (what the handlers' types come from). No shape is defined here.
 */

// ---- the document -------------------------------------------------------------------------

type Tag = 'Session' | 'API credentials' | 'Usage and events' | 'Audit log' | 'Reference';

const TAGS: { name: Tag; description: string }[] = [
  { name: 'Session', description: 'Sign in and out; the signed-in user and the CSRF token' },
  { name: 'API credentials', description: 'Create, read, edit, rotate and delete API credentials (SPEC rules 1-9)' },
  { name: 'Usage and events', description: "Per-credential and per-account usage counts, and the credentials' events" },
  { name: 'Audit log', description: 'Who changed what, and sign-ins (admins)' },
  { name: 'Reference', description: 'This document' },
];

type Access = 'public' | 'session' | 'area' | 'admin';

export interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Below /admin/api, with {id} for the path parameter. */
  path: string;
  operationId: OperationId;
  summary: string;
  description?: string;
  tag: Tag;
  access: Access;
  /** What the route parses: REQUESTS[operationId], the same objects. */
  request: RequestSchemas;
  /** The body may be left out (rotation: graceSeconds defaults to 0; end-grace: no fields). */
  bodyOptional?: boolean;
  /** The success status and its body (undefined: no body). */
  ok: { status: 200 | 201 | 204; description: string; schema?: z.ZodType; csv?: boolean };
  /** Error statuses beyond what the access level brings. */
  errors?: Partial<Record<400 | 404 | 409 | 429, string>>;
}

const credential = { description: 'The credential', schema: CredentialView };

/** Every route of the admin API (SPEC 3, "Admin Portal and its API" and "Console additions"). */
export const ADMIN_OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '/session',
    operationId: 'signIn',
    request: REQUESTS.signIn,
    summary: 'Sign in',
    description: 'Sets the HttpOnly, SameSite=Strict session cookie. Any active user may sign in; the API Credentials area then answers 403 to an agent license and where the account has the switch off. Repeated failures are limited (429 with Retry-After) and audited as user.sign_in_failed.',
    tag: 'Session',
    access: 'public',
    ok: { status: 200, description: 'Signed in', schema: SessionView },
    errors: { 400: 'Malformed body', 429: 'Too many failed sign-ins; Retry-After says when to try again' },
  },
  { method: 'delete', path: '/session', operationId: 'signOut', request: REQUESTS.signOut, summary: 'Sign out', tag: 'Session', access: 'session', ok: { status: 204, description: 'Signed out' } },
  { method: 'get', path: '/me', operationId: 'getSession', request: REQUESTS.getSession, summary: 'The signed-in user and the CSRF token', tag: 'Session', access: 'session', ok: { status: 200, description: 'The session', schema: SessionView } },
  { method: 'get', path: '/scopes', operationId: 'listGrantableScopes', request: REQUESTS.listGrantableScopes, summary: 'The scopes the caller may grant', tag: 'API credentials', access: 'area', ok: { status: 200, description: 'The scopes', schema: ScopeList } },
  {
    method: 'get',
    path: '/credentials',
    operationId: 'listCredentials',
    request: REQUESTS.listCredentials,
    summary: 'List credentials: search, filter, sort, page',
    description: 'An admin sees every credential of the account (owner=all, the default); a supervisor only their own. The cursor is bound to its query: changed, or used with another query, it is 400.',
    tag: 'API credentials',
    access: 'area',
    ok: { status: 200, description: 'A page of credentials', schema: CredentialList },
    errors: { 400: 'An unknown parameter, a bad value or a tampered cursor (the message names it)' },
  },
  {
    method: 'post',
    path: '/credentials',
    operationId: 'createCredential',
    request: REQUESTS.createCredential,
    summary: 'Create a user-level credential',
    tag: 'API credentials',
    access: 'area',
    ok: { status: 201, description: 'Created; the secret is in this response only', schema: CreatedCredential },
    errors: { 400: 'Invalid name, a scope the license may not grant (named), or level account (account_level_deprecated)' },
  },
  { method: 'get', path: '/credentials/{id}', operationId: 'getCredential', request: REQUESTS.getCredential, summary: 'Read a credential', tag: 'API credentials', access: 'area', ok: { status: 200, ...credential }, errors: { 404: 'No such credential, or not the caller\'s to see' } },
  {
    method: 'patch',
    path: '/credentials/{id}',
    operationId: 'updateCredential',
    request: REQUESTS.updateCredential,
    summary: 'Edit the name or the scopes',
    tag: 'API credentials',
    access: 'area',
    ok: { status: 200, ...credential },
    errors: { 400: 'Invalid name or scope', 404: 'No such credential' },
  },
  { method: 'delete', path: '/credentials/{id}', operationId: 'deleteCredential', request: REQUESTS.deleteCredential, summary: 'Delete a credential; its tokens stop working within a second', tag: 'API credentials', access: 'area', ok: { status: 204, description: 'Deleted' }, errors: { 404: 'No such credential' } },
  {
    method: 'post',
    path: '/credentials/{id}/secret',
    operationId: 'rotateCredentialSecret',
    request: REQUESTS.rotateCredentialSecret,
    bodyOptional: true,
    summary: 'Rotate the secret',
    description: 'Only the owner (an admin for account-level credentials). Without a grace period the old secret and every token it got stop working at once.',
    tag: 'API credentials',
    access: 'area',
    ok: { status: 200, description: 'The new secret, in this response only', schema: RotatedCredential },
    errors: { 400: 'graceSeconds out of range', 404: 'No such credential' },
  },
  {
    method: 'post',
    path: '/credentials/{id}/secret/end-grace',
    operationId: 'endCredentialGrace',
    request: REQUESTS.endCredentialGrace,
    bodyOptional: true,
    summary: 'End a running grace period now',
    description: 'Tokens issued with the old secret become invalid, as after a rotation without grace. Audited as credential.grace_ended.',
    tag: 'API credentials',
    access: 'area',
    ok: { status: 200, ...credential },
    errors: { 404: 'No such credential', 409: 'No grace period runs (no_grace_period)' },
  },
  {
    method: 'get',
    path: '/credentials/{id}/evaluate',
    operationId: 'evaluateCredential',
    request: REQUESTS.evaluateCredential,
    summary: 'The claims a token of this credential would carry now',
    tag: 'API credentials',
    access: 'area',
    ok: { status: 200, description: 'The evaluation', schema: Evaluation },
    errors: { 404: 'No such credential' },
  },
  {
    method: 'get',
    path: '/credentials/{id}/usage',
    operationId: 'getCredentialUsage',
    request: REQUESTS.getCredentialUsage,
    summary: "A credential's usage by hour or day",
    tag: 'Usage and events',
    access: 'area',
    ok: { status: 200, description: 'The counts', schema: Usage },
    errors: { 400: 'A bad bucket or time (named)', 404: 'No such credential' },
  },
  {
    method: 'get',
    path: '/usage',
    operationId: 'getAccountUsage',
    request: REQUESTS.getAccountUsage,
    summary: "The account's usage and its top credentials (admins)",
    tag: 'Usage and events',
    access: 'admin',
    ok: { status: 200, description: 'The counts', schema: AccountUsage },
    errors: { 400: 'A bad bucket or time (named)' },
  },
  {
    method: 'get',
    path: '/events',
    operationId: 'listEvents',
    request: REQUESTS.listEvents,
    summary: 'Credential events: tokens issued, failed client authentications, rate limits, revocations',
    description: "Admins see the account's; a supervisor the events of their own credentials.",
    tag: 'Usage and events',
    access: 'area',
    ok: { status: 200, description: 'A page of events', schema: EventList, csv: true },
    errors: { 400: 'An unknown parameter, a bad value or a tampered cursor (named)' },
  },
  {
    method: 'get',
    path: '/audit',
    operationId: 'listAuditEvents',
    request: REQUESTS.listAuditEvents,
    summary: 'The audit log (admins)',
    tag: 'Audit log',
    access: 'admin',
    ok: { status: 200, description: 'A page of the audit log', schema: AuditList, csv: true },
    errors: { 400: 'An unknown parameter, a bad value or a tampered cursor (named)' },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getAdminOpenApi',
    request: REQUESTS.getAdminOpenApi,
    summary: 'This document (OpenAPI 3.1)',
    tag: 'Reference',
    access: 'public',
    ok: { status: 200, description: 'The OpenAPI document', schema: z.record(z.string(), z.unknown()) },
  },
];

export const ADMIN_API_PREFIX = '/admin/api';

const ref = (schema: z.ZodType) => {
  const id = ADMIN_COMPONENTS.get(schema)?.id;
  if (!id) throw new Error('admin OpenAPI: a request or response schema is not a named component');
  return { $ref: `#/components/schemas/${id}` };
};

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) without the markers a component does not need. */
function clean(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/** date-time strings: the format says it; zod's long pattern would only add noise to the document. */
const override = (ctx: { jsonSchema: Record<string, unknown> }) => {
  if (ctx.jsonSchema.format === 'date-time') delete ctx.jsonSchema.pattern;
};

function parametersOf(operation: Operation): object[] {
  const parameters: object[] = [];
  const { params, query } = operation.request;
  if (params) {
    const json = z.toJSONSchema(params, { io: 'input', target: 'draft-2020-12' }) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, schema] of Object.entries(json.properties ?? {})) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: 'path', required: true, ...(typeof description === 'string' ? { description } : {}), schema: rest });
    }
  }
  if (query) {
    const json = z.toJSONSchema(query, { io: 'input', target: 'draft-2020-12', override: override as never }) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, schema] of Object.entries(json.properties ?? {})) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: 'query', required: json.required?.includes(name) ?? false, ...(typeof description === 'string' ? { description } : {}), schema: rest });
    }
  }
  return parameters;
}

const errorResponse = (description: string, code: string, extraHeaders: Record<string, object> = {}) => ({
  description,
  headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' }, ...extraHeaders },
  content: { 'application/json': { schema: ref(ErrorBody), example: { error: code, message: description } } },
});

function responsesOf(operation: Operation): Record<string, object> {
  const ok = operation.ok;
  const content: Record<string, object> = {};
  if (ok.schema) content['application/json'] = { schema: ADMIN_COMPONENTS.get(ok.schema) ? ref(ok.schema) : clean(z.toJSONSchema(ok.schema, { target: 'draft-2020-12' }) as Record<string, unknown>) };
  if (ok.csv) content['text/csv'] = { schema: { type: 'string', description: 'The same items as CSV with a header row (Accept: text/csv or format=csv)' } };
  const headers: Record<string, object> = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
  if (ok.csv) headers['X-Next-Cursor'] = { description: 'CSV answers: the cursor of the next page, when there is one', schema: { type: 'string' } };
  const responses: Record<string, object> = {
    [ok.status]: { description: ok.description, headers, ...(Object.keys(content).length ? { content } : {}) },
  };
  const errors = operation.errors ?? {};
  if (errors[400]) responses[400] = errorResponse(errors[400], 'invalid_request');
  if (operation.access !== 'public') responses[401] = errorResponse('Not signed in, or the session expired', 'unauthorized');
  if (operation.access !== 'public' || operation.method !== 'get') {
    const why = [
      ...(operation.method !== 'get' && operation.access !== 'public' ? ['the X-CSRF-Token header is missing or wrong (csrf_failed)'] : []),
      ...(operation.access === 'area' || operation.access === 'admin' ? ['an agent license (forbidden)', 'the account has API credentials off (api_credentials_disabled)'] : []),
      ...(operation.access === 'admin' ? ['not an admin (forbidden)'] : []),
    ];
    if (why.length) responses[403] = errorResponse(`Refused: ${why.join('; ')}`, 'forbidden');
  }
  if (errors[404]) responses[404] = errorResponse(errors[404], 'not_found');
  if (errors[409]) responses[409] = errorResponse(errors[409], 'no_grace_period');
  if (errors[429]) responses[429] = errorResponse(errors[429], 'rate_limited', { 'Retry-After': { description: 'Seconds until the next attempt may succeed', schema: { type: 'integer' } } });
  if (!Object.keys(responses).some((s) => s.startsWith('4'))) responses[404] = errorResponse('No such route', 'not_found');
  return responses;
}

function securityOf(operation: Operation): Record<string, string[]>[] {
  if (operation.access === 'public') return [];
  return operation.method === 'get' ? [{ sessionCookie: [] }] : [{ sessionCookie: [], csrfToken: [] }];
}

/**
 * The admin API's OpenAPI 3.1 document, built from ADMIN_OPERATIONS and the schemas above.
 * Served at GET /admin/api/openapi.json and linted in `npm test` (scripts/openapi-lint.mjs).
 */
export function adminOpenApiDocument(o: { publicUrl: string; region: string }): Record<string, unknown> {
  const schemas = z.toJSONSchema(ADMIN_COMPONENTS, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}`, override: override as never }).schemas;
  const paths: Record<string, Record<string, object>> = {};
  for (const operation of ADMIN_OPERATIONS) {
    const parameters = parametersOf(operation);
    const security = securityOf(operation);
    const item = (paths[`${ADMIN_API_PREFIX}${operation.path}`] ??= {});
    item[operation.method] = {
      operationId: operation.operationId,
      summary: operation.summary,
      ...(operation.description ? { description: operation.description } : {}),
      tags: [operation.tag],
      security,
      ...(parameters.length ? { parameters } : {}),
      ...(operation.request.body ? { requestBody: { required: !operation.bodyOptional, content: { 'application/json': { schema: ref(operation.request.body) } } } } : {}),
      responses: responsesOf(operation),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: `Admin Portal API (region ${o.region})`,
      version: '1',
      summary: 'The API behind the Admin Portal: sessions, API credentials, usage, events and the audit log',
      description: [
        'Sign in with `POST /admin/api/session` (a session cookie, HttpOnly and SameSite=Strict) and send the `csrfToken` of the answer as `X-CSRF-Token` with every state-changing request.',
        'Only admin and supervisor licenses in an account with API credentials enabled use the API Credentials area; a supervisor sees and manages only their own credentials.',
        'Errors are `{"error","message"}`; every response carries `X-Request-Id` (yours when it is 1..128 characters of `[A-Za-z0-9._:-]`).',
        'Client secrets appear once, in the response that creates or rotates them, and never again.',
      ].join('\n\n'),
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: o.publicUrl, description: `Region ${o.region}` }],
    tags: TAGS,
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, clean(schema as Record<string, unknown>)])),
      headers: {
        RequestId: { description: "The request's id: the caller's X-Request-Id when sane, else a new one; log lines of errors carry it", schema: { type: 'string' } },
      },
      securitySchemes: {
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'ccauth_session', description: 'The session cookie set by POST /admin/api/session' },
        csrfToken: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token', description: 'The csrfToken of the session (POST /admin/api/session, GET /admin/api/me)' },
      },
    },
  };
}
