import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { type Logger, pino } from 'pino';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { compilePending, lazyCompilersFactory } from './http/lazy-compilers.js';
import { CredentialAdmin } from './admin/credentials.js';
import { adminRoutes } from './admin/routes.js';
import { SessionService } from './admin/sessions.js';
import { CursorCodec } from './admin/cursor.js';
import type { Redis } from 'ioredis';
import { platformApis } from './apis/index.js';
import { BackgroundRetry } from './changes/background-retry.js';
import { ChangeFeed } from './changes/feed.js';
import { BearerVerifier } from './gateway/bearer.js';
import { gateway } from './gateway/plugin.js';
import { AccountRateLimiter } from './gateway/rate-limit.js';
import { RevocationList } from './gateway/revocations.js';
import { upstreamMethodFallbacks, upstreamOverlaps, upstreamRoutes } from './gateway/upstream.js';
import { openApi } from './docs/openapi.js';
import { docsRoutes } from './docs/ui.js';
import { ClientCache, type ClientCacheOptions } from './auth/client-cache.js';
import { CredentialIssuer } from './auth/credentials.js';
import { FailureLimiter, clientFailureLimits } from './auth/failure-limiter.js';
import { LastUsedRecorder } from './auth/last-used.js';
import { MasterKey } from './auth/master-key.js';
import { TokenIntrospection } from './auth/introspection.js';
import { authRoutes } from './auth/routes.js';
import { SecretHasher } from './auth/secrets.js';
import { KeySet } from './auth/signing-keys.js';
import { TokenService } from './auth/token-service.js';
import { type Config, ConfigError } from './config.js';
import { edgeServerOptions, installEdge } from './http/errors.js';
import { MetricsListener } from './http/metrics-listener.js';
import { trustFunction } from './http/trust-proxy.js';
import { Store } from './store/store.js';
import { DEFAULT_RETENTION, RetentionPruner } from './store/retention.js';
import { DEFAULT_SESSION_POLICY } from './admin/sessions.js';
import { UsageRepository } from './store/usage.js';
import { UsageRecorder } from './usage/recorder.js';
import type { ClusterLink } from './cluster/worker-link.js';

/** Everything one region's process holds, composed from config. */
export interface Region {
  config: Config;
  app: FastifyInstance;
  store: Store;
  masterKey: MasterKey;
  hasher: SecretHasher;
  keys: KeySet;
  clients: ClientCache;
  feed: ChangeFeed;
  revocations: RevocationList;
  verifier: BearerVerifier;
  limiter: AccountRateLimiter;
  issuer: CredentialIssuer;
  /** Per-credential usage counts, flushed every CCAUTH_USAGE_FLUSH_MS and on close. */
  usage: UsageRecorder;
  log: Logger;
  /** Start listening; resolves to the address. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Never log a secret, a token or a password, whatever logs a request or an error. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'headers.authorization',
  'body',
  'req.body',
  'clientSecret',
  'client_secret',
  'password',
  'access_token',
];

/** The service's logger: stdout by default; `fd: 2` for stderr (when stdout carries a JSON answer). */
export function createLogger(config: Pick<Config, 'logLevel'>, fd: 1 | 2 = 1): Logger {
  const options = { level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'ccauth' } };
  return fd === 1 ? pino(options) : pino(options, pino.destination({ fd, sync: true }));
}

/**
 * What a region opened (store, timers, Redis connections, the HTTP server), closed in the reverse
 * order of opening: the server drains its in-flight requests first, the counters are flushed while
 * the store is still open, the store goes last. A start that fails half-way closes what it opened.
 */
class OwnedResources {
  private readonly closers: { what: string; close: () => unknown }[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly log: () => Logger | undefined) {}

  add(what: string, close: () => unknown): void {
    this.closers.push({ what, close });
  }

