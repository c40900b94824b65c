// Scenario "workers": ccauth with CCAUTH_WORKERS=N (and UV_THREADPOOL_SIZE=N, the pool it signs
// on) for every N of --workers, against oidc-provider given the same cores, each loaded to
// saturation (16 connections per worker by default). The server runs on cores 0..N-1 (taskset)
// when the machine has N cores plus one for the loader, else unpinned; the loader(s) on the last
// core(s) (one autocannon process per 4 workers). Reported per N: tokens/s, the server's CPU
// seconds (utime + stime of the server process and its descendants, all threads, from
// /proc/<pid>/stat), tokens per server CPU-second, its ratio to the one-worker figure and to the
// RS256 sign rate per CPU-second, and the cores used (CPU-seconds / wall seconds / N). All servers
// run side by side (idle but one) and are loaded in --rounds rounds, the order reversed every other
// round: the ratios between N compare runs interleaved in time, not minutes apart.
import { availableParallelism } from 'node:os';
import * as ccauthPeer from '../peers/ccauth.mjs';
import * as oidcPeer from '../peers/oidc-provider.mjs';
import { assertIssuesRs256Jwt, check, coreLayout, fmt, log, markdownTable, measureSignRate, memoryOfTree, roundRobin, runLoadMany, sleep, table, threadsOf, warn } from '../lib.mjs';

export const name = 'workers';
export const description = 'CCAUTH_WORKERS=N (1, 2, ... as the cores allow): tokens per server CPU-second, cores used; oidc-provider on the same cores';

export const TARGETS = {
  perCpuVsOneWorker: 0.95,
  fractionOfSignRatePerCpu: 0.85,
  coresUsed: 0.9,
  idleRssMBAt2: 150,
};

/**
 * opts: { workers: number[], connectionsPerWorker, durationSec, warmupSec, signSec, idleSec, ccauthNodeArgs }.
 */
