import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canReadAudit } from '../domain/access.js';
import { ForbiddenError, ValidationError } from '../domain/errors.js';
import type { User } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { type CounterSum, type UsageEvent, UsageRepository } from '../store/usage.js';
import { AUTH_FAILURE_REASONS, DAY_MS, EVENT_TYPES, HOUR_MS, USAGE_RETENTION_DAYS, type UsageEventType } from '../usage/model.js';
import type { ActiveSession } from './sessions.js';
import type { CredentialAdmin } from './credentials.js';

export interface UsageRoutesOptions {
  store: Store;
  credentials: CredentialAdmin;
  /** The admin API's checks (src/admin/routes.ts): a session, and rule 1. */
  requireArea: (request: FastifyRequest) => Promise<void>;
  actor: (request: FastifyRequest) => User;
}

type Bucket = 'hour' | 'day';

/** The widest range one usage request may ask for: what is kept (2,160 hourly buckets). */
const MAX_RANGE_MS = USAGE_RETENTION_DAYS * DAY_MS;
/** Default ranges: the last 24 hours by hour, the last 30 days by day (the console's two charts). */
const DEFAULT_BUCKETS: Record<Bucket, number> = { hour: 24, day: 30 };
const BUCKET_MS: Record<Bucket, number> = { hour: HOUR_MS, day: DAY_MS };
/** Times accepted: 2000-01-01 up to 2100-01-01. */
const MIN_TIME = Date.UTC(2000, 0, 1);
const MAX_TIME = Date.UTC(2100, 0, 1);
const TOP_CREDENTIALS = 10;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
/** A CSV export without `limit` holds up to this many rows; past them `X-Next-Cursor` continues. */
const CSV_EXPORT_ROWS = 10_000;

/** The query's parameters, each given at most once, none unknown (400 naming it otherwise). */
function queryParams(query: unknown, allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (!allowed.includes(key)) throw new ValidationError(`Unknown query parameter: ${key.slice(0, 64)}`);
    if (typeof value !== 'string') throw new ValidationError(`The query parameter ${key} may be given once`);
    out[key] = value;
  }
  return out;
}

/** An ISO 8601 time or epoch milliseconds, within 2000..2100. */
function parseTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  let ms = Number.NaN;
  if (/^\d{1,15}$/.test(value)) ms = Number(value);
  else if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) ms = Date.parse(value);
  if (!Number.isFinite(ms) || ms < MIN_TIME || ms > MAX_TIME) {
    throw new ValidationError(`${name} must be an ISO 8601 time (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds, between 2000 and 2100`);
  }
  return ms;
}

function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > MAX_LIMIT) throw new ValidationError(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
  return Number(value);
}

interface Range {
  bucket: Bucket;
  /** First bucket's start. */
  start: number;
  /** End of the range (exclusive). */
  to: number;
  count: number;
}

function parseRange(params: Record<string, string>, now: number): Range {
  const bucketParam = params.bucket ?? 'hour';
  if (bucketParam !== 'hour' && bucketParam !== 'day') throw new ValidationError('bucket must be hour or day');
  const bucket: Bucket = bucketParam;
  const size = BUCKET_MS[bucket];
  const fromParam = parseTime(params.from, 'from');
  const to = parseTime(params.to, 'to') ?? now;
  const floor = (t: number) => t - (t % size);
  const from = fromParam ?? floor(to - 1) - (DEFAULT_BUCKETS[bucket] - 1) * size;
  if (to <= from) throw new ValidationError('to must be later than from');
  if (to - from > MAX_RANGE_MS) throw new ValidationError(`from and to may be at most ${USAGE_RETENTION_DAYS} days apart (usage is kept ${USAGE_RETENTION_DAYS} days)`);
  const start = floor(from);
  return { bucket, start, to, count: Math.ceil((to - start) / size) };
}

interface BucketItem {
  at: string;
  tokensIssued: number;
  authFailures: number;
  authFailuresByReason: Record<string, number>;
  apiCalls: number;
  apiRejected: { '401': number; '403': number; '429': number };
}

