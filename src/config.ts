import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { SIGNING_ALGS, type SigningAlg, isSigningAlg } from './auth/jws.js';
import { ALL_SCOPES, isKnownScope } from './domain/scopes.js';
import { type TrustProxy, parseTrustProxy } from './http/trust-proxy.js';

/**
 * All configuration, parsed and validated once. Sources, later wins: defaults, environment,
 * CLI flags. Nothing else in ccauth reads process.env.
 */
export interface Config {
  port: number;
  host: string;
  region: string;
  /** CCAUTH_SIGNING_ALG: the JWS alg of the signing keys this region makes (RS256 default, or ES256). */
  signingAlg: SigningAlg;
  publicUrl: string;
  issuer: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL schema to use (tests use a fresh one per run). */
  databaseSchema: string | undefined;
  /** The longest a store query (or getting a connection) may take before it fails as unavailable (CCAUTH_STORE_TIMEOUT_MS). */
  storeTimeoutMs: number;
  redisUrl: string | undefined;
  /** 32-byte master key (base64 or hex); when absent a key file with mode 0600 in dataDir is used. */
  masterKey: string | undefined;
  logLevel: string;
  logRequests: boolean;
  demoPassword: string | undefined;
  /** CCAUTH_TRUST_PROXY: false, a hop count, or the addresses/CIDR ranges of our proxies (src/http/trust-proxy.ts). */
  trustProxy: TrustProxy;
  /** CCAUTH_METRICS_ADDR: where /metrics listens (its own listener; undefined = off). */
  metricsAddr: { host: string; port: number } | undefined;
  /** Failed client authentications allowed per client ID and per IP in a minute. */
  authFailuresPerMinute: number;
  /** How often an instance looks for changes made by other processes (CLI, other instances). */
  changePollMs: number;
  /** How often lastUsedAt is written for the credentials used since the last write. */
  lastUsedFlushMs: number;
  /** How often the per-credential usage counters and events are written (CCAUTH_USAGE_FLUSH_MS). */
  usageFlushMs: number;
  /** External HTTP upstreams the gateway routes path prefixes to (CCAUTH_UPSTREAMS). */
  upstreams: UpstreamConfig[];
  /** Audit events older than this many days are deleted by the retention pruner. */
  auditRetentionDays: number;
  /** `serve`: how long SIGTERM/SIGINT may take to drain and close before the process exits 1. */
  shutdownTimeoutMs: number;
  /** CCAUTH_WORKERS: the cores one `serve` uses (default os.availableParallelism()). */
  workers: number;
  /** CCAUTH_WORKER_PROCESSES: forces the number of event-loop processes (1..workers); else workerPlan decides. */
  workerProcesses: number | undefined;
  /** NODE_ENV=test: each response names the process that served it (x-ccauth-worker), for the worker tests. */
  workerHeader: boolean;
  /** UV_THREADPOOL_SIZE as the operator set it (then `serve` leaves the thread pool to it). */
  threadPoolSize: number | undefined;
}

/** HTTP methods an upstream can route; `*` in the configuration stands for the ones not listed. */
export const UPSTREAM_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type UpstreamMethod = (typeof UPSTREAM_METHODS)[number];

/** One external upstream: requests below `prefix` go to `url`, each method needing its scope. */
export interface UpstreamConfig {
  /** Path prefix at the gateway, e.g. `/crm` (no trailing slash). */
  prefix: string;
  /** Base URL of the upstream; the path after the prefix is appended to its path. */
  url: string;
  /** The scope each routed method needs; methods absent here are answered 405. */
  scopes: Partial<Record<UpstreamMethod, string>>;
  /** Time allowed for the upstream's response headers, and between two chunks of its body. */
  timeoutMs: number;
  /** Shown in the API reference. */
  description: string | undefined;
}

export type ConfigOverrides = Partial<Record<keyof typeof ENV_NAMES, string | number | boolean | undefined>>;

