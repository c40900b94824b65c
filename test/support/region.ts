import { type Config, loadConfig } from '../../src/config.js';
import { ALL_SCOPES } from '../../src/domain/scopes.js';
import type { Account, Credential, User } from '../../src/domain/model.js';
import type { License } from '../../src/domain/licenses.js';
import { type Region, createRegion } from '../../src/server.js';
import { freePort, tempDir } from './env.js';

export interface TestRegion {
  region: Region;
  config: Config;
  baseUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts one region on a free loopback port with its own data directory (SQLite unless a
 * databaseUrl is given) and a quiet logger.
 */
export async function startRegion(env: Record<string, string> = {}): Promise<TestRegion> {
  const dir = tempDir();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = loadConfig({
      CCAUTH_DATA_DIR: env.CCAUTH_DATA_DIR ?? dir.path,
      PORT: String(port),
      CCAUTH_HOST: '127.0.0.1',
      CCAUTH_LOG_LEVEL: 'silent',
      CCAUTH_CHANGE_POLL_MS: '50',
      CCAUTH_AUTH_FAILURES_PER_MINUTE: '1000',
      ...env,
    });
    const region = await createRegion(config);
    try {
      await region.listen();
    } catch (err) {
      await region.close().catch(() => undefined);
      // Another test's server took the port between the probe and this listen: take another.
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5 && !env.PORT) continue;
      dir.remove();
      throw err;
    }
    return started(region, config, port, dir);
  }
}

function started(region: Region, config: Config, port: number, dir: { remove: () => void }): TestRegion {
  return {
    region,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    dataDir: config.dataDir,
    async close() {
      await region.close();
      dir.remove();
    },
  };
}

export interface Tenant {
  account: Account;
  admin: User;
  supervisor: User;
  agent: User;
}

let counter = 0;

/** An account with the switch on (unless told otherwise) and one user of each license. */
export async function createTenant(region: Region, options: { apiCredentialsEnabled?: boolean; name?: string } = {}): Promise<Tenant> {
  const n = `${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const account = await region.store.accounts.create({ name: options.name ?? `Tenant ${n}`, apiCredentialsEnabled: options.apiCredentialsEnabled ?? true });
  const make = (license: License) => region.store.users.create({ accountId: account.id, email: `${license}.${n}@example.test`, license });
  return { account, admin: await make('admin'), supervisor: await make('supervisor'), agent: await make('agent') };
}

export async function createCredential(region: Region, owner: User, scopes: string[] = [...ALL_SCOPES], name = 'test credential'): Promise<{ credential: Credential; clientSecret: string }> {
  return region.issuer.createUserLevel(owner, { name, scopes }, { id: owner.id, email: owner.email });
}

/** POST a form to the token endpoint the way curl would. */
export async function tokenRequest(baseUrl: string, form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  const response = await fetch(`${baseUrl}/Auth/connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}