export async function run(opts) {
  const { durationSec, warmupSec, signSec = 4, idleSec = 3, connectionsPerWorker = 16, rounds = 2, ccauthNodeArgs = [] } = opts;
  const nproc = availableParallelism();
  const wanted = [...new Set([1, ...(opts.workers ?? [1, 2])])].sort((a, b) => a - b);
  const workers = wanted.filter((n) => n <= nproc);
  const skipped = wanted.filter((n) => n > nproc);
  if (skipped.length) warn(`workers: this machine has ${nproc} cores; N = ${skipped.join(', ')} not measured`);

  log(`workers: RS256 signing baseline (crypto.sign, ${signSec} s)...`);
  const sign = await measureSignRate({ seconds: signSec });
  log(`  ${fmt.n(sign.signsPerSec)} signs/s (${fmt.n(sign.signsPerCpuSec)} per CPU-second)`);

  const rows = [];
  // Every server is started first (its idle RSS read 3 s after its start; the servers before it
  // idle meanwhile), then all are loaded in rounds, the order reversed every other round, so that the machine's
  // slow drifts (a shared VM's neighbours) hit every N and both servers alike; each one's rounds
  // are merged (sums; percentiles over every response).
  const entries = [];
  try {
    for (const n of workers) {
      const loaders = Math.max(1, Math.ceil(n / 4));
      const layout = coreLayout(n, { nproc, loaders });
      const connections = connectionsPerWorker * n;
      const peers = [
        { peer: ccauthPeer, env: { CCAUTH_WORKERS: String(n), UV_THREADPOOL_SIZE: String(n) }, nodeArgs: ccauthNodeArgs },
        // oidc-provider signs through WebCrypto on the libuv pool: at least its default 4 threads.
        { peer: oidcPeer, env: { UV_THREADPOOL_SIZE: String(Math.max(4, n)) }, nodeArgs: [] },
      ];
      for (const { peer, env, nodeArgs } of peers) {
        const server = await peer.start({ core: layout.serverCores, env, nodeArgs });
        entries.push({ key: `${peer.name} N=${n}`, peer, n, layout, connections, server });
        await sleep(idleSec * 1000);
        const idle = memoryOfTree(server.pid);
        entries.at(-1).idle = idle;
        await assertIssuesRs256Jwt(server.name, server.tokenRequest());
        log(`workers: ${peer.name} N=${n}: ${layout.description}; ${connections} connections; idle RSS ${fmt.n(idle.rssMB, 1)} MB`);
      }
    }
    const runs = Object.fromEntries(
      entries.map((e) => [
        e.key,
        (seconds) => runLoadMany({ request: e.server.tokenRequest(), connections: e.connections, durationSec: seconds, warmupSec, serverPid: e.server.pid, serverCores: e.layout.serverCores, loaderCores: e.layout.loaderCores, keepLatencies: true }),
      ]),
    );
    const merged = await roundRobin(runs, {
      durationSec,
      rounds,
      onResult: (key, m, r) => log(`  round ${r + 1}, ${key}: ${fmt.n(m.tokensPerSec)} tokens/s, ${fmt.n(m.server?.tokensPerCpuSec)} per CPU-s, server CPU ${fmt.n(m.server?.utilization, 2)} cores`),
    });
    for (const e of entries) {
      const m = merged[e.key];
      const { n, layout, connections, peer } = e;
      if (m.loader.utilization > 0.9) warn(`workers: N=${n}, ${peer.name}: a loader was ${fmt.pct(m.loader.utilization)} busy; it may have limited the throughput (more loaders: one per 4 workers)`);
      const after = memoryOfTree(e.server.pid);
      const threads = threadsOf(e.server.pid);
      const coresUsed = m.server.utilization / n;
      // Shared with the loader: the cores the server could have had are N less the loader's share.
      const available = layout.shared ? n - m.loader.utilization : n;
      const { latencies: _, ...measurement } = m;
      rows.push({ server: peer.name, workers: n, layout: layout.description, shared: layout.shared, connections, tokensPerSec: m.tokensPerSec, p50: m.p50, p99: m.p99, errors: m.errors, cpuSec: m.server.cpuSec, tokensPerCpuSec: m.server.tokensPerCpuSec, coresUsed, coresUsedOfAvailable: m.server.utilization / available, idleRssMB: e.idle.rssMB, rssAfterMB: after.rssMB, threads, loaderUtilization: m.loader.utilization, measurement });
      log(`  ${peer.name} N=${n}: ${fmt.n(m.tokensPerSec)} tokens/s, ${fmt.n(m.server.tokensPerCpuSec)} per CPU-s, cores used ${fmt.pct(coresUsed)}, p50 ${fmt.ms(m.p50)} p99 ${fmt.ms(m.p99)} ms, ${m.errors} errors; ${threads} threads`);
    }
  } finally {
    for (const e of entries) await e.server.stop();
  }
  return report({ durationSec, warmupSec, connectionsPerWorker, rounds, sign, rows, skipped, nproc });
}

