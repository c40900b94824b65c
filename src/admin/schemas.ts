import { z } from 'zod';
import { LICENSES } from '../domain/licenses.js';
import { ALL_SCOPES, SCOPE_CATALOGUE } from '../domain/scopes.js';
import { EVENT_TYPES } from '../usage/model.js';
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, auditListQuery, credentialListQuery } from './list-query.js';

/**
 * The Admin Portal API's shapes (SPEC "Admin Portal and its API" and "Console additions"), one zod
 * schema per shape, defined here and nowhere else:
 * - the route handlers (src/admin/routes.ts, src/admin/usage-routes.ts) parse every request with
 *   them, through REQUESTS: the params, query and body schema of each operation;
 * - the handlers' TypeScript types are theirs (`z.infer` / `z.output`), e.g. CredentialView;
 * - src/admin/openapi.ts only assembles the OpenAPI 3.1 document from them.
 *
 * Request bodies keep the domain's own checks (name trimming and length, scopes the license may
 * grant, the grace period's range): their schemas fix the JSON types and the fields allowed, and
 * describe the rest, so that the messages and codes of SPEC (e.g. `invalid_scope` naming the
 * scope) stay the domain's. Where a field's refusal has a SPEC code or message of its own, the
 * schema carries it in FIELD_ERRORS (used by the routes' parser).
 */

