import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LRUCache } from 'lru-cache';
import { lru } from '../domain/lru.js';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
  /** When refused: whole seconds until a request may succeed. */
  retryAfterSeconds: number;
}

const WINDOW_MS = 60_000;

/** A lease is at most this share of the limit (at least 1): 0.5%. */
const SLICE_DIVISOR = 200;

/** An instance counts among those sharing a budget for this long after its last lease. */
export const INSTANCE_MEMORY_MS = 60_000;

/** The slice of an account's budget an instance leases ahead of its requests. */
export function leaseSlice(limit: number): number {
  return Math.max(1, Math.ceil(limit / SLICE_DIVISOR));
}

export interface AccountRateLimiterOptions {
  /** The clock (ms); `consume` takes its own `now` too. */
  clock?: () => number;
  /** How long a request waits for a lease before it is decided from local counts (Redis slow). */
  leaseTimeoutMs?: number;
  /** After a Redis failure, decide locally for this long before trying Redis again. */
  degradedMs?: number;
  /** A lease unused for this long is given back to the account's budget. */
  idleReturnMs?: number;
  /** Once the shared budget is used up, ask Redis again after this long (refusals meanwhile cost no I/O). */
  recheckMs?: number;
}

interface AccountState {
  id: string;
  windowStart: number;
  /** Requests this instance allowed in the current and the previous window. */
  current: number;
  previous: number;
  /** Leased from the shared budget of the current window and not used yet. */
  lease: number;
  /** The account's shared counts (leases granted, less returns) as Redis last said, for this window. */
  sharedCurrent: number;
  sharedPrevious: number;
  /** No new lease before this time: the shared budget was used up. */
  exhaustedUntil: number;
  /** Requests allowed from local counts while Redis was unavailable, added to Redis with the next lease. */
  debt: number;
  /** What Redis said was left of the budget after the last lease, and the limit then. */
  left: number;
  limit: number;
  /** Requests waiting for a lease. */
  waiters: number;
  /** The window of the last lease answer (the shared counts above are of it); -1: none yet. */
  syncedWindow: number;
  /** Requests allowed from local counts since the shared count last included them. */
  sinceSync: number;
  inflight: Promise<boolean> | undefined;
  lastUsed: number;
}

/**
 * Leases budget from the account's shared count. Adds `debt` first (requests allowed while Redis
 * was away), then grants what the requests waiting need plus a spare slice, never more than is
 * left under the limit over the sliding window (the previous window weighted by its overlap);
 * the spare shrinks as the budget runs out so that leases held elsewhere stay small.
 * It also notes the asking instance in a sorted set of the instances that leased (any account) in
 * the last INSTANCE_MEMORY_MS, by Redis's own clock, and answers how many there are: while Redis
 * is unavailable each takes at most its share of what is left.
 * KEYS: current window, previous window, the instances. ARGV: limit, ms into the window, need,
 * spare, debt, ttl, instance id.
 * Returns { granted, current count, previous count, left after the grant, instances }.
 */
const LEASE_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[3], nowMs, ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', nowMs - ${INSTANCE_MEMORY_MS})
redis.call('PEXPIRE', KEYS[3], ${INSTANCE_MEMORY_MS})
local instances = redis.call('ZCARD', KEYS[3])
local limit = tonumber(ARGV[1])
local elapsed = tonumber(ARGV[2])
local need = tonumber(ARGV[3])
local spare = tonumber(ARGV[4])
local debt = tonumber(ARGV[5])
local cur
if debt > 0 then
  cur = redis.call('INCRBY', KEYS[1], debt)
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
else
  cur = tonumber(redis.call('GET', KEYS[1]) or '0')
end
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local avail = math.floor(limit - prev * (${WINDOW_MS} - elapsed) / ${WINDOW_MS} - cur)
if avail < 0 then avail = 0 end
local extra = math.min(spare, math.floor(math.max(0, avail - need) / 4))
local grant = math.min(avail, need + extra)
if grant > 0 then
  cur = redis.call('INCRBY', KEYS[1], grant)
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
return { grant, cur, prev, avail - grant, instances }
`;

/** Gives unused leases back: KEYS the window counts, ARGV the amounts. A count never goes below 0 or is created. */
const RETURN_SCRIPT = `
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local v = redis.call('DECRBY', key, ARGV[i])
    if v < 0 then redis.call('INCRBY', key, -v) end
  end
