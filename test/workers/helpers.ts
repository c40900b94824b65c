// `ccauth serve` with several worker processes, spoken to the way many clients do: every request
// on a new connection, so that the cluster's round robin spreads them over the workers.
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { freePort, tempDir } from '../support/env.js';
import { type Served, ccauthJson, ensureBuilt, serve } from '../cli/helpers.js';

export interface FreshResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  /** The pid of the worker process that answered (x-ccauth-worker, sent when NODE_ENV=test). */
  worker: string;
}

/** One request on a connection of its own (no keep-alive, no pool). */
export function fresh(base: string, method: string, path: string, options: { headers?: Record<string, string>; form?: Record<string, string>; body?: string } = {}): Promise<FreshResponse> {
  const body = options.form ? new URLSearchParams(options.form).toString() : options.body;
  const headers: Record<string, string> = { connection: 'close', ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = { text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, worker: String(res.headers['x-ccauth-worker'] ?? '') });
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface Instance {
  served: Served;
  base: string;
  env: Record<string, string>;
  dir: { path: string; remove: () => void };
  json<T>(args: string[], input?: string): Promise<T>;
  close(): Promise<number | null>;
}

/** `ccauth serve --json` on a fresh SQLite store, by default CCAUTH_WORKERS=2 in 2 processes. */
export async function startInstance(extraEnv: Record<string, string> = {}): Promise<Instance> {
  await ensureBuilt();
  const dir = tempDir('ccauth-workers-');
  const port = await freePort();
  const env: Record<string, string> = { CCAUTH_DATA_DIR: dir.path, CCAUTH_WORKERS: '2', CCAUTH_WORKER_PROCESSES: '2', NODE_ENV: 'test', CCAUTH_LOG_LEVEL: 'warn', ...extraEnv };
  const served = await serve([], { ...env, PORT: String(port), CCAUTH_HOST: '127.0.0.1', CCAUTH_PUBLIC_URL: `http://127.0.0.1:${port}` });
  return {
    served,
    base: `http://127.0.0.1:${port}`,
    env,
    dir,
    json: <T>(args: string[], input?: string) => ccauthJson<T>(args, { env, input }),
    async close() {
      const code = await served.stop();
      dir.remove();
      return code;
    },
  };
}

export interface Tenant {
  accountId: string;
  email: string;
  password: string;
  credential: { id: string; clientId: string; clientSecret: string };
}

/** An account with API credentials on, an admin user and one credential with users:read. */
export async function tenant(instance: Instance, name: string, rateLimit: number): Promise<Tenant> {
  const account = await instance.json<{ id: string }>(['account', 'create', '--name', name, '--api-credentials', 'on']);
  await instance.json(['account', 'update', account.id, '--rate-limit', String(rateLimit)]);
  const email = `admin@${name.toLowerCase()}.test`;
  const user = await instance.json<{ password: string }>(['user', 'create', '--account', account.id, '--email', email, '--license', 'admin']);
  const credential = await instance.json<Tenant['credential']>(['credential', 'create', '--user', email, '--name', `${name} sync`, '--scopes', 'users:read']);
  return { accountId: account.id, email, password: user.password, credential };
}

export async function token(base: string, credential: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await fresh(base, 'POST', '/Auth/connect/token', { form: { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: credential.clientSecret, scope: 'users:read' } });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

/** Runs the tasks with at most `limit` at a time, in order. */
export async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/** The child processes of a process (Linux). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `ms` is not within `marginMs` of the end of a 60-second window (the limits' window). */
export async function awayFromWindowEnd(marginMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}
