// Scenario "scale": ccauth on a store of 1,000,000 credentials (--credentials) and 100,000
// revoked token ids (--revoked), SQLite and PostgreSQL (--stores). Per store:
//  1. bench/load-data.mjs fills a fresh store (SQLite: a new data directory; PostgreSQL: a new
//     schema, dropped afterwards) with the credentials, spread over 1,000 accounts of 10 admin
//     users, and keeps the secrets of 10,000 of them (spread over all);
//  2. region A ("none") starts on it with nothing revoked;
//  3. a token T is issued by A; then the revoked ids are written (T's id among them) and region B
//     ("revoked") starts on the same store and loads them: its start-up to /readyz is the
//     start-up figure (1M credentials + 100,000 revoked ids in the store);
//  4. checks: T passes the gateway of A and is refused (401) by B;
//  5. token endpoint of B: 10,000 distinct credentials in rotation (each request the next
//     credential, over all connections) against one hot credential, after an unmeasured pass of
//     each (the first pass over the 10,000 is also reported: cold caches, a store query each) and
//     35 s more of rotation, unmeasured (STEADY_SEC: a TTL of the client cache and the flushes),
//     and each measured rotation round after a warm-up of one pass over the 10,000;
//  6. gateway: GET /agents-availability through A (none revoked) against B (100,000 revoked),
//     the tokens of 100 credentials of different accounts in rotation;
//  5 and 6 in rounds whose order is reversed every other round; RSS of B idle and after the load.
// Both regions run with CCAUTH_WORKERS=1 on the server core, the same CCAUTH_PUBLIC_URL and master
// key, so a token of one is valid at the other.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ccauthPeer from '../peers/ccauth.mjs';
import { BENCH_DIR, check, coreLayout, decodeJwt, fmt, log, markdownTable, memoryOfTree, pinProcessesByName, roundRobin, runLoad, sendOnce, sleep, spawnNodePinned, table, warn } from '../lib.mjs';

export const name = 'scale';
export const description = '1M credentials, 100,000 revoked ids (SQLite, PostgreSQL): start-up, 10,000 credentials in rotation vs one, gateway with revoked ids vs none, RSS';

export const TARGETS = {
  readyMs: 2000,
  rotationVsHot: 0.9,
  gatewayRevokedVsNone: 0.9,
  connections: 16,
  rotation: 10_000,
  gatewayTokens: 100,
};

/** The client cache's TTL (src/auth/client-cache.ts CLIENT_TTL_MS) and 5 s of flushes: the steady pass before the measured rotation. */
const STEADY_SEC = 35;
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const ACCEPT = 'application/vnd.newvoicemedia.v1+json';
const GATED_PATH = '/agents-availability?skillNames=English';

/** opts: { credentials, revoked, stores: ['sqlite', 'postgres'], durationSec, warmupSec, rounds, idleSec, ccauthNodeArgs }. */
export async function run(opts) {
  const { credentials = 1_000_000, revoked = 100_000, stores = ['sqlite', 'postgres'], durationSec, warmupSec, rounds = 2, idleSec = 3, ccauthNodeArgs = [] } = opts;
  const results = [];
  for (const store of stores) {
    log(`scale: ${store}: loading ${fmt.n(credentials)} credentials...`);
    try {
      results.push(await runStore({ store, credentials, revoked, durationSec, warmupSec, rounds, idleSec, ccauthNodeArgs }));
    } catch (err) {
      log(`scale: ${store} failed: ${err.message}`);
      results.push({ store, error: err.message.split('\n')[0] });
    }
  }
  return report({ credentials, revoked, durationSec, warmupSec, rounds, results });
}