interface ApiTotal {
  api: string;
  apiCalls: number;
  apiRejected: { '401': number; '403': number; '429': number };
}

/** Zero-filled buckets from the stored hourly sums, and the totals per API over the range. */
function series(range: Range, sums: CounterSum[]): { items: BucketItem[]; apis: ApiTotal[] } {
  const size = BUCKET_MS[range.bucket];
  const items: BucketItem[] = [];
  for (let i = 0; i < range.count; i++) {
    items.push({
      at: new Date(range.start + i * size).toISOString(),
      tokensIssued: 0,
      authFailures: 0,
      authFailuresByReason: Object.fromEntries(AUTH_FAILURE_REASONS.map((r) => [r, 0])),
      apiCalls: 0,
      apiRejected: { '401': 0, '403': 0, '429': 0 },
    });
  }
  const apis = new Map<string, ApiTotal>();
  for (const { hour, metric, n } of sums) {
    const item = items[Math.floor((hour - range.start) / size)];
    if (!item) continue;
    if (metric === 'tokens') {
      item.tokensIssued += n;
    } else if (metric.startsWith('auth:')) {
      const reason = metric.slice(5);
      item.authFailures += n;
      item.authFailuresByReason[reason] = (item.authFailuresByReason[reason] ?? 0) + n;
    } else if (metric.startsWith('api:')) {
      const cut = metric.lastIndexOf(':');
      const api = metric.slice(4, cut);
      const outcome = metric.slice(cut + 1);
      let total = apis.get(api);
      if (!total) apis.set(api, (total = { api, apiCalls: 0, apiRejected: { '401': 0, '403': 0, '429': 0 } }));
      item.apiCalls += n;
      total.apiCalls += n;
      if (outcome === '401' || outcome === '403' || outcome === '429') {
        item.apiRejected[outcome] += n;
        total.apiRejected[outcome] += n;
      }
    }
  }
  return { items, apis: [...apis.values()].sort((a, b) => b.apiCalls - a.apiCalls || (a.api < b.api ? -1 : 1)) };
}

/**
 * Paging cursors of the events list: the last item's position and a digest of the query it
 * belongs to, with a check digest. A cursor changed by one character, or used with another query
 * or by another user, is refused (400).
 */
const digest = (text: string, length: number) => createHash('sha256').update(text).digest('base64url').slice(0, length);

function encodeCursor(position: { at: number; id: string }, queryDigest: string): string {
  const payload = Buffer.from(JSON.stringify([position.at, position.id, queryDigest])).toString('base64url');
  return `${payload}.${digest(`ccauth.events.cursor:${payload}`, 16)}`;
}

function decodeCursor(cursor: string, queryDigest: string): { at: number; id: string } {
  const bad = () => new ValidationError('cursor is not valid for this query; start again without cursor');
  const dot = cursor.indexOf('.');
  if (cursor.length > 512 || dot < 1) throw bad();
  const payload = cursor.slice(0, dot);
  if (cursor.slice(dot + 1) !== digest(`ccauth.events.cursor:${payload}`, 16)) throw bad();
  let value: unknown;
  try {
    const bytes = Buffer.from(payload, 'base64url');
    if (bytes.toString('base64url') !== payload) throw bad();
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(value) || value.length !== 3) throw bad();
  const [at, id, q] = value as unknown[];
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || typeof id !== 'string' || q !== queryDigest) throw bad();
  return { at, id };
}

const CSV_COLUMNS = ['id', 'at', 'type', 'credentialId', 'clientId', 'reason', 'ip', 'count'] as const;

