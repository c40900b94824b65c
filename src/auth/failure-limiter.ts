import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/** A counter key and the number of failures it may hold in the window. */
export interface LimitedKey {
  key: string;
  limit: number;
}

/**
 * The limits of one lockout: per (subject, source IP) pair, per source IP, and a far higher
 * ceiling per subject (a client ID or an email) that only a distributed guess reaches.
 */
export interface FailureLimits {
  perPair: number;
  perIp: number;
  perSubject: number;
}

/** The per-client ceiling of failed client authentications, as a multiple of the per-pair limit. */
export const CLIENT_CEILING_FACTOR = 50;

/** Token endpoint: CCAUTH_AUTH_FAILURES_PER_MINUTE per (client ID, IP) and per IP, 50x that per client ID. */
export function clientFailureLimits(perMinute: number): FailureLimits {
  return { perPair: perMinute, perIp: perMinute, perSubject: perMinute * CLIENT_CEILING_FACTOR };
}

/**
 * Where failures are counted across processes: Redis (across instances) or the primary process of
 * a `serve` with several worker processes (src/cluster/). Both follow RECORD_SCRIPT.
 */
export interface FailureCountSource {
  /** False while the source cannot answer (then the local counts decide). */
  ready(): boolean;
  /** How long the failure path waits for it, unless the limiter's options say. */
  readonly timeoutMs?: number;
  /**
   * Records one failure under every key unless one is already at its limit. `blocked`: one was;
   * `until[i]`: when key i drops below its limit (0: it is below).
   */
  record(keys: readonly LimitedKey[], now: number, windowMs: number): Promise<{ blocked: boolean; until: number[] }>;
  /** Told when a key reaches its limit through another process (optional: Redis does not tell). */
  onLimited?(listener: (key: string, until: number) => void): void;
}

export interface SharedFailureCounters {
  /** Counters are shared with the other instances through this Redis when given. */
  redis?: Redis | undefined;
  /** Without Redis: counters shared with the other worker processes of this instance. */
  source?: FailureCountSource | undefined;
  /** Prefix of the Redis keys, e.g. `ccauth:<region>:authfail`. */
  keyPrefix?: string;
  /** How long the failure path waits for Redis before it decides from local counts alone. */
  timeoutMs?: number;
  onRedisError?: (err: unknown) => void;
}

export interface FailureLimiterOptions extends SharedFailureCounters {
  windowMs?: number;
  /** At most this many keys are kept in memory; the least recently used is forgotten first. */
  maxKeys?: number;
}

interface Entry {
  /** This instance's own failure times, oldest first, from `head` on (at most `limit` live ones). */
  times: number[];
  head: number;
  /** Until when the shared (Redis) counts of this key were past its limit, as last heard (0: not). */
  sharedUntil: number;
}

/**
 * Records one failure under every key unless one of them is already at its limit, in one round
 * trip. Each key is a sorted set of failure times trimmed to the window and to its limit.
 * KEYS: the sets. ARGV: now, window, a unique member, then the limit of each key.
 * Returns { blocked (1 when a key was already at its limit), until_1, ..., until_n } where
 * until_i is when key i drops below its limit (0 when it is below now).
 */
const RECORD_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local blocked = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then blocked = 1 end
end
local out = { blocked }
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 + i])
  if blocked == 0 then
    redis.call('ZADD', key, now, ARGV[3])
    redis.call('ZREMRANGEBYRANK', key, 0, -(limit + 1))
    redis.call('PEXPIRE', key, window)
  end
  local untilMs = 0
  if redis.call('ZCARD', key) >= limit then
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    untilMs = tonumber(first[2]) + window
  end
  out[i + 1] = untilMs
end
return out
`;

type RecordCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

const COMMAND = 'ccauthRecordFailure';

/** Client IDs and emails come from the request: long ones are hashed to keep keys small. */
const compact = (s: string) => (s.length > 128 ? `#${createHash('sha256').update(s).digest('base64url')}` : s);

