// Scenario "gateway": an authenticated platform API route through the gateway against the same
// handler without the gateway, in one ccauth process pinned to the server core, with 100,000
// revoked token ids loaded. Autocannon on the loader core alternates between the two every
// second (bench/load-alternating.mjs), so that both see the same machine.
//
// - gated:   GET /agents-availability?skillNames=English with a bearer token: the gateway's
//            bearer check (signature cached per token, claims, revocation list, the credential's
//            standing), the account's API limit, the version negotiation, the scope; then the
//            Agent Availability handler (one store query, counting presences by skills).
// - ungated: GET /bench/ungated/agents-availability?skillNames=English on the same app, outside
//            the gateway: the same schemas and handler code, for the account named by the
//            x-bench-account header, the token's (see bench/gateway-server.mjs). It gets the same
//            request bytes (it ignores the token).
//
// The loader rotates among one token per account (40 accounts by default) so that no account
// comes near its API limit of 100,000 requests a minute; a 429 would count as an error.
import { join } from 'node:path';
import { BENCH_DIR, LOADER_CORE, SERVER_CORE, check, fmt, freePort, log, markdownTable, memoryOf, pinningAvailable, runNodeJson, sendOnce, spawnNodePinned, stopProcess, table, waitForJsonOnStdout, warn } from '../lib.mjs';

export const name = 'gateway';
export const description = 'GET /agents-availability through the gateway vs the same handler without it, 100,000 revoked token ids';

/** The targets of the issue, at `connections` connections. */
export const TARGETS = {
  connections: 16,
  minRatio: 0.85,
  maxP99AddedMs: 1,
  revokedIds: 100_000,
};

/** Setup; BENCH_GATEWAY_* environment variables override (e.g. for a quick try). */
const SETUP = {
  accounts: Number(process.env.BENCH_GATEWAY_ACCOUNTS ?? 40),
  agents: Number(process.env.BENCH_GATEWAY_AGENTS ?? 20),
  revoked: Number(process.env.BENCH_GATEWAY_REVOKED ?? TARGETS.revokedIds),
  /** At the target connection count each route is measured this many times --duration (more precision where the targets apply). */
  rounds: Number(process.env.BENCH_GATEWAY_ROUNDS ?? 2),
  /** Load on each route once after the start, before the measurements. */
  prewarmSec: Number(process.env.BENCH_GATEWAY_PREWARM ?? 5),
};

const ACCEPT = 'application/vnd.newvoicemedia.v1+json';
const ROUTES = ['gated', 'ungated'];

/**
 * opts: { connections: number[], durationSec, warmupSec, ccauthNodeArgs }.
 * Resolves to { name, description, setup, server, measurements, summary, checks, text, markdown }.
 */
