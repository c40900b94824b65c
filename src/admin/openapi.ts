import { z } from 'zod';
import { LICENSES } from '../domain/licenses.js';
import { ALL_SCOPES, SCOPE_CATALOGUE } from '../domain/scopes.js';
import { auditListQuery, credentialListQuery } from './list-query.js';

/**
 * The Admin Portal API's shapes (SPEC "Admin Portal and its API" and "Console additions"), one zod
 * schema per shape: route handlers parse requests with them, take their TypeScript types from
 * them (`z.infer`), and `adminOpenApiDocument()` writes them into the OpenAPI 3.1 document served
 * at GET /admin/api/openapi.json. There is no second, hand-kept copy of a shape.
 *
 * Request bodies keep the domain's own checks (name trimming and length, scopes the license may
 * grant): their schemas fix the JSON types and the fields allowed, and describe the rest, so that
 * the messages and codes of SPEC (e.g. `invalid_scope` naming the scope) stay the domain's.
 */

/** Every schema that becomes a named component of the document. */
const components = z.registry<{ id: string; description?: string }>();
function named<T extends z.ZodType>(schema: T, id: string, description: string): T {
  components.add(schema as z.ZodType, { id, description });
  return schema;
}

const isoTime = (description: string) => z.iso.datetime({ offset: true }).meta({ description });

// ---- shared -------------------------------------------------------------------------------

export const ErrorBody = named(
  z.object({
    error: z.string().meta({ description: 'Stable error code, e.g. invalid_request, unauthorized, forbidden, csrf_failed, not_found', examples: ['invalid_request'] }),
    message: z.string().meta({ description: 'What went wrong, for people; a 400 names the parameter or field', examples: ['Unknown query parameter: colour'] }),
  }),
  'Error',
  'Every error of the admin API: a stable code and a message for people',
);
export type ErrorBody = z.infer<typeof ErrorBody>;

export const ScopeValue = z.string().meta({ description: `A scope of the catalogue: ${ALL_SCOPES.join(', ')}`, examples: ['users:read'] });

export const IdParams = z.object({ id: z.string().min(1).max(100).meta({ description: 'The credential id' }) }).strict();
export type IdParams = z.infer<typeof IdParams>;

/** `limit` and `cursor` of every paged list (credentials, events, audit). */
const paging = {
  limit: z.coerce.number().int().min(1).max(200).optional().meta({ description: 'Items per page, 1..200 (default 50)' }),
  cursor: z.string().min(1).max(2000).optional().meta({ description: 'Opaque: the nextCursor of the previous page, with the same query (else 400)' }),
};
const nextCursor = z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page' });
const timeParam = (description: string) => z.string().max(64).optional().meta({ description: `${description}: an ISO 8601 time or epoch milliseconds` });
const csvFormat = z.enum(['json', 'csv']).optional().meta({ description: 'csv: answer text/csv with a header row (also for Accept: text/csv); the next page is in the X-Next-Cursor header' });

// ---- session ------------------------------------------------------------------------------

export const SignInBody = named(
  z.object({ email: z.string().max(320).meta({ examples: ['admin@demo.test'] }), password: z.string().max(1000).meta({ format: 'password' }) }).strict(),
  'SignIn',
  'Email and password of a user of the region (sign-in is by email alone)',
);
export type SignInBody = z.infer<typeof SignInBody>;

export const SessionView = named(
  z.object({
    user: z.object({ id: z.string(), email: z.string(), name: z.string(), license: z.enum(LICENSES), accountId: z.string() }),
    account: z.object({ id: z.string(), name: z.string(), apiCredentialsEnabled: z.boolean() }),
    access: z.enum(['ok', 'forbidden', 'api_credentials_disabled']).meta({ description: 'Whether the API Credentials area is open to this user (SPEC rule 1)' }),
    csrfToken: z.string().meta({ description: 'Send it as X-CSRF-Token with every state-changing request' }),
    expiresAt: isoTime('When the session ends unless used'),
  }),
  'Session',
  'The signed-in user, their account and the CSRF token of the session',
);
export type SessionView = z.infer<typeof SessionView>;

