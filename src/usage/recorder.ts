import type { Logger } from 'pino';
import type { ClientRecord } from '../domain/model.js';
import type { TokenClaims } from '../tokens/standing.js';
import {
  API_OUTCOMES,
  AUTH_FAILURE_REASONS,
  type AuthFailureReason,
  type CounterRow,
  type EventRow,
  HOUR_MS,
  type MinuteRow,
  MINUTE_MS,
  outcomeIndex,
  type UsageBatch,
} from './model.js';

/**
 * What the token service and the gateway tell about a credential's use. Each call is a few Map
 * increments in memory: no I/O, nothing awaited, on the hot paths.
 */
export interface UsageSink {
  /** A token was issued to this client. */
  tokenIssued(client: ClientRecord): void;
  /** A client authentication failed; `client` is null for an unknown client ID (not counted per credential). */
  authFailed(client: ClientRecord | null, reason: AuthFailureReason, ip: string): void;
  /** A gateway request whose token's signature verified, with the answer's status. */
  apiCall(token: TokenClaims, api: string, status: number): void;
  /** A token was revoked (RFC 7009). */
  tokenRevoked(token: TokenClaims): void;
}

/** Whatever a region counts with when usage is not recorded (tests that build parts alone). */
export const NO_USAGE: UsageSink = {
  tokenIssued: () => undefined,
  authFailed: () => undefined,
  apiCall: () => undefined,
  tokenRevoked: () => undefined,
};

/** Where a batch goes: one transaction of atomic increments (src/store/usage.ts). */
export interface UsageWriter {
  write(batch: UsageBatch): Promise<void>;
}

export interface UsageRecorderOptions {
  /** How often the counts are written (CCAUTH_USAGE_FLUSH_MS). */
  flushMs: number;
  /** Failed authentications stored one by one per credential per minute (per instance); the rest are counted. */
  failureEventsPerMinute?: number;
  /** Individual events held in memory at most (a store that stays away): past it they are only counted. */
  maxPendingEvents?: number;
  now?: () => number;
}

/** One credential's counts within one hour. */
interface Tally {
  accountId: string;
  clientId: string;
  tokens: number;
  /** By AUTH_FAILURE_REASONS index. */
  auth: number[];
  /** API name -> counts by API_OUTCOMES index. */
  api: Map<string, number[]>;
  /** Minute start -> tokens issued in it (the token.issued event, aggregated). */
  issuedByMinute: Map<number, number>;
  /** Minute start -> 429s in it (the api.rate_limited event, aggregated). */
  limitedByMinute: Map<number, number>;
  /** Minute start -> failures past the per-minute budget, by reason index (stored as one counted event). */
  failuresByMinute: Map<number, number[]>;
  /** The owner of a user-level credential, for supervisors' view of events; the credential id when known. */
  ownerUserId: string | null;
  credentialId: string | null;
}

type Hours = Map<number, Map<string, Tally>>;
/** Minute start -> account ID -> API calls through the gateway in that minute. */
type Minutes = Map<number, Map<string, number>>;

const newTally = (accountId: string, clientId: string, ownerUserId: string | null, credentialId: string | null): Tally => ({
  accountId,
  clientId,
  tokens: 0,
  auth: AUTH_FAILURE_REASONS.map(() => 0),
  api: new Map(),
  issuedByMinute: new Map(),
  limitedByMinute: new Map(),
  failuresByMinute: new Map(),
  ownerUserId,
  credentialId,
});

const addTo = (map: Map<number, number>, key: number, n: number) => map.set(key, (map.get(key) ?? 0) + n);

/**
 * Per-credential usage, counted in memory and written in batches (never a store write per
 * request): hourly counters (tokens, failed client authentications by reason, API calls by API
 * and outcome) and the events list. Every flush adds its counts to the stored ones with an
 * atomic increment, so instances sharing a store add up. A failed write keeps the batch for the
 * next flush; stop() writes what is left (graceful close loses nothing). A crash loses at most
 * what was counted since the last flush.
 */
export class UsageRecorder implements UsageSink {
  private hours: Hours = new Map();
  private minutes: Minutes = new Map();
  private events: EventRow[] = [];
  /** Failed authentications stored one by one in the current minute, per client ID. */
  private readonly failureBudget = new Map<string, { minute: number; used: number }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly failureEventsPerMinute: number;
  private readonly maxPendingEvents: number;

