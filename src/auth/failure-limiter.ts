import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Redis } from 'ioredis';
import type { LRUCache } from 'lru-cache';
import { lru } from '../domain/lru.js';

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
  record(keys: readonly LimitedKey[], now: number, windowMs: number, reservation?: string): Promise<{ blocked: boolean; until: number[] }>;
  /**
   * Takes back an attempt recorded with `reservation` (it succeeded). Reserved attempts count like
   * failures until then, but a source never announces (onLimited) a limit that a reservation reached.
   */
  withdraw?(keys: readonly LimitedKey[], reservation: string): Promise<void>;
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
 * trip. Each key is a sorted set of failure times trimmed to the window and to its limit. The time
 * is Redis's own (TIME), so the instances' clock skew neither trims nor extends a window.
 * KEYS: the sets. ARGV: window, a unique member, then the limit of each key.
 * Returns { blocked (1 when a key was already at its limit), now (Redis ms), until_1, ..., until_n }
 * where until_i is when key i drops below its limit (0 when it is below now).
 */
const RECORD_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local blocked = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then blocked = 1 end
end
local out = { blocked, now }
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + i])
  if blocked == 0 then
    redis.call('ZADD', key, now, ARGV[2])
    redis.call('ZREMRANGEBYRANK', key, 0, -(limit + 1))
    redis.call('PEXPIRE', key, window)
  end
  local untilMs = 0
  if redis.call('ZCARD', key) >= limit then
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    untilMs = tonumber(first[2]) + window
  end
  out[i + 2] = untilMs
end
return out
`;

/** Takes a reserved attempt back: KEYS the sets, ARGV[1] its member. */
const WITHDRAW_SCRIPT = `
for _, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[1]) end
return 0
`;

type RecordCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

const COMMAND = 'ccauthRecordFailure';
const WITHDRAW = 'ccauthWithdrawFailure';

/** RECORD_SCRIPT's raw answer: Redis's own time, and when each key drops below its limit in that time. */
export interface RedisRecordAnswer {
  blocked: boolean;
  redisNow: number;
  until: number[];
}

/** Client IDs and emails come from the request: long ones are hashed to keep keys small. */
const compact = (s: string) => (s.length > 128 ? `#${createHash('sha256').update(s).digest('base64url')}` : s);

/** The counts in Redis: RECORD_SCRIPT over per-key sorted sets (keys hashed under `keyPrefix`). */
export class RedisFailureCounts implements FailureCountSource {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {
    if (typeof (redis as unknown as Record<string, unknown>)[COMMAND] !== 'function') redis.defineCommand(COMMAND, { lua: RECORD_SCRIPT });
    if (typeof (redis as unknown as Record<string, unknown>)[WITHDRAW] !== 'function') redis.defineCommand(WITHDRAW, { lua: WITHDRAW_SCRIPT });
  }

  ready(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * As `recordRaw`, with the answer's times moved to this instance's clock (`now`), so that the
   * limiter's I/O-free check compares like with like whatever this host's clock says.
   */
  async record(keys: readonly LimitedKey[], now: number, windowMs: number, reservation?: string): Promise<{ blocked: boolean; until: number[] }> {
    const { blocked, redisNow, until } = await this.recordRaw(keys, windowMs, reservation);
    return { blocked, until: until.map((u) => (u > 0 ? u - redisNow + now : 0)) };
  }

  /** RECORD_SCRIPT's answer in Redis's time (the ledger test compares it with FailureLedger). */
  async recordRaw(keys: readonly LimitedKey[], windowMs: number, reservation?: string): Promise<RedisRecordAnswer> {
    const command = (this.redis as unknown as Record<string, RecordCommand>)[COMMAND] as RecordCommand;
    const args: (string | number)[] = keys.map(({ key }) => this.redisKey(key));
    args.push(windowMs, reservation ?? randomBytes(12).toString('base64url'), ...keys.map((k) => k.limit));
    const [blocked, redisNow = 0, ...until] = (await command.call(this.redis, keys.length, ...args)).map(Number);
    return { blocked: blocked === 1, redisNow, until: keys.map((_, i) => until[i] ?? 0) };
  }

  async withdraw(keys: readonly LimitedKey[], reservation: string): Promise<void> {
    const command = (this.redis as unknown as Record<string, RecordCommand>)[WITHDRAW] as RecordCommand;
    await command.call(this.redis, keys.length, ...keys.map(({ key }) => this.redisKey(key)), reservation);
  }

  private redisKey(key: string): string {
    return `${this.keyPrefix}:${createHash('sha256').update(key).digest('base64url')}`;
  }
}

/**
 * RECORD_SCRIPT in memory, for the primary process of a `serve` with several worker processes and
 * no Redis: per key the failure times in the window (with the member of each, for withdrawals), at
 * most `limit` of them. Bounded: an LRU of `maxKeys` keys.
 */
export class FailureLedger {
  private readonly sets: LRUCache<string, { at: number; member: string | undefined }[]>;