export const ScopeList = named(
  z.object({
    items: z.array(
      z.object({
        value: ScopeValue,
        description: z.string().meta({ examples: [SCOPE_CATALOGUE[0]?.description ?? ''] }),
        apis: z.array(z.string()),
      }),
    ),
  }),
  'ScopeList',
  "The scopes the caller's license may grant, as the portal shows them",
);
export type ScopeList = z.infer<typeof ScopeList>;

// ---- credentials --------------------------------------------------------------------------

export const CREDENTIAL_SORTS = ['name', '-name', 'created', '-created', 'last_used', '-last_used'] as const;

/** The list's query: the schema the route parses with (src/admin/list-query.ts), documented from it. */
export const ListCredentialsQuery = credentialListQuery;
export type ListCredentialsQuery = z.infer<typeof ListCredentialsQuery>;

export const CredentialView = named(
  z.object({
    id: z.string(),
    name: z.string().meta({ examples: ['CRM sync'] }),
    clientId: z.string(),
    scopes: z.array(ScopeValue),
    level: z.enum(['user', 'account']),
    deprecated: z.boolean().meta({ description: 'Account-level credentials are deprecated (SPEC rule 5)' }),
    owner: z.object({ id: z.string(), email: z.string(), name: z.string() }).nullable().meta({ description: 'The owner of a user-level credential; null for account-level ones' }),
    createdAt: isoTime('Created'),
    updatedAt: isoTime('Last changed'),
    lastUsedAt: isoTime('Last token issued').nullable(),
    secretRotatedAt: isoTime('Last secret rotation').nullable(),
    previousSecretExpiresAt: isoTime('End of a running grace period of the previous secret').nullable(),
    canEdit: z.boolean(),
    canDelete: z.boolean(),
    canRotate: z.boolean(),
  }),
  'Credential',
  'An API credential as the portal shows it: never its secret',
);
export type CredentialView = z.infer<typeof CredentialView>;

export const CredentialList = named(z.object({ items: z.array(CredentialView), nextCursor }), 'CredentialList', 'A page of credentials');
export type CredentialList = z.infer<typeof CredentialList>;

const clientSecret = z.string().meta({ description: 'The client secret: returned in this response only, never again', format: 'password' });

export const CreateCredentialBody = named(
  z
    .object({
      name: z.string().meta({ description: '1..100 characters after trimming', examples: ['CRM sync'] }),
      scopes: z.array(ScopeValue).meta({ description: "One or more scopes the caller's license may grant (else 400 naming the scope)", examples: [['users:read', 'stats']] }),
      level: z.enum(['user', 'account']).optional().meta({ description: 'Only user: account-level credentials are deprecated (account: 400 account_level_deprecated)' }),
    })
    .strict(),
  'CreateCredential',
  'A new user-level credential of the caller',
);
export type CreateCredentialBody = z.infer<typeof CreateCredentialBody>;

export const CreatedCredential = named(CredentialView.extend({ clientSecret }), 'CreatedCredential', 'The new credential with its secret, shown once');
export type CreatedCredential = z.infer<typeof CreatedCredential>;

export const UpdateCredentialBody = named(
  z
    .object({
      name: z.string().optional().meta({ description: '1..100 characters after trimming' }),
      scopes: z.array(ScopeValue).optional().meta({ description: 'The new scope list (replaces the old one); removed scopes stop working at once, also for issued tokens' }),
    })
    .strict(),
  'UpdateCredential',
  'Name and scopes; either or both',
);
export type UpdateCredentialBody = z.infer<typeof UpdateCredentialBody>;

export const MAX_GRACE_SECONDS = 86400;

export const RotateSecretBody = named(
  z
    .object({
      graceSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).optional().meta({ description: 'How long the old secret keeps working (default 0: it and its tokens stop at once)' }),
    })
    .strict(),
  'RotateSecret',
  'A secret rotation',
);
export type RotateSecretBody = z.infer<typeof RotateSecretBody>;