  closeAll(): Promise<void> {
    this.closing ??= (async () => {
      for (const { what, close } of this.closers.reverse()) {
        try {
          await close();
        } catch (err) {
          this.log()?.warn({ err }, `closing ${what} failed`);
        }
      }
    })();
    return this.closing;
  }
}

export async function createRegion(config: Config, options: RegionOptions = {}): Promise<Region> {
  let log: Logger | undefined;
  const owned = new OwnedResources(() => log);
  try {
    return await composeRegion(config, options, owned, (l) => (log = l));
  } catch (err) {
    await owned.closeAll();
    throw err;
  }
}

/** Tests shorten the client cache's TTLs through `clientCache`. */
export interface RegionOptions {
  log?: Logger;
  store?: Store;
  clientCache?: Pick<ClientCacheOptions, 'ttlMs' | 'staleIfErrorMs'>;
  cluster?: ClusterLink;
}

async function composeRegion(config: Config, options: RegionOptions, owned: OwnedResources, useLog: (log: Logger) => void): Promise<Region> {
  const log = options.log ?? createLogger(config);
  useLog(log);
  const store = options.store ?? (await Store.open(config));
  if (!options.store) owned.add('store', () => store.close());
  const masterKey = MasterKey.load(config);
  const hasher = new SecretHasher(masterKey.derive('client-secret-hash'));
  // The feed's cursor is read BEFORE keys and revocations are loaded: a change committed in
  // between is then delivered by the first poll instead of never.
  const feed = new ChangeFeed(store, config.changePollMs, log);
  await feed.init();
  const keys = new KeySet(store, masterKey, config.region, config.signingAlg);
  await keys.ensureAndLoad({ publishConfiguredAlg: true });
  // Stale-if-error only while this instance's feed fails too: the outage is the store's, not one read's.
  // Refresh-ahead where a read is a round trip (PostgreSQL), not on SQLite (src/auth/client-cache.ts).
  const clients = new ClientCache(store, undefined, { refreshAhead: store.dialect === 'postgres', ...options.clientCache, storeOutage: () => feed.failing });
  const revocations = new RevocationList();
  revocations.addAll(await store.revokedTokens.listLive());
  // A key reload that fails (e.g. a key row this instance cannot decrypt) is retried on its own
  // timer; it never holds up the feed, so later changes (deletes, revocations) still arrive.
  const keyReload = new BackgroundRetry('signing key reload', () => keys.reload(), log);
  owned.add('key reload retries', () => keyReload.stop());
  feed.onResync(async () => {
    clients.clear();
    revocations.addAll(await store.feedReads.revokedTokens.listLive());
    await keyReload.run();
  });
  feed.onChange(async (change) => {
    switch (change.kind) {
      case 'credential':
        clients.invalidateClient(change.ref);
        break;
      case 'user':
        clients.invalidateUser(change.ref);
        break;
      case 'account':
        clients.invalidateAccount(change.ref);
        break;
      case 'keys':
        await keyReload.run();
        break;
      case 'revocation': {
        // On the feed's own connection, like the change rows (StoreConnection.feedDb).
        const revoked = await store.feedReads.revokedTokens.get(change.ref);
        if (revoked) revocations.add(revoked.jti, revoked.expiresAt);
        break;
      }
    }
  });
  await feed.start();
  owned.add('change feed', () => feed.stop());

  // Redis (optional): other instances hear of a change at once instead of at their next poll,
  // and the accounts' API limits are shared.
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, log) : undefined;
  if (redis) owned.add('redis', () => redis.disconnect());
  const subscriber = redis?.duplicate();
  if (subscriber) {
    owned.add('redis subscriber', () => {
      subscriber.removeAllListeners('ready');
      subscriber.disconnect();
    });
  }
  const channel = `ccauth:${config.region}:changes`;
  const nudgeOthers = () => void redis?.publish(channel, '1').catch(() => undefined);
  if (redis && subscriber) {
    // Like the main connection: a lost Redis is logged (by connectRedis) and retried, never fatal.
    subscriber.on('error', (err: Error) => log.debug({ err: err.message }, 'Redis subscriber connection error; changes travel by polling until it is back'));
    store.changeSignal.add(nudgeOthers);
    owned.add('change nudges', () => store.changeSignal.delete(nudgeOthers));
    subscriber.on('message', () => feed.nudge());
    // (Re)subscribe whenever the connection becomes ready; until then polling carries changes.
    subscriber.on('ready', () => {
      void subscriber.subscribe(channel).catch((err) => log.warn({ err }, 'Redis subscribe failed; relying on polling'));
    });
  }
  // One of several worker processes of a `serve` (src/cluster/): a change written here nudges the
  // other workers at once through the primary; without Redis, budgets and failure counts are the primary's.
  const cluster = options.cluster;
  if (cluster) {
    store.changeSignal.add(cluster.changed);
    const stopNudges = cluster.onNudge(() => feed.nudge());
    owned.add('worker nudges', () => {
      store.changeSignal.delete(cluster.changed);
      stopNudges();
    });
  }
  const limiter = new AccountRateLimiter(redis ?? cluster?.leases, `ccauth:${config.region}:rl`, 200, (err) => log.debug({ err }, 'Redis rate-limit sync failed; using local counts'));
  limiter.start();
  owned.add('rate limiter', () => limiter.stop());
  const lastUsed = new LastUsedRecorder(store, config.lastUsedFlushMs, log);
  lastUsed.start();
  owned.add('last-used recorder', () => lastUsed.stop());
  const usage = new UsageRecorder(new UsageRepository(store.db), { flushMs: config.usageFlushMs }, log);
  usage.start();
  owned.add('usage recorder', () => usage.stop());
  const pruner = new RetentionPruner(store, { ...DEFAULT_RETENTION, sessionIdleMs: DEFAULT_SESSION_POLICY.idleMs, auditRetentionDays: config.auditRetentionDays }, log);
  pruner.start();
  owned.add('retention pruner', () => pruner.stop());

  const metrics = new Registry();
  metrics.setDefaultLabels({ region: config.region });
  collectDefaultMetrics({ register: metrics, prefix: 'ccauth_' });
  // A worker of several: the primary serves /metrics for the whole instance (CCAUTH_METRICS_ADDR).
  options.cluster?.exposeMetrics(metrics);
  const tokenRequests = new Counter({ name: 'ccauth_token_requests_total', help: 'Token endpoint requests by outcome', labelNames: ['outcome'], registers: [metrics] });

  const tokens = new TokenService({
    issuer: config.issuer,
    audience: config.publicUrl,
    region: config.region,
    keys,
    clients,
    hasher,
    failures: new FailureLimiter(clientFailureLimits(config.authFailuresPerMinute), { redis, source: cluster?.failures(`ccauth:${config.region}:authfail`), keyPrefix: `ccauth:${config.region}:authfail`, onRedisError: (err) => log.debug({ err }, 'Redis failure count failed; using local counts') }),
    lastUsed,
    usage,
  });

  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: !config.logRequests }),
    trustProxy: config.trustProxy === false ? false : trustFunction(config.trustProxy),
    // Request ids: the caller's X-Request-Id when well-formed, else ours; framework errors in SPEC's shape.
    ...edgeServerOptions(),
    // While closing, requests on open connections are still served (not 503): shutdown drains.
    return503OnClosing: false,
    // Route schemas are compiled on first use and in the background after listen, not before the
    // port opens (src/http/lazy-compilers.ts: the largest share of start-up).
    schemaController: { compilersFactory: lazyCompilersFactory() },
  });
  owned.add('http server', () => app.close());
  installEdge(app);

  // Every route, as it is added: an upstream prefix must not overlap a route of the region.
  const routes: { method: string | string[]; url: string; upstream?: string }[] = [];
  app.addHook('onRoute', (route) => void routes.push({ method: route.method, url: route.url, upstream: route.config?.upstream }));
  let overlaps: string[] = [];
  // Before any route: the OpenAPI document is generated from the routes' schemas.
  await openApi(app, { publicUrl: config.publicUrl, region: config.region, upstreams: config.upstreams });

  const verifier = new BearerVerifier({ issuer: config.issuer, audience: config.publicUrl, region: config.region, keys, clients, revocations });
  const introspection = new TokenIntrospection({ tokens, verifier, revocations, store, issuer: config.issuer, audience: config.publicUrl, region: config.region, usage });
  await app.register(authRoutes, {
    introspection,
    issuer: config.issuer,
    publicUrl: config.publicUrl,
    tokens,
    keys,
    countOutcome: (outcome: string) => tokenRequests.inc({ outcome }),
  });

  const upstreamResponses = new Counter({
    name: 'ccauth_upstream_responses_total',
    help: 'Requests forwarded to external upstreams, by prefix and outcome (status class, bad_gateway, gateway_timeout)',
    labelNames: ['upstream', 'outcome'],
    registers: [metrics],
  });
  const tokenRefusals = new Counter({ name: 'ccauth_gateway_token_refusals_total', help: 'Access tokens refused at the gateway, by reason (expired, revoked, deleted, descoped, rotated, disabled, ...)', labelNames: ['reason'], registers: [metrics] });
  const apiRequests = new Counter({ name: 'ccauth_gateway_requests_total', help: 'Gateway decisions by outcome', labelNames: ['outcome'], registers: [metrics] });
  await app.register(async (api) => {
    await gateway(api, {
      publicUrl: config.publicUrl,
      verifier,
      limiter,
      // The account's own limit, from the client record the token was verified with.
      accountLimit: (token) => token.client.account.apiRateLimitPerMinute,
      countRefusal: (reason: string) => tokenRefusals.inc({ reason }),
      usage,
      // Pre-bound per outcome: no label hashing per request.
      countOutcome: (() => {
        const bound = new Map<string, { inc(): void }>();
        return (outcome: string) => {
          let counter = bound.get(outcome);
          if (!counter) bound.set(outcome, (counter = apiRequests.labels({ outcome })));
          counter.inc();
        };
      })(),
    });
    await api.register(platformApis, { store });
    // An upstream that would clash with a route of the region is not registered; the start fails below.
    overlaps = upstreamOverlaps(config.upstreams, routes);
    if (overlaps.length) return;
    await api.register(upstreamRoutes, {
      upstreams: config.upstreams,
      region: config.region,
      trustProxy: trustFunction(config.trustProxy),
      countOutcome: (upstream, outcome) => upstreamResponses.inc({ upstream, outcome }),
    });
  });
  if (!overlaps.length) await app.register(upstreamMethodFallbacks, { upstreams: config.upstreams });

  const issuer = new CredentialIssuer(store, hasher);
  const sessions = new SessionService(store, undefined, undefined, { redis, source: cluster?.failures(`ccauth:${config.region}:signinfail`), keyPrefix: `ccauth:${config.region}:signinfail`, onRedisError: (err) => log.debug({ err }, 'Redis failure count failed; using local counts') });
  await app.register(adminRoutes, {
    prefix: '/admin/api',
    store,
    sessions,
    credentials: new CredentialAdmin(store, issuer, hasher, (clientId) => clients.invalidateClient(clientId), { issuer: config.issuer, audience: config.publicUrl, region: config.region }),
    secureCookies: config.publicUrl.startsWith('https://'),
    cursors: new CursorCodec(masterKey.derive('admin list cursors')),
  });
  await app.register(portal);

  app.get('/healthz', async () => ({ status: 'ok' }));
  // Readiness answers within READY_TIMEOUT_MS even when the store hangs; concurrent probes share one ping.
  let storePing: Promise<boolean> | undefined;
  const storeReachable = () => {
    storePing ??= store
      .ping()
      .then(() => true, () => false)
      .finally(() => (storePing = undefined));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS)));
    return Promise.race([storePing, late]).finally(() => clearTimeout(timer));
  };
  app.get('/readyz', async (_request, reply) => {
    const storeUp = await storeReachable();
    const checks = { store: storeUp ? 'ok' : 'unavailable', keys: keys.loaded ? 'loaded' : 'not_loaded' };
    if (storeUp && keys.loaded) return { status: 'ready', region: config.region, checks };
    return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', region: config.region, checks });
  });
  // /metrics is not on the public port: its own listener, when CCAUTH_METRICS_ADDR is set.
  const metricsListener = config.metricsAddr ? new MetricsListener(config.metricsAddr, metrics, log) : undefined;
  app.addHook('onClose', async () => metricsListener?.close());
  await app.register(docsRoutes, { region: config.region, publicUrl: config.publicUrl });

  const region: Region = {
    config,
    app,
    store,
    masterKey,
    hasher,
    keys,
    clients,
    feed,
    revocations,
    verifier,
    limiter,
    issuer,
    usage,
    log,
    async listen() {
      const address = await app.listen({ port: config.port, host: config.host });
      if (metricsListener) {
        try {
          log.info({ metrics: await metricsListener.start() }, 'metrics listening');
        } catch (err) {
          throw new ConfigError(`CCAUTH_METRICS_ADDR: cannot listen on ${config.metricsAddr?.host}:${config.metricsAddr?.port}: ${(err as Error).message}`);
        }
      }
      // The schemas not used yet, built now between requests: a broken one is reported at once.
      compilePending().catch((err: unknown) => log.error({ err }, 'a route schema cannot be compiled; that route answers 500'));
      return address;
    },
    close() {
      return owned.closeAll();
    },
  };
  if (!overlaps.length) overlaps = upstreamOverlaps(config.upstreams, routes);
  if (overlaps.length) {
    throw new ConfigError(`Invalid configuration:\n  ${overlaps.join('\n  ')}`);
  }
  return region;
}

