// The server of the "gateway" scenario: one ccauth region (the BUILT code in dist/; run
// `npm run build` first) on a fresh data directory, seeded for the Agent Availability API, with
// a twin of that API's route that runs the same handler logic WITHOUT the gateway. Both routes
// are in this one process, so the scenario can load them alternately and compare.
//
//   node bench/gateway-server.mjs '{"accounts":40,"agents":20,"revoked":100000}'
//
// Prints one JSON document on stdout once it listens (see the end of this file); SIGTERM closes
// the region and exits normally, so that `node --cpu-prof` writes its profile.
//
// Seeding, through the region's own store and issuer:
// - `accounts` accounts, each with API credentials enabled and the highest API limit allowed
//   (100,000 requests a minute), one admin user owning a user-level credential with the scope
//   agents-availability:read, and `agents` agent users with skills and presences;
// - `revoked` revoked token ids (random UUIDs, expiring in an hour) written to the store BEFORE
//   the region starts, so the region loads them the way it does in production
//   (store.revokedTokens.listLive() into its in-memory RevocationList, which the gateway consults
//   on every request);
// - one access token per account from POST /Auth/connect/token; the loader rotates among them so
//   that no account comes near its API limit (see docs/benchmarks.md);
// - one more token, which is then revoked (in memory, as the change feed would), to show that a
//   revoked token is refused while the list is this big.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/config.js';
import { PRESENCES } from '../dist/domain/licenses.js';
import { createRegion } from '../dist/server.js';
import { Store } from '../dist/store/store.js';

const input = JSON.parse(process.argv[2] ?? '{}');
const ACCOUNTS = input.accounts ?? 40;
const AGENTS = input.agents ?? 20;
const REVOKED = input.revoked ?? 100_000;
const SCOPE = 'agents-availability:read';
const UNGATED_PATH = '/bench/ungated/agents-availability';

const timings = {};
const t0 = Date.now();
const dataDir = mkdtempSync(join(tmpdir(), 'ccauth-bench-gateway-'));
const config = loadConfig(
  { ...process.env, CCAUTH_DATA_DIR: dataDir, CCAUTH_HOST: '127.0.0.1', CCAUTH_LOG_LEVEL: process.env.CCAUTH_LOG_LEVEL ?? 'warn' },
  { port: input.port ?? 0 },
);

// 1. The revoked token ids, in the store before the region starts (one transaction).
const store = await Store.open(config);
const revokedExpiresAt = Date.now() + 3600_000;
await store.db.transaction().execute(async (trx) => {
  for (let i = 0; i < REVOKED; i++) {
    await store.revokedTokens.add({ jti: randomUUID(), accountId: 'bench-revoked', clientId: 'bench-revoked', expiresAt: revokedExpiresAt }, trx);
  }
});
timings.revokedInsertSec = (Date.now() - t0) / 1000;

// 2. The region, on that store: it reads the live revocations into memory as it starts.
const t1 = Date.now();
const region = await createRegion(config, { store });
timings.regionStartSec = (Date.now() - t1) / 1000;

// 3. Accounts, users, credentials.
const t2 = Date.now();
const accounts = [];
for (let a = 0; a < ACCOUNTS; a++) {
  const account = await region.store.accounts.create({ name: `Bench account ${a}`, apiCredentialsEnabled: true, apiRateLimitPerMinute: 100_000 });
  const admin = await region.store.users.create({ accountId: account.id, email: `admin${a}@bench.example`, name: `Admin ${a}`, license: 'admin' });
  const { credential, clientSecret } = await region.issuer.createUserLevel(admin, { name: `bench-${a}`, scopes: [SCOPE] }, { id: null, email: null });
  for (let i = 0; i < AGENTS; i++) {
    // Every agent speaks English, every other one French too; presences cycle through the four.
    const skills = i % 2 === 0 ? ['English', 'French'] : ['English'];
    await region.store.users.create({ accountId: account.id, email: `agent${i}.a${a}@bench.example`, name: `Agent ${i}`, license: 'agent', skills, presence: PRESENCES[i % PRESENCES.length] });
  }
  accounts.push({ id: account.id, clientId: credential.clientId, clientSecret });
}
timings.seedSec = (Date.now() - t2) / 1000;

// 4. The ungated twin, on the root app (outside the gateway's encapsulated context, so none of
// its hooks run): the same schemas and the same handler code as
// src/apis/agents-availability/routes.ts, with the account fixed instead of request.token's.
// createRegion has registered its plugins but the app is not ready until listen(), so a route
// can still be added here.
const fixedAccountId = accounts[0].id;
const accountIds = new Set(accounts.map((a) => a.id));
const agentsAvailabilitySchema = {
  querystring: { type: 'object', properties: { skillNames: { type: 'string' } } },
  response: {
    200: { type: 'object', properties: Object.fromEntries(PRESENCES.map((p) => [p, { type: 'integer' }])), required: [...PRESENCES] },
  },
};
region.app.get(UNGATED_PATH, { schema: agentsAvailabilitySchema }, async (request, reply) => {
  const raw = request.query.skillNames;
  const skills = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
  if (skills.length === 0) return reply.code(400).send({ SkillNames: ['The SkillNames field is required.'] });
  const wanted = skills.map((s) => s.toLowerCase());
  const counts = Object.fromEntries(PRESENCES.map((p) => [p, 0]));
  // The account of the token the loader sent with it (x-bench-account names it), so that the twin
  // reads the same rows as the gated route; without the header, the first account.
  const named = request.headers['x-bench-account'];
  const accountId = typeof named === 'string' && accountIds.has(named) ? named : fixedAccountId;
  for (const user of await region.store.users.listByAccount(accountId)) {
    const has = new Set(user.skills.map((s) => s.toLowerCase()));
    if (wanted.every((s) => has.has(s))) counts[user.presence] = (counts[user.presence] ?? 0) + 1;
  }
  return counts;
});

const address = await region.listen();
const baseUrl = address.replace('[::1]', '127.0.0.1');

// 5. Tokens, through the token endpoint like any client.
async function token(account) {
  const response = await fetch(`${baseUrl}/Auth/connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: account.clientId, client_secret: account.clientSecret, scope: SCOPE }).toString(),
  });
  const body = await response.json();
  if (response.status !== 200 || !body.access_token) throw new Error(`token request for ${account.clientId} returned ${response.status}: ${JSON.stringify(body)}`);
  return body.access_token;
}
const tokens = [];
for (const account of accounts) tokens.push(await token(account));

// 6. One token revoked now: it must get a 401 for the rest of the run.
const revokedToken = await token(accounts[0]);
const { jti: revokedJti, exp } = JSON.parse(Buffer.from(revokedToken.split('.')[1], 'base64url').toString('utf8'));
region.revocations.add(revokedJti, exp * 1000);
timings.totalSec = (Date.now() - t0) / 1000;

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await region.close();
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(
  JSON.stringify({
    pid: process.pid,
    baseUrl,
    gatedPath: '/agents-availability?skillNames=English',
    ungatedPath: `${UNGATED_PATH}?skillNames=English`,
    scope: SCOPE,
    accounts: accounts.length,
    agentsPerAccount: AGENTS,
    ungatedAccountId: fixedAccountId,
    accountIds: accounts.map((a) => a.id),
    tokens,
    revokedToken,
    revokedListSize: region.revocations.size,
    revokedInStore: REVOKED,
    apiRateLimitPerMinute: 100_000,
    timings,
  }) + '\n',
);