/** The counts in Redis: RECORD_SCRIPT over per-key sorted sets (keys hashed under `keyPrefix`). */
export class RedisFailureCounts implements FailureCountSource {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {
    if (typeof (redis as unknown as Record<string, unknown>)[COMMAND] !== 'function') redis.defineCommand(COMMAND, { lua: RECORD_SCRIPT });
  }

  ready(): boolean {
    return this.redis.status === 'ready';
  }

  async record(keys: readonly LimitedKey[], now: number, windowMs: number): Promise<{ blocked: boolean; until: number[] }> {
    const command = (this.redis as unknown as Record<string, RecordCommand>)[COMMAND] as RecordCommand;
    const args: (string | number)[] = keys.map(({ key }) => `${this.keyPrefix}:${createHash('sha256').update(key).digest('base64url')}`);
    args.push(now, windowMs, `${now}:${randomBytes(9).toString('base64url')}`, ...keys.map((k) => k.limit));
    const [blocked, ...until] = (await command.call(this.redis, keys.length, ...args)).map(Number);
    return { blocked: blocked === 1, until: keys.map((_, i) => until[i] ?? 0) };
  }
}

/**
 * RECORD_SCRIPT in memory, for the primary process of a `serve` with several worker processes and
 * no Redis: per key the failure times in the window, at most `limit` of them. Bounded: an LRU of
 * `maxKeys` keys.
 */
export class FailureLedger {
  private readonly sets: LRUCache<string, number[]>;

  constructor(maxKeys = 200_000) {
    this.sets = new LRUCache<string, number[]>({ max: maxKeys });
  }

  /** As RECORD_SCRIPT; `reached` names the keys this failure brought to their limit. */
  record(keys: readonly LimitedKey[], now: number, windowMs: number): { blocked: boolean; until: number[]; reached: number[] } {
    const sets = keys.map(({ key }) => {
      let times = this.sets.get(key);
      if (!times) this.sets.set(key, (times = []));
      while (times.length > 0 && (times[0] as number) <= now - windowMs) times.shift();
      return times;
    });
    const blocked = sets.some((times, i) => times.length >= (keys[i] as LimitedKey).limit);
    const reached: number[] = [];
    const until = sets.map((times, i) => {
      const { limit } = keys[i] as LimitedKey;
      if (!blocked) {
        // Sorted by time, as a sorted set is (failures may arrive slightly out of order).
        let at = times.length;
        while (at > 0 && (times[at - 1] as number) > now) at--;
        times.splice(at, 0, now);
        while (times.length > limit) times.shift();
        if (times.length >= limit) reached.push(i);
      }
      return times.length >= limit ? (times[0] as number) + windowMs : 0;
    });
    return { blocked, until, reached };
  }
}

/**
 * Failed authentications in a sliding window, counted per key (SPEC 3: per client ID and source IP
 * pair, per IP, and a far higher per-client ceiling; the same for admin sign-in per email).
 *
 * The check (`retryAfter`) never does I/O: it reads this instance's own failures and what Redis
 * said about each key on this instance's last failure with it. The failure path records the
 * failure here at once (so a concurrent burst on one instance never gets more than the limit),
 * then in Redis in one round trip (a Lua script over per-key sorted sets), which also tells
 * whether the shared counts were already past a limit: then the failure is answered as limited.
 * A client that never fails never talks to Redis. Another instance that has not yet seen a key
 * fail learns of its lockout on its first failure with it, so at most one failure per other
 * instance gets past a shared limit. If Redis is down or slow, the local counts decide.
 *
 * Memory is bounded: keys live in an LRU (O(1) eviction), each with at most `limit` times.
 */
export class FailureLimiter {
  private readonly entries: LRUCache<string, Entry>;
  private readonly windowMs: number;
  private readonly shared: FailureCountSource | undefined;
  private readonly timeoutMs: number;
  private readonly onRedisError: (err: unknown) => void;