/** /readyz answers within this, whatever the store does (SPEC 3 Operations: within 1 s). */
const READY_TIMEOUT_MS = 750;

/** The built Admin Portal (dist/portal), served at /admin/ with a fallback to its index page. */
const PORTAL_DIR = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../dist/portal/' : './portal/', import.meta.url));

async function portal(app: FastifyInstance): Promise<void> {
  const securityHeaders = {
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  app.get('/admin', async (_request, reply) => reply.redirect('/admin/', 301));
  if (!existsSync(PORTAL_DIR)) {
    app.get('/admin/*', async (_request, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The Admin Portal is not built: run `npm run build`.'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: PORTAL_DIR,
    prefix: '/admin/',
    wildcard: false,
    index: ['index.html'],
    setHeaders: (res, path) => {
      for (const [k, v] of Object.entries(securityHeaders)) res.setHeader(k, v);
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  // Client-side routes of the single-page app all load its index page.
  app.get('/admin/*', async (request, reply) => {
    if (request.url.startsWith('/admin/api/')) return reply.code(404).send({ error: 'not_found', message: 'No such admin API route' });
    return reply.headers({ ...securityHeaders, 'cache-control': 'no-cache' }).sendFile('index.html');
  });
}

async function connectRedis(url: string, log: Logger): Promise<Redis> {
  // Loaded only when REDIS_URL is set.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // A Redis that stops answering (the socket still open) fails commands after 1 s instead of
    // holding them; keep-alive notices a peer that vanished. (Also for the subscriber: duplicate() copies these.)
    commandTimeout: 1000,
    keepAlive: 10_000,
    retryStrategy: () => 1000,
  });
  let warned = false;
  redis.on('error', (err) => {
    if (!warned) log.warn({ err: err.message }, 'Redis unavailable; limits are local and changes travel by polling until it is back');
    warned = true;
  });
  redis.on('ready', () => {
    if (warned) log.info('Redis connection restored');
    warned = false;
  });
  return redis;
}