end
return 0
`;

type LeaseCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;
type ReturnCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number>;

/** One lease asked of the shared count of an account (the arguments of LEASE_SCRIPT). */
export interface LeaseRequest {
  /** The count of the current window and of the previous one. */
  key: string;
  previousKey: string;
  /** The sorted set of the instances sharing the budgets, and the asking instance's id. */
  instancesKey: string;
  instance: string;
  limit: number;
  /** Ms into the current window. */
  elapsed: number;
  need: number;
  spare: number;
  /** Requests allowed meanwhile from local counts, added to the shared count first. */
  debt: number;
  ttlMs: number;
}

/** [granted, current count, previous count, left after the grant, instances], as LEASE_SCRIPT returns it. */
export type LeaseGrant = [number, number, number, number, number];

/**
 * Where the shared budget of the accounts lives: Redis (across instances) or the primary process
 * of a `serve` with several worker processes (src/cluster/). Both grant with the same rule.
 */
export interface LeaseSource {
  /** False while the source cannot answer (then the limiter decides from local counts). */
  ready(): boolean;
  /** How long a request waits for a lease before it is decided locally, unless the limiter's options say. */
  readonly timeoutMs?: number;
  lease(request: LeaseRequest): Promise<LeaseGrant>;
  /** Gives unused leases back: [count key, amount]; a count never goes below 0 or is created. */
  giveBack(entries: [string, number][]): Promise<void>;
}

/** The budget in Redis: LEASE_SCRIPT and RETURN_SCRIPT, atomic across instances. */
export class RedisLeaseSource implements LeaseSource {
  constructor(private readonly redis: Redis) {
    if (typeof (redis as unknown as Record<string, unknown>).ccauthLease !== 'function') {
      redis.defineCommand('ccauthLease', { lua: LEASE_SCRIPT });
      redis.defineCommand('ccauthReturn', { lua: RETURN_SCRIPT });
    }
  }

  ready(): boolean {
    return this.redis.status === 'ready';
  }

  async lease(r: LeaseRequest): Promise<LeaseGrant> {
    const command = (this.redis as unknown as { ccauthLease: LeaseCommand }).ccauthLease;
    const result = await command.call(this.redis, 3, r.key, r.previousKey, r.instancesKey, r.limit, r.elapsed, r.need, r.spare, r.debt, r.ttlMs, r.instance);
    const [granted = 0, current = 0, previous = 0, left = 0, instances = 1] = result.map(Number);
    return [granted, current, previous, left, instances];
  }

  async giveBack(entries: [string, number][]): Promise<void> {
    const command = (this.redis as unknown as { ccauthReturn: ReturnCommand }).ccauthReturn;
    await command.call(this.redis, entries.length, ...entries.map(([key]) => key), ...entries.map(([, n]) => n));
  }
}

/**
 * LEASE_SCRIPT and RETURN_SCRIPT in memory, for the primary process of a `serve` with several
 * worker processes and no Redis: the same grant rule, one count per (account, window), each
 * forgotten `ttlMs` after its last change (and the least recently used first past `maxKeys`).
 */
export class LeaseLedger {
  private readonly counts: LRUCache<string, { n: number }>;
  /** instancesKey -> instance -> when it last leased. */
  private readonly instances = new Map<string, Map<string, number>>();

  constructor(maxKeys = 200_000) {
    this.counts = lru<string, { n: number }>(maxKeys, { ttlAutopurge: false });
  }

  lease(r: LeaseRequest, now = Date.now()): LeaseGrant {
    let seen = this.instances.get(r.instancesKey);
    if (!seen) this.instances.set(r.instancesKey, (seen = new Map()));
    seen.delete(r.instance);
    seen.set(r.instance, now);
    // Oldest first (re-inserted on each lease): drop those not seen within the memory.
    for (const [id, at] of seen) {
      if (at > now - INSTANCE_MEMORY_MS) break;
      seen.delete(id);
    }
    let cur = this.counts.get(r.key)?.n ?? 0;
    if (r.debt > 0) {
      cur += r.debt;
      this.counts.set(r.key, { n: cur }, { ttl: r.ttlMs });
    }
    const prev = this.counts.get(r.previousKey)?.n ?? 0;
    let avail = Math.floor(r.limit - (prev * (WINDOW_MS - r.elapsed)) / WINDOW_MS - cur);
    if (avail < 0) avail = 0;
    const extra = Math.min(r.spare, Math.floor(Math.max(0, avail - r.need) / 4));
    const grant = Math.min(avail, r.need + extra);
    if (grant > 0) {
      cur += grant;
      this.counts.set(r.key, { n: cur }, { ttl: r.ttlMs });
    }
    return [grant, cur, prev, avail - grant, seen.size];
  }

  giveBack(entries: [string, number][]): void {
    for (const [key, n] of entries) {
      const count = this.counts.get(key, { updateAgeOnGet: false });
      if (count) count.n = Math.max(0, count.n - n);
    }
  }
}

/**
 * The account's API limit over a sliding 60-second window, estimated the usual way from the
 * current and previous fixed windows (previous weighted by how much of it still overlaps).
 *
 * Without Redis, one instance decides from its own counts. With Redis, instances share the
 * budget by leasing slices of it: a Lua script grants an instance min(what it asks, what is left)
 * against the account's shared count, atomically, so the instances together never get more than
 * the limit; each instance then spends its lease in memory and leases again before it runs out
 * (a hot account costs a few Redis calls a second, not one per request). A request waits for
 * Redis only when its instance holds no lease (the first request, or a burst that outran the
 * prefetch). Unused leases go back when idle or when the window ends, so the others may use them:
 * an account is refused below its limit by at most what the other instances hold, each at most
 * 0.5% of the limit (and less as the budget runs out). If Redis fails or is slow, each instance
 * decides from its local counts (as without Redis) and adds them to the shared count later.
 * The worker processes of one `serve` without Redis share the budget the same way, leasing from
 * their primary process (a LeaseSource over IPC, src/cluster/) instead of Redis.
 */
export class AccountRateLimiter {
  private readonly accounts: LRUCache<string, AccountState>;
  /** Accounts holding a lease, scanned for idle ones. */
  private readonly leased = new Set<AccountState>();
  /** Unused leases to give back, by window key. */
  private readonly returns = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private degradedUntil = 0;
  private readonly clock: () => number;
  private leaseTimeoutMs: number;
  private readonly leaseTimeoutExplicit: boolean;
  private readonly degradedMs: number;
  private readonly idleReturnMs: number;
  private readonly recheckMs: number;
  /** This limiter's id among the instances sharing the budgets. */
  private readonly instanceId = randomBytes(9).toString('base64url');
  /** How many instances (or worker processes) leased in the last minute, as the source last said (1: unknown). */
  private instances = 1;

  /** The shared budget (Redis, or the primary process of several workers); none: local counts only. */
  private readonly source: LeaseSource | undefined;

  constructor(
    shared: Redis | LeaseSource | undefined,
    private readonly keyPrefix: string,
    private readonly syncIntervalMs = 200,
    private readonly onRedisError: (err: unknown) => void = () => undefined,
    options: AccountRateLimiterOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.leaseTimeoutMs = options.leaseTimeoutMs ?? 100;
    this.leaseTimeoutExplicit = options.leaseTimeoutMs !== undefined;
    this.degradedMs = options.degradedMs ?? 1000;
    this.idleReturnMs = options.idleReturnMs ?? 300;
    this.recheckMs = options.recheckMs ?? 250;
    this.accounts = lru<string, AccountState>(100_000, {
      dispose: (s) => {
        if (s.lease > 0) this.giveBack(s);
      },
    });
    this.source = shared === undefined || isLeaseSource(shared) ? shared : new RedisLeaseSource(shared);
    if (!this.leaseTimeoutExplicit && this.source?.timeoutMs !== undefined) this.leaseTimeoutMs = this.source.timeoutMs;
  }

  start(): void {
    if (!this.source) return;
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, this.syncIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer and gives every unused lease back. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    for (const s of this.leased) this.giveBack(s);
    await this.flushReturns();
  }

  /**
   * Counts one request of the account and decides. Synchronous while this instance holds a lease
   * (or decides locally); a promise when it must first lease from Redis.
   */
  consume(accountId: string, limit: number, now = this.clock()): RateDecision | Promise<RateDecision> {
    const s = this.state(accountId, now);
    if (!this.source) return this.local(s, limit, now);
    if (s.lease > 0) return this.take(s, limit, now);
    if (!this.source.ready() || now < this.degradedUntil) return this.local(s, limit, now);
    if (now < s.exhaustedUntil) return this.refuse(s, limit, now);
    return this.acquire(s, limit, now);
  }

  /** Gives idle leases and those of past windows back to the shared budget. */
  async tick(now = this.clock()): Promise<void> {
    const start = now - (now % WINDOW_MS);
    for (const s of this.leased) {
      if (s.lease <= 0) this.leased.delete(s);
      else if (s.windowStart !== start || (now - s.lastUsed >= this.idleReturnMs && this.tight(s))) this.giveBack(s);
    }
    await this.flushReturns();
  }

  private async acquire(s: AccountState, limit: number, now: number): Promise<RateDecision> {
    s.waiters++;
    try {
      // A burst may need a few rounds: each asks for every request waiting at that moment.
      for (let round = 0; round < 8; round++) {
        s.inflight ??= this.lease(s, limit, now);
        if (!(await s.inflight)) return this.local(s, limit, now);
        // The window ended meanwhile (another request rolled it): decide in the new one.
        if (s.windowStart !== now - (now % WINDOW_MS)) return await this.consume(s.id, limit, Math.max(now, this.clock()));
        if (s.lease > 0) return this.take(s, limit, now);
        if (now < s.exhaustedUntil) break;
      }
      return this.refuse(s, limit, now);
    } finally {
      s.waiters--;
    }
  }

  /** One lease request; resolves false when Redis failed or did not answer in time. */
  private lease(s: AccountState, limit: number, now: number): Promise<boolean> {
    const source = this.source as LeaseSource;
    const windowStart = s.windowStart;
    const debt = s.debt;
    s.debt = 0;
    const key = this.key(s.id, windowStart);
    let done = false;
    const answered = source
      .lease({
        key,
        previousKey: this.key(s.id, windowStart - WINDOW_MS),
        instancesKey: `${this.keyPrefix}:instances`,
        instance: this.instanceId,
        limit,
        elapsed: now - windowStart,
        need: s.waiters,
        spare: leaseSlice(limit),
        debt,
        ttlMs: 3 * WINDOW_MS,
      })
      .then(
        ([granted, current, previous, left, instances]) => {
          done = true;
          this.instances = Math.max(1, instances);
          if (s.windowStart !== windowStart || this.accounts.peek(s.id) !== s) {
            // The window ended (or the account was evicted) meanwhile: give it back.
            if (granted > 0) this.returns.set(key, (this.returns.get(key) ?? 0) + granted);
            return true;
          }
          s.lease += granted;
          if (s.lease > 0) this.leased.add(s);
          s.sharedCurrent = current;
          s.sharedPrevious = previous;
          s.left = left;
          s.limit = limit;
          s.syncedWindow = windowStart;
          s.sinceSync = Math.max(0, s.sinceSync - debt);
          s.exhaustedUntil = left < 1 ? now + this.recheckMs : 0;
          return true;
        },
        (err: unknown) => {
          done = true;
          if (s.windowStart === windowStart) s.debt += debt;
          this.degrade(now, err);
          return false;
        },
      );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      // The answer may be waiting in the socket while this process was busy (its own event-loop
      // lag fired the timer late): I/O is read before setImmediate runs, so only an answer that
      // really did not come in time degrades.
      timer = setTimeout(() => {
        setImmediate(() => {
          if (done) return;
          this.degrade(now, new Error(`Redis did not answer a rate-limit lease within ${this.leaseTimeoutMs} ms`));
          resolve(false);
        });
      }, this.leaseTimeoutMs);
    });
    const settled: Promise<boolean> = Promise.race([answered, timedOut]).finally(() => {
      clearTimeout(timer);
      if (s.inflight === settled) s.inflight = undefined;
    });
    return settled;
  }

  /**
   * Whether the account's shared budget is nearly used up (less than 16 slices, 8% of the limit,
   * left): only then are idle leases worth giving back; otherwise a quiet account keeps its lease
   * and its next request needs no Redis round trip.
   */
  private tight(s: AccountState): boolean {
    return s.left < 16 * leaseSlice(s.limit);
  }

  private degrade(now: number, err: unknown): void {
    this.degradedUntil = now + this.degradedMs;
    this.onRedisError(err);
  }

  /** Spends one unit of the lease; leases more ahead when it runs low. */
  private take(s: AccountState, limit: number, now: number): RateDecision {
    s.lease--;
    s.current++;
    const slice = leaseSlice(limit);
    if (s.lease <= Math.floor(slice / 2) && !s.inflight && now >= s.exhaustedUntil && now >= this.degradedUntil && this.source?.ready()) {
      s.inflight = this.lease(s, limit, now);
    }
    const shared = s.sharedPrevious * this.weight(s, now) + s.sharedCurrent;
    return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - shared)) + s.lease, resetSeconds: this.resetSeconds(s, now), retryAfterSeconds: 0 };
  }

  /** Refused from the shared counts. */
  private refuse(s: AccountState, limit: number, now: number): RateDecision {
    return {
      allowed: false,
      limit,
      remaining: 0,
      resetSeconds: this.resetSeconds(s, now),
      retryAfterSeconds: retryAfter(s.sharedCurrent, s.sharedPrevious, limit, now - s.windowStart),
    };
  }

  /**
   * Decided from this instance's counts alone: without a shared budget, its own sliding count
   * against the limit; with one that is unavailable, its share of it: of what the shared count
   * left free at this window's last lease, 1/n (n: the instances that leased in the last minute,
   * as last heard), less what it allowed since; without a lease answer in this window, its own
   * sliding count against limit / n. So the instances together stay within what was free.
   */
  private local(s: AccountState, limit: number, now: number): RateDecision {
    const used = s.previous * this.weight(s, now) + s.current;
    const resetSeconds = this.resetSeconds(s, now);
    let refused = used + 1 > limit;
    if (this.source && !refused) {
      const n = Math.max(1, this.instances);
      if (s.syncedWindow === s.windowStart) {
        const free = limit - s.sharedPrevious * this.weight(s, now) - s.sharedCurrent;
        refused = s.sinceSync + 1 > Math.floor(free / n);
      } else {
        refused = used + 1 > limit / n;
      }
    }
    if (refused) {
      return { allowed: false, limit, remaining: 0, resetSeconds, retryAfterSeconds: retryAfter(s.current, s.previous, limit, now - s.windowStart) };
    }
    s.current++;
    if (this.source) {
      s.debt++;
      s.sinceSync++;
    }
    return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - used - 1)), resetSeconds, retryAfterSeconds: 0 };
  }

  private weight(s: AccountState, now: number): number {
    return (WINDOW_MS - (now - s.windowStart)) / WINDOW_MS;
  }

  private resetSeconds(s: AccountState, now: number): number {
    return Math.max(1, Math.ceil((WINDOW_MS - (now - s.windowStart)) / 1000));
  }

  private state(accountId: string, now: number): AccountState {
    const start = now - (now % WINDOW_MS);
    let s = this.accounts.get(accountId);
    if (!s) {
      s = {
        id: accountId,
        windowStart: start,
        current: 0,
        previous: 0,
        lease: 0,
        sharedCurrent: 0,
        sharedPrevious: 0,
        exhaustedUntil: 0,
        left: Infinity,
        limit: 0,
        debt: 0,
        waiters: 0,
        syncedWindow: -1,
        sinceSync: 0,
        inflight: undefined,
        lastUsed: now,
      };
      this.accounts.set(accountId, s);
    } else if (s.windowStart !== start) {
      if (s.lease > 0) this.giveBack(s);
      const adjacent = start - s.windowStart === WINDOW_MS;
      s.previous = adjacent ? s.current : 0;
      s.sharedPrevious = adjacent ? s.sharedCurrent : 0;
      s.current = 0;
      s.sharedCurrent = 0;
      s.debt = 0;
      s.sinceSync = 0;
      s.exhaustedUntil = 0;
      s.windowStart = start;
    }
    s.lastUsed = now;
    return s;
  }

  private giveBack(s: AccountState): void {
    if (s.lease > 0) {
      const key = this.key(s.id, s.windowStart);
      this.returns.set(key, (this.returns.get(key) ?? 0) + s.lease);
      s.sharedCurrent -= s.lease;
      s.lease = 0;
    }
    this.leased.delete(s);
  }

  private async flushReturns(): Promise<void> {
    if (!this.source || this.returns.size === 0 || !this.source.ready()) return;
    const entries = [...this.returns];
    this.returns.clear();
    try {
      await this.source.giveBack(entries);
    } catch (err) {
      // Given up: an unreturned lease only makes the account's count high until its window ends.
      this.onRedisError(err);
    }
  }

  private key(accountId: string, windowStart: number): string {
    return `${this.keyPrefix}:${accountId}:${windowStart}`;
  }
}

function isLeaseSource(x: Redis | LeaseSource): x is LeaseSource {
  return typeof (x as Partial<LeaseSource>).lease === 'function' && typeof (x as Partial<LeaseSource>).ready === 'function';
}

/** Whole seconds until a request fits under the limit again, from a window's counts. */
function retryAfter(inWindow: number, previous: number, limit: number, elapsed: number): number {
  // Within this window: wait until enough of the previous window has slid out.
  if (inWindow + 1 <= limit && previous > 0) {
    const neededWeight = (limit - inWindow - 1) / previous;
    const t = WINDOW_MS * (1 - neededWeight) - elapsed;
    return Math.max(1, Math.ceil(t / 1000));
  }
  // Otherwise in the next window, once this window's weight has dropped enough.
  const untilNext = WINDOW_MS - elapsed;
  const neededWeight = inWindow > 0 ? (limit - 1) / inWindow : 1;
  return Math.max(1, Math.ceil((untilNext + WINDOW_MS * Math.max(0, 1 - neededWeight)) / 1000));
}