export const RotatedCredential = named(
  CredentialView.extend({ clientSecret, previousSecretValidUntil: isoTime('With a grace period: until when the old secret works').optional() }),
  'RotatedCredential',
  'The credential with its new secret, shown once',
);
export type RotatedCredential = z.infer<typeof RotatedCredential>;

export const Evaluation = named(
  z.object({
    claims: z.record(z.string(), z.unknown()).meta({ description: 'The claims a token of this credential would carry now (no jti, iat, nbf, exp)' }),
    expiresIn: z.number().int().meta({ description: 'The lifetime of such a token, in seconds' }),
    warnings: z.array(z.string()).meta({ description: 'Why a token request would fail now, or which scopes the owner may no longer grant; empty when none' }),
  }),
  'Evaluation',
  'What a token of this credential would carry now, with every scope the owner may still grant; unsigned',
);
export type Evaluation = z.infer<typeof Evaluation>;

// ---- usage and events ---------------------------------------------------------------------

export const UsageQuery = z
  .object({
    bucket: z.enum(['hour', 'day']).optional().meta({ description: 'Bucket size (default hour)' }),
    from: timeParam('Start (default: 24 hours ago)'),
    to: timeParam('End (default: now)'),
  })
  .strict();
export type UsageQuery = z.infer<typeof UsageQuery>;

const rejected = z.object({ '401': z.number().int().min(0), '403': z.number().int().min(0), '429': z.number().int().min(0) });

const usageItem = z.object({
  at: isoTime('Start of the bucket (a whole UTC hour or day)'),
  tokensIssued: z.number().int().min(0),
  authFailures: z.number().int().min(0).meta({ description: 'Failed client authentications' }),
  authFailuresByReason: z.record(z.string(), z.number().int().min(0)).optional().meta({ description: 'The failures by reason (wrong secret, disabled, scope, ...)' }),
  apiCalls: z.number().int().min(0).meta({ description: 'Gateway requests with a token of this credential' }),
  apiRejected: rejected,
});

export const Usage = named(
  z.object({
    bucket: z.enum(['hour', 'day']),
    from: isoTime('Start of the first bucket').optional(),
    to: isoTime('End of the range').optional(),
    credentialId: z.string().optional(),
    items: z.array(usageItem),
    apis: z.array(z.object({ api: z.string(), apiCalls: z.number().int().min(0), apiRejected: rejected })).optional().meta({ description: "The range's totals per API, most calls first" }),
  }),
  'Usage',
  'Counts in buckets, ascending and zero-filled, added up across all instances',
);
export type Usage = z.infer<typeof Usage>;

export const AccountUsage = named(
  Usage.extend({
    apiRateLimitPerMinute: z.number().int().min(1).optional().meta({ description: "The account's API limit per minute" }),
    top: z.array(z.object({ credentialId: z.string(), name: z.string(), apiCalls: z.number().int().min(0), tokensIssued: z.number().int().min(0) })),
  }),
  'AccountUsage',
  "The account's totals and its most used credentials",
);
export type AccountUsage = z.infer<typeof AccountUsage>;

export const EVENT_TYPES = ['token.issued', 'client_auth.failed', 'api.rate_limited', 'token.revoked'] as const;

export const EventsQuery = z
  .object({
    credential: z.string().min(1).max(100).optional().meta({ description: 'Only the events of this credential' }),
    type: z.enum(EVENT_TYPES).optional(),
    from: timeParam('From'),
    to: timeParam('To'),
    format: csvFormat,
    ...paging,
  })
  .strict();
export type EventsQuery = z.infer<typeof EventsQuery>;

