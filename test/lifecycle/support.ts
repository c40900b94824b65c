// Shared pieces of the lifecycle tests: a store of either dialect for real `ccauth` processes,
// a user and a credential made through the CLI, a slow upstream, plain HTTP without keep-alive.
import { randomBytes } from 'node:crypto';
import { request as httpRequest, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Store } from '../../src/store/store.js';
import { ccauthJson } from '../cli/helpers.js';
import { dropSchema, postgresUrl, tempDir, uniqueSchema } from '../support/env.js';

export type Dialect = 'sqlite' | 'postgres';

export interface ProcessStore {
  dialect: Dialect;
  /** Creates and migrates the store once, before any process of the test starts. */
  prepare(): Promise<void>;
  /** The environment every `ccauth` process of the test gets (store and master key). */
  env: Record<string, string>;
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

export function processStore(dialect: Dialect): ProcessStore {
  const dir = tempDir('ccauth-lifecycle-');
  const env: Record<string, string> = { CCAUTH_DATA_DIR: dir.path, CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'), CCAUTH_LOG_LEVEL: 'info' };
  const schema = uniqueSchema('ccauth_life');
  if (dialect === 'postgres') Object.assign(env, { DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema });
  const open = () => Store.open(dialect === 'postgres' ? { dataDir: dir.path, databaseUrl: postgresUrl, databaseSchema: schema } : { dataDir: dir.path });
  return {
    dialect,
    env,
    open,
    prepare: async () => {
      // Schemas migrated at the same moment by other test files can trip each other up (the
      // migrator's own tables are looked up across schemas; issue 7 item 5): retry that case.
      for (let attempt = 1; ; attempt++) {
        try {
          await (await open()).close();
          return;
        } catch (err) {
          if (attempt >= 5 || !/kysely_migration|already exists/.test((err as Error).message)) throw err;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    },
    cleanup: async () => {
      if (dialect === 'postgres') await dropSchema(schema);
      dir.remove();
    },
  };
}

export interface Seeded {
  accountId: string;
  email: string;
  password: string;
  credential: { id: string; clientId: string; clientSecret: string };
}

/** An account with API credentials on, an admin with a known password, and one credential. */
export async function seedAdmin(env: Record<string, string>, scopes: string): Promise<Seeded> {
  const account = await ccauthJson<{ id: string }>(['account', 'create', '--name', 'Lifecycle', '--api-credentials', 'on'], { env });
  const email = `admin-${randomBytes(4).toString('hex')}@life.test`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  await ccauthJson(['user', 'create', '--account', account.id, '--email', email, '--license', 'admin', '--password-stdin'], { env, input: `${password}\n` });
  const credential = await ccauthJson<Seeded['credential']>(['credential', 'create', '--user', email, '--name', 'Lifecycle', '--scopes', scopes], { env });
  return { accountId: account.id, email, password, credential };
}

export interface SlowUpstream {
  url: string;
  /** Requests the upstream has received so far. */
  received(): number;
  close(): Promise<void>;
}

/** An HTTP upstream that answers 200 `{"path"}` after `delayMs`. */
export async function slowUpstream(delayMs: number): Promise<SlowUpstream> {
  let received = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    received++;
    const timer = setTimeout(() => {
      timers.delete(timer);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
    }, delayMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => received,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Answer {
  status: number;
  body: string;
}

/** One request on its own connection (no keep-alive), so a closed listener shows as a refused connection. */
export function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: { connection: 'close', ...(options.headers ?? {}) }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A client-credentials token request, on its own connection. */
export function tokenAnswer(base: string, clientId: string, clientSecret: string, scope: string): Promise<Answer> {
  return send(`${base}/Auth/connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }).toString(),
  });
}

/** Resolves with the exit code (a signal counts as -1), or null when the process outlives `ms`. */
export function exitWithin(child: import('node:child_process').ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? -1);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}