const ENV_NAMES = {
  port: 'PORT',
  host: 'CCAUTH_HOST',
  region: 'CCAUTH_REGION',
  signingAlg: 'CCAUTH_SIGNING_ALG',
  publicUrl: 'CCAUTH_PUBLIC_URL',
  dataDir: 'CCAUTH_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  databaseSchema: 'CCAUTH_DATABASE_SCHEMA',
  storeTimeoutMs: 'CCAUTH_STORE_TIMEOUT_MS',
  redisUrl: 'REDIS_URL',
  masterKey: 'CCAUTH_MASTER_KEY',
  logLevel: 'CCAUTH_LOG_LEVEL',
  logRequests: 'CCAUTH_LOG_REQUESTS',
  demoPassword: 'CCAUTH_DEMO_PASSWORD',
  trustProxy: 'CCAUTH_TRUST_PROXY',
  metricsAddr: 'CCAUTH_METRICS_ADDR',
  authFailuresPerMinute: 'CCAUTH_AUTH_FAILURES_PER_MINUTE',
  changePollMs: 'CCAUTH_CHANGE_POLL_MS',
  lastUsedFlushMs: 'CCAUTH_LAST_USED_FLUSH_MS',
  usageFlushMs: 'CCAUTH_USAGE_FLUSH_MS',
  upstreams: 'CCAUTH_UPSTREAMS',
  auditRetentionDays: 'CCAUTH_AUDIT_RETENTION_DAYS',
  shutdownTimeoutMs: 'CCAUTH_SHUTDOWN_TIMEOUT_MS',
  workers: 'CCAUTH_WORKERS',
  workerProcesses: 'CCAUTH_WORKER_PROCESSES',
} as const;

const bool = z
  .union([z.boolean(), z.string()])
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
    return z.NEVER;
  });

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** CCAUTH_WORKERS: at most this many cores. */
const MAX_WORKERS = 1024;

const schema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  region: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,31}$/, 'a region is 2..32 lowercase letters, digits or dashes, e.g. emea')
    .default('emea'),
  signingAlg: z
    .string()
    .transform((v, ctx) => {
      const alg = v.trim().toUpperCase();
      if (isSigningAlg(alg)) return alg;
      ctx.addIssue({ code: 'custom', message: `expected ${SIGNING_ALGS.join(' or ')} (default RS256), got "${v}"` });
      return z.NEVER;
    })
    .default('RS256'),
  publicUrl: optionalString.pipe(
    z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http or https URL')
      .optional(),
  ),
  dataDir: z.string().min(1).default('./data'),
  databaseUrl: optionalString.pipe(
    z
      .string()
      .refine((u) => /^postgres(ql)?:\/\//.test(u), 'DATABASE_URL must be a postgres:// URL')
      .optional(),
  ),
  databaseSchema: optionalString.pipe(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a schema name is lowercase letters, digits and _').optional()),
  storeTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(5000),
  redisUrl: optionalString,
  masterKey: optionalString,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logRequests: bool.default(false),
  demoPassword: optionalString,
  trustProxy: z
    .union([z.boolean(), z.number(), z.string()])
    .transform((v, ctx) => {
      const parsed = parseTrustProxy(v);
      if (typeof parsed === 'object' && !Array.isArray(parsed) && parsed !== null) {
        ctx.addIssue({ code: 'custom', message: `${parsed.error}; use false, a hop count (true = 1), or addresses/CIDR ranges of your proxies` });
        return z.NEVER;
      }
      return parsed;
    })
    .default(false),
  metricsAddr: optionalString.transform((v, ctx) => {
    if (v === undefined) return undefined;
    const parsed = parseListenAddress(v);
    if (!parsed) {
      ctx.addIssue({ code: 'custom', message: `expected host:port, e.g. 127.0.0.1:9464 or [::1]:9464, got "${v}"` });
      return z.NEVER;
    }
    return parsed;
  }),
  authFailuresPerMinute: z.coerce.number().int().min(1).max(1_000_000).default(20),
  changePollMs: z.coerce.number().int().min(10).max(60_000).default(250),
  lastUsedFlushMs: z.coerce.number().int().min(10).max(600_000).default(5000),
  usageFlushMs: z.coerce.number().int().min(10).max(600_000).default(5000),
  upstreams: optionalString,
  auditRetentionDays: z.coerce.number().int().min(1).max(36_500).default(400),
  shutdownTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
  workers: z.coerce.number({ error: 'expected a whole number of cores, 1..1024' }).int('expected a whole number of cores, 1..1024').min(1, 'expected 1..1024 cores').max(MAX_WORKERS, 'expected 1..1024 cores').default(() => Math.min(MAX_WORKERS, availableParallelism())),
  workerProcesses: z.coerce.number({ error: 'expected a whole number of processes' }).int('expected a whole number of processes').min(1, 'expected at least 1 process').optional(),
});

