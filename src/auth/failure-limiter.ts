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

export interface SharedFailureCounters {
  /** Counters are shared with the other instances through this Redis when given. */
  redis?: Redis | undefined;
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
  private readonly redis: Redis | undefined;
  private readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly onRedisError: (err: unknown) => void;

  constructor(
    readonly limits: FailureLimits,
    options: FailureLimiterOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.entries = new LRUCache<string, Entry>({ max: options.maxKeys ?? 200_000 });
    this.redis = options.redis;
    this.keyPrefix = options.keyPrefix ?? 'ccauth:failures';
    this.timeoutMs = options.timeoutMs ?? 250;
    this.onRedisError = options.onRedisError ?? (() => undefined);
    if (this.redis && typeof (this.redis as unknown as Record<string, unknown>)[COMMAND] !== 'function') {
      this.redis.defineCommand(COMMAND, { lua: RECORD_SCRIPT });
    }
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
    if (!this.redis || this.redis.status !== 'ready') return Promise.resolve(0);
    return this.recordShared(this.redis, keys, now);
  }

  private async recordShared(redis: Redis, keys: readonly LimitedKey[], now: number): Promise<number> {
    const command = (redis as unknown as Record<string, RecordCommand>)[COMMAND] as RecordCommand;
    const args: (string | number)[] = keys.map(({ key }) => `${this.keyPrefix}:${createHash('sha256').update(key).digest('base64url')}`);
    args.push(now, this.windowMs, `${now}:${randomBytes(9).toString('base64url')}`, ...keys.map((k) => k.limit));
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        command.call(redis, keys.length, ...args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      const [blocked, ...until] = result.map(Number);
      let waitUntil = 0;
      keys.forEach(({ key }, i) => {
        const u = until[i] ?? 0;
        const entry = this.entries.get(key);
        if (entry) entry.sharedUntil = u;
        if (u > waitUntil) waitUntil = u;
      });
      return blocked === 1 && waitUntil > now ? Math.max(1, Math.ceil((waitUntil - now) / 1000)) : 0;
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