  constructor(
    readonly limits: FailureLimits,
    options: FailureLimiterOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.entries = new LRUCache<string, Entry>({ max: options.maxKeys ?? 200_000 });
    this.shared = options.redis ? new RedisFailureCounts(options.redis, options.keyPrefix ?? 'ccauth:failures') : options.source;
    this.timeoutMs = options.timeoutMs ?? this.shared?.timeoutMs ?? 250;
    this.onRedisError = options.onRedisError ?? (() => undefined);
    // Another process brought a key to its limit: attempts here are refused too, without I/O.
    this.shared?.onLimited?.((key, until) => {
      let entry = this.entries.get(key);
      if (!entry) this.entries.set(key, (entry = { times: [], head: 0, sharedUntil: 0 }));
      entry.sharedUntil = Math.max(entry.sharedUntil, until);
    });
  }

  /** The keys of one attempt: the (subject, IP) pair, the IP, and the subject's ceiling. */
  keys(subject: string, ip: string): LimitedKey[] {
    const s = compact(subject);
    return [
      { key: `p:${ip}:${s}`, limit: this.limits.perPair },
      { key: `i:${ip}`, limit: this.limits.perIp },
      { key: `s:${s}`, limit: this.limits.perSubject },
    ];
  }

  /** Seconds until an attempt under these keys is allowed, or 0 when it is allowed now. No I/O. */
  retryAfter(keys: readonly LimitedKey[], now = Date.now()): number {
    let untilMs = 0;
    for (const { key, limit } of keys) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      if (entry.sharedUntil > untilMs) untilMs = entry.sharedUntil;
      const live = this.prune(entry, now);
      if (live >= limit) untilMs = Math.max(untilMs, (entry.times[entry.times.length - limit] as number) + this.windowMs);
    }
    return untilMs > now ? Math.max(1, Math.ceil((untilMs - now) / 1000)) : 0;
  }

  /**
   * Records a failure under each key: here at once, then in Redis when configured. Resolves with
   * the seconds to wait when the shared counts were already past a limit before this failure
   * (the attempt is then answered as limited), else 0. Never rejects.
   */
  recordFailure(keys: readonly LimitedKey[], now = Date.now()): Promise<number> {
    for (const { key, limit } of keys) {
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { times: [], head: 0, sharedUntil: 0 };
        this.entries.set(key, entry);
      }
      this.prune(entry, now);
      entry.times.push(now);
      if (entry.times.length - entry.head > limit) entry.head++;
    }
    if (!this.shared || !this.shared.ready()) return Promise.resolve(0);
    return this.recordShared(this.shared, keys, now);
  }

  private async recordShared(shared: FailureCountSource, keys: readonly LimitedKey[], now: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const { blocked, until } = await Promise.race([
        shared.record(keys, now, this.windowMs),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the shared failure counts did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      let waitUntil = 0;
      keys.forEach(({ key }, i) => {
        const u = until[i] ?? 0;
        const entry = this.entries.get(key);
        // Never lowered: a lockout pushed by another process meanwhile (onLimited) is newer than
        // this answer, and a key's `until` only grows while it is in the future.
        if (entry) entry.sharedUntil = Math.max(entry.sharedUntil, u);
        if (u > waitUntil) waitUntil = u;
      });
      return blocked && waitUntil > now ? Math.max(1, Math.ceil((waitUntil - now) / 1000)) : 0;
    } catch (err) {
      this.onRedisError(err);
      return 0;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops the times that left the window; the number of live ones. */
  private prune(entry: Entry, now: number): number {
    const { times } = entry;
    while (entry.head < times.length && (times[entry.head] as number) <= now - this.windowMs) entry.head++;
    if (entry.head > 16 && entry.head * 2 > times.length) {
      times.splice(0, entry.head);
      entry.head = 0;
    }
    return times.length - entry.head;
  }
}