export class ConfigError extends Error {}

/**
 * How one `serve` uses N cores (CCAUTH_WORKERS): signing runs on the libuv thread pool and an event
 * loop's own work (HTTP, parsing, HMAC, claims) is about a third of a token's CPU, so one loop keeps
 * about 3 cores of signing busy. Hence ceil(N / 3) event-loop processes (one process, no cluster,
 * for N <= 3), each with a thread pool of max(4, ceil(N / processes)). `forcedProcesses`
 * (CCAUTH_WORKER_PROCESSES) overrides the process count.
 */
export function workerPlan(workers: number, forcedProcesses?: number): { processes: number; poolSize: number } {
  const processes = forcedProcesses ?? Math.ceil(workers / 3);
  return { processes, poolSize: Math.max(4, Math.ceil(workers / processes)) };
}

/**
 * The client secret of `ccauth token` from CCAUTH_CLIENT_SECRET (not server configuration, but
 * read here: nothing else reads the environment). An argument would be visible in the process list.
 */
export function clientSecretFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.CCAUTH_CLIENT_SECRET;
  return value === undefined || value === '' ? undefined : value;
}

/** `host:port`, `[v6]:port` or `:port` (loopback); port 0 picks a free one. */
export function parseListenAddress(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, envName] of Object.entries(ENV_NAMES)) {
    const value = env[envName];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const name = ENV_NAMES[key as keyof typeof ENV_NAMES] ?? key;
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  if (c.workerProcesses !== undefined && c.workerProcesses > c.workers) {
    throw new ConfigError(`Invalid configuration:\n  CCAUTH_WORKER_PROCESSES: expected 1..${c.workers} (at most CCAUTH_WORKERS), got ${c.workerProcesses}`);
  }
  const upstreams = parseUpstreams(c.upstreams);
  const publicUrl = (c.publicUrl ?? `http://localhost:${c.port}`).replace(/\/+$/, '');
  return {
    ...c,
    publicUrl,
    issuer: `${publicUrl}/Auth`,
    dataDir: resolve(c.dataDir),
    databaseUrl: c.databaseUrl,
    databaseSchema: c.databaseSchema,
    redisUrl: c.redisUrl,
    masterKey: c.masterKey,
    demoPassword: c.demoPassword,
    upstreams,
    workerProcesses: c.workerProcesses,
    workerHeader: env.NODE_ENV === 'test',
    threadPoolSize: /^\d+$/.test(env.UV_THREADPOOL_SIZE ?? '') ? Number(env.UV_THREADPOOL_SIZE) : undefined,
  };
}

/** First path segments that belong to the region itself, never to an upstream. */
const RESERVED_PREFIXES = ['Auth', 'admin', 'docs', 'openapi.json', 'healthz', 'readyz', 'metrics', '.well-known'];