/** RFC 4180 fields; a cell that a spreadsheet would read as a formula is prefixed with '. */
function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function toCsv(items: UsageEvent[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const item of items) lines.push(CSV_COLUMNS.map((c) => csvCell((item as unknown as Record<string, unknown>)[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function wantsCsv(request: FastifyRequest, format: string | undefined): boolean {
  if (format !== undefined) {
    if (format !== 'csv' && format !== 'json') throw new ValidationError('format must be csv or json');
    return format === 'csv';
  }
  const accept = request.headers.accept ?? '';
  return /(^|,)\s*text\/csv\s*(;|,|$)/i.test(accept) && !/(^|,)\s*application\/json\s*(;|,|$)/i.test(accept);
}

/**
 * Usage you can see (SPEC "Console additions"): a credential's counters by hour or day, the
 * account's totals and top credentials, and the events list. Registered inside the admin API
 * (same session, CSRF, error shape); visibility is the credential service's.
 */
export async function usageRoutes(app: FastifyInstance, o: UsageRoutesOptions): Promise<void> {
  const usage = new UsageRepository(o.store.db);

  app.get('/credentials/:id/usage', { preHandler: o.requireArea }, async (request) => {
    const { id } = request.params as { id: string };
    const params = queryParams(request.query, ['bucket', 'from', 'to']);
    const range = parseRange(params, Date.now());
    // 404 for an id the caller may not see (the credential service's rule).
    const credential = await o.credentials.get(o.actor(request), id);
    const sums = await usage.sums({ clientId: credential.clientId }, range.start, range.to);
    const { items, apis } = series(range, sums);
    return { bucket: range.bucket, from: new Date(range.start).toISOString(), to: new Date(range.to).toISOString(), credentialId: credential.id, items, apis };
  });

  app.get('/usage', { preHandler: o.requireArea }, async (request) => {
    const user = o.actor(request);
    if (!canReadAudit(user)) throw new ForbiddenError("Only admins can read the account's usage");
    const params = queryParams(request.query, ['bucket', 'from', 'to']);
    const range = parseRange(params, Date.now());
    const [sums, top] = await Promise.all([
      usage.sums({ accountId: user.accountId }, range.start, range.to),
      usage.top(user.accountId, range.start, range.to, TOP_CREDENTIALS),
    ]);
    const { items, apis } = series(range, sums);
    const account = (request.adminSession as ActiveSession).account;
    return {
      bucket: range.bucket,
      from: new Date(range.start).toISOString(),
      to: new Date(range.to).toISOString(),
      apiRateLimitPerMinute: account.apiRateLimitPerMinute,
      items,
      apis,
      top,
    };
  });

  app.get('/events', { preHandler: o.requireArea }, async (request, reply: FastifyReply) => {
    const user = o.actor(request);
    const params = queryParams(request.query, ['credential', 'type', 'from', 'to', 'limit', 'cursor', 'format']);
    const csv = wantsCsv(request, params.format);
    const type = params.type;
    if (type !== undefined && !(EVENT_TYPES as readonly string[]).includes(type)) throw new ValidationError(`type must be one of ${EVENT_TYPES.join(', ')}`);
    const from = parseTime(params.from, 'from');
    const to = parseTime(params.to, 'to');
    if (from !== undefined && to !== undefined && to <= from) throw new ValidationError('to must be later than from');
    const limit = parseLimit(params.limit) ?? (csv ? CSV_EXPORT_ROWS : DEFAULT_LIMIT);
    if (params.credential !== undefined && (params.credential === '' || params.credential.length > 100)) throw new ValidationError('credential must be a credential id');
    // Bound to the query and to who asks: another user's or another query's cursor is refused.
    const queryDigest = digest(JSON.stringify([user.id, params.credential ?? null, type ?? null, from ?? null, to ?? null]), 16);
    const after = params.cursor !== undefined ? decodeCursor(params.cursor, queryDigest) : undefined;

    let clientId: string | undefined;
    if (params.credential !== undefined) clientId = (await o.credentials.get(user, params.credential)).clientId;
    const rows = await usage.events({
      accountId: user.accountId,
      // Rule 6: a supervisor sees the events of their own credentials only.
      ...(user.license === 'admin' ? {} : { ownerUserId: user.id }),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(type !== undefined ? { type: type as UsageEventType } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(after ? { after } : {}),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const nextCursor = rows.length > limit && last ? encodeCursor({ at: Date.parse(last.at), id: last.id }, queryDigest) : null;
    if (csv) {
      if (nextCursor) reply.header('x-next-cursor', nextCursor);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="events.csv"').send(toCsv(items));
    }
    return { items, nextCursor };
  });
}
