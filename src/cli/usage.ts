import type { Store } from '../store/store.js';
import { CliError, EXIT_FAILURE } from './util.js';

/** One stored hourly bucket of one credential (every instance's rows for that hour added up). */
export interface HourlyUsage {
  /** Start of the UTC hour, epoch ms. */
  hourStart: number;
  tokensIssued: number;
  authFailures: number;
  apiCalls: number;
  rejected401: number;
  rejected403: number;
  rejected429: number;
}

/** What `credential usage` needs from the store: the hourly rows of a credential in [from, to). */
export interface UsageSource {
  hourly(credentialId: string, fromMs: number, toMs: number): Promise<HourlyUsage[]>;
}

export type UsageBucket = 'hour' | 'day';

/** The admin API's shape (SPEC Console additions: GET /admin/api/credentials/{id}/usage). */
export interface UsageReport {
  bucket: UsageBucket;
  items: { at: string; tokensIssued: number; authFailures: number; apiCalls: number; apiRejected: { '401': number; '403': number; '429': number } }[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Buckets on whole UTC hours or days, ascending and zero-filled, like the admin API's default
 * view: the last 24 hours by hour (the current hour included), or the last 30 days by day.
 */
export async function usageReport(source: UsageSource, credentialId: string, bucket: UsageBucket, nowMs = Date.now()): Promise<UsageReport> {
  const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
  const count = bucket === 'hour' ? 24 : 30;
  const last = Math.floor(nowMs / size) * size;
  const from = last - (count - 1) * size;
  const to = last + size;
  const rows = await source.hourly(credentialId, from, to);
  const items = Array.from({ length: count }, (_, i) => ({
    at: new Date(from + i * size).toISOString(),
    tokensIssued: 0,
    authFailures: 0,
    apiCalls: 0,
    apiRejected: { '401': 0, '403': 0, '429': 0 },
  }));
  for (const row of rows) {
    if (row.hourStart < from || row.hourStart >= to) continue;
    const item = items[Math.floor((row.hourStart - from) / size)];
    if (!item) continue;
    item.tokensIssued += row.tokensIssued;
    item.authFailures += row.authFailures;
    item.apiCalls += row.apiCalls;
    item.apiRejected['401'] += row.rejected401;
    item.apiRejected['403'] += row.rejected403;
    item.apiRejected['429'] += row.rejected429;
  }
  return { bucket, items };
}

/**
 * The store's usage counts. They come with the usage tables of issue 9 (src/store/usage.ts):
 * a store without them answers with a clear failure instead of zeros that would look like no use.
 */
export function usageSourceOf(store: Store): UsageSource {
  const repository = (store as unknown as { usage?: Partial<UsageSource> }).usage;
  if (repository && typeof repository.hourly === 'function') return repository as UsageSource;
  throw new CliError('This store keeps no usage counts yet (the usage tables are missing): run ccauth migrate with a ccauth version that counts usage', EXIT_FAILURE);
}