async function runStore({ store, credentials, revoked, durationSec, warmupSec, rounds, idleSec, ccauthNodeArgs }) {
  const layout = coreLayout(1, { nproc: availableParallelism() });
  const dataDir = mkdtempSync(join(tmpdir(), `ccauth-bench-scale-${store}-`));
  const masterKey = randomBytes(32).toString('base64');
  const pgUrl = process.env.DATABASE_BENCH_URL ?? DEFAULT_PG_URL;
  const schema = `bench_scale_${randomBytes(5).toString('hex')}`;
  const storeEnv = { CCAUTH_MASTER_KEY: masterKey, ...(store === 'postgres' ? { DATABASE_URL: pgUrl, CCAUTH_DATABASE_SCHEMA: schema } : {}) };
  const storeArgs = ['--store', store, '--data-dir', dataDir, ...(store === 'postgres' ? ['--database-url', pgUrl, '--schema', schema] : [])];
  const servers = [];
  let unpinStore = null;
  try {
    if (store === 'postgres') await pgQuery(pgUrl, 'select 1');
    // A local PostgreSQL would share the server core with ccauth: it is moved to the loader's
    // core for the run, as the loader is (in production the store runs elsewhere).
    if (store === 'postgres' && /@(127\.0\.0\.1|localhost)[:/]/.test(pgUrl)) {
      unpinStore = pinProcessesByName('postgres', layout.loaderCores);
      if (unpinStore) log(`  local PostgreSQL moved to core(s) ${layout.loaderCores.join(',')} for the run`);
      else warn('could not move the local PostgreSQL off the server core: it shares it with ccauth');
    }
    const loaded = await loadData([...storeArgs, '--credentials', String(credentials), '--revoked', '0', '--sample', String(TARGETS.rotation)], storeEnv);
    log(`  loaded in ${loaded.timings.totalSec} s (credentials ${loaded.timings.credentialsSec} s): ${fmt.n(loaded.counts.accounts)} accounts, ${fmt.n(loaded.counts.users)} users, ${fmt.n(loaded.counts.credentials)} credentials`);
    const secrets = JSON.parse(readFileSync(loaded.secretsFile, 'utf8')).credentials;

    // Region A: nothing revoked. Its public URL is shared with B, so tokens are valid at both.
    const env = { ...storeEnv, CCAUTH_WORKERS: '1', UV_THREADPOOL_SIZE: '1' };
    const none = await ccauthPeer.start({ core: layout.serverCores, demo: false, dataDir, env: { ...env, CCAUTH_PUBLIC_URL: 'http://127.0.0.1:8080' }, label: 'ccauth (none revoked)', nodeArgs: ccauthNodeArgs });
    servers.push(none);
    log(`  region A (none revoked): /readyz after ${fmt.n(none.readyMs)} ms`);
    const tokenT = await issue(none, secrets[0], 'agents-availability:read');
    const { jti } = decodeJwt(tokenT).payload;

    const rev = await loadData([...storeArgs, '--only-revoked', '--revoked', String(revoked), '--revoke-jti', jti], storeEnv);
    log(`  ${fmt.n(rev.counts.revoked)} revoked ids written in ${rev.timings.totalSec} s`);
    const full = await ccauthPeer.start({ core: layout.serverCores, demo: false, dataDir, env: { ...env, CCAUTH_PUBLIC_URL: 'http://127.0.0.1:8080' }, label: 'ccauth (revoked)', nodeArgs: ccauthNodeArgs });
    servers.push(full);
    log(`  region B (${fmt.n(rev.counts.revoked)} revoked): /readyz after ${fmt.n(full.readyMs)} ms`);
    await sleep(idleSec * 1000);
    const idle = memoryOfTree(full.pid);

    // Checks: T works at A, is refused at B; a loaded credential gets a token.
    const gated = (server, token) => sendOnce({ url: `${server.baseUrl}${GATED_PATH}`, method: 'GET', headers: { authorization: `Bearer ${token}`, accept: ACCEPT } });
    const tAtNone = (await gated(none, tokenT)).status;
    const tAtFull = (await gated(full, tokenT)).status;
    if (tAtNone !== 200 || tAtFull !== 401) throw new Error(`the token revoked in the store got ${tAtNone} from region A (want 200) and ${tAtFull} from B (want 401)`);

    // Gateway first: A (none revoked) vs B (revoked), tokens of 100 credentials of different
    // accounts. Measured before B's token runs, so that the two regions differ in the revoked ids
    // alone (after the token runs B alone would also be writing lastUsedAt and usage for 10,000
    // credentials: docs/benchmarks.md, "PostgreSQL gateway").
    const picks = pickAccounts(secrets, TARGETS.gatewayTokens);
    const gatewayTokens = [];
    for (const c of picks) gatewayTokens.push(await issue(full, c, 'agents-availability:read'));
    const gatedRequests = gatewayTokens.map((t) => ({ method: 'GET', headers: { authorization: `Bearer ${t}`, accept: ACCEPT } }));
    for (const server of [none, full]) {
      const res = await gated(server, gatewayTokens[0]);
      if (res.status !== 200) throw new Error(`gateway of ${server.name} answered ${res.status}: ${res.text.slice(0, 300)}`);
    }
    const gate = (server, seconds) =>
      runLoad({ request: { url: `${server.baseUrl}${GATED_PATH}`, method: 'GET' }, requests: gatedRequests, connections: TARGETS.connections, durationSec: seconds, warmupSec, serverPid: server.pid, serverCores: layout.serverCores, loaderCore: layout.loaderCores[0], keepLatencies: true });
    const gateWarmSec = Math.max(2, durationSec / 2) / 2;
    await gate(none, gateWarmSec);
    await gate(full, gateWarmSec);
    const gatewayRuns = await roundRobin(
      { none: (s) => gate(none, s), revoked: (s) => gate(full, s) },
      { durationSec, rounds, onResult: (n, m, r) => log(`  round ${r + 1}, gateway ${n}: ${fmt.n(m.tokensPerSec)} req/s, p99 ${fmt.ms(m.p99)} ms, ${m.errors} errors`) },
    );
    // Token endpoint of B: 10,000 credentials in rotation vs one hot credential.
    const bodies = secrets.map((c) => ({ body: full.tokenRequest('stats', c).body }));
    const hot = full.tokenRequest('stats', secrets[0]);
    const load = (server, requests, seconds, warm = warmupSec) =>
      runLoad({ request: hot, requests, connections: TARGETS.connections, durationSec: seconds, warmupSec: warm, serverPid: server.pid, serverCores: layout.serverCores, loaderCore: layout.loaderCores[0], keepLatencies: true });
    const warmSec = Math.max(2, durationSec / 2);
    // Warm-up, not in the ratio: the hot credential, then passes over all the credentials until
    // one pass has sent every one of them (each loader run starts the rotation at the first), so
    // that every credential has been seen once before the measured rounds.
    const hotWarm = await load(full, [{ body: hot.body }], warmSec, 0);
    let passSec = Math.max(warmSec, (1.5 * bodies.length) / hotWarm.tokensPerSec);
    log(`  hot credential ${fmt.n(hotWarm.tokensPerSec)} tokens/s; first pass over ${fmt.n(bodies.length)} credentials (cold caches), ${fmt.n(passSec, 1)} s...`);
    const cold = await load(full, bodies, passSec, 0);
    for (let pass = 0, last = cold; last.ok < bodies.length && pass < 3; pass++) {
      passSec *= 2;
      log(`  that pass sent ${fmt.n(last.ok)} of ${fmt.n(bodies.length)}: another of ${fmt.n(passSec, 1)} s`);
      last = await load(full, bodies, passSec, 0);
    }
    log(`  first pass ${fmt.n(cold.tokensPerSec)} tokens/s over ${fmt.n(cold.ok)} credentials (${cold.errors} errors)`);
    // Then rotation, unmeasured, for one client-cache TTL and a few seconds more, so that the
    // measured rounds see rotation as it runs for hours: every entry refreshed or re-read once on
    // its own schedule (not the first pass's wave of expiries), and the first pass's lastUsedAt
    // writes (one per credential, then at most one per 5 minutes each) and usage counts flushed.
    log(`  steady rotation, unmeasured, ${STEADY_SEC} s (one client-cache TTL and the flushes)...`);
    await load(full, bodies, STEADY_SEC, 0);
    // Each rotation round's warm-up is one pass over the 10,000 (at the hot rate, and a fifth
    // more): while the hot credential was measured the rotation's entries aged unused, and a
    // rotation in steady use would have read again the ones that expired meanwhile.
    const rotationWarmSec = Math.max(warmupSec, (1.2 * bodies.length) / hotWarm.tokensPerSec);
    const tokenRuns = await roundRobin(
      { hot: (s) => load(full, [{ body: hot.body }], s), rotation: (s) => load(full, bodies, s, rotationWarmSec) },
      { durationSec, rounds, onResult: (n, m, r) => log(`  round ${r + 1}, token ${n}: ${fmt.n(m.tokensPerSec)} tokens/s, p99 ${fmt.ms(m.p99)} ms, ${m.errors} errors`) },
    );

    const after = memoryOfTree(full.pid);
    const afterNone = memoryOfTree(none.pid);
    return {
      store,
      credentials: loaded.counts.credentials,
      accounts: loaded.counts.accounts,
      users: loaded.counts.users,
      revoked: rev.counts.revoked,
      loadSec: loaded.timings.totalSec,
      loadTimings: loaded.timings,
      revokedLoadSec: rev.timings.totalSec,
      readyMsNone: none.readyMs,
      readyMs: full.readyMs,
      idleRssMB: idle.rssMB,
      rssAfterMB: after.rssMB,
      peakRssMB: after.peakRssMB,
      rssAfterNoneMB: afterNone.rssMB,
      revokedTokenStatus: { none: tAtNone, revoked: tAtFull },
      cold: strip(cold),
      token: { hot: strip(tokenRuns.hot), rotation: strip(tokenRuns.rotation) },
      gateway: { none: strip(gatewayRuns.none), revoked: strip(gatewayRuns.revoked) },
    };
  } finally {
    unpinStore?.();
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
    if (store === 'postgres') await pgQuery(pgUrl, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((err) => log(`  could not drop schema ${schema}: ${err.message}`));
  }
}

function strip({ latencies: _, ...m }) {
  return m;
}

/** One sample credential per account, up to `n`, as spread as the sample is. */
function pickAccounts(secrets, n) {
  const seen = new Set();
  const out = [];
  for (const c of secrets) {
    if (seen.has(c.accountId)) continue;
    seen.add(c.accountId);
    out.push(c);
    if (out.length >= n) break;
  }
  return out;
}

async function issue(server, credential, scope) {
  const res = await sendOnce(server.tokenRequest(scope, credential));
  if (res.status !== 200) throw new Error(`${server.name}: token request for a loaded credential returned ${res.status}: ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text).access_token;
}

/** Runs bench/load-data.mjs (unpinned: setup, not measured); resolves to its JSON summary. */
async function loadData(args, env) {
  const child = spawnNodePinned(null, join(BENCH_DIR, 'load-data.mjs'), args, { env });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`load-data.mjs ${args.join(' ')} failed (code ${code}, signal ${signal}): ${child.stderrText.slice(-2000)}`);
  return JSON.parse(child.stdoutText.trim().split('\n').at(-1));
}

async function pgQuery(url, text) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

function report({ credentials, revoked, durationSec, warmupSec, rounds, results }) {
  const T = TARGETS;
  const checks = [];
  for (const r of results) {
    if (r.error) {
      checks.push(check(`${r.store}: measured`, 'yes', `no: ${r.error}`, false));
      continue;
    }
    r.rotationVsHot = r.token.rotation.tokensPerSec / r.token.hot.tokensPerSec;
    r.gatewayRevokedVsNone = r.gateway.revoked.tokensPerSec / r.gateway.none.tokensPerSec;
    r.coldVsHot = r.cold.tokensPerSec / r.token.hot.tokensPerSec;
    checks.push(check(`${r.store}: start-up to /readyz (${fmt.n(r.credentials)} credentials, ${fmt.n(r.revoked)} revoked)`, `< ${fmt.n(T.readyMs)} ms`, `${fmt.n(r.readyMs)} ms`, r.readyMs < T.readyMs));
    checks.push(check(`${r.store}: token rps, ${fmt.n(T.rotation)} credentials in rotation vs one`, `>= ${fmt.pct(T.rotationVsHot)}`, fmt.pct(r.rotationVsHot), r.rotationVsHot >= T.rotationVsHot));
    checks.push(check(`${r.store}: gateway rps, ${fmt.n(r.revoked)} revoked vs none`, `>= ${fmt.pct(T.gatewayRevokedVsNone)}`, fmt.pct(r.gatewayRevokedVsNone), r.gatewayRevokedVsNone >= T.gatewayRevokedVsNone));
    checks.push(check(`${r.store}: the revoked token refused, accepted where not revoked`, '401 / 200', `${r.revokedTokenStatus.revoked} / ${r.revokedTokenStatus.none}`, r.revokedTokenStatus.revoked === 401 && r.revokedTokenStatus.none === 200));
    const errors = [r.token.hot, r.token.rotation, r.gateway.none, r.gateway.revoked].reduce((a, m) => a + m.errors, 0);
    checks.push(check(`${r.store}: errors`, '0', String(errors), errors === 0));
  }
  const ok = results.filter((r) => !r.error);
  const headers = ['store', 'credentials', 'revoked', 'load s', '/readyz ms (none / revoked)', 'token hot/s', 'token rotation/s', 'rotation / hot', 'first pass (cold)/s', 'gateway none/s', 'gateway revoked/s', 'revoked / none', 'RSS idle / after / peak MB'];
  const body = ok.map((r) => [
    r.store,
    fmt.n(r.credentials),
    fmt.n(r.revoked),
    `${fmt.n(r.loadSec, 1)} + ${fmt.n(r.revokedLoadSec, 1)}`,
    `${fmt.n(r.readyMsNone)} / ${fmt.n(r.readyMs)}`,
    fmt.n(r.token.hot.tokensPerSec),
    fmt.n(r.token.rotation.tokensPerSec),
    fmt.pct(r.rotationVsHot),
    fmt.n(r.cold.tokensPerSec),
    fmt.n(r.gateway.none.tokensPerSec),
    fmt.n(r.gateway.revoked.tokensPerSec),
    fmt.pct(r.gatewayRevokedVsNone),
    `${fmt.n(r.idleRssMB, 1)} / ${fmt.n(r.rssAfterMB, 1)} / ${fmt.n(r.peakRssMB, 1)}`,
  ]);
  const latHeaders = ['store', 'run', 'p50 ms', 'p99 ms', 'server CPU', 'per CPU-s'];
  const latRows = ok.flatMap((r) =>
    [
      ['token hot', r.token.hot],
      ['token rotation', r.token.rotation],
      ['gateway none', r.gateway.none],
      ['gateway revoked', r.gateway.revoked],
    ].map(([n, m]) => [r.store, n, fmt.ms(m.p50), fmt.ms(m.p99), fmt.pct(m.server?.utilization), fmt.n(m.server?.tokensPerCpuSec)]),
  );
  const checkHeaders = ['target', 'wanted', 'measured', 'result'];
  const checkRows = checks.map((c) => [c.name, c.target, c.value, c.pass ? 'PASS' : 'FAIL']);
  const setup =
    `${fmt.n(credentials)} credentials (1,000 accounts x 10 admin users) and ${fmt.n(revoked)} revoked ids loaded by bench/load-data.mjs; regions with CCAUTH_WORKERS=1 on the server core; ` +
    `${T.connections} connections, ${rounds} rounds of ${warmupSec} s warm-up + ${fmt.n(durationSec / rounds, 1)} s per run, the order reversed every other round; ` +
    `rotation: each request the next of ${fmt.n(T.rotation)} credentials, after ${STEADY_SEC} s of it unmeasured, each round's warm-up one pass over them; gateway: GET ${GATED_PATH}, ${T.gatewayTokens} tokens of different accounts in rotation, region A (started before the revoked ids were written) vs region B`;
  const text = [`== ${name}: ${description}`, setup, '', table(headers, body, 'lrrrrrrrrrrrr'), '', table(latHeaders, latRows, 'llrrrr'), '', table(checkHeaders, checkRows, 'llrl')].join('\n');
  const markdown = [`${setup}.`, '', markdownTable(headers, body, 'lrrrrrrrrrrrr'), '', markdownTable(latHeaders, latRows, 'llrrrr'), '', markdownTable(checkHeaders, checkRows, 'llrl')].join('\n');
  return { name, description, setup: { credentials, revoked, durationSec, warmupSec, rounds, ...T }, stores: results, checks, text, markdown };
}