export const EventList = named(
  z.object({
    items: z.array(
      z.object({
        id: z.string(),
        at: isoTime('When'),
        type: z.enum(EVENT_TYPES),
        credentialId: z.string().nullable().meta({ description: 'null for a client ID that names no credential' }),
        clientId: z.string(),
        reason: z.string().optional().meta({ description: 'client_auth.failed: wrong secret, disabled, scope, ...' }),
        ip: z.string().optional().meta({ description: 'The source address of a failed client authentication' }),
        count: z.number().int().min(1).optional().meta({ description: 'token.issued: the tokens of this credential in this minute' }),
      }),
    ),
    nextCursor,
  }),
  'EventList',
  'A page of credential events, newest first',
);
export type EventList = z.infer<typeof EventList>;

// ---- audit --------------------------------------------------------------------------------

/** The audit log's query: the schema the route parses with (src/admin/list-query.ts). */
export const AuditQuery = auditListQuery;
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditList = named(
  z.object({
    items: z.array(
      z.object({
        id: z.string(),
        at: isoTime('When'),
        actor: z.object({ id: z.string().nullable(), email: z.string().nullable() }),
        action: z.string().meta({ examples: ['credential.created'] }),
        target: z.object({ type: z.string(), id: z.string().nullable(), name: z.string().nullable() }),
        changes: z.record(z.string(), z.unknown()).meta({ description: 'What changed (never a secret or a password)' }),
      }),
    ),
    nextCursor,
    nextBefore: isoTime('Earlier paging: pass as before for the next page').optional(),
  }),
  'AuditList',
  'A page of the audit log, newest first',
);
export type AuditList = z.infer<typeof AuditList>;

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

interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Below /admin/api, with {id} for the path parameter. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  access: Access;
  query?: z.ZodObject;
  body?: z.ZodType;
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
    summary: 'Sign in',
    description: 'Sets the HttpOnly, SameSite=Strict session cookie. Any active user may sign in; the API Credentials area then answers 403 to an agent license and where the account has the switch off. Repeated failures are limited (429 with Retry-After) and audited as user.sign_in_failed.',
    tag: 'Session',
    access: 'public',
    body: SignInBody,
    ok: { status: 200, description: 'Signed in', schema: SessionView },
    errors: { 400: 'Malformed body', 429: 'Too many failed sign-ins; Retry-After says when to try again' },
  },
  { method: 'delete', path: '/session', operationId: 'signOut', summary: 'Sign out', tag: 'Session', access: 'session', ok: { status: 204, description: 'Signed out' } },
  { method: 'get', path: '/me', operationId: 'getSession', summary: 'The signed-in user and the CSRF token', tag: 'Session', access: 'session', ok: { status: 200, description: 'The session', schema: SessionView } },
  { method: 'get', path: '/scopes', operationId: 'listGrantableScopes', summary: 'The scopes the caller may grant', tag: 'API credentials', access: 'area', ok: { status: 200, description: 'The scopes', schema: ScopeList } },
  {
    method: 'get',
    path: '/credentials',
    operationId: 'listCredentials',
    summary: 'List credentials: search, filter, sort, page',
    description: 'An admin sees every credential of the account (owner=all, the default); a supervisor only their own. The cursor is bound to its query: changed, or used with another query, it is 400.',
    tag: 'API credentials',
    access: 'area',
    query: ListCredentialsQuery,
    ok: { status: 200, description: 'A page of credentials', schema: CredentialList },
    errors: { 400: 'An unknown parameter, a bad value or a tampered cursor (the message names it)' },
  },
  {
    method: 'post',
    path: '/credentials',
    operationId: 'createCredential',
    summary: 'Create a user-level credential',
    tag: 'API credentials',
    access: 'area',
    body: CreateCredentialBody,
    ok: { status: 201, description: 'Created; the secret is in this response only', schema: CreatedCredential },
    errors: { 400: 'Invalid name, a scope the license may not grant (named), or level account (account_level_deprecated)' },
  },
  { method: 'get', path: '/credentials/{id}', operationId: 'getCredential', summary: 'Read a credential', tag: 'API credentials', access: 'area', ok: { status: 200, ...credential }, errors: { 404: 'No such credential, or not the caller\'s to see' } },
  {
    method: 'patch',
    path: '/credentials/{id}',
    operationId: 'updateCredential',
    summary: 'Edit the name or the scopes',
    tag: 'API credentials',
    access: 'area',
    body: UpdateCredentialBody,
    ok: { status: 200, ...credential },
    errors: { 400: 'Invalid name or scope', 404: 'No such credential' },
  },
  { method: 'delete', path: '/credentials/{id}', operationId: 'deleteCredential', summary: 'Delete a credential; its tokens stop working within a second', tag: 'API credentials', access: 'area', ok: { status: 204, description: 'Deleted' }, errors: { 404: 'No such credential' } },
  {
    method: 'post',
    path: '/credentials/{id}/secret',
    operationId: 'rotateCredentialSecret',
    summary: 'Rotate the secret',
    description: 'Only the owner (an admin for account-level credentials). Without a grace period the old secret and every token it got stop working at once.',
    tag: 'API credentials',
    access: 'area',
    body: RotateSecretBody,
    ok: { status: 200, description: 'The new secret, in this response only', schema: RotatedCredential },
    errors: { 400: 'graceSeconds out of range', 404: 'No such credential' },
  },
  {
    method: 'post',
    path: '/credentials/{id}/secret/end-grace',
    operationId: 'endCredentialGrace',
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
    summary: "A credential's usage by hour or day",
    tag: 'Usage and events',
    access: 'area',
    query: UsageQuery,
    ok: { status: 200, description: 'The counts', schema: Usage },
    errors: { 400: 'A bad bucket or time (named)', 404: 'No such credential' },
  },
  {
    method: 'get',
    path: '/usage',
    operationId: 'getAccountUsage',
    summary: "The account's usage and its top credentials (admins)",
    tag: 'Usage and events',
    access: 'admin',
    query: UsageQuery,
    ok: { status: 200, description: 'The counts', schema: AccountUsage },
    errors: { 400: 'A bad bucket or time (named)' },
  },
  {
    method: 'get',
    path: '/events',
    operationId: 'listEvents',
    summary: 'Credential events: tokens issued, failed client authentications, rate limits, revocations',
    description: "Admins see the account's; a supervisor the events of their own credentials.",
    tag: 'Usage and events',
    access: 'area',
    query: EventsQuery,
    ok: { status: 200, description: 'A page of events', schema: EventList, csv: true },
    errors: { 400: 'An unknown parameter, a bad value or a tampered cursor (named)' },
  },
  {
    method: 'get',
    path: '/audit',
    operationId: 'listAuditEvents',
    summary: 'The audit log (admins)',
    tag: 'Audit log',
    access: 'admin',
    query: AuditQuery,
    ok: { status: 200, description: 'A page of the audit log', schema: AuditList, csv: true },
    errors: { 400: 'An unknown parameter, a bad value or a tampered cursor (named)' },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getAdminOpenApi',
    summary: 'This document (OpenAPI 3.1)',
    tag: 'Reference',
    access: 'public',
    ok: { status: 200, description: 'The OpenAPI document', schema: z.record(z.string(), z.unknown()) },
  },
];

export const ADMIN_API_PREFIX = '/admin/api';

const ref = (schema: z.ZodType) => {
  const id = components.get(schema)?.id;
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
  if (operation.path.includes('{id}')) {
    parameters.push({ name: 'id', in: 'path', required: true, description: 'The credential id', schema: { type: 'string', minLength: 1, maxLength: 100 } });
  }
  if (operation.query) {
    const json = z.toJSONSchema(operation.query, { io: 'input', target: 'draft-2020-12', override: override as never }) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
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
  if (ok.schema) content['application/json'] = { schema: components.get(ok.schema) ? ref(ok.schema) : clean(z.toJSONSchema(ok.schema, { target: 'draft-2020-12' }) as Record<string, unknown>) };
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
  const schemas = z.toJSONSchema(components, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}`, override: override as never }).schemas;
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
      ...(operation.body ? { requestBody: { required: operation.method !== 'post' || operation.path !== '/credentials/{id}/secret', content: { 'application/json': { schema: ref(operation.body) } } } } : {}),
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