  constructor(maxKeys = 200_000) {
    this.sets = lru<string, { at: number; member: string | undefined }[]>(maxKeys);
  }

  /**
   * As RECORD_SCRIPT; `reached` names the keys this failure brought to their limit (never for a
   * reservation: it may yet be withdrawn, and every reserved attempt asks the ledger anyway).
   */
  record(keys: readonly LimitedKey[], now: number, windowMs: number, reservation?: string): { blocked: boolean; until: number[]; reached: number[] } {
    const sets = keys.map(({ key }) => {
      let times = this.sets.get(key);
      if (!times) this.sets.set(key, (times = []));
      while (times.length > 0 && (times[0] as { at: number }).at <= now - windowMs) times.shift();
      return times;
    });
    const blocked = sets.some((times, i) => times.length >= (keys[i] as LimitedKey).limit);
    const reached: number[] = [];
    const until = sets.map((times, i) => {
      const { limit } = keys[i] as LimitedKey;
      if (!blocked) {
        // Sorted by time, as a sorted set is (failures may arrive slightly out of order).
        let at = times.length;
        while (at > 0 && (times[at - 1] as { at: number }).at > now) at--;
        times.splice(at, 0, { at: now, member: reservation });
        while (times.length > limit) times.shift();
        if (times.length >= limit && reservation === undefined) reached.push(i);
      }
      return times.length >= limit ? (times[0] as { at: number }).at + windowMs : 0;
    });
    return { blocked, until, reached };
  }

