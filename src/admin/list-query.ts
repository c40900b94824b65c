import { z } from 'zod';
import { ValidationError } from '../domain/errors.js';
import { isKnownScope, splitScopeList } from '../domain/scopes.js';
import { CREDENTIAL_SORTS } from '../store/credentials.js';
import { EVENT_TYPES } from '../usage/model.js';

/**
 * The query parameters of the console's lists (SPEC Console additions), one schema each: it
 * validates the request, types the handler and can describe the parameters in OpenAPI. Every
 * refusal is 400 invalid_request naming the parameter.
 */

export const LIST_LIMIT_MAX = 200;
export const LIST_LIMIT_DEFAULT = 50;
/** A CSV export is one request: up to this many rows, continued with the X-Next-Cursor header. */
export const CSV_LIMIT_MAX = 10_000;
const Q_MAX_LENGTH = 200;
const UNUSED_DAYS_MAX = 36_500;

/** Text without control characters (a NUL cannot even reach PostgreSQL as a parameter). */
// eslint-disable-next-line no-control-regex
const text = (max: number) => z.string().max(max).regex(/^[^\u0000-\u001f\u007f]*$/);

/** One value per parameter: a repeated parameter (an array) is refused by the string schemas. */
const wholeNumber = z.string().regex(/^\d{1,9}$/).transform(Number);
/** ISO 8601 (with a time zone or UTC) or epoch milliseconds. */
const instant = z
  .string()
  .max(64)
  .transform((value, ctx) => {
    const ms = /^\d{1,15}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'not a time' });
      return z.NEVER;
    }
    return ms;
  });

const scopeFilter = z.string().transform((value, ctx) => {
  const parsed = splitScopeList(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  const unknown = parsed.scopes.find((s) => !isKnownScope(s));
  if (unknown !== undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown scope ${JSON.stringify(unknown.slice(0, 64))}` });
    return z.NEVER;
  }
  return parsed.scopes;
});

const cursorParam = z
  .string()
  .max(4096)
  .optional()
  .meta({ description: 'Opaque: the nextCursor of the previous page, with the same filters and sort (else 400); the limit may change' });

export const credentialListQuery = z
  .object({
    owner: z.enum(['me', 'all']).optional().meta({ description: "me: the caller's own; all (an admin's default): every credential of the account. A supervisor only ever gets their own" }),
    level: z.enum(['user', 'account']).optional(),
    q: text(Q_MAX_LENGTH)
      .optional()
      .meta({ description: "Case-insensitive (Unicode, NFKC): a substring of the name, a prefix of the client ID, or a substring of the owner's email; blank: no filter" }),
    scope: scopeFilter.optional().meta({ description: 'Only credentials with this scope (several, separated by spaces or commas: with all of them)', examples: ['users:read'] }),
    unused_days: z
      .union([z.literal('never'), wholeNumber.pipe(z.number().max(UNUSED_DAYS_MAX))])
      .optional()
      .meta({ description: 'Only credentials never used, or last used more than this many days ago; never: only those never used' }),
    sort: z.enum(CREDENTIAL_SORTS).optional().meta({ description: 'Order (default -created: newest first); a leading - reverses it; ties by id; never-used credentials last for last_used' }),
    limit: wholeNumber.pipe(z.number().min(1).max(LIST_LIMIT_MAX)).optional().meta({ description: `Items per page, 1..${LIST_LIMIT_MAX} (default ${LIST_LIMIT_DEFAULT})` }),
    cursor: cursorParam,
  })
  .strict();
export type CredentialListQuery = z.output<typeof credentialListQuery>;

/** `action`: comma-separated action names, each exact (`credential.created`) or a group (`credential.*`). */
const actionFilter = z.string().transform((value, ctx) => {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0 || items.length > 20 || items.some((s) => !/^[a-z][a-z_]{0,40}(\.[a-z][a-z_]{0,40}){0,3}(\.\*)?$/.test(s))) {
    ctx.addIssue({ code: 'custom', message: 'bad action' });
    return z.NEVER;
  }
  return {
    exact: items.filter((s) => !s.endsWith('.*')),
    prefixes: items.filter((s) => s.endsWith('.*')).map((s) => s.slice(0, -1)),
  };
});

export const auditListQuery = z
  .object({
    action: actionFilter
      .optional()
      .meta({ description: 'Comma-separated actions, each exact (credential.created, user.sign_in_failed) or a group (credential.*: hides sign-ins)', examples: ['credential.*'] }),
    actor: text(320)
      .min(1)
      .transform((s) => s.trim().toLowerCase())
      .optional()
      .meta({ description: "The actor's email (case-insensitive)" }),
    credential: text(100).min(1).optional().meta({ description: 'Only the events of this credential (id)' }),
    from: instant.optional().meta({ description: 'From (inclusive): an ISO 8601 time or epoch milliseconds' }),
    to: instant.optional().meta({ description: 'To (exclusive): an ISO 8601 time or epoch milliseconds' }),
    limit: wholeNumber
      .pipe(z.number().min(1).max(CSV_LIMIT_MAX))
      .optional()
      .meta({ description: `Items per page: JSON 1..${LIST_LIMIT_MAX} (default ${LIST_LIMIT_DEFAULT}); CSV 1..${CSV_LIMIT_MAX} (default ${CSV_LIMIT_MAX}, the rest via X-Next-Cursor)` }),
    cursor: cursorParam,
    before: instant.optional().meta({ description: 'Older than (the first console\'s paging; use cursor): an ISO 8601 time or epoch milliseconds' }),
    format: z.enum(['json', 'csv']).optional().meta({ description: 'csv: answer text/csv with a header row (also for Accept: text/csv); the next page is in the X-Next-Cursor header' }),
  })
  .strict();
export type AuditListQuery = z.output<typeof auditListQuery>;

/** What each parameter accepts, for the 400 message that names it. */
const EXPECTED: Record<string, string> = {
  owner: 'me or all',
  level: 'user or account',
  q: `text of at most ${Q_MAX_LENGTH} characters, without control characters`,
  scope: 'one or more known scope values; separate scopes with spaces or commas, e.g. "users:read stats" or "users:read,stats"',
  unused_days: `a whole number of days from 0 to ${UNUSED_DAYS_MAX}, or never`,
  sort: CREDENTIAL_SORTS.join(', '),
  limit: `a whole number from 1 to ${LIST_LIMIT_MAX}`,
  cursor: 'the nextCursor of the previous page',
  action: 'comma-separated action names, each exact (credential.created) or a group (credential.*)',
  actor: 'an email address',
  credential: 'a credential id',
  from: 'an ISO 8601 time or epoch milliseconds',
  to: 'an ISO 8601 time or epoch milliseconds',
  before: 'an ISO 8601 time or epoch milliseconds',
  format: 'json or csv',
  bucket: 'hour or day',
  type: EVENT_TYPES.join(', '),
};

/** Parses a list's query string; a 400 invalid_request that names the first bad or unknown parameter. */
export function parseListQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const result = schema.safeParse(query ?? {});
  if (result.success) return result.data as z.output<S>;
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const name = String((issue as { keys: string[] }).keys[0] ?? '').slice(0, 64);
    throw new ValidationError(`Unknown query parameter: ${name}`);
  }
  const name = String(issue?.path[0] ?? '');
  const custom = issue?.code === 'custom' && name === 'scope' ? `: ${issue.message}` : '';
  throw new ValidationError(`Invalid query parameter ${name}${custom || `: expected ${EXPECTED[name] ?? 'a valid value'}`}`);
}
