import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { CcauthError } from '../domain/errors.js';
import { ALL_SCOPES, isKnownScope, splitScopeList } from '../domain/scopes.js';

/**
 * Exit codes of every command:
 *   0  done; with --json, stdout holds exactly one JSON document (one line)
 *   1  the operation failed for a reason other than the input: the token endpoint refused
 *      (OAuth error), a server could not be reached, the store failed
 *   2  bad input: a usage error, an invalid value, or a reference to something that does not
 *      exist or already exists (unknown account id, duplicate email, ...)
 * On failure stdout stays empty and one line `error: ...` goes to stderr, with or without --json.
 */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A bad input or a refused operation: printed as one clear line on stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
  ) {
    super(message);
  }
}

/** One line, whatever the message held. */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .join(' ');
}

/** The message and the exit code for anything a command threw. */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof CliError) return { message: oneLine(err.message), exitCode: err.exitCode };
  if (err instanceof ConfigError) return { message: oneLine(err.message), exitCode: EXIT_USAGE };
  // Domain errors carry an HTTP status: a 4xx is the caller's input, anything else a failure.
  if (err instanceof CcauthError) return { message: oneLine(err.message), exitCode: err.status < 500 ? EXIT_USAGE : EXIT_FAILURE };
  const message = err instanceof Error ? err.message : String(err);
  return { message: `ccauth: ${oneLine(message)}`, exitCode: EXIT_FAILURE };
}

/** With --json: one JSON document on one line. Otherwise the human text. */
export function print(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write((json ? JSON.stringify(value) : human()) + '\n');
}

export function warn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

export function table(rows: readonly object[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v));
  const get = (row: object, c: string) => (row as Record<string, unknown>)[c];
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(get(r, c)).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(get(r, c)))))].join('\n');
}

export function onOff(value: string | undefined, flag: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new CliError(`${flag} must be on or off, not "${value}"`);
}

export function intInRange(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new CliError(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

export function oneOf<T extends string>(value: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`${flag} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}

export const NAME_MAX = 100;

/** Names (accounts, users, credentials) are 1..100 characters after trimming (SPEC 2, 3). */
export function nameArg(value: string, flag = '--name'): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new CliError(`${flag} must not be empty`);
  const length = [...trimmed].length;
  if (length > NAME_MAX) throw new CliError(`${flag} must be at most ${NAME_MAX} characters after trimming, not ${length}`);
  return trimmed;
}

export function optionalNameArg(value: string | undefined, flag = '--name'): string | undefined {
  return value === undefined ? undefined : nameArg(value, flag);
}

/**
 * The one scope separator rule of every command, the domain's (SCOPE_LIST_FORMS: spaces or
 * commas, or both), worded for the flags.
 */
export const SCOPE_FORMS = 'scopes are comma- or space-separated, e.g. --scopes users:read,stats or --scopes "users:read stats"';

/**
 * A list of scopes from the catalogue, split by the domain's rule (splitScopeList, the admin API's
 * and the list filters' too: `--scopes a,b`, `--scopes "a b"`, `--scopes "a, b"`). Duplicates are
 * folded. Anything else (an unknown value, another separator) is one error that names the flag
 * and the accepted forms.
 */
export function scopesArg(value: string, flag = '--scopes'): string[] {
  const parsed = splitScopeList(value);
  if (!parsed.ok) {
    // The domain refused the form; name the first item it does not take as a scope value.
    const bad = value.split(/[\s,]+/).find((item) => item !== '' && !splitScopeList(item).ok);
    if (bad === undefined) throw new CliError(`${flag} needs at least one scope: ${SCOPE_FORMS}`);
    throw new CliError(`Unknown scope: ${bad} in ${flag} (${SCOPE_FORMS}; known scopes: ${ALL_SCOPES.join(', ')})`);
  }
  const unknown = parsed.scopes.find((s) => !isKnownScope(s));
  if (unknown !== undefined) throw new CliError(`Unknown scope: ${unknown} in ${flag} (${SCOPE_FORMS}; known scopes: ${ALL_SCOPES.join(', ')})`);
  return parsed.scopes;
}

/** One scope (a filter): a value of the catalogue. */
export function scopeArg(value: string | undefined, flag = '--scope'): string | undefined {
  if (value === undefined) return undefined;
  const scopes = scopesArg(value, flag);
  if (scopes.length !== 1) throw new CliError(`${flag} takes one scope, not ${scopes.length}`);
  return scopes[0];
}

/** A rotation's grace period, as the admin API allows it (graceSeconds 0..86400). */
export const MAX_GRACE_SECONDS = 86400;
/** `--unused-days`: up to ten years. */
export const UNUSED_DAYS_MAX = 3650;
export const SEARCH_MAX = 200;

/** A search text (`--q`): trimmed, 1..200 characters. */
export function searchArg(value: string, flag = '--q'): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new CliError(`${flag} must not be empty`);
  if ([...trimmed].length > SEARCH_MAX) throw new CliError(`${flag} must be at most ${SEARCH_MAX} characters`);
  return trimmed;
}

const EMAIL = z.email();

export function emailArg(value: string, flag = '--email'): string {
  const trimmed = value.trim();
  if (!EMAIL.safeParse(trimmed).success) throw new CliError(`${flag} is not a valid email address: "${value}"`);
  return trimmed.toLowerCase();
}

/** The password for --password-stdin: stdin up to EOF, without one trailing line break. */
export function readPasswordFromStdin(): string {
  let text: string;
  try {
    text = readFileSync(0, 'utf8');
  } catch (err) {
    throw new CliError(`--password-stdin was given but standard input could not be read: ${(err as Error).message}`);
  }
  const password = text.replace(/\r?\n$/, '');
  const length = [...password].length;
  if (length < 8 || length > 200) throw new CliError(`The password read from standard input must be 8..200 characters, not ${length}`);
  if (/[\r\n]/.test(password)) throw new CliError('The password read from standard input must be a single line');
  return password;
}

/** The client secret for --client-secret-stdin: stdin up to EOF, without one trailing line break. */
export function readSecretFromStdin(): string {
  let text: string;
  try {
    text = readFileSync(0, 'utf8');
  } catch (err) {
    throw new CliError(`--client-secret-stdin was given but standard input could not be read: ${(err as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new CliError('--client-secret-stdin was given but standard input was empty');
  if (/[\r\n]/.test(secret)) throw new CliError('The client secret read from standard input must be a single line');
  return secret;
}

/** Best effort: a unique-constraint violation of SQLite or PostgreSQL. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  return typeof e.message === 'string' && /unique constraint|duplicate key/i.test(e.message);
}
