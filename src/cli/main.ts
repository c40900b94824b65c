import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { type Actor, CredentialIssuer } from '../auth/credentials.js';
import { MasterKey } from '../auth/master-key.js';
import { SecretHasher, generatePassword, hashPassword } from '../auth/secrets.js';
import { keyInfo, rotateKeys, KeySet } from '../auth/signing-keys.js';
import { type Config, ConfigError, type ConfigOverrides, loadConfig } from '../config.js';
import { seedDemo } from '../demo.js';
import { CcauthError } from '../domain/errors.js';
import { LICENSES, USER_STATUSES } from '../domain/licenses.js';
import {
  API_RATE_LIMIT_MAX,
  API_RATE_LIMIT_MIN,
  TOKEN_LIFETIME_MAX,
  TOKEN_LIFETIME_MIN,
} from '../domain/policy.js';
import { createRegion } from '../server.js';
import { Store } from '../store/store.js';

/** A bad input or a refused operation: printed as one clear line, exit code 1 (2 for usage). */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

interface GlobalOptions {
  json?: boolean;
  port?: string;
  host?: string;
  region?: string;
  publicUrl?: string;
  dataDir?: string;
  databaseUrl?: string;
  redisUrl?: string;
}

function configFrom(opts: GlobalOptions): Config {
  const overrides: ConfigOverrides = {
    port: opts.port,
    host: opts.host,
    region: opts.region,
    publicUrl: opts.publicUrl,
    dataDir: opts.dataDir,
    databaseUrl: opts.databaseUrl,
    redisUrl: opts.redisUrl,
  };
  return loadConfig(process.env, overrides);
}

const CLI_ACTOR: Actor = { id: null, email: 'ccauth-cli' };