  constructor(
    private readonly writer: UsageWriter,
    private readonly o: UsageRecorderOptions,
    private readonly log: Logger,
  ) {
    this.now = o.now ?? Date.now;
    this.failureEventsPerMinute = o.failureEventsPerMinute ?? 10;
    this.maxPendingEvents = o.maxPendingEvents ?? 10_000;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (!this.flushing) void this.flush();
    }, this.o.flushMs);
    this.timer.unref();
  }

  /**
   * Stops the timer and writes the rest (after a write in progress). One try: with the store
   * unreachable, the shutdown is not held up further (what was not written is lost, and logged).
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private tally(at: number, clientId: string, accountId: string, ownerUserId: string | null, credentialId: string | null): Tally {
    const hour = at - (at % HOUR_MS);
    let clients = this.hours.get(hour);
    if (!clients) this.hours.set(hour, (clients = new Map()));
    let tally = clients.get(clientId);
    if (!tally) clients.set(clientId, (tally = newTally(accountId, clientId, ownerUserId, credentialId)));
    else if (tally.credentialId === null && credentialId !== null) tally.credentialId = credentialId;
    return tally;
  }

  tokenIssued(client: ClientRecord): void {
    const at = this.now();
    const tally = this.tally(at, client.clientId, client.accountId, client.owner?.id ?? null, client.credentialId);
    tally.tokens++;
    addTo(tally.issuedByMinute, at - (at % MINUTE_MS), 1);
  }

  authFailed(client: ClientRecord | null, reason: AuthFailureReason, ip: string): void {
    if (!client) return;
    const at = this.now();
    const index = AUTH_FAILURE_REASONS.indexOf(reason);
    const tally = this.tally(at, client.clientId, client.accountId, client.owner?.id ?? null, client.credentialId);
    tally.auth[index] = (tally.auth[index] ?? 0) + 1;
    const minute = at - (at % MINUTE_MS);
    let budget = this.failureBudget.get(client.clientId);
    if (!budget || budget.minute !== minute) this.failureBudget.set(client.clientId, (budget = { minute, used: 0 }));
    if (budget.used < this.failureEventsPerMinute && this.events.length < this.maxPendingEvents) {
      budget.used++;
      this.events.push(this.event('client_auth.failed', at, tally, { reason, ip }));
      return;
    }
    let counts = tally.failuresByMinute.get(minute);
    if (!counts) tally.failuresByMinute.set(minute, (counts = AUTH_FAILURE_REASONS.map(() => 0)));
    counts[index] = (counts[index] ?? 0) + 1;
  }

  apiCall(token: TokenClaims, api: string, status: number): void {
    const at = this.now();
    const tally = this.tally(at, token.clientId, token.accountId, token.userId, null);
    let counts = tally.api.get(api);
    if (!counts) tally.api.set(api, (counts = API_OUTCOMES.map(() => 0)));
    const index = outcomeIndex(status);
    counts[index] = (counts[index] ?? 0) + 1;
    const minute = at - (at % MINUTE_MS);
    if (status === 429) addTo(tally.limitedByMinute, minute, 1);
    let accounts = this.minutes.get(minute);
    if (!accounts) this.minutes.set(minute, (accounts = new Map()));
    accounts.set(token.accountId, (accounts.get(token.accountId) ?? 0) + 1);
  }

  tokenRevoked(token: TokenClaims): void {
    const at = this.now();
    const tally = this.tally(at, token.clientId, token.accountId, token.userId, null);
    if (this.events.length < this.maxPendingEvents) this.events.push(this.event('token.revoked', at, tally, {}));
  }

  private event(type: EventRow['type'], at: number, tally: Tally, extra: { reason?: string; ip?: string }): EventRow {
    return {
      key: null,
      type,
      at,
      accountId: tally.accountId,
      clientId: tally.clientId,
      credentialId: tally.credentialId,
      ownerUserId: tally.ownerUserId,
      reason: extra.reason ?? null,
      ip: extra.ip ?? null,
      count: null,
    };
  }

  /** Whether anything waits to be written. */
  get pending(): boolean {
    return this.hours.size > 0 || this.events.length > 0 || this.minutes.size > 0;
  }

  /**
   * Writes what was counted since the last write. Never throws: a failed write (store
   * unreachable) puts the batch back, added to what came since, for the next flush.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.pending) return;
    this.flushing = this.writeOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeOnce(): Promise<void> {
    const hours = this.hours;
    const events = this.events;
    const minutes = this.minutes;
    this.hours = new Map();
    this.events = [];
    this.minutes = new Map();
    this.pruneBudget();
    try {
      await this.writer.write({ ...toBatch(hours, events), minutes: minuteRows(minutes) });
    } catch (err) {
      this.log.warn({ err }, 'could not write usage counts; will retry');
      this.mergeBack(hours, events);
      for (const [minute, accounts] of minutes) {
        let into = this.minutes.get(minute);
        if (!into) this.minutes.set(minute, (into = new Map()));
        for (const [accountId, n] of accounts) into.set(accountId, (into.get(accountId) ?? 0) + n);
      }
    }
  }

  private pruneBudget(): void {
    const at = this.now();
    const minute = at - (at % MINUTE_MS);
    for (const [clientId, budget] of this.failureBudget) if (budget.minute !== minute) this.failureBudget.delete(clientId);
  }

  private mergeBack(hours: Hours, events: EventRow[]): void {
    for (const [hour, clients] of hours) {
      const current = this.hours.get(hour);
      if (!current) {
        this.hours.set(hour, clients);
        continue;
      }
      for (const [clientId, old] of clients) {
        const now = current.get(clientId);
        if (!now) {
          current.set(clientId, old);
          continue;
        }
        now.tokens += old.tokens;
        old.auth.forEach((n, i) => (now.auth[i] = (now.auth[i] ?? 0) + n));
        for (const [api, counts] of old.api) {
          const into = now.api.get(api);
          if (!into) now.api.set(api, counts);
          else counts.forEach((n, i) => (into[i] = (into[i] ?? 0) + n));
        }
        for (const [m, n] of old.issuedByMinute) addTo(now.issuedByMinute, m, n);
        for (const [m, n] of old.limitedByMinute) addTo(now.limitedByMinute, m, n);
        for (const [m, counts] of old.failuresByMinute) {
          const into = now.failuresByMinute.get(m);
          if (!into) now.failuresByMinute.set(m, counts);
          else counts.forEach((n, i) => (into[i] = (into[i] ?? 0) + n));
        }
        now.credentialId ??= old.credentialId;
      }
    }
    // Older events first; past the cap the oldest are dropped (their counters are kept).
    this.events = [...events, ...this.events].slice(-this.maxPendingEvents);
  }
}

/** Per-account API calls per minute as rows to add to the stored ones. */
export function minuteRows(minutes: Minutes): MinuteRow[] {
  const rows: MinuteRow[] = [];
  for (const [minute, accounts] of minutes) for (const [accountId, n] of accounts) if (n > 0) rows.push({ accountId, minute, n });
  return rows;
}