export async function run(opts) {
  const { connections, durationSec, warmupSec, ccauthNodeArgs = [] } = opts;
  // --quick: a short pre-warm and one round.
  const prewarmSec = opts.quick ? 1 : SETUP.prewarmSec;
  const rounds = opts.quick ? 1 : SETUP.rounds;
  const port = await freePort();
  log(`gateway: starting ccauth with ${fmt.n(SETUP.revoked)} revoked token ids in its store, ${SETUP.accounts} accounts of ${SETUP.agents} agents...`);
  const child = spawnNodePinned(SERVER_CORE, join(BENCH_DIR, 'gateway-server.mjs'), [JSON.stringify({ accounts: SETUP.accounts, agents: SETUP.agents, revoked: SETUP.revoked, port })], {
    nodeArgs: ccauthNodeArgs,
    env: { NODE_ENV: 'production', CCAUTH_LOG_LEVEL: 'warn' },
  });
  try {
    const info = await waitForJsonOnStdout(child, { timeoutMs: 180_000, what: 'gateway-server' });
    const pid = child.pid;
    log(
      `  pid ${pid}, ${info.baseUrl}; revoked list ${fmt.n(info.revokedListSize)} ids; ` +
        `setup: ${info.timings.revokedInsertSec} s to store the revoked ids, ${info.timings.regionStartSec} s to start the region (loads them), ${info.timings.seedSec} s to seed`,
    );
    const sanity = await sanityChecks(info);
    log(`  checked: gated and ungated answer 200 with the same body ${sanity.body}; the revoked token gets ${sanity.revokedStatus}; no token gets ${sanity.missingStatus}`);

    // Both routes get the same bytes: the token and its account's id (x-bench-account, which the
    // ungated twin reads its rows by, so both do the same store work; the gated route ignores it).
    const requestsFor = (route) =>
      info.tokens.map((token, i) => ({
        method: 'GET',
        path: route === 'gated' ? info.gatedPath : info.ungatedPath,
        headers: { authorization: `Bearer ${token}`, accept: ACCEPT, 'x-bench-account': info.accountIds[i] },
      }));
    const requests = { gated: requestsFor('gated'), ungated: requestsFor('ungated') };
    const pinned = pinningAvailable();
    const watch = { pid, core: pinned ? SERVER_CORE : undefined, loaderCore: pinned ? LOADER_CORE : undefined };

    // Gated and ungated alternate in 1-second slices within each measurement (see
    // bench/load-alternating.mjs: this VM's speed drifts by up to 2x over tens of seconds, which
    // back-to-back 10-second runs caught as a ratio anywhere from 0.64 to 1.15).
    const load = (c, durationSec, warmupSec, withWatch) =>
      runNodeJson(
        LOADER_CORE,
        join(BENCH_DIR, 'load-alternating.mjs'),
        { url: info.baseUrl, routes: requests, connections: c, durationSec, warmupSec, sliceSec: 1, watch: withWatch ? watch : undefined },
        { timeoutMs: (2 * (durationSec + warmupSec) + 60) * 1000 },
      );
    // Once, before anything is measured: both routes under load, so that the JIT has compiled
    // both paths and the heap has grown to its working size.
    log(`pre-warming both routes, ${prewarmSec} s each at ${TARGETS.connections} connections (not measured)...`);
    await load(TARGETS.connections, prewarmSec, 0, false);

    const measurements = { gated: [], ungated: [] };
    const pairRatios = {};
    for (const c of connections) {
      // At the target connection count, `rounds` times as long.
      const seconds = durationSec * (c === TARGETS.connections ? Math.max(1, rounds) : 1);
      log(`gated and ungated alternating every second: ${c} connection(s), ${warmupSec} s warm-up + ${seconds} s each...`);
      const result = await load(c, seconds, warmupSec, true);
      pairRatios[c] = result.pairRatios;
      for (const route of ROUTES) {
        const m = result.routes[route];
        measurements[route].push(m);
        log(
          `  ${route.padEnd(7)} ${fmt.n(m.rps)} req/s, p50 ${fmt.ms(m.p50)} ms, p99 ${fmt.ms(m.p99)} ms, ${m.errors} errors${m.errors ? ` ${JSON.stringify(m.errorDetail.statusCounts)}` : ''}; ` +
            `server CPU ${fmt.pct(m.server?.utilization)}, ${fmt.n(m.server?.perCpuSec)} req/CPU-s; other load on its core ${fmt.pct(m.core?.otherBusy)}; ` +
            `loader CPU ${fmt.pct(m.loader.utilization)}, other load on the loader's core ${fmt.pct(m.loader.otherBusy)}`,
        );
      }
      const q = quartiles(result.pairRatios);
      log(`  gated / ungated ${fmt.n(measurements.gated.at(-1).rps / measurements.ungated.at(-1).rps, 3)}; per pair of slices: median ${fmt.n(q.median, 3)}, quartiles ${fmt.n(q.q1, 3)} to ${fmt.n(q.q3, 3)} (${result.pairRatios.length} pairs)`);
    }
    const memory = memoryOf(pid);
    return report({ connections, durationSec, warmupSec, prewarmSec, rounds, info, sanity, measurements, pairRatios, memory });
  } finally {
    await stopProcess(child, 15_000);
  }
}

