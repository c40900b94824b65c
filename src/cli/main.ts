import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { Logger } from 'pino';
import type { PrometheusContentType } from 'prom-client';
import type { Actor, CreatedCredential } from '../auth/credentials.js';
import { type Config, type ConfigOverrides, clientSecretFromEnv, loadConfig, workerPlan } from '../config.js';
import type { DemoSeed } from '../demo.js';
import { ACCOUNT_STATUSES, LICENSES, USER_STATUSES } from '../domain/licenses.js';
import type { User } from '../domain/model.js';
import { API_RATE_LIMIT_MAX, API_RATE_LIMIT_MIN, TOKEN_LIFETIME_MAX, TOKEN_LIFETIME_MIN } from '../domain/policy.js';
import type { Store } from '../store/store.js';
import type { CredentialDetail } from './credentials.js';
import { usageReport } from '../usage/report.js';
import { UsageRepository } from '../store/usage.js';
import {
  CliError,
  EXIT_FAILURE,
  EXIT_USAGE,
  MAX_GRACE_SECONDS,
  UNUSED_DAYS_MAX,
  describeError,
  emailArg,
  intInRange,
  isUniqueViolation,
  nameArg,
  onOff,
  oneLine,
  oneOf,
  optionalNameArg,
  print,
  readPasswordFromStdin,
  readSecretFromStdin,
  SCOPE_FORMS,
  scopeArg,
  scopesArg,
  searchArg,
  table,
  warn,
} from './util.js';

interface GlobalOptions {
  json?: boolean;
  port?: string;
  host?: string;
  region?: string;
  signingAlg?: string;
  publicUrl?: string;
  dataDir?: string;
  databaseUrl?: string;
  redisUrl?: string;
  metricsAddr?: string;
}

function configFrom(opts: GlobalOptions): Config {
  const overrides: ConfigOverrides = {
    port: opts.port,
    host: opts.host,
    region: opts.region,
    signingAlg: opts.signingAlg,
    publicUrl: opts.publicUrl,
    dataDir: opts.dataDir,
    databaseUrl: opts.databaseUrl,
    redisUrl: opts.redisUrl,
    metricsAddr: opts.metricsAddr,
  };
  return loadConfig(process.env, overrides);
}

