import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * All configuration, parsed and validated once. Sources, later wins: defaults, environment,
 * CLI flags. Nothing else in ccauth reads process.env.
 */
export interface Config {
  port: number;
  host: string;
  region: string;
  publicUrl: string;
  issuer: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL schema to use (tests use a fresh one per run). */
  databaseSchema: string | undefined;
  redisUrl: string | undefined;
  /** 32-byte master key (base64 or hex); when absent a key file with mode 0600 in dataDir is used. */
  masterKey: string | undefined;
  logLevel: string;
  logRequests: boolean;
  demoPassword: string | undefined;
  trustProxy: boolean;
  /** Failed client authentications allowed per client ID and per IP in a minute. */
  authFailuresPerMinute: number;
  /** How often an instance looks for changes made by other processes (CLI, other instances). */
  changePollMs: number;
  /** How often lastUsedAt is written for the credentials used since the last write. */
  lastUsedFlushMs: number;
}

export type ConfigOverrides = Partial<Record<keyof typeof ENV_NAMES, string | number | boolean | undefined>>;

const ENV_NAMES = {
  port: 'PORT',
  host: 'CCAUTH_HOST',
  region: 'CCAUTH_REGION',
  publicUrl: 'CCAUTH_PUBLIC_URL',
  dataDir: 'CCAUTH_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  databaseSchema: 'CCAUTH_DATABASE_SCHEMA',
  redisUrl: 'REDIS_URL',
  masterKey: 'CCAUTH_MASTER_KEY',
  logLevel: 'CCAUTH_LOG_LEVEL',
  logRequests: 'CCAUTH_LOG_REQUESTS',
  demoPassword: 'CCAUTH_DEMO_PASSWORD',
  trustProxy: 'CCAUTH_TRUST_PROXY',
  authFailuresPerMinute: 'CCAUTH_AUTH_FAILURES_PER_MINUTE',
  changePollMs: 'CCAUTH_CHANGE_POLL_MS',
  lastUsedFlushMs: 'CCAUTH_LAST_USED_FLUSH_MS',
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

const schema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('0.0.0.0'),
  region: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,31}$/, 'a region is 2..32 lowercase letters, digits or dashes, e.g. emea')
    .default('emea'),
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
  redisUrl: optionalString,
  masterKey: optionalString,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logRequests: bool.default(false),
  demoPassword: optionalString,
  trustProxy: bool.default(false),
  authFailuresPerMinute: z.coerce.number().int().min(1).max(1_000_000).default(20),
  changePollMs: z.coerce.number().int().min(10).max(60_000).default(250),
  lastUsedFlushMs: z.coerce.number().int().min(10).max(600_000).default(5000),
});

export class ConfigError extends Error {}

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
  };
}
