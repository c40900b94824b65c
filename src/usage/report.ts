import { ValidationError } from '../domain/errors.js';
import type { CounterSum, UsageRepository } from '../store/usage.js';
import { AUTH_FAILURE_REASONS, DAY_MS, HOUR_MS, MINUTE_MS, USAGE_RETENTION_DAYS } from './model.js';

/**
 * Usage as the admin API and the CLI show it: the range and bucket of a request (ISO times or
 * epoch ms; default the last 24 hours by hour, or 30 days by day), and zero-filled, ascending
 * buckets on whole UTC hours or days from the stored hourly counters. Pure but for the one query.
 */

export type Bucket = 'hour' | 'day';

/** The widest range one usage request may ask for: what is kept (2,160 hourly buckets). */
const MAX_RANGE_MS = USAGE_RETENTION_DAYS * DAY_MS;
/** Default ranges: the last 24 hours by hour, the last 30 days by day (the console's two charts). */
const DEFAULT_BUCKETS: Record<Bucket, number> = { hour: 24, day: 30 };
const BUCKET_MS: Record<Bucket, number> = { hour: HOUR_MS, day: DAY_MS };
/** Times accepted: 2000-01-01 up to 2100-01-01. */
const MIN_TIME = Date.UTC(2000, 0, 1);
const MAX_TIME = Date.UTC(2100, 0, 1);

/** An ISO 8601 time or epoch milliseconds, within 2000..2100. */
export function parseTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  let ms = Number.NaN;
  if (/^\d{1,15}$/.test(value)) ms = Number(value);
  else if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) ms = Date.parse(value);
  if (!Number.isFinite(ms) || ms < MIN_TIME || ms > MAX_TIME) {
    throw new ValidationError(`${name} must be an ISO 8601 time (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds, between 2000 and 2100`);
  }
  return ms;
}

export interface Range {
  bucket: Bucket;
  /** First bucket's start. */
  start: number;
  /** End of the range (exclusive). */
  to: number;
  count: number;
}

export function parseRange(params: { bucket?: string; from?: string; to?: string }, now: number): Range {
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

export interface BucketItem {
  at: string;
  tokensIssued: number;
  authFailures: number;
  authFailuresByReason: Record<string, number>;
  apiCalls: number;
  apiRejected: { '401': number; '403': number; '429': number };
}

export interface ApiTotal {
  api: string;
  apiCalls: number;
  apiRejected: { '401': number; '403': number; '429': number };
}

/** Zero-filled buckets from the stored hourly sums, and the totals per API over the range. */
export function series(range: Range, sums: CounterSum[]): { items: BucketItem[]; apis: ApiTotal[] } {
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

export interface UsageReport {
  bucket: Bucket;
  from: string;
  to: string;
  items: BucketItem[];
  /** The range's totals per API (first path segment), most calls first. */
  apis: ApiTotal[];
}

/** One credential's (by client ID) or one account's usage for `params` (`bucket`, `from`, `to` as given). */
export async function usageReport(repo: UsageRepository, scope: { clientId: string } | { accountId: string }, params: { bucket?: string; from?: string; to?: string }, now = Date.now()): Promise<UsageReport> {
  const range = parseRange(params, now);
  const { items, apis } = series(range, await repo.sums(scope, range.start, range.to));
  return { bucket: range.bucket, from: new Date(range.start).toISOString(), to: new Date(range.to).toISOString(), items, apis };
}

/** The account page's per-minute window: the last 60 whole UTC minutes, the current one last. */
export const PER_MINUTE_WINDOW = 60;

export interface PerMinute {
  limit: number;
  peak: { at: string; apiCalls: number } | null;
  items: { at: string; apiCalls: number }[];
}

/** An account's API calls per minute over the last 60 minutes (zero-filled, ascending) against its limit. */
export async function perMinuteReport(repo: UsageRepository, accountId: string, limit: number, now = Date.now()): Promise<PerMinute> {
  const start = now - (now % MINUTE_MS) - (PER_MINUTE_WINDOW - 1) * MINUTE_MS;
  const counts = new Map((await repo.minutes(accountId, start, start + PER_MINUTE_WINDOW * MINUTE_MS)).map((r) => [r.minute, r.n]));
  const items: PerMinute['items'] = [];
  let peak: PerMinute['peak'] = null;
  for (let i = 0; i < PER_MINUTE_WINDOW; i++) {
    const minute = start + i * MINUTE_MS;
    const item = { at: new Date(minute).toISOString(), apiCalls: counts.get(minute) ?? 0 };
    items.push(item);
    if (item.apiCalls > 0 && (peak === null || item.apiCalls > peak.apiCalls)) peak = item;
  }
  return { limit, peak: peak ? { ...peak } : null, items };
}