/** The rows of one flush: hourly counter increments and events (aggregated ones carry a key and a count). */
export function toBatch(hours: Hours, individual: EventRow[]): UsageBatch {
  const counters: CounterRow[] = [];
  const events: EventRow[] = [...individual];
  for (const [hour, clients] of hours) {
    for (const t of clients.values()) {
      const row = (metric: string, n: number) => {
        if (n > 0) counters.push({ accountId: t.accountId, clientId: t.clientId, hour, metric, n });
      };
      row('tokens', t.tokens);
      AUTH_FAILURE_REASONS.forEach((reason, i) => row(`auth:${reason}`, t.auth[i] ?? 0));
      for (const [api, counts] of t.api) API_OUTCOMES.forEach((outcome, i) => row(`api:${api}:${outcome}`, counts[i] ?? 0));
      const aggregated = (type: EventRow['type'], minute: number, count: number, reason: string | null) => {
        if (count <= 0) return;
        events.push({
          key: `${type}|${t.clientId}|${minute}|${reason ?? ''}`,
          type,
          at: minute,
          accountId: t.accountId,
          clientId: t.clientId,
          credentialId: t.credentialId,
          ownerUserId: t.ownerUserId,
          reason,
          ip: null,
          count,
        });
      };
      for (const [minute, n] of t.issuedByMinute) aggregated('token.issued', minute, n, null);
      for (const [minute, n] of t.limitedByMinute) aggregated('api.rate_limited', minute, n, null);
      for (const [minute, counts] of t.failuresByMinute) AUTH_FAILURE_REASONS.forEach((reason, i) => aggregated('client_auth.failed', minute, counts[i] ?? 0, reason));
    }
  }
  return { counters, events };
}

const apiNames = new Map<string, string>();

/**
 * The API a gateway route belongs to: the first segment of its route pattern (`/useradmin/users/:id`
 * -> `useradmin`, an upstream's `/crm/*` -> `crm`). Route patterns are a fixed set, so the names
 * are few; each is computed once.
 */
export function apiNameOf(routeUrl: string | undefined): string {
  if (routeUrl === undefined) return 'other';
  let name = apiNames.get(routeUrl);
  if (name === undefined) {
    const segment = routeUrl.split('/').find((s) => s !== '') ?? '';
    name = /^[A-Za-z0-9._-]{1,64}$/.test(segment) ? segment : 'other';
    if (apiNames.size < 1000) apiNames.set(routeUrl, name);
  }
  return name;
}