function print(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

function onOff(value: string | undefined, flag: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new CliError(`${flag} must be on or off, not "${value}"`, 2);
}

function intInRange(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new CliError(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`, 2);
  return Number(value);
}

function oneOf<T extends string>(value: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`${flag} must be one of ${allowed.join(', ')}, not "${value}"`, 2);
  return value as T;
}

async function withStore<T>(opts: GlobalOptions, fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = configFrom(opts);
  const store = await Store.open(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    throw new CliError('--password-stdin was given but standard input could not be read', 2);
  }
}

export function buildProgram(): Command {
  const program = new Command('ccauth')
    .description('ccauth: API credentials, OAuth 2.0 client-credentials tokens and the API gateway of one region')
    .option('--json', 'print one JSON document on stdout')
    .option('--port <port>', 'port to listen on (PORT)')
    .option('--host <host>', 'address to listen on (CCAUTH_HOST)')
    .option('--region <region>', 'region name (CCAUTH_REGION)')
    .option('--public-url <url>', "the region's public base URL (CCAUTH_PUBLIC_URL)")
    .option('--data-dir <dir>', 'embedded store and key file directory (CCAUTH_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--redis-url <url>', 'Redis URL (REDIS_URL)')
    .showHelpAfterError()
    .exitOverride();
  const g = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

  program
    .command('serve')
    .description('run the region: token service, gateway, admin portal')
    .option('--demo', 'seed the demo account on an empty store')
    .action(async (_o, cmd: Command) => {
      const opts = g(cmd) as GlobalOptions & { demo?: boolean };
      const config = configFrom(opts);
      const region = await createRegion(config);
      const seed = opts.demo ? await seedDemo(region.store, region.issuer, config.demoPassword) : undefined;
      await region.listen();
      const address = region.app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const local = `http://localhost:${port}`;
      if (opts.json) {
        print(true, { listening: local, issuer: config.issuer, region: config.region, store: region.store.location, demo: seed ?? null }, () => '');
      } else {
        const lines = [
          `ccauth region ${config.region} listening on ${local} (issuer ${config.issuer})`,
          `store: ${region.store.dialect} ${region.store.location}`,
        ];
        if (seed) {
          lines.push(
            '',
            'Demo account "Demo Contact Center" created. Shown once, keep it:',
            `  sign-in: admin@demo.test, supervisor@demo.test, agent@demo.test  password: ${seed.passwordGenerated ? seed.password : '(CCAUTH_DEMO_PASSWORD)'}`,
            `  demo API credential: client_id ${seed.credential.clientId}  client_secret ${seed.credential.clientSecret}`,
            '',
            'Get a first token:',
            `  curl -s -X POST ${local}/Auth/connect/token \\`,
            `    -H 'content-type: application/x-www-form-urlencoded' \\`,
            `    -d 'grant_type=client_credentials&client_id=${seed.credential.clientId}&client_secret=${seed.credential.clientSecret}&scope=agents-availability%3Aread'`,
          );
        }
        process.stdout.write(lines.join('\n') + '\n');
      }
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await region.close();
    });

  program
    .command('migrate')
    .description('bring the store schema up to date')
    .action(async (_o, cmd: Command) => {
      const opts = g(cmd);
      const config = configFrom(opts);
      const store = await Store.open(config, { migrate: false });
      try {
        const applied = await store.migrate();
        print(opts.json, { applied, store: store.location }, () => (applied.length ? `applied: ${applied.join(', ')}` : 'already up to date'));
      } finally {
        await store.close();
      }
    });

  const account = program.command('account').description('accounts (tenants)');
  account
    .command('create')
    .requiredOption('--name <name>', 'account name')
    .option('--api-credentials <on|off>', 'the API credentials switch', 'off')
    .action(async (o: { name: string; apiCredentials: string }, cmd: Command) => {
      const opts = g(cmd);
      const name = o.name.trim();
      if (name.length === 0 || name.length > 200) throw new CliError('--name must be 1..200 characters', 2);
      const enabled = onOff(o.apiCredentials, '--api-credentials');
      const created = await withStore(opts, (store) => store.accounts.create({ name, apiCredentialsEnabled: enabled ?? false }));
      print(opts.json, created, () => `account ${created.id} created: ${created.name}, API credentials ${created.apiCredentialsEnabled ? 'on' : 'off'}`);
    });
  account
    .command('update <id>')
    .option('--api-credentials <on|off>', 'the API credentials switch')
    .option('--token-lifetime <seconds>', `access token lifetime (${TOKEN_LIFETIME_MIN}..${TOKEN_LIFETIME_MAX})`)
    .option('--rate-limit <perMinute>', `API requests per minute (${API_RATE_LIMIT_MIN}..${API_RATE_LIMIT_MAX})`)
    .option('--status <status>', 'active or disabled')
    .option('--name <name>', 'new name')
    .action(async (id: string, o: { apiCredentials?: string; tokenLifetime?: string; rateLimit?: string; status?: string; name?: string }, cmd: Command) => {
      const opts = g(cmd);
      const changes = {
        apiCredentialsEnabled: onOff(o.apiCredentials, '--api-credentials'),
        accessTokenLifetimeSeconds: intInRange(o.tokenLifetime, '--token-lifetime', TOKEN_LIFETIME_MIN, TOKEN_LIFETIME_MAX),
        apiRateLimitPerMinute: intInRange(o.rateLimit, '--rate-limit', API_RATE_LIMIT_MIN, API_RATE_LIMIT_MAX),
        status: oneOf(o.status, '--status', ['active', 'disabled'] as const),
        name: o.name?.trim(),
      };
      if (changes.name !== undefined && (changes.name.length === 0 || changes.name.length > 200)) throw new CliError('--name must be 1..200 characters', 2);
      if (Object.values(changes).every((v) => v === undefined)) throw new CliError('Nothing to change: give at least one of --api-credentials, --token-lifetime, --rate-limit, --status, --name', 2);
      const updated = await withStore(opts, (store) => store.accounts.update(id, changes));
      if (!updated) throw new CliError(`No account with id ${id}`);
      print(opts.json, updated, () => `account ${updated.id} updated`);
    });
  account.command('list').action(async (_o, cmd: Command) => {
    const opts = g(cmd);
    const accounts = await withStore(opts, (store) => store.accounts.list());
    print(opts.json, accounts, () =>
      table(
        accounts.map((a) => ({ ...a, apiCredentials: a.apiCredentialsEnabled ? 'on' : 'off' })),
        ['id', 'name', 'status', 'apiCredentials', 'accessTokenLifetimeSeconds', 'apiRateLimitPerMinute'],
      ),
    );
  });

  const user = program.command('user').description('users of an account');
  user
    .command('create')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--email <email>', 'email (unique in the region)')
    .requiredOption('--license <license>', LICENSES.join('|'))
    .option('--name <name>', 'display name')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (o: { account: string; email: string; license: string; name?: string; passwordStdin?: boolean }, cmd: Command) => {
      const opts = g(cmd);
      const license = oneOf(o.license, '--license', LICENSES) as (typeof LICENSES)[number];
      const email = z.email().safeParse(o.email.trim());
      if (!email.success) throw new CliError(`--email is not a valid email address: "${o.email}"`, 2);
      let password: string;
      let generated = false;
      if (o.passwordStdin) {
        password = readStdin().replace(/\r?\n$/, '');
        if (password.length < 8 || password.length > 200) throw new CliError('The password must be 8..200 characters', 2);
      } else {
        password = generatePassword();
        generated = true;
      }
      const created = await withStore(opts, async (store) => {
        if (!(await store.accounts.get(o.account))) throw new CliError(`No account with id ${o.account}`);
        if (await store.users.getByEmail(email.data)) throw new CliError(`A user with the email ${email.data.toLowerCase()} already exists in this region`);
        return store.users.create({ accountId: o.account, email: email.data, name: o.name, license, passwordHash: await hashPassword(password) });
      });
      const out = generated ? { ...created, password } : created;
      print(opts.json, out, () => `user ${created.email} created (${created.license})${generated ? `\npassword (shown once): ${password}` : ''}`);
    });
  user
    .command('update <email>')
    .option('--license <license>', LICENSES.join('|'))
    .option('--status <status>', USER_STATUSES.join('|'))
    .option('--name <name>', 'display name')
    .action(async (email: string, o: { license?: string; status?: string; name?: string }, cmd: Command) => {
      const opts = g(cmd);
      const changes = { license: oneOf(o.license, '--license', LICENSES), status: oneOf(o.status, '--status', USER_STATUSES), name: o.name?.trim() };
      if (Object.values(changes).every((v) => v === undefined)) throw new CliError('Nothing to change: give --license, --status or --name', 2);
      const updated = await withStore(opts, async (store) => {
        const existing = await store.users.getByEmail(email);
        if (!existing) throw new CliError(`No user with the email ${email}`);
        return store.users.update(existing.id, changes);
      });
      if (!updated) throw new CliError(`No user with the email ${email}`);
      print(opts.json, updated, () => `user ${updated.email} updated: ${updated.license}, ${updated.status}`);
    });
  user
    .command('list')
    .requiredOption('--account <id>', 'account id')
    .action(async (o: { account: string }, cmd: Command) => {
      const opts = g(cmd);
      const users = await withStore(opts, async (store) => {
        if (!(await store.accounts.get(o.account))) throw new CliError(`No account with id ${o.account}`);
        return store.users.listByAccount(o.account);
      });
      print(opts.json, users, () => table(users as unknown as Record<string, unknown>[], ['id', 'email', 'name', 'license', 'status']));
    });

  const credential = program.command('credential').description('API credentials');
  const issuerFor = (store: Store, config: Config) => new CredentialIssuer(store, new SecretHasher(MasterKey.load(config).derive('client-secret-hash')));
  const printCreated = (json: boolean | undefined, created: Awaited<ReturnType<CredentialIssuer['createUserLevel']>>) => {
    const out = { ...created.credential, clientSecret: created.clientSecret };
    print(json, out, () =>
      [
        `credential ${out.id} created: ${out.name} (${out.level}-level)`,
        `client_id:     ${out.clientId}`,
        `client_secret: ${out.clientSecret}`,
        `scopes:        ${out.scopes.join(' ')}`,
        'Copy and save the client secret now; it cannot be retrieved later.',
      ].join('\n'),
    );
  };
  credential
    .command('create')
    .description('create a user-level credential for an existing admin or supervisor')
    .requiredOption('--user <email>', "the owner's email")
    .requiredOption('--name <name>', 'credential name (1..100 characters)')
    .requiredOption('--scopes <scopes>', 'comma-separated scopes')
    .action(async (o: { user: string; name: string; scopes: string }, cmd: Command) => {
      const opts = g(cmd);
      const created = await withStore(opts, async (store, config) => {
        const owner = await store.users.getByEmail(o.user);
        if (!owner) throw new CliError(`No user with the email ${o.user}`);
        const account = await store.accounts.get(owner.accountId);
        if (account && !account.apiCredentialsEnabled) {
          process.stderr.write(`warning: API credentials are off for the account ${account.id}; tokens will be refused until it is turned on\n`);
        }
        return issuerFor(store, config).createUserLevel(owner, { name: o.name, scopes: o.scopes }, CLI_ACTOR);
      });
      printCreated(opts.json, created);
    });
  credential
    .command('import-account-level')
    .description('create a deprecated account-level credential (the only way one comes to exist)')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--name <name>', 'credential name (1..100 characters)')
    .requiredOption('--scopes <scopes>', 'comma-separated scopes')
    .action(async (o: { account: string; name: string; scopes: string }, cmd: Command) => {
      const opts = g(cmd);
      const created = await withStore(opts, async (store, config) => {
        if (!(await store.accounts.get(o.account))) throw new CliError(`No account with id ${o.account}`);
        return issuerFor(store, config).importAccountLevel(o.account, { name: o.name, scopes: o.scopes }, CLI_ACTOR);
      });
      printCreated(opts.json, created);
    });
  credential
    .command('list')
    .requiredOption('--account <id>', 'account id')
    .action(async (o: { account: string }, cmd: Command) => {
      const opts = g(cmd);
      const list = await withStore(opts, async (store) => {
        if (!(await store.accounts.get(o.account))) throw new CliError(`No account with id ${o.account}`);
        return store.credentials.listByAccount(o.account);
      });
      print(opts.json, list, () => table(list as unknown as Record<string, unknown>[], ['id', 'name', 'clientId', 'level', 'scopes', 'lastUsedAt']));
    });

  const keys = program.command('keys').description('token signing keys');
  keys.command('list').action(async (_o, cmd: Command) => {
    const opts = g(cmd);
    const rows = await withStore(opts, async (store, config) => {
      await new KeySet(store, MasterKey.load(config), config.region).ensureAndLoad();
      return (await store.keys.listAll()).map(keyInfo);
    });
    print(opts.json, rows, () => table(rows as unknown as Record<string, unknown>[], ['kid', 'state', 'createdAt', 'activatedAt', 'publishedUntil']));
  });
  keys
    .command('rotate')
    .description('start signing with the pre-published next key; keep the old one published until its tokens expire')
    .action(async (_o, cmd: Command) => {
      const opts = g(cmd);
      const result = await withStore(opts, async (store, config) => {
        const masterKey = MasterKey.load(config);
        await new KeySet(store, masterKey, config.region).ensureAndLoad();
        return rotateKeys(store, masterKey, config.region);
      });
      print(opts.json, result, () => `now signing with ${result.activated}; retired ${result.retired ?? '(none)'}; next key published: ${result.next}`);
    });

  program
    .command('token')
    .description('get an access token from a token endpoint')
    .requiredOption('--client-id <id>', 'client ID')
    .requiredOption('--client-secret <secret>', 'client secret')
    .requiredOption('--scope <scope>', 'scope')
    .option('--url <base>', "the region's base URL (default: CCAUTH_PUBLIC_URL)")
    .action(async (o: { clientId: string; clientSecret: string; scope: string; url?: string }, cmd: Command) => {
      const opts = g(cmd);
      const base = (o.url ?? configFrom(opts).publicUrl).replace(/\/+$/, '');
      let url: URL;
      try {
        url = new URL(`${base}/Auth/connect/token`);
      } catch {
        throw new CliError(`--url is not a valid URL: ${o.url}`, 2);
      }
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: o.clientSecret, scope: o.scope }),
        });
      } catch (err) {
        throw new CliError(`Could not reach ${url.origin}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
      }
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new CliError(`The token endpoint answered ${response.status} with a body that is not JSON`);
      }
      if (!response.ok) {
        const e = body as { error?: string; error_description?: string };
        if (opts.json) process.stdout.write(JSON.stringify(body, null, 2) + '\n');
        throw new CliError(`${response.status} ${e.error ?? 'error'}: ${e.error_description ?? ''}`.trim());
      }
      print(opts.json, body, () => JSON.stringify(body, null, 2));
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help / version text).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const message =
      err instanceof CliError || err instanceof ConfigError || err instanceof CcauthError ? err.message : `ccauth: ${(err as Error).message ?? String(err)}`;
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : err instanceof ConfigError ? 2 : 1;
  }
}