function report({ durationSec, warmupSec, connectionsPerWorker, rounds, sign, rows, skipped, nproc }) {
  const T = TARGETS;
  const cc = rows.filter((r) => r.server === ccauthPeer.name);
  const op = rows.filter((r) => r.server === oidcPeer.name);
  const one = cc.find((r) => r.workers === 1);
  for (const r of cc) {
    r.perCpuVsOneWorker = r.tokensPerCpuSec / one?.tokensPerCpuSec;
    r.ofSignRatePerCpu = r.tokensPerCpuSec / sign.signsPerCpuSec;
    r.scaling = r.tokensPerSec / (r.workers * one?.tokensPerSec);
    const peer = op.find((o) => o.workers === r.workers);
    r.vsOidcProvider = r.tokensPerSec / peer?.tokensPerSec;
    r.perCpuVsOidcProvider = r.tokensPerCpuSec / peer?.tokensPerCpuSec;
  }
  const checks = [];
  for (const r of cc) {
    if (r.workers > 1) checks.push(check(`tokens per CPU-s at ${r.workers} workers vs 1 worker`, `>= ${fmt.pct(T.perCpuVsOneWorker)}`, fmt.pct(r.perCpuVsOneWorker), r.perCpuVsOneWorker >= T.perCpuVsOneWorker));
    checks.push(check(`tokens per CPU-s at ${r.workers} worker(s) vs RS256 signs per CPU-s (${fmt.n(sign.signsPerCpuSec)})`, `>= ${fmt.pct(T.fractionOfSignRatePerCpu)}`, fmt.pct(r.ofSignRatePerCpu), r.ofSignRatePerCpu >= T.fractionOfSignRatePerCpu));
    const used = r.shared ? r.coresUsedOfAvailable : r.coresUsed;
    checks.push(check(`cores used at ${r.workers} worker(s)${r.shared ? ' (of those the loader left)' : ''}`, `> ${fmt.pct(T.coresUsed)}`, fmt.pct(used), used > T.coresUsed));
    if (r.workers === 2) checks.push(check('idle RSS of the instance at 2 workers', `< ${T.idleRssMBAt2} MB`, `${fmt.n(r.idleRssMB, 1)} MB`, r.idleRssMB < T.idleRssMBAt2));
  }
  const errors = cc.reduce((a, r) => a + r.errors, 0);
  checks.push(check('errors (ccauth, all N)', '0', String(errors), errors === 0));

  const headers = ['server', 'N', 'cores', 'conns', 'tokens/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU-s', 'tokens/CPU-s', 'cores used', 'idle RSS MB', 'RSS after MB', 'threads'];
  const body = rows.map((r) => [r.server, r.workers, r.layout, r.connections, fmt.n(r.tokensPerSec), fmt.ms(r.p50), fmt.ms(r.p99), r.errors, fmt.n(r.cpuSec, 1), fmt.n(r.tokensPerCpuSec), `${fmt.pct(r.coresUsed)}${r.shared ? ` (${fmt.pct(r.coresUsedOfAvailable)} of available)` : ''}`, fmt.n(r.idleRssMB, 1), fmt.n(r.rssAfterMB, 1), r.threads]);
  const ratioHeaders = ['N', 'per CPU-s vs 1 worker', 'per CPU-s % of sign rate', 'tokens/s vs N x 1 worker', 'ccauth / oidc-provider tokens/s', 'ccauth / oidc-provider per CPU-s'];
  const ratioRows = cc.map((r) => [r.workers, fmt.pct(r.perCpuVsOneWorker), fmt.pct(r.ofSignRatePerCpu), fmt.pct(r.scaling), fmt.x(r.vsOidcProvider), fmt.x(r.perCpuVsOidcProvider)]);
  const checkHeaders = ['target', 'wanted', 'measured', 'result'];
  const checkRows = checks.map((c) => [c.name, c.target, c.value, c.pass ? 'PASS' : 'FAIL']);
  const setup =
    `${rounds} rounds (the order reversed every other round) of ${warmupSec} s warm-up + ${fmt.n(durationSec / rounds, 1)} s per server and N, ${connectionsPerWorker} connections per worker; ccauth with CCAUTH_WORKERS=N and UV_THREADPOOL_SIZE=N, oidc-provider with UV_THREADPOOL_SIZE=max(4, N), both on the same cores; ` +
    `RS256 sign rate ${fmt.n(sign.signsPerCpuSec)} per CPU-second (one core, crypto.sign)` +
    (skipped.length ? `; N = ${skipped.join(', ')} not measured (${nproc} cores)` : '');
  const note = "'server CPU-s': utime + stime of the server process and its descendants (all threads) over the measured run; 'cores used': CPU-seconds / wall seconds / N; where the server shares a core with the loader, also as a share of the N cores less the loader's CPU";
  const text = [`== ${name}: ${description}`, setup, note, '', table(headers, body, 'lrlrrrrrrrrrrr'), '', table(ratioHeaders, ratioRows, 'rrrrrr'), '', table(checkHeaders, checkRows, 'llrl')].join('\n');
  const markdown = [`${setup}.`, '', `${note}.`, '', markdownTable(headers, body, 'lrlrrrrrrrrrrr'), '', markdownTable(ratioHeaders, ratioRows, 'rrrrrr'), '', markdownTable(checkHeaders, checkRows, 'llrl')].join('\n');
  return { name, description, setup: { durationSec, warmupSec, connectionsPerWorker, rounds, nproc, skipped }, sign, rows: rows.map(({ measurement: _, ...r }) => r), measurements: rows.map((r) => ({ server: r.server, workers: r.workers, ...r.measurement })), checks, text, markdown };
}