/** Every schema that becomes a named component of the document. */
export const ADMIN_COMPONENTS = z.registry<{ id: string; description?: string }>();
function named<T extends z.ZodType>(schema: T, id: string, description: string): T {
  ADMIN_COMPONENTS.add(schema as z.ZodType, { id, description });
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

/** `limit` and `cursor` of the events list (the credentials' and the audit log's are in list-query.ts). */
const paging = {
  limit: z.string().regex(/^\d{1,9}$/).transform(Number).pipe(z.number().min(1).max(LIST_LIMIT_MAX)).optional().meta({ description: `Items per page, 1..${LIST_LIMIT_MAX} (default ${LIST_LIMIT_DEFAULT})` }),
  cursor: z.string().min(1).max(4096).optional().meta({ description: 'Opaque: the nextCursor of the previous page, with the same query (else 400); the limit may change' }),
};
const nextCursor = z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page' });
const timeParam = (description: string) => z.string().max(64).optional().meta({ description: `${description}: an ISO 8601 time or epoch milliseconds` });
const csvFormat = z.enum(['json', 'csv']).optional().meta({ description: 'csv: answer text/csv with a header row (also for Accept: text/csv); the next page is in the X-Next-Cursor header' });

// ---- session ------------------------------------------------------------------------------

export const SignInBody = named(
  // An email with a control character is no email (and a NUL cannot reach PostgreSQL): 400, never a 500.
  // eslint-disable-next-line no-control-regex
  z.object({ email: z.string().max(320).regex(/^[^\u0000-\u001f\u007f]*$/).meta({ examples: ['admin@demo.test'] }), password: z.string().max(1000).meta({ format: 'password' }) }).strict(),
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

/** The list's query (defined with its parsing rules in src/admin/list-query.ts). */
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

/**
 * Scopes in a request body: an array of scope values, or one string with spaces or commas between
 * them (SPEC 4). Which scopes exist and may be granted is the domain's rule (400 invalid_scope).
 */
const scopeList = z.union([z.array(ScopeValue), z.string().meta({ description: 'Scopes separated by spaces or commas', examples: ['users:read stats'] })]);

const clientSecret = z.string().meta({ description: 'The client secret: returned in this response only, never again', format: 'password' });

export const CreateCredentialBody = named(
  z
    .object({
      name: z.string().meta({ description: '1..100 characters after trimming', examples: ['CRM sync'] }),
      scopes: scopeList.meta({ description: "One or more scopes the caller's license may grant (else 400 invalid_scope naming the scope)", examples: [['users:read', 'stats']] }),
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
      scopes: scopeList.optional().meta({ description: 'The new scope list (replaces the old one); removed scopes stop working at once, also for issued tokens' }),
    })
    .strict(),
  'UpdateCredential',
  'Name and scopes; either or both',
);
export type UpdateCredentialBody = z.infer<typeof UpdateCredentialBody>;

/** The longest grace period of a rotation (SPEC: graceSeconds 0..86400). */
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

export const EndGraceBody = named(z.object({}).strict(), 'EndGrace', 'No fields: the body may be left out or be an empty object');
export type EndGraceBody = z.infer<typeof EndGraceBody>;

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

const perMinuteItem = z.object({
  at: isoTime('Start of the minute (a whole UTC minute)'),
  apiCalls: z.number().int().min(0).meta({ description: "Gateway requests with the account's tokens in this minute" }),
});

export const AccountUsage = named(
  Usage.extend({
    apiRateLimitPerMinute: z.number().int().min(1).optional().meta({ description: "The account's API limit per minute" }),
    top: z.array(z.object({ credentialId: z.string(), name: z.string(), apiCalls: z.number().int().min(0), tokensIssued: z.number().int().min(0) })),
    perMinute: z
      .object({
        limit: z.number().int().min(1).meta({ description: "The account's API limit per minute (apiRateLimitPerMinute)" }),
        peak: perMinuteItem.nullable().meta({ description: 'The minute with the most API calls of the 60 (the earliest of equals); null when there were none' }),
        items: z.array(perMinuteItem).meta({ description: 'The last 60 whole UTC minutes, the current one last: ascending, zero-filled' }),
      })
      .meta({ description: "The account's API calls through the gateway per minute over the last 60 minutes, against its limit (added up across all instances; kept 48 hours)" }),
  }),
  'AccountUsage',
  "The account's totals and its most used credentials",
);
export type AccountUsage = z.infer<typeof AccountUsage>;

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

/** The audit log's query (defined with its parsing rules in src/admin/list-query.ts). */
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


// ---- what each operation parses -----------------------------------------------------------

/** The request schemas of one operation: its path parameters, query string and JSON body. */
export interface RequestSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

/**
 * Every operation's request schemas, by operationId: the routes parse with these (parseRequest in
 * routes.ts), and the OpenAPI document takes its parameters and request bodies from these.
 */
export const REQUESTS = {
  signIn: { body: SignInBody },
  signOut: {},
  getSession: {},
  listGrantableScopes: {},
  listCredentials: { query: ListCredentialsQuery },
  createCredential: { body: CreateCredentialBody },
  getCredential: { params: IdParams },
  updateCredential: { params: IdParams, body: UpdateCredentialBody },
  deleteCredential: { params: IdParams },
  rotateCredentialSecret: { params: IdParams, body: RotateSecretBody },
  endCredentialGrace: { params: IdParams, body: EndGraceBody },
  evaluateCredential: { params: IdParams },
  getCredentialUsage: { params: IdParams, query: UsageQuery },
  getAccountUsage: { query: UsageQuery },
  listEvents: { query: EventsQuery },
  listAuditEvents: { query: AuditQuery },
  getAdminOpenApi: {},
} as const satisfies Record<string, RequestSchemas>;
export type OperationId = keyof typeof REQUESTS;

/**
 * Refusals of a body field that SPEC gives a code or message of its own (the domain's wording):
 * a schema failure on that field answers this instead of the generic "Invalid request body field".
 */
export const FIELD_ERRORS = new Map<z.ZodType, Record<string, { message: string; code?: string }>>([
  // The domain's wording: creation (auth/credentials.ts parseScopeList) and editing (CredentialAdmin) differ.
  [CreateCredentialBody, { scopes: { message: 'scopes must be a list of scope values' }, level: { message: 'level must be "user" (account-level credentials are deprecated)' } }],
  [UpdateCredentialBody, { scopes: { message: 'scopes must be an array of scope values', code: 'invalid_scope' } }],
  [RotateSecretBody, { graceSeconds: { message: `graceSeconds must be a whole number from 0 to ${MAX_GRACE_SECONDS}` } }],
]);