const upstreamSchema = z
  .object({
    prefix: z
      .string()
      .transform((p) => p.replace(/\/+$/, ''))
      .pipe(
        z
          .string()
          .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must be a path such as /crm or /crm/v2 (letters, digits and . _ ~ - between slashes)')
          .refine((p) => !p.split('/').some((segment) => segment === '.' || segment === '..'), 'must not contain . or .. segments')
          .refine((p) => !RESERVED_PREFIXES.includes(p.split('/')[1] ?? ''), `must not start with a path of the region itself (${RESERVED_PREFIXES.map((r) => `/${r}`).join(', ')})`),
      ),
    url: z
      .string()
      .url('must be an absolute http or https URL')
      .refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL')
      .refine((u) => {
        const url = new URL(u);
        return url.username === '' && url.password === '';
      }, 'must not contain credentials')
      .refine((u) => {
        const url = new URL(u);
        return url.search === '' && url.hash === '';
      }, 'must not have a query string or a fragment'),
    scopes: z
      .record(z.string(), z.string())
      .transform((scopes, ctx) => {
        const out: Partial<Record<UpstreamMethod | '*', string>> = {};
        for (const [method, scope] of Object.entries(scopes)) {
          const m = method.toUpperCase();
          if (m !== '*' && !(UPSTREAM_METHODS as readonly string[]).includes(m)) {
            ctx.addIssue({ code: 'custom', path: [method], message: `"${method}" is not a method an upstream can route (${UPSTREAM_METHODS.join(', ')} or *)` });
            continue;
          }
          if (!isKnownScope(scope)) {
            ctx.addIssue({ code: 'custom', path: [method], message: `"${scope}" is not a scope of the catalogue (${ALL_SCOPES.join(', ')})` });
            continue;
          }
          if (out[m as UpstreamMethod | '*'] !== undefined) {
            ctx.addIssue({ code: 'custom', path: [method], message: `${m} is given twice` });
            continue;
          }
          out[m as UpstreamMethod | '*'] = scope;
        }
        if (Object.keys(scopes).length === 0) ctx.addIssue({ code: 'custom', message: 'must name the scope of at least one method, e.g. {"GET":"users:read"}' });
        return out;
      }),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    description: z.string().max(2000).optional(),
  })
  .strict();

/**
 * CCAUTH_UPSTREAMS: a JSON array, or `@/path/to/file.json` to read it from a file. Each method's
 * scope must be from the catalogue: a token can only ever carry catalogue scopes, so a route that
 * needed another scope could never be called.
 */
export function parseUpstreams(raw: string | undefined): UpstreamConfig[] {
  if (raw === undefined) return [];
  const fail = (message: string): never => {
    throw new ConfigError(`Invalid configuration:\n  CCAUTH_UPSTREAMS: ${message}`);
  };
  let text = raw;
  if (raw.startsWith('@')) {
    const file = resolve(raw.slice(1));
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(`not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(json)) fail('must be a JSON array of upstreams, e.g. [{"prefix":"/crm","url":"http://crm.internal:9000/api","scopes":{"GET":"users:read"}}]');
  const entries = json as unknown[];
  const problems: string[] = [];
  const upstreams: UpstreamConfig[] = [];
  entries.forEach((entry, index) => {
    const prefix = entry !== null && typeof entry === 'object' && typeof (entry as { prefix?: unknown }).prefix === 'string' ? ` (${(entry as { prefix: string }).prefix})` : '';
    const parsed = upstreamSchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const where = issue.path.length ? `.${issue.path.map(String).join('.')}` : '';
        problems.push(`[${index}]${prefix}${where}: ${issue.message}`);
      }
      return;
    }
    const { '*': fallback, ...explicit } = parsed.data.scopes;
    const scopes: Partial<Record<UpstreamMethod, string>> = {};
    for (const method of UPSTREAM_METHODS) {
      // HEAD is a GET without the body: it needs what GET needs unless told otherwise.
      const scope = explicit[method] ?? (method === 'HEAD' ? explicit.GET : undefined) ?? fallback;
      if (scope !== undefined) scopes[method] = scope;
    }
    upstreams.push({ prefix: parsed.data.prefix, url: parsed.data.url.replace(/\/+$/, ''), scopes, timeoutMs: parsed.data.timeoutMs, description: parsed.data.description });
  });
  const seen = new Set<string>();
  for (const u of upstreams) {
    if (seen.has(u.prefix)) problems.push(`the prefix ${u.prefix} is configured twice`);
    seen.add(u.prefix);
  }
  if (problems.length) fail(`\n    ${problems.join('\n    ')}`);
  return upstreams;
}