function packageVersion(): string {
  try {
    // src/cli/main.ts and dist/cli/main.js are both two levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, flush the counters, close the
 * store and Redis (region.close()), then let the process end on its own with exit code 0. Past
 * `timeoutMs` (CCAUTH_SHUTDOWN_TIMEOUT_MS, default 10 s), whether the close hangs or something
 * left open keeps the process alive, it logs why and exits 1. A second signal exits 1 at once.
 */
async function shutDown(region: { log: Logger; close(): Promise<void> }, timeoutMs: number, signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): Promise<void> {
  const log = region.log;
  log.info({ timeoutMs }, 'shutting down: no new connections, finishing in-flight requests');
  const started = Date.now();
  let closed = false;
  const deadline = setTimeout(() => {
    log.error({ timeoutMs }, closed ? 'shut down, but something still holds the process open; exiting 1' : 'shutdown did not finish in time; exiting 1');
    process.exit(1);
  }, timeoutMs);
  const force = () => {
    log.error('second signal during shutdown; exiting 1');
    process.exit(1);
  };
  for (const signal of signals) process.once(signal, force);
  await region.close();
  closed = true;
  for (const signal of signals) process.removeListener(signal, force);
  // Nothing else should keep the process alive now; if something does, the deadline says so.
  deadline.unref();
  log.info({ ms: Date.now() - started }, 'shut down');
  process.exitCode = 0;
}

/** What `serve` prints once listening: the `--json` document and the human lines. */
function serveBanner(config: Config, opts: GlobalOptions & { demo?: boolean }, port: number, store: Pick<Store, 'dialect' | 'location'>, seed: DemoSeed | undefined): { document: Record<string, unknown>; lines: string[] } {
  const url = localUrl(config.host, port);
  const hint = seed ? firstTokenCommands(url, seed) : undefined;
  const document = {
    status: 'listening',
    url,
    host: config.host,
    metrics: config.metricsAddr ? `${localUrl(config.metricsAddr.host, config.metricsAddr.port)}/metrics` : null,
    publicUrl: config.publicUrl,
    issuer: config.issuer,
    region: config.region,
    store: { dialect: store.dialect, location: store.location },
    pid: process.pid,
    demo: !opts.demo
      ? null
      : !seed
        ? { seeded: false, reason: 'the store already has accounts' }
        : {
            seeded: true,
            accountId: seed.accountId,
            users: seed.users,
            ...(seed.passwordGenerated ? { password: seed.password } : { passwordFrom: 'CCAUTH_DEMO_PASSWORD' }),
            credential: seed.credential,
            firstToken: hint,
          },
  };
  const lines = [`ccauth region ${config.region} listening on ${url} (issuer ${config.issuer})`, listenScope(config.host), `store: ${store.dialect} ${store.location}`];
  // What clients are told to use (it is in every token): say it, so a wrong one shows at start.
  lines.push(`public URL (CCAUTH_PUBLIC_URL): ${config.publicUrl}  token URL: ${config.publicUrl}/Auth/connect/token  API reference: ${config.publicUrl}/docs`);
  if (config.metricsAddr) lines.push(`metrics: ${localUrl(config.metricsAddr.host, config.metricsAddr.port)}/metrics`);
  if (opts.demo && !seed) lines.push('demo: the store already has accounts; nothing seeded');
  if (seed && hint) {
    lines.push(
      '',
      'Demo account "Demo Contact Center" created. Shown once, keep it:',
      `  sign-in: ${seed.users.map((u) => u.email).join(', ')}  password: ${seed.passwordGenerated ? seed.password : '(CCAUTH_DEMO_PASSWORD)'}`,
      `  admin portal: ${url}/admin/`,
      `  demo API credential: client_id ${seed.credential.clientId}  client_secret ${seed.credential.clientSecret}`,
      '',
      'Get a first token:',
      `  ${hint.curl}`,
      'or',
      `  ${hint.cli}`,
    );
  }
  return { document, lines };
}

/**
 * `serve` with several worker processes (src/cluster/primary.ts): this process only forks the
 * workers, holds the instance-wide budgets and counts, prints the banner once and forwards
 * SIGTERM/SIGINT. Resolves with the exit code.
 */
async function servePrimary(opts: GlobalOptions, config: Config, plan: { processes: number; poolSize: number }): Promise<number> {
  const [{ runPrimary }, { pino }] = await Promise.all([import('../cluster/primary.js'), import('pino')]);
  const logOptions = { level: config.logLevel, base: { service: 'ccauth', role: 'primary' } };
  const log = opts.json ? pino(logOptions, pino.destination({ fd: 2, sync: true })) : pino(logOptions);
  const threadPool = config.threadPoolSize ?? plan.poolSize;
  // /metrics of the whole instance: the workers' registries, summed (prom-client's cluster aggregation).
  let metrics: { close(): Promise<void> } | undefined;
  if (config.metricsAddr) {
    const [{ AggregatorRegistry }, { MetricsListener }] = await Promise.all([import('prom-client'), import('../http/metrics-listener.js')]);
    class InstanceRegistry extends AggregatorRegistry<PrometheusContentType> {
      override metrics(): Promise<string> {
        return this.clusterMetrics();
      }
    }
    const listener = new MetricsListener(config.metricsAddr, new InstanceRegistry(), log);
    try {
      await listener.start();
    } catch (err) {
      throw new CliError(`Could not start the region: CCAUTH_METRICS_ADDR: cannot listen on ${config.metricsAddr.host}:${config.metricsAddr.port}: ${(err as Error).message}`, EXIT_FAILURE);
    }
    metrics = listener;
  }
  const exitCode = await runPrimary({
    processes: plan.processes,
    poolSize: config.threadPoolSize === undefined ? plan.poolSize : undefined,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    log,
    announce(document, lines, workerPids) {
      if (opts.json) {
        print(true, { ...document, pid: process.pid, workers: config.workers, processes: plan.processes, threadPool, workerPids }, () => '');
      } else {
        process.stdout.write([...lines, `workers: ${config.workers} (${plan.processes} processes, pids ${workerPids.join(', ')}, thread pool ${threadPool} each)`].join('\n') + '\n');
      }
    },
  });
  await metrics?.close();
  return exitCode;
}

const CLI_ACTOR: Actor = { id: null, email: 'ccauth-cli' };

async function withStore<T>(opts: GlobalOptions, fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = configFrom(opts);
  const { Store } = await import('../store/store.js');
  const store = await Store.open(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

async function requireAccount(store: Store, id: string): Promise<void> {
  if (!(await store.accounts.get(id))) throw new CliError(`No account with the id ${id} (see ccauth account list)`);
}

async function requireUser(store: Store, email: string): Promise<User> {
  const user = await store.users.getByEmail(email);
  if (!user) throw new CliError(`No user with the email ${email}`);
  return user;
}

function localUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** Who can reach the region, and how to change it (the default is loopback only). */
function listenScope(host: string): string {
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  return loopback
    ? `listening on ${host} only: reachable from this machine; set CCAUTH_HOST=0.0.0.0 (or --host 0.0.0.0) to serve other hosts`
    : `listening on ${host}: reachable from other hosts; set CCAUTH_HOST=127.0.0.1 to serve this machine only`;
}

function firstTokenCommands(base: string, seed: DemoSeed): { curl: string; cli: string } {
  const { clientId, clientSecret } = seed.credential;
  return {
    curl:
      `curl -s -X POST ${base}/Auth/connect/token -H 'content-type: application/x-www-form-urlencoded' ` +
      `-d 'grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}&scope=agents-availability%3Aread'`,
    cli: `npx ccauth token --url ${base} --client-id ${clientId} --client-secret ${clientSecret} --scope agents-availability:read`,
  };
}

const HELP_FOOTER = `
Configuration comes from the environment (PORT, CCAUTH_HOST, CCAUTH_REGION, CCAUTH_PUBLIC_URL,
CCAUTH_DATA_DIR, DATABASE_URL, REDIS_URL, CCAUTH_MASTER_KEY, ...); a flag overrides its variable.
The CLI works on the same store as a running server; servers pick up its changes within a second.

With --json, a command prints exactly one JSON document (one line) on stdout; list commands print
a JSON array. Errors never go to stdout: one line "error: ..." on stderr.

Exit codes: 0 done; 1 failed (OAuth error from the token endpoint, server unreachable, store
error); 2 bad input (usage, invalid value, unknown or duplicate account/user/scope).

Examples:
  ccauth account create --name "Acme" --api-credentials on
  ccauth user create --account <id> --email ada@acme.test --license admin
  ccauth credential create --user ada@acme.test --name "CRM sync" --scopes users:read,stats --json
  ccauth token --client-id <id> --client-secret <secret> --scope stats --url http://localhost:8080`;

export function buildProgram(): Command {
  const program = new Command('ccauth')
    .description('ccauth: API credentials, OAuth 2.0 client-credentials tokens and the API gateway of one region')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--json', 'print one JSON document on stdout (list commands: a JSON array)')
    .option('--port <port>', 'port to listen on (PORT, default 8080)')
    .option('--host <host>', 'address to listen on (CCAUTH_HOST, default 127.0.0.1: this machine only; 0.0.0.0 to serve other hosts)')
    .option('--region <region>', 'region name (CCAUTH_REGION, default emea)')
    .option('--signing-alg <alg>', 'JWS alg of the signing keys the region makes: RS256 or ES256 (CCAUTH_SIGNING_ALG, default RS256; a switch signs from the next key rotation)')
    .option('--public-url <url>', "the region's public base URL (CCAUTH_PUBLIC_URL, default http://localhost:<port>)")
    .option('--data-dir <dir>', 'embedded store and key file directory (CCAUTH_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--redis-url <url>', 'Redis URL (REDIS_URL)')
    .option('--metrics-addr <host:port>', 'serve GET /metrics on its own listener, e.g. 127.0.0.1:9464 (CCAUTH_METRICS_ADDR, default off)')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText('after', HELP_FOOTER)
    .exitOverride();
  const g = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

  program
    .command('serve')
    .description('run the region: token service, gateway, admin portal')
    .option('--demo', 'on an empty store, seed the demo account "Demo Contact Center" and print how to get a first token')
    .addHelpText('after', '\nWith --json, one JSON line is printed once the server listens; logs then go to stderr.\nStops on SIGINT or SIGTERM.')
    .action(async (_o, cmd: Command) => {
      const opts = g(cmd) as GlobalOptions & { demo?: boolean };
      const config = configFrom(opts);
      const plan = workerPlan(config.workers, config.workerProcesses);
      // One process serves alone when its libuv thread pool is already the planned one (libuv's
      // default 4, or UV_THREADPOOL_SIZE set by the operator): the pool size is read when the
      // process starts, so a bigger pool needs a process started with it (a cluster worker).
      const clustered = plan.processes > 1 || (config.threadPoolSize === undefined && plan.poolSize !== 4);
      if (cluster.isPrimary && clustered) {
        process.exitCode = await servePrimary(opts, config, plan);
        return;
      }
      const { WorkerLink } = cluster.isWorker ? await import('../cluster/worker-link.js') : { WorkerLink: undefined };
      const link = WorkerLink ? new WorkerLink() : undefined;
      // With --json stdout carries only the one document: logs go to stderr.
      const [{ createRegion, createLogger }, { seedDemo }] = await Promise.all([import('../server.js'), import('../demo.js')]);
      let seed: DemoSeed | undefined;
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => {
        stop = resolve;
      });
      // Listening for the signals before the start: one that arrives while starting stops the
      // region once it is up, instead of killing the process half-way. A worker process is
      // stopped by its primary (SIGINT from a terminal reaches the whole process group: the
      // primary answers it for everyone) or by a SIGTERM of its own.
      const signals: NodeJS.Signals[] = link ? ['SIGTERM'] : ['SIGINT', 'SIGTERM'];
      const ignore = () => undefined;
      if (link) {
        process.on('SIGINT', ignore);
        link.onControl((kind) => (kind === 'force' ? process.exit(1) : stop()));
      }
      for (const signal of signals) process.once(signal, stop);
      const unlisten = () => {
        for (const signal of signals) process.removeListener(signal, stop);
      };
      let region: Awaited<ReturnType<typeof createRegion>>;
      try {
        // With --json, stdout carries the one JSON document: the logs go to stderr.
        // A worker of several leaves /metrics to the primary, which sums the workers' metrics.
        region = await createRegion(link ? { ...config, metricsAddr: undefined } : config, { ...(opts.json ? { log: createLogger(config, 2) } : {}), ...(link ? { cluster: link } : {}) });
      } catch (err) {
        unlisten();
        throw err;
      }
      try {
        // Of several workers, the first one seeds (the primary starts the others once it listens).
        if (opts.demo && (!cluster.isWorker || cluster.worker?.id === 1)) seed = await seedDemo(region.store, region.issuer, config.demoPassword);
        // Before Fastify sees the request, so that every answer carries it (errors and refusals too).
        if (config.workerHeader) region.app.server.prependListener('request', (_req, res) => void res.setHeader('x-ccauth-worker', String(process.pid)));
        await region.listen();
      } catch (err) {
        unlisten();
        await region.close().catch(() => undefined);
        throw new CliError(`Could not start the region: ${(err as Error).message}`, EXIT_FAILURE);
      }
      const address = region.app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const banner = serveBanner(config, opts, port, region.store, seed);
      if (link) {
        link.listening(banner.document, banner.lines);
      } else {
        const processes = { workers: config.workers, processes: 1, threadPool: config.threadPoolSize ?? plan.poolSize };
        if (opts.json) print(true, { ...banner.document, ...processes }, () => '');
        else process.stdout.write([...banner.lines, `workers: ${config.workers} (1 process, thread pool ${processes.threadPool})`].join('\n') + '\n');
      }
      await stopped;
      await shutDown(region, config.shutdownTimeoutMs, signals);
      if (link) {
        process.removeListener('SIGINT', ignore);
        link.close();
        // Closes the channel to the primary, which otherwise keeps this process alive.
        cluster.worker?.disconnect();
      }
    });

  program
    .command('migrate')
    .description('bring the store schema up to date (safe to run again: applies only what is missing)')
    .action(async (_o, cmd: Command) => {
      const opts = g(cmd);
      const config = configFrom(opts);
      const { Store } = await import('../store/store.js');
      const store = await Store.open(config, { migrate: false });
      try {
        const applied = await store.migrate();
        print(opts.json, { applied, store: { dialect: store.dialect, location: store.location } }, () =>
          applied.length ? `applied: ${applied.join(', ')}` : 'already up to date',
        );
      } finally {
        await store.close();
      }
    });

  const account = program.command('account').description('accounts (tenants): create, update, list');
  account
    .command('create')
    .description('create an account')
    .requiredOption('--name <name>', 'account name (1..100 characters)')
    .option('--api-credentials <on|off>', 'the API credentials switch', 'off')
    .option('--token-lifetime <seconds>', `access token lifetime (${TOKEN_LIFETIME_MIN}..${TOKEN_LIFETIME_MAX}, default 900)`)
    .option('--rate-limit <perMinute>', `API requests per minute (${API_RATE_LIMIT_MIN}..${API_RATE_LIMIT_MAX}, default 600)`)
    .action(async (o: { name: string; apiCredentials: string; tokenLifetime?: string; rateLimit?: string }, cmd: Command) => {
      const opts = g(cmd);
      const input = {
        name: nameArg(o.name),
        apiCredentialsEnabled: onOff(o.apiCredentials, '--api-credentials') ?? false,
        accessTokenLifetimeSeconds: intInRange(o.tokenLifetime, '--token-lifetime', TOKEN_LIFETIME_MIN, TOKEN_LIFETIME_MAX),
        apiRateLimitPerMinute: intInRange(o.rateLimit, '--rate-limit', API_RATE_LIMIT_MIN, API_RATE_LIMIT_MAX),
      };
      const created = await withStore(opts, (store) => store.accounts.create(input));
      print(opts.json, created, () => `account ${created.id} created: ${created.name}, API credentials ${created.apiCredentialsEnabled ? 'on' : 'off'}`);
    });
  account
    .command('update')
    .description('change settings of an account; running servers apply them within a second')
    .argument('<id>', 'account id')
    .option('--api-credentials <on|off>', 'the API credentials switch')
    .option('--token-lifetime <seconds>', `access token lifetime (${TOKEN_LIFETIME_MIN}..${TOKEN_LIFETIME_MAX})`)
    .option('--rate-limit <perMinute>', `API requests per minute (${API_RATE_LIMIT_MIN}..${API_RATE_LIMIT_MAX})`)
    .option('--status <status>', ACCOUNT_STATUSES.join('|'))
    .option('--name <name>', 'new name (1..100 characters)')
    .action(async (id: string, o: { apiCredentials?: string; tokenLifetime?: string; rateLimit?: string; status?: string; name?: string }, cmd: Command) => {
      const opts = g(cmd);
      const changes = {
        apiCredentialsEnabled: onOff(o.apiCredentials, '--api-credentials'),
        accessTokenLifetimeSeconds: intInRange(o.tokenLifetime, '--token-lifetime', TOKEN_LIFETIME_MIN, TOKEN_LIFETIME_MAX),
        apiRateLimitPerMinute: intInRange(o.rateLimit, '--rate-limit', API_RATE_LIMIT_MIN, API_RATE_LIMIT_MAX),
        status: oneOf(o.status, '--status', ACCOUNT_STATUSES),
        name: optionalNameArg(o.name),
      };
      if (Object.values(changes).every((v) => v === undefined)) {
        throw new CliError('Nothing to change: give at least one of --api-credentials, --token-lifetime, --rate-limit, --status, --name');
      }
      const updated = await withStore(opts, async (store) => {
        await requireAccount(store, id);
        const result = await store.accounts.update(id, changes);
        if (!result) throw new CliError(`No account with the id ${id} (see ccauth account list)`);
        return result;
      });
      print(opts.json, updated, () => `account ${updated.id} updated: ${updated.status}, API credentials ${updated.apiCredentialsEnabled ? 'on' : 'off'}, token lifetime ${updated.accessTokenLifetimeSeconds} s, ${updated.apiRateLimitPerMinute} API requests/min`);
    });
  account
    .command('list')
    .description('list all accounts of the region')
    .action(async (_o, cmd: Command) => {
      const opts = g(cmd);
      const accounts = await withStore(opts, (store) => store.accounts.list());
      print(opts.json, accounts, () =>
        table(
          accounts.map((a) => ({ ...a, apiCredentials: a.apiCredentialsEnabled ? 'on' : 'off' })),
          ['id', 'name', 'status', 'apiCredentials', 'accessTokenLifetimeSeconds', 'apiRateLimitPerMinute'],
        ),
      );
    });

  const user = program.command('user').description('users of an account: create, update, list');
  user
    .command('create')
    .description('create a user; without --password-stdin a random password is generated and printed once')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--email <email>', 'email (unique in the region; sign-in is by email)')
    .requiredOption('--license <license>', LICENSES.join('|'))
    .option('--name <name>', 'display name (1..100 characters; default: the part of the email before @)')
    .option('--password-stdin', 'read the password (8..200 characters, one line) from standard input')
    .action(async (o: { account: string; email: string; license: string; name?: string; passwordStdin?: boolean }, cmd: Command) => {
      const opts = g(cmd);
      const license = oneOf(o.license, '--license', LICENSES) as (typeof LICENSES)[number];
      const email = emailArg(o.email);
      const name = optionalNameArg(o.name);
      const generated = !o.passwordStdin;
      const { generatePassword, hashPassword } = await import('../auth/secrets.js');
      const password = o.passwordStdin ? readPasswordFromStdin() : generatePassword();
      const created = await withStore(opts, async (store) => {
        await requireAccount(store, o.account);
        const duplicate = new CliError(`A user with the email ${email} already exists in this region (emails are unique across the region)`);
        if (await store.users.getByEmail(email)) throw duplicate;
        try {
          return await store.users.create({ accountId: o.account, email, name, license, passwordHash: await hashPassword(password) });
        } catch (err) {
          if (isUniqueViolation(err)) throw duplicate;
          throw err;
        }
      });
      const out = generated ? { ...created, password } : created;
      print(opts.json, out, () => `user ${created.email} created (${created.license}) in account ${created.accountId}${generated ? `\npassword (shown once, keep it): ${password}` : ''}`);
    });
  user
    .command('update')
    .description('change the license, status or name of a user; running servers apply it within a second')
    .argument('<email>', "the user's email")
    .option('--license <license>', LICENSES.join('|'))
    .option('--status <status>', USER_STATUSES.join('|'))
    .option('--name <name>', 'display name (1..100 characters)')
    .action(async (emailInput: string, o: { license?: string; status?: string; name?: string }, cmd: Command) => {
      const opts = g(cmd);
      const email = emailArg(emailInput, 'EMAIL');
      const changes = { license: oneOf(o.license, '--license', LICENSES), status: oneOf(o.status, '--status', USER_STATUSES), name: optionalNameArg(o.name) };
      if (Object.values(changes).every((v) => v === undefined)) throw new CliError('Nothing to change: give at least one of --license, --status, --name');
      const updated = await withStore(opts, async (store) => {
        const existing = await requireUser(store, email);
        const result = await store.users.update(existing.id, changes);
        if (!result) throw new CliError(`No user with the email ${email}`);
        return result;
      });
      print(opts.json, updated, () => `user ${updated.email} updated: ${updated.license}, ${updated.status}`);
    });
  user
    .command('list')
    .description('list the users of an account')
    .requiredOption('--account <id>', 'account id')
    .action(async (o: { account: string }, cmd: Command) => {
      const opts = g(cmd);
      const users = await withStore(opts, async (store) => {
        await requireAccount(store, o.account);
        return store.users.listByAccount(o.account);
      });
      print(opts.json, users, () => table(users, ['id', 'email', 'name', 'license', 'status']));
    });

  const credential = program
    .command('credential')
    .description('API credentials: create, import account-level, list, show, update, rotate, end-grace, delete, usage')
    .addHelpText('after', `\nScopes: ${SCOPE_FORMS}.`);
  const issuerFor = async (store: Store, config: Config) => {
    const [{ CredentialIssuer }, { SecretHasher }, { MasterKey }] = await Promise.all([import('../auth/credentials.js'), import('../auth/secrets.js'), import('../auth/master-key.js')]);
    return new CredentialIssuer(store, new SecretHasher(MasterKey.load(config).derive('client-secret-hash')));
  };
  /** The operator's lifecycle operations on this store (audited with the CLI as actor). */
  const operationsOn = async (store: Store, config: Config) => {
    const { CredentialOperations } = await import('./credentials.js');
    const ops = new CredentialOperations(store, CLI_ACTOR);
    ops.hasherFactory = async () => {
      const [{ SecretHasher }, { MasterKey }] = await Promise.all([import('../auth/secrets.js'), import('../auth/master-key.js')]);
      return new SecretHasher(MasterKey.load(config).derive('client-secret-hash'));
    };
    return ops;
  };
  const printCreated = (json: boolean | undefined, created: CreatedCredential) => {
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
  const describeCredential = (c: CredentialDetail) =>
    [
      `credential ${c.id}: ${c.name} (${c.level}-level${c.level === 'account' ? ', deprecated' : ''})`,
      `client_id:    ${c.clientId}`,
      `owner:        ${c.ownerEmail ?? '(account)'}`,
      `scopes:       ${c.scopes.join(' ')}`,
      `created:      ${c.createdAt}`,
      `updated:      ${c.updatedAt}`,
      `last used:    ${c.lastUsedAt ?? 'never'}`,
      `rotated:      ${c.secretRotatedAt ?? 'never'}`,
      ...(c.previousSecretExpiresAt ? [`old secret valid until ${c.previousSecretExpiresAt} (end it now: ccauth credential end-grace ${c.id})`] : []),
    ].join('\n');
  credential
    .command('create')
    .description("create a user-level credential for an admin or supervisor; prints the secret once")
    .requiredOption('--user <email>', "the owner's email")
    .requiredOption('--name <name>', 'credential name (1..100 characters)')
    .requiredOption('--scopes <scopes>', "scopes the owner's license may grant, comma- or space-separated, e.g. users:read,stats")
    .action(async (o: { user: string; name: string; scopes: string }, cmd: Command) => {
      const opts = g(cmd);
      const email = emailArg(o.user, '--user');
      const name = nameArg(o.name);
      const scopes = scopesArg(o.scopes);
      const created = await withStore(opts, async (store, config) => {
        const owner = await requireUser(store, email);
        const result = await (await issuerFor(store, config)).createUserLevel(owner, { name, scopes }, CLI_ACTOR);
        const acc = await store.accounts.get(owner.accountId);
        if (acc && !acc.apiCredentialsEnabled) warn(`API credentials are off for the account ${acc.id}; tokens are refused until it is turned on (ccauth account update ${acc.id} --api-credentials on)`);
        if (acc && acc.status !== 'active') warn(`the account ${acc.id} is disabled; tokens are refused`);
        if (owner.status !== 'active') warn(`${owner.email} is disabled; tokens are refused until the user is active again`);
        return result;
      });
      printCreated(opts.json, created);
    });
  credential
    .command('import-account-level')
    .description('create a deprecated account-level credential (the only way one comes to exist); prints the secret once')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--name <name>', 'credential name (1..100 characters)')
    .requiredOption('--scopes <scopes>', 'scopes from the catalogue, comma- or space-separated')
    .action(async (o: { account: string; name: string; scopes: string }, cmd: Command) => {
      const opts = g(cmd);
      const name = nameArg(o.name);
      const scopes = scopesArg(o.scopes);
      const created = await withStore(opts, async (store, config) => {
        await requireAccount(store, o.account);
        return (await issuerFor(store, config)).importAccountLevel(o.account, { name, scopes }, CLI_ACTOR);
      });
      printCreated(opts.json, created);
    });
  credential
    .command('list')
    .description('list the credentials of an account, newest first (never their secrets)')
    .requiredOption('--account <id>', 'account id')
    .option('--q <text>', "only those whose name contains it, whose client ID starts with it, or whose owner's email contains it (case-insensitive)")
    .option('--scope <scope>', 'only those with this scope')
    .option('--unused-days <days>', `only those never used, or last used more than this many days ago (0..${UNUSED_DAYS_MAX})`)
    .action(async (o: { account: string; q?: string; scope?: string; unusedDays?: string }, cmd: Command) => {
      const opts = g(cmd);
      const filter = {
        ...(o.q !== undefined ? { q: searchArg(o.q) } : {}),
        ...(o.scope !== undefined ? { scope: scopeArg(o.scope) } : {}),
        ...(o.unusedDays !== undefined ? { unusedDays: intInRange(o.unusedDays, '--unused-days', 0, UNUSED_DAYS_MAX) } : {}),
      };
      const list = await withStore(opts, async (store, config) => {
        await requireAccount(store, o.account);
        return (await operationsOn(store, config)).list(o.account, filter);
      });
      print(opts.json, list, () =>
        table(
          list.map((c) => ({ ...c, owner: c.ownerEmail ?? (c.ownerUserId ? c.ownerUserId : '(account)') })),
          ['id', 'name', 'clientId', 'level', 'owner', 'scopes', 'lastUsedAt'],
        ),
      );
    });
  credential
    .command('show')
    .description('show one credential (never its secret): owner, scopes, last use, rotation and grace period')
    .argument('<id>', 'credential id')
    .action(async (id: string, _o, cmd: Command) => {
      const opts = g(cmd);
      const shown = await withStore(opts, async (store, config) => (await operationsOn(store, config)).show(id));
      print(opts.json, shown, () => describeCredential(shown));
    });
  credential
    .command('update')
    .description("change the name or the scopes (user-level: those the owner's license may grant); running servers apply it within a second")
    .argument('<id>', 'credential id')
    .option('--name <name>', 'new name (1..100 characters)')
    .option('--scopes <scopes>', 'the new scope list (replaces the old one), comma- or space-separated')
    .action(async (id: string, o: { name?: string; scopes?: string }, cmd: Command) => {
      const opts = g(cmd);
      const changes = { ...(o.name !== undefined ? { name: nameArg(o.name) } : {}), ...(o.scopes !== undefined ? { scopes: scopesArg(o.scopes) } : {}) };
      if (Object.keys(changes).length === 0) throw new CliError('Nothing to change: give --name, --scopes or both');
      const updated = await withStore(opts, async (store, config) => (await operationsOn(store, config)).update(id, changes));
      print(opts.json, updated, () => describeCredential(updated));
    });
  credential
    .command('rotate')
    .description('give the credential a new secret, printed once; without --grace the old secret and its tokens stop working at once')
    .argument('<id>', 'credential id')
    .option('--grace <seconds>', `keep the old secret (and its tokens) working this long (0..${MAX_GRACE_SECONDS}, default 0)`)
    .action(async (id: string, o: { grace?: string }, cmd: Command) => {
      const opts = g(cmd);
      const grace = intInRange(o.grace, '--grace', 0, MAX_GRACE_SECONDS) ?? 0;
      const { credential: rotated, clientSecret } = await withStore(opts, async (store, config) => (await operationsOn(store, config)).rotate(id, grace));
      print(opts.json, { ...rotated, clientSecret }, () =>
        [
          `credential ${rotated.id} has a new secret`,
          `client_id:     ${rotated.clientId}`,
          `client_secret: ${clientSecret}`,
          rotated.previousSecretExpiresAt ? `the old secret works until ${rotated.previousSecretExpiresAt}` : 'the old secret and every token it got no longer work',
          'Copy and save the client secret now; it cannot be retrieved later.',
        ].join('\n'),
      );
    });
  credential
    .command('end-grace')
    .description('end a running grace period now: the old secret and every token it got stop working')
    .argument('<id>', 'credential id')
    .addHelpText('after', '\nExit code 2 when no grace period is running.')
    .action(async (id: string, _o, cmd: Command) => {
      const opts = g(cmd);
      const ended = await withStore(opts, async (store, config) => (await operationsOn(store, config)).endGrace(id));
      print(opts.json, ended, () => `credential ${ended.id}: grace period ended; only the current secret works`);
    });
  credential
    .command('delete')
    .description('delete a credential; its tokens stop working within a second')
    .argument('<id>', 'credential id')
    .action(async (id: string, _o, cmd: Command) => {
      const opts = g(cmd);
      const deleted = await withStore(opts, async (store, config) => (await operationsOn(store, config)).delete(id));
      print(opts.json, { id: deleted.id, clientId: deleted.clientId, name: deleted.name, deleted: true }, () => `credential ${deleted.id} deleted: ${deleted.name} (${deleted.clientId})`);
    });
  credential
    .command('usage')
    .description('tokens issued, failed client authentications and API calls: the last 24 hours by hour, or the last 30 days by day')
    .argument('<id>', 'credential id')
    .option('--bucket <bucket>', 'hour (last 24 hours) or day (last 30 days)', 'hour')
    .action(async (id: string, o: { bucket: string }, cmd: Command) => {
      const opts = g(cmd);
      const bucket = oneOf(o.bucket, '--bucket', ['hour', 'day'] as const) as 'hour' | 'day';
      const report = await withStore(opts, async (store, config) => {
        const credential = await (await operationsOn(store, config)).require(id);
        // The admin API's report (src/usage/report.ts): every instance's counts added up.
        return usageReport(new UsageRepository(store.db), { clientId: credential.clientId }, { bucket });
      });
      print(opts.json, report, () =>
        table(
          report.items.map((i) => ({ ...i, rejected401: i.apiRejected['401'], rejected403: i.apiRejected['403'], rejected429: i.apiRejected['429'] })),
          ['at', 'tokensIssued', 'authFailures', 'apiCalls', 'rejected401', 'rejected403', 'rejected429'],
        ),
      );
    });

  const keys = program.command('keys').description('token signing keys: list, rotate');
  keys
    .command('list')
    .description('list the signing keys (next, active, retired) and until when each is published')
    .action(async (_o, cmd: Command) => {
      const opts = g(cmd);
      const rows = await withStore(opts, async (store, config) => {
        const { KeySet, keyInfo } = await import('../auth/signing-keys.js');
        const { MasterKey } = await import('../auth/master-key.js');
        await new KeySet(store, MasterKey.load(config), config.region, config.signingAlg).ensureAndLoad();
        return (await store.keys.listAll()).map(keyInfo);
      });
      print(opts.json, rows, () => table(rows, ['kid', 'state', 'alg', 'createdAt', 'activatedAt', 'retiredAt', 'publishedUntil']));
    });
  keys
    .command('rotate')
    .description('start signing with the pre-published next key; keep the old one published until its tokens expire')
    .action(async (_o, cmd: Command) => {
      const opts = g(cmd);
      const result = await withStore(opts, async (store, config) => {
        const { KeySet, rotateKeys } = await import('../auth/signing-keys.js');
        const { MasterKey } = await import('../auth/master-key.js');
        const masterKey = MasterKey.load(config);
        await new KeySet(store, masterKey, config.region, config.signingAlg).ensureAndLoad();
        return rotateKeys(store, masterKey, config.region, config.signingAlg);
      });
      print(opts.json, result, () => `now signing with ${result.activated}; retired ${result.retired ?? '(none)'}; next key published: ${result.next}`);
    });

  program
    .command('token')
    .description('get an access token from a token endpoint (client credentials grant) and print the token response')
    .requiredOption('--client-id <id>', 'client ID')
    .option('--client-secret <secret>', 'client secret (visible to other users in the process list: prefer CCAUTH_CLIENT_SECRET or --client-secret-stdin)')
    .option('--client-secret-stdin', 'read the client secret (one line) from standard input')
    .requiredOption('--scope <scope>', 'scope (several: comma- or space-separated)')
    .option('--url <base>', "the region's base URL (default: CCAUTH_PUBLIC_URL, else http://localhost:<PORT>)")
    .addHelpText(
      'after',
      '\nThe secret comes from --client-secret-stdin, else --client-secret, else the environment variable CCAUTH_CLIENT_SECRET.\nExit code 1 when the token endpoint answers an OAuth error (e.g. invalid_client) or cannot be reached.',
    )
    .action(async (o: { clientId: string; clientSecret?: string; clientSecretStdin?: boolean; scope: string; url?: string }, cmd: Command) => {
      const opts = g(cmd);
      if (o.clientSecretStdin && o.clientSecret !== undefined) throw new CliError('Give the client secret once: --client-secret or --client-secret-stdin, not both');
      const clientSecret = o.clientSecretStdin ? readSecretFromStdin() : (o.clientSecret ?? clientSecretFromEnv());
      if (clientSecret === undefined || clientSecret === '') throw new CliError('No client secret: set CCAUTH_CLIENT_SECRET, pipe it with --client-secret-stdin, or give --client-secret');
      // One separator rule everywhere: commas or spaces; the token endpoint takes them space-separated.
      const scope = o.scope.split(/[\s,]+/).filter((s) => s !== '').join(' ');
      if (scope === '') throw new CliError(`--scope needs at least one scope: ${SCOPE_FORMS.replace(/--scopes/g, '--scope')}`);
      const base = (o.url ?? configFrom(opts).publicUrl).trim().replace(/\/+$/, '');
      let url: URL;
      try {
        url = new URL(`${base}/Auth/connect/token`);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
      } catch {
        throw new CliError(`--url must be an http or https URL, not "${base}"`);
      }
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: clientSecret, scope }),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        const cause = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
        throw new CliError(`Could not reach the token endpoint ${url.href}: ${cause}`, EXIT_FAILURE);
      }
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new CliError(`The token endpoint ${url.href} answered ${response.status} with a body that is not JSON`, EXIT_FAILURE);
      }
      if (!response.ok) {
        const e = (body ?? {}) as { error?: unknown; error_description?: unknown };
        const code = typeof e.error === 'string' ? e.error : 'error';
        const description = typeof e.error_description === 'string' ? `: ${e.error_description}` : '';
        throw new CliError(`The token endpoint refused (${response.status} ${code})${description}`, EXIT_FAILURE);
      }
      print(opts.json, body, () => JSON.stringify(body, null, 2));
    });

  configureErrorsEverywhere(program);
  return program;
}

/** Commander's own usage errors: one line on stderr, with where to find help. */
function configureErrorsEverywhere(cmd: Command, path = cmd.name()): void {
  cmd.configureOutput({
    outputError: (str, write) => write(`${oneLine(str)} (see: ${path} --help)\n`),
  });
  for (const sub of cmd.commands) configureErrorsEverywhere(sub, `${path} ${sub.name()}`);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help / version text).
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const { message, exitCode } = describeError(err);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = exitCode;
    // A worker of `serve` that cannot start: its channel to the primary would keep it alive.
    if (cluster.isWorker) process.exit(exitCode);
  }
}