/** Both routes answer alike, a revoked token and a missing one are refused; throws otherwise. */
async function sanityChecks(info) {
  const get = (path, token) => sendOnce({ url: `${info.baseUrl}${path}`, method: 'GET', headers: { accept: ACCEPT, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  const ungated = await get(info.ungatedPath, info.tokens[0]);
  if (ungated.status !== 200) throw new Error(`gateway: the ungated route returned ${ungated.status}: ${ungated.text}`);
  for (const token of info.tokens) {
    const gated = await get(info.gatedPath, token);
    if (gated.status !== 200) throw new Error(`gateway: the gated route returned ${gated.status}: ${gated.text}`);
    if (gated.text !== ungated.text) throw new Error(`gateway: gated and ungated answers differ: ${gated.text} vs ${ungated.text}`);
    if (gated.headers.get('ratelimit-limit') !== String(info.apiRateLimitPerMinute)) throw new Error(`gateway: unexpected ratelimit-limit ${gated.headers.get('ratelimit-limit')}`);
  }
  const revoked = await get(info.gatedPath, info.revokedToken);
  const missing = await get(info.gatedPath);
  if (revoked.status !== 401 || missing.status !== 401) throw new Error(`gateway: the revoked token got ${revoked.status} and no token ${missing.status}, expected 401 and 401`);
  return { body: ungated.text, revokedStatus: revoked.status, missingStatus: missing.status };
}

/** Median and quartiles of a list of numbers. */
function quartiles(values) {
  const v = [...(values ?? [])].filter(Number.isFinite).sort((a, b) => a - b);
  const at = (p) => (v.length ? v[Math.min(v.length - 1, Math.max(0, Math.round(p * (v.length - 1))))] : NaN);
  return { q1: at(0.25), median: at(0.5), q3: at(0.75), n: v.length };
}

function report({ connections, durationSec, warmupSec, prewarmSec, rounds, info, sanity, measurements, pairRatios, memory }) {
  const T = TARGETS;
  const at = (route, c) => measurements[route].find((m) => m.connections === c);
  // Per connection count: gated against ungated.
  const summary = connections.map((c) => {
    const g = at('gated', c);
    const u = at('ungated', c);
    const q = quartiles(pairRatios[c]);
    return {
      connections: c,
      seconds: g.seconds,
      gatedRps: g.rps,
      ungatedRps: u.rps,
      ratio: g.rps / u.rps,
      pairRatioMedian: q.median,
      pairRatioQ1: q.q1,
      pairRatioQ3: q.q3,
      pairs: q.n,
      gatedP50: g.p50,
      ungatedP50: u.p50,
      gatedP99: g.p99,
      ungatedP99: u.p99,
      p99AddedMs: g.p99 - u.p99,
      p50AddedMs: g.p50 - u.p50,
      perCpuRatio: g.server?.perCpuSec / u.server?.perCpuSec,
      // CPU time per request, and what the gateway adds to it.
      gatedCpuUs: 1e6 / g.server?.perCpuSec,
      ungatedCpuUs: 1e6 / u.server?.perCpuSec,
      gatewayCpuUs: 1e6 / g.server?.perCpuSec - 1e6 / u.server?.perCpuSec,
    };
  });
  const s16 = summary.find((s) => s.connections === T.connections);
  const all = ROUTES.flatMap((r) => measurements[r]);
  const allErrors = all.reduce((a, m) => a + m.errors, 0);
  const rateLimited = measurements.gated.reduce((a, m) => a + (m.errorDetail.statusCounts['429'] ?? 0), 0);
  const maxGatedRps = Math.max(...measurements.gated.map((m) => m.rps));
  const perAccountPerMinute = (maxGatedRps * 60) / info.accounts;

  const checks = [];
  if (s16) {
    checks.push(check(`gated / ungated req/s at ${T.connections} conns`, `>= ${T.minRatio}`, s16.ratio.toFixed(3), s16.ratio >= T.minRatio));
    checks.push(check(`p99 added by the gateway at ${T.connections} conns`, `< ${T.maxP99AddedMs} ms`, `${fmt.ms(s16.p99AddedMs)} ms`, s16.p99AddedMs < T.maxP99AddedMs));
  } else {
    checks.push(check(`measured at ${T.connections} connections`, 'yes', 'no', false));
  }
  checks.push(check('errors and non-2xx (both routes, all runs)', '0', `${allErrors}${rateLimited ? ` (${rateLimited} x 429)` : ''}`, allErrors === 0));
  checks.push(check('revoked token ids in the gateway', `>= ${fmt.n(T.revokedIds)}`, fmt.n(info.revokedListSize), info.revokedListSize >= T.revokedIds));
  checks.push(check('a revoked token is refused', '401', String(sanity.revokedStatus), sanity.revokedStatus === 401));

  const headers = ['route', 'conns', 'seconds', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU', 'req/CPU-s', 'noise: server core', 'noise: loader core', 'loader CPU'];
  const rows = [];
  for (const c of connections) {
    for (const route of ROUTES) {
      const m = at(route, c);
      rows.push([route, c, fmt.n(m.seconds, 1), fmt.n(m.rps), fmt.ms(m.p50), fmt.ms(m.p99), m.errors, fmt.pct(m.server?.utilization), fmt.n(m.server?.perCpuSec), fmt.pct(m.core?.otherBusy), fmt.pct(m.loader.otherBusy), fmt.pct(m.loader.utilization)]);
    }
  }
  const sumHeaders = ['conns', 'gated / ungated req/s', 'per 1-s pair: median (quartiles)', 'p99 gated / ungated ms', 'p99 added ms', 'p50 added ms', 'CPU µs/req gated / ungated', 'gateway CPU µs/req', 'per CPU-s: gated / ungated'];
  const sumRows = summary.map((s) => [
    s.connections,
    s.ratio.toFixed(3),
    `${fmt.n(s.pairRatioMedian, 3)} (${fmt.n(s.pairRatioQ1, 3)} to ${fmt.n(s.pairRatioQ3, 3)})`,
    `${fmt.ms(s.gatedP99)} / ${fmt.ms(s.ungatedP99)}`,
    fmt.ms(s.p99AddedMs),
    fmt.ms(s.p50AddedMs),
    `${fmt.n(s.gatedCpuUs, 1)} / ${fmt.n(s.ungatedCpuUs, 1)}`,
    fmt.n(s.gatewayCpuUs, 1),
    s.perCpuRatio.toFixed(3),
  ]);
  const checkHeaders = ['target', 'wanted', 'measured', 'result'];
  const checkRows = checks.map((c) => [c.name, c.target, c.value, c.pass ? 'PASS' : 'FAIL']);

  const busyLoader = all.filter((m) => m.loader.utilization > 0.9);
  if (busyLoader.length) warn(`gateway: the loader was over 90% busy in ${busyLoader.length} measurement(s): it may have limited the throughput`);
  const setupLine =
    `${prewarmSec} s of load on each route after the start, not measured; then per connection count ${warmupSec} s warm-up + ${durationSec} s per route ` +
    `(${Math.max(1, rounds) * durationSec} s at ${T.connections} connections), gated and ungated alternating in 1-second slices (ABBA); ` +
    `${info.accounts} accounts of ${info.agentsPerAccount} agents + 1 admin, one token each, rotated by every connection; ` +
    `revoked list ${fmt.n(info.revokedListSize)} ids (${fmt.n(info.revokedInStore)} loaded from the store at start + 1 revoked at setup); ` +
    `API limit ${fmt.n(info.apiRateLimitPerMinute)}/min per account, the busiest gated run put ${fmt.n(perAccountPerMinute)}/min on each; server RSS after the load ${fmt.n(memory.rssMB, 1)} MB`;
  const noteLine =
    "'per 1-s pair': gated over ungated rate in each pair of adjacent slices, the spread shows the noise; 'CPU µs/req' and 'per CPU-s' divide by the server's CPU time (diagnostic); 'gateway CPU µs/req' is the difference, what the gateway costs a request";
  const text = [`== ${name}: ${description}`, setupLine, noteLine, `answer: ${sanity.body}`, '', table(headers, rows, 'lrrrrrrrrrrr'), '', table(sumHeaders, sumRows, 'rrrrrrrrr'), '', table(checkHeaders, checkRows, 'llrl')].join('\n');
  const markdown = [`${setupLine}.`, '', `${noteLine}.`, '', markdownTable(headers, rows, 'lrrrrrrrrrrr'), '', markdownTable(sumHeaders, sumRows, 'rrrrrrrrr'), '', markdownTable(checkHeaders, checkRows, 'llrl')].join('\n');

  return {
    name,
    description,
    setup: { connections, durationSec, warmupSec, ...SETUP, prewarmSec, rounds, sliceSec: 1, accept: ACCEPT, gatedPath: info.gatedPath, ungatedPath: info.ungatedPath },
    server: { pid: info.pid, revokedListSize: info.revokedListSize, timings: info.timings, rssAfterLoadMB: memory.rssMB, peakRssMB: memory.peakRssMB, perAccountPerMinute, rateLimited },
    measurements,
    pairRatios,
    summary,
    checks,
    text,
    markdown,
  };
}
