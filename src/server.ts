import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { type Logger, pino } from 'pino';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { ChangeFeed } from './auth/change-feed.js';
import { ClientCache } from './auth/client-cache.js';
import { CredentialIssuer } from './auth/credentials.js';
import { FailureLimiter } from './auth/failure-limiter.js';
import { LastUsedRecorder } from './auth/last-used.js';
import { MasterKey } from './auth/master-key.js';
import { authRoutes } from './auth/routes.js';
import { SecretHasher } from './auth/secrets.js';
import { KeySet } from './auth/signing-keys.js';
import { TokenService } from './auth/token-service.js';
import type { Config } from './config.js';
import { Store } from './store/store.js';

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
  issuer: CredentialIssuer;
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

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'ccauth' } });
}

export async function createRegion(config: Config, options: { log?: Logger; store?: Store } = {}): Promise<Region> {
  const log = options.log ?? createLogger(config);
  const store = options.store ?? (await Store.open(config));
  const masterKey = MasterKey.load(config);
  const hasher = new SecretHasher(masterKey.derive('client-secret-hash'));
  const keys = new KeySet(store, masterKey, config.region);
  await keys.ensureAndLoad();
  const clients = new ClientCache(store);
  const feed = new ChangeFeed(store, config.changePollMs, log);
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
        await keys.reload();
        break;
    }
  });
  await feed.start();
  const lastUsed = new LastUsedRecorder(store, config.lastUsedFlushMs, log);
  lastUsed.start();

  const metrics = new Registry();
  metrics.setDefaultLabels({ region: config.region });
  collectDefaultMetrics({ register: metrics, prefix: 'ccauth_' });
  const tokenRequests = new Counter({ name: 'ccauth_token_requests_total', help: 'Token endpoint requests by outcome', labelNames: ['outcome'], registers: [metrics] });

  const tokens = new TokenService({
    issuer: config.issuer,
    audience: config.publicUrl,
    region: config.region,
    keys,
    clients,
    hasher,
    failures: new FailureLimiter(config.authFailuresPerMinute),
    lastUsed,
  });

  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: !config.logRequests }),
    trustProxy: config.trustProxy,
    // Request ids come from us, not from a client header.
    requestIdHeader: false,
  });

  await app.register(authRoutes, {
    issuer: config.issuer,
    publicUrl: config.publicUrl,
    tokens,
    keys,
    countOutcome: (outcome: string) => tokenRequests.inc({ outcome }),
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await store.ping();
      if (!keys.loaded) throw new Error('keys not loaded');
      return { status: 'ready', region: config.region };
    } catch {
      return reply.code(503).send({ status: 'unavailable', region: config.region });
    }
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));

  const issuer = new CredentialIssuer(store, hasher);
  let closed = false;
  return {
    config,
    app,
    store,
    masterKey,
    hasher,
    keys,
    clients,
    feed,
    issuer,
    log,
    async listen() {
      return app.listen({ port: config.port, host: config.host });
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await feed.stop();
      await lastUsed.stop();
      if (!options.store) await store.close();
    },
  };
}
