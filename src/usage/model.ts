/** Shapes and fixed vocabularies of usage counting (no I/O). */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Hourly counters and events are kept this long (pruned by src/store/retention.ts). */
export const USAGE_RETENTION_DAYS = 90;
/** Per-minute API calls per account (the account page's chart against its limit) are kept this long. */
export const USAGE_MINUTES_RETENTION_HOURS = 48;

/** Why a client authentication failed, as the usage counters and events name it. */
export const AUTH_FAILURE_REASONS = ['wrong_secret', 'disabled', 'scope'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/**
 * A gateway answer's outcome class: the rejections SPEC names (401, 403, 429) on their own, the
 * rest by class. A fixed, small set: counter rows stay few.
 */
export const API_OUTCOMES = ['2xx', '401', '403', '429', '3xx', '4xx', '5xx'] as const;
export type ApiOutcome = (typeof API_OUTCOMES)[number];

export function outcomeIndex(status: number): number {
  if (status >= 200 && status < 300) return 0;
  if (status === 401) return 1;
  if (status === 403) return 2;
  if (status === 429) return 3;
  if (status < 400) return 4;
  if (status < 500) return 5;
  return 6;
}

export const EVENT_TYPES = ['token.issued', 'client_auth.failed', 'api.rate_limited', 'token.revoked'] as const;
export type UsageEventType = (typeof EVENT_TYPES)[number];

/** One counter increment: `n` more of `metric` for a client in the hour starting at `hour`. */
export interface CounterRow {
  accountId: string;
  clientId: string;
  hour: number;
  /** `tokens`, `auth:<reason>` or `api:<api>:<outcome>`. */
  metric: string;
  n: number;
}

/**
 * An event to store. `key` is null for an event stored as itself; an aggregated one (per
 * credential per minute) has a key and a `count` that is added to the stored row's.
 */
export interface EventRow {
  key: string | null;
  type: UsageEventType;
  at: number;
  accountId: string;
  clientId: string;
  credentialId: string | null;
  ownerUserId: string | null;
  reason: string | null;
  ip: string | null;
  count: number | null;
}

/** API calls through the gateway of one account in the minute starting at `minute` (epoch ms). */
export interface MinuteRow {
  accountId: string;
  minute: number;
  n: number;
}

export interface UsageBatch {
  counters: CounterRow[];
  events: EventRow[];
  /** Per-account API calls per minute (none when omitted). */
  minutes?: MinuteRow[];
}
