// Runs the real `ccauth` command (bin/ccauth.js, which uses dist/ when it is built) as a child
// process, the way a user or a script does.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'ccauth.js');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The parent's environment without anything that configures ccauth, plus `env`. */
export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('CCAUTH_') || ['PORT', 'DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS'].includes(k)) continue;
    out[k] = v;
  }
  // One process unless a test asks for workers: `serve` defaults to every core, which differs by machine.
  return { ...out, CCAUTH_WORKERS: '1', ...env };
}

export function ccauth(args: string[], options: { env: Record<string, string>; input?: string; timeoutMs?: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ccauth ${args.join(' ')} did not finish in ${options.timeoutMs ?? 60_000} ms; stderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `ccauth ... --json`, expects exit 0 and exactly one JSON document on stdout. */
export async function ccauthJson<T = Record<string, unknown>>(args: string[], options: { env: Record<string, string>; input?: string }): Promise<T> {
  const r = await ccauth([...args, '--json'], options);
  if (r.code !== 0) throw new Error(`ccauth ${args.join(' ')} --json exited ${r.code}: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== 1) throw new Error(`ccauth ${args.join(' ')} --json printed ${lines.length} lines, not one JSON document: ${r.stdout}`);
  return JSON.parse(lines[0] as string) as T;
}

/** Runs the async functions with at most `limit` at a time, keeping their order in the result. */
export async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : /\.tsx?$/.test(name) ? st.mtimeMs : 0);
  }
  return newest;
}

function distIsFresh(): boolean {
  const main = join(root, 'dist', 'cli', 'main.js');
  return existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(root, 'src', 'cli'));
}

/**
 * bin/ccauth.js runs dist/ when it exists. `npm test` builds before running the tests; this
 * rebuilds when dist/ is missing or older than src/cli (so `node scripts/run-tests.mjs cli` right
 * after editing the CLI tests the edit). Changes elsewhere in src/ are left to `npm test`'s build:
 * a full tsc run on every test run while others edit would cost more than these tests. One build
 * at a time across the test files that run in parallel.
 */
export async function ensureBuilt(): Promise<void> {
  if (distIsFresh()) return;
  const lock = join(tmpdir(), `ccauth-cli-build-${Buffer.from(root).toString('hex').slice(-24)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`could not take the build lock ${lock}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (distIsFresh()) return;
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
    // tsc emits even with type errors elsewhere in the tree; the typecheck gate reports those.
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface Served {
  child: ChildProcess;
  /** The JSON document `serve --json` printed once listening. */
  info: Record<string, unknown> & { url: string };
  stdout: () => string;
  stderr: () => string;
  stop(): Promise<number | null>;
}

/**
 * `ccauth serve --json` as a child process: resolves once it printed its JSON line.
 * With `human: true` it runs without --json and resolves on the "listening on" line.
 */
export function serve(extraArgs: string[], env: Record<string, string>, options: { human?: boolean; timeoutMs?: number } = {}): Promise<Served> {
  const args = [bin, 'serve', ...extraArgs, ...(options.human ? [] : ['--json'])];
  const child = spawn(process.execPath, args, { cwd: root, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve((exited = code ?? (signal ? -1 : null)))));
  const stop = async () => {
    if (exited === undefined) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const code = await exit;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`serve did not start in time; stdout: ${stdout}; stderr: ${stderr}`));
    }, options.timeoutMs ?? 90_000);
    const check = () => {
      if (options.human) {
        const line = stdout.split('\n').find((l) => / listening on (http\S+)/.test(l));
        if (!line || !stdout.includes('\nstore: ')) return;
        clearTimeout(timer);
        const url = (/ listening on (http\S+)/.exec(line) as RegExpExecArray)[1] as string;
        resolve({ child, info: { url }, stdout: () => stdout, stderr: () => stderr, stop });
        return;
      }
      const nl = stdout.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        const info = JSON.parse(stdout.slice(0, nl)) as Served['info'];
        resolve({ child, info, stdout: () => stdout, stderr: () => stderr, stop });
      } catch (err) {
        void stop();
        reject(new Error(`serve --json printed a first line that is not JSON: ${stdout.slice(0, nl)} (${(err as Error).message})`));
      }
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      check();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening; stdout: ${stdout}; stderr: ${stderr}`));
    });
  });
}

/** POST /Auth/connect/token with client_secret_post. */
export async function tokenRequest(baseUrl: string, clientId: string, clientSecret: string, scope: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/Auth/connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls `probe` every 25 ms until it returns true; returns the elapsed ms, or throws after `withinMs`. */
export async function within(withinMs: number, probe: () => Promise<boolean>, what: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `npx --no-install ...` in the checkout. */
export function npx(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no-install', ...args], { cwd: root, env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A refused command: the exit code, nothing on stdout, one clear `error: ...` line on stderr. */
export function assertRefused(r: Result, pattern: RegExp, label: string, exitCode = 2): void {
  assert.equal(r.code, exitCode, `${label}: exit code ${r.code}, stderr: ${r.stderr}`);
  assert.equal(r.stdout, '', `${label}: nothing on stdout, got ${r.stdout}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `${label}: one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0] as string, /^error: /, label);
  assert.match(lines[0] as string, pattern, label);
}

/** Every row of every table of a data dir's SQLite store, read directly (WAL: readers never block). */
export function dumpStore(dataDir: string): Record<string, Record<string, unknown>[]> {
  const db = new Database(join(dataDir, 'ccauth.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[];
    return Object.fromEntries(tables.map(({ name }) => [name, db.prepare(`select * from "${name}" order by rowid`).all() as Record<string, unknown>[]]));
  } finally {
    db.close();
  }
}
