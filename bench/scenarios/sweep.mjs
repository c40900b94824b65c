// Scenario "sweep": the connection sweep. One ccauth (CCAUTH_WORKERS=1 by default, --sweep-workers
// to change) on the server core(s), loaded at 16, 64 and 256 connections in rounds whose order
// is reversed every other round (16 64 256, 256 64 16), so that drifts in the machine's speed hit
// every connection count alike; each count's rounds are merged (latencies over all responses).
// Targets: throughput at 64 and 256 connections >= 95% of the 16-connection figure; p99 <= 1.5x
// p50 at 16 and 64 connections.
import { availableParallelism } from 'node:os';
import * as ccauthPeer from '../peers/ccauth.mjs';
import { assertIssuesRs256Jwt, check, coreLayout, fmt, log, markdownTable, roundRobin, runLoad, table, warn } from '../lib.mjs';

export const name = 'sweep';
export const description = 'connection sweep 16 / 64 / 256: throughput ratios to 16 connections, p99 / p50';

export const TARGETS = {
  base: 16,
  throughputRatio: 0.95,
  ratioAt: [64, 256],
  p99OverP50: 1.5,
  latencyAt: [16, 64],
};

/** opts: { sweepConnections: number[], sweepWorkers, durationSec, warmupSec, rounds, ccauthNodeArgs }. */
export async function run(opts) {
  const { durationSec, warmupSec, rounds = 2, sweepWorkers = 1, ccauthNodeArgs = [] } = opts;
  const connections = opts.sweepConnections ?? [16, 64, 256];
  const layout = coreLayout(sweepWorkers, { nproc: availableParallelism() });
  log(`sweep: ccauth with ${sweepWorkers} worker(s), ${layout.description}; ${connections.join(', ')} connections, ${rounds} rounds`);
  const server = await ccauthPeer.start({ core: layout.serverCores, env: { CCAUTH_WORKERS: String(sweepWorkers), UV_THREADPOOL_SIZE: String(sweepWorkers) }, nodeArgs: ccauthNodeArgs });
  let merged;
  try {
    await assertIssuesRs256Jwt('ccauth', server.tokenRequest());
    const runs = Object.fromEntries(
      connections.map((c) => [
        c,
        (seconds) => runLoad({ request: server.tokenRequest(), connections: c, durationSec: seconds, warmupSec, serverPid: server.pid, serverCores: layout.serverCores, loaderCore: layout.loaderCores[0], keepLatencies: true }),
      ]),
    );
    merged = await roundRobin(runs, {
      durationSec,
      rounds,
      onResult: (c, m, r) => log(`  round ${r + 1}, ${c} connections: ${fmt.n(m.tokensPerSec)} tokens/s, p50 ${fmt.ms(m.p50)} p99 ${fmt.ms(m.p99)} ms, ${m.errors} errors, server CPU ${fmt.pct(m.server?.utilization)}`),
    });
  } finally {
    await server.stop();
  }
  return report({ connections, durationSec, warmupSec, rounds, sweepWorkers, layout, merged });
}

function report({ connections, durationSec, warmupSec, rounds, sweepWorkers, layout, merged }) {
  const T = TARGETS;
  const base = merged[T.base];
  const rows = connections.map((c) => {
    const m = merged[c];
    return { connections: c, tokensPerSec: m.tokensPerSec, ofBase: m.tokensPerSec / base?.tokensPerSec, p50: m.p50, p99: m.p99, p99OverP50: m.p99 / m.p50, max: m.max, errors: m.errors, serverUtilization: m.server?.utilization, tokensPerCpuSec: m.server?.tokensPerCpuSec, loaderUtilization: m.loader.utilization };
  });
  const checks = [];
  for (const c of T.ratioAt) {
    const r = rows.find((x) => x.connections === c);
    if (r && base) checks.push(check(`tokens/s at ${c} conns vs ${T.base}`, `>= ${fmt.pct(T.throughputRatio)}`, fmt.pct(r.ofBase), r.ofBase >= T.throughputRatio));
  }
  for (const c of T.latencyAt) {
    const r = rows.find((x) => x.connections === c);
    if (r) checks.push(check(`p99 / p50 at ${c} conns`, `<= ${T.p99OverP50}`, `${r.p99OverP50.toFixed(2)} (${fmt.ms(r.p99)} / ${fmt.ms(r.p50)} ms)`, r.p99OverP50 <= T.p99OverP50));
  }
  const errors = rows.reduce((a, r) => a + r.errors, 0);
  checks.push(check('errors (all connection counts)', '0', String(errors), errors === 0));

  const headers = ['conns', 'tokens/s', `% of ${T.base} conns`, 'p50 ms', 'p99 ms', 'p99 / p50', 'max ms', 'errors', 'server CPU', 'tokens/CPU-s', 'loader CPU'];
  const body = rows.map((r) => [r.connections, fmt.n(r.tokensPerSec), fmt.pct(r.ofBase), fmt.ms(r.p50), fmt.ms(r.p99), Number.isFinite(r.p99OverP50) ? r.p99OverP50.toFixed(2) : 'n/a', fmt.ms(r.max), r.errors, fmt.pct(r.serverUtilization), fmt.n(r.tokensPerCpuSec), fmt.pct(r.loaderUtilization)]);
  for (const r of rows) if (r.loaderUtilization > 0.9) warn(`sweep: the loader was ${fmt.pct(r.loaderUtilization)} busy at ${r.connections} connections; it may have limited the throughput`);
  const checkHeaders = ['target', 'wanted', 'measured', 'result'];
  const checkRows = checks.map((c) => [c.name, c.target, c.value, c.pass ? 'PASS' : 'FAIL']);
  const setup = `ccauth with CCAUTH_WORKERS=${sweepWorkers}, ${layout.description}; ${rounds} rounds of ${warmupSec} s warm-up + ${fmt.n(durationSec / rounds, 1)} s per connection count, the order reversed every other round; percentiles over every 2xx response of all rounds`;
  const text = [`== ${name}: ${description}`, setup, '', table(headers, body, 'rrrrrrrrrrr'), '', table(checkHeaders, checkRows, 'llrl')].join('\n');
  const markdown = [`${setup}.`, '', markdownTable(headers, body, 'rrrrrrrrrrr'), '', markdownTable(checkHeaders, checkRows, 'llrl')].join('\n');
  return { name, description, setup: { connections, durationSec, warmupSec, rounds, workers: sweepWorkers, layout: layout.description }, rows, checks, text, markdown };
}