  /** As WITHDRAW_SCRIPT: the reserved attempt leaves every key. */
  withdraw(keys: readonly LimitedKey[], reservation: string): void {
    for (const { key } of keys) {
      const times = this.sets.get(key, { updateAgeOnGet: false });
      const i = times?.findIndex((t) => t.member === reservation) ?? -1;
      if (times && i >= 0) times.splice(i, 1);
    }
  }
}

/** How long a successful (subject, source) pair bypasses the per-subject ceiling. */
export const KNOWN_GOOD_MS = 24 * 3600_000;

/**
 * The source a failure is counted under: an IPv4 address as is (an IPv4-mapped IPv6 address as
 * its IPv4 address), an IPv6 address by its /64 (one host or one customer typically holds a whole
 * /64, so its addresses are one source), anything else (not an address) escaped. The result never
 * contains `|`, the separator of the limiter's keys.
 */
export function sourceOf(ip: string): string {
  const bare = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  const version = isIP(bare);
  if (version === 4) return bare;
  if (version !== 6) return `?${encodeURIComponent(ip)}`;
  const hextets = expandIpv6(bare);
  // ::ffff:a.b.c.d (a dual-stack socket's view of an IPv4 client) is that IPv4 address.
  if (hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff) {
    const [hi = 0, lo = 0] = hextets.slice(6);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${hextets.slice(0, 4).map((h) => h.toString(16)).join(':')}::/64`;
}

/** The 8 hextets of a valid IPv6 address (`isIP` said 6), an embedded IPv4 tail included. */
function expandIpv6(address: string): number[] {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (x: string) => (x === '' ? [] : x.split(':').map((h) => parseInt(h, 16)));
  const front = part(head);
  const back = tail === undefined ? [] : part(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** One attempt reserved before the secret or password is checked (FailureLimiter.reserve). */
export interface Reservation {
  /** Seconds to wait when the shared counts were already past a limit (then call `release`), else 0. */
  readonly shared: Promise<number>;
  /** The attempt failed: it stays counted; resolves with the seconds to wait when a shared limit was past. */
  fail(): Promise<number>;
  /** The attempt succeeded: it is taken back, and the pair is known good for 24 h. */
  succeed(): void;
  /** The attempt was not made (refused by the shared counts, or an error): it is taken back. */
  release(): void;
}

/**
 * Failed authentications in a sliding window, counted per key (SPEC 3: per client ID and source IP
 * pair, per IP, and a far higher per-client ceiling; the same for admin sign-in per email). An IPv6
 * source counts by its /64 (`sourceOf`). A (subject, source) pair that authenticated successfully in
 * the last 24 h is not held back by the per-subject ceiling (only by its pair and source limits):
 * a known-good source keeps working while a guess spread over many addresses fills the ceiling.
 * Known-good pairs are kept per process (an LRU of `maxKeys`), not shared.
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
 * Where the check is followed by an await before the verdict (admin sign-in: a store read and
 * scrypt), `reserve` counts the attempt as a failure up front, here and in the shared counts, and
 * takes it back on success: a concurrent burst gets no more checks than the limit, in any mode.
 *
 * Memory is bounded: keys live in an LRU (O(1) eviction), each with at most `limit` times.
 */
export class FailureLimiter {
  private readonly entries: LRUCache<string, Entry>;
  /** `${source}|${subject}` -> when it last authenticated successfully. */
  private readonly good: LRUCache<string, number>;
  private readonly windowMs: number;
  private readonly shared: FailureCountSource | undefined;
  private readonly timeoutMs: number;
  private readonly onRedisError: (err: unknown) => void;

  constructor(
    readonly limits: FailureLimits,
    options: FailureLimiterOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.entries = lru<string, Entry>(options.maxKeys ?? 200_000);
    this.good = lru<string, number>(options.maxKeys ?? 200_000);
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

  /**
   * The keys of one attempt: the (subject, source) pair, the source, and the subject's ceiling,
   * unless the pair is known good. `|` separates, and never occurs in a source.
   */
  keys(subject: string, ip: string, now = Date.now()): LimitedKey[] {
    const s = compact(subject);
    const source = sourceOf(ip);
    const keys = [
      { key: `p|${source}|${s}`, limit: this.limits.perPair },
      { key: `i|${source}`, limit: this.limits.perIp },
    ];
    const good = this.good.get(`${source}|${s}`);
    if (good === undefined || now - good >= KNOWN_GOOD_MS) keys.push({ key: `s|${s}`, limit: this.limits.perSubject });
    return keys;
  }

  /** The pair authenticated successfully: for 24 h the subject's ceiling does not hold it back. */
  succeeded(subject: string, ip: string, now = Date.now()): void {
    const pair = `${sourceOf(ip)}|${compact(subject)}`;
    const last = this.good.get(pair);
    // Written at most once a minute per pair: the success path stays cheap.
    if (last === undefined || now - last > 60_000) this.good.set(pair, now);
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
   * Reserves one attempt, synchronously: the seconds to wait when a key is at its limit, else a
   * reservation counted as a failure here at once and sent to the shared counts (whose answer is
   * `shared`). Settle it with `fail`, `succeed` or `release`.
   */
  reserve(subject: string, ip: string, now = Date.now()): number | Reservation {
    const keys = this.keys(subject, ip, now);
    const wait = this.retryAfter(keys, now);
    if (wait > 0) return wait;
    this.addLocal(keys, now);
    const member = randomBytes(12).toString('base64url');
    const shared = this.shared;
    const sent = shared !== undefined && shared.ready();
    const sharedWait = sent ? this.recordShared(shared, keys, now, member) : Promise.resolve(0);
    let settled = false;
    const takeBack = () => {
      for (const { key } of keys) {
        const entry = this.entries.get(key);
        if (!entry) continue;
        const i = entry.times.lastIndexOf(now);
        if (i >= entry.head) entry.times.splice(i, 1);
      }
      if (sent && shared.withdraw) void shared.withdraw(keys, member).catch((err: unknown) => this.onRedisError(err));
    };
    return {
      shared: sharedWait,
      fail: () => {
        if (settled) return Promise.resolve(0);
        settled = true;
        // Not sent up front (the shared counts were unavailable): recorded now if they are back.
        if (!sent && shared?.ready()) return this.recordShared(shared, keys, now);
        return sharedWait;
      },
      succeed: () => {
        if (settled) return;
        settled = true;
        takeBack();
        this.succeeded(subject, ip);
      },
      release: () => {
        if (settled) return;
        settled = true;
        takeBack();
      },
    };
  }

  /**
   * Records a failure under each key: here at once, then in Redis when configured. Resolves with
   * the seconds to wait when the shared counts were already past a limit before this failure
   * (the attempt is then answered as limited), else 0. Never rejects.
   */
  recordFailure(keys: readonly LimitedKey[], now = Date.now()): Promise<number> {
    this.addLocal(keys, now);
    if (!this.shared || !this.shared.ready()) return Promise.resolve(0);
    return this.recordShared(this.shared, keys, now);
  }

  private addLocal(keys: readonly LimitedKey[], now: number): void {
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
  }

  private async recordShared(shared: FailureCountSource, keys: readonly LimitedKey[], now: number, reservation?: string): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const { blocked, until } = await Promise.race([
        shared.record(keys, now, this.windowMs, reservation),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the shared failure counts did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      let waitUntil = 0;
      keys.forEach(({ key }, i) => {
        const u = until[i] ?? 0;
        const entry = this.entries.get(key);
        // Never lowered: a lockout pushed by another process meanwhile (onLimited) is newer than
        // this answer, and a key's `until` only grows while it is in the future. A reservation's
        // answer counts itself (it may yet be withdrawn): only a blocked one is kept.
        if (entry && (reservation === undefined || blocked)) entry.sharedUntil = Math.max(entry.sharedUntil, u);
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
