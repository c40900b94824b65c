// A loader for comparing routes of one server (the gateway scenario): like bench/load.mjs, one
// process pinned by the caller to the loader core, but it loads SEVERAL routes in turn, in short
// slices (1 s by default: g u u g g u ..., the order of each pair swapped, ABBA), and adds the
// figures up per route. The host of this VM speeds up and slows down by as much as 2x for tens
// of seconds at a time, invisibly from inside (no steal time in /proc/stat); whole 10-second
// measurements one after the other caught different speeds, and their ratio swung from 0.64 to
// 1.15. Slices a second long see the same mix of speeds for every route.
//
// Each route is a list of requests that every connection cycles through in order (autocannon's
// `requests`; the bytes are built once, so rotating costs nothing per request): the gateway
// scenario rotates the tokens of several accounts so that none reaches its API limit.
//
// Input: one JSON argument { url, routes: { name: [{ method, path, headers, body }], ... },
// connections, durationSec (measured, per route), warmupSec (per route, alternated as well, not
// measured), sliceSec = 1, watch?: { pid, core, loaderCore } }.
// Output: one JSON document: { connections, sliceSec, slices, routes: { name: { seconds, ok, rps,
// p50, p90, p99, max, mean, errors, server, core, loader, errorDetail } }, pairRatios }, where
// pairRatios[i] is routes[0]'s rate over routes[1]'s in the i-th pair of adjacent slices.
// Latency percentiles come from every 2xx response time (float ms).
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { coreCpuSec, processCpuSec } from './lib.mjs';

// The argument is the JSON itself, or @FILE holding it (large inputs: lib.mjs runNodeJson).
const arg = process.argv[2] ?? '{}';
const input = JSON.parse(arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg);
const { url, routes, connections, durationSec, warmupSec = 0, sliceSec = 1, watch } = input;
const names = Object.keys(routes ?? {});
if (!url || names.length === 0 || names.some((n) => !Array.isArray(routes[n]) || routes[n].length === 0) || !connections || !durationSec) {
  process.stderr.write('usage: node bench/load-alternating.mjs \'{"url":"http://...","routes":{"a":[{"path":"/x","headers":{}}],"b":[...]},"connections":16,"durationSec":10}\'\n');
  process.exit(2);
}

function run(requests, duration, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        // autocannon keeps state on these: a fresh copy per run.
        requests: requests.map((r) => ({ method: 'GET', ...r, headers: { ...(r.headers ?? {}) } })),
        connections,
        pipelining: 1,
        duration,
        timeout: 10,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (onResponse) instance.on('response', onResponse);
  });
}

/** Slice order: pairs of routes, every other pair reversed (a b b a a b ...). */
function* order(seconds) {
  const pairs = Math.max(1, Math.round(seconds / sliceSec));
  for (let i = 0; i < pairs; i++) yield* i % 2 === 0 ? names : [...names].reverse();
}

if (warmupSec > 0) for (const name of order(warmupSec)) await run(routes[name], sliceSec);

const acc = Object.fromEntries(
  names.map((n) => [n, { latencies: [], statusCounts: {}, seconds: 0, ok: 0, connectionErrors: 0, timeouts: 0, non2xx: 0, resets: 0, serverCpu: 0, coreBusy: 0, coreTotal: 0, loaderCpu: 0, loaderCoreBusy: 0, loaderCoreTotal: 0, wall: 0, sliceRates: [] }]),
);
let slices = 0;
for (const name of order(durationSec)) {
  const a = acc[name];
  const serverCpu0 = watch ? processCpuSec(watch.pid) : NaN;
  const core0 = watch?.core !== undefined ? coreCpuSec(watch.core) : undefined;
  const loaderCore0 = watch?.loaderCore !== undefined ? coreCpuSec(watch.loaderCore) : undefined;
  const loaderCpu0 = process.cpuUsage();
  const startedAt = process.hrtime.bigint();
  const result = await run(routes[name], sliceSec, (_client, statusCode, _bytes, responseTimeMs) => {
    a.statusCounts[statusCode] = (a.statusCounts[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) a.latencies.push(responseTimeMs);
  });
  const wall = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const loaderCpu = process.cpuUsage(loaderCpu0);
  a.wall += wall;
  a.loaderCpu += (loaderCpu.user + loaderCpu.system) / 1e6;
  if (watch) a.serverCpu += processCpuSec(watch.pid) - serverCpu0;
  if (core0) {
    const core1 = coreCpuSec(watch.core);
    a.coreBusy += core1.busy - core0.busy;
    a.coreTotal += core1.total - core0.total;
  }
  if (loaderCore0) {
    const loaderCore1 = coreCpuSec(watch.loaderCore);
    a.loaderCoreBusy += loaderCore1.busy - loaderCore0.busy;
    a.loaderCoreTotal += loaderCore1.total - loaderCore0.total;
  }
  const seconds = result.duration || wall;
  a.seconds += seconds;
  a.ok += result['2xx'];
  a.sliceRates.push(result['2xx'] / seconds);
  a.connectionErrors += result.errors;
  a.timeouts += result.timeouts;
  a.non2xx += result.non2xx;
  a.resets += result.resets;
  slices++;
}

const out = { connections, sliceSec, slices, routes: {} };
for (const name of names) {
  const a = acc[name];
  const sorted = Float64Array.from(a.latencies).sort();
  const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
  out.routes[name] = {
    connections,
    seconds: a.seconds,
    ok: a.ok,
    rps: a.ok / a.seconds,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    mean: sorted.length ? sorted.reduce((x, y) => x + y, 0) / sorted.length : NaN,
    errors: a.connectionErrors + a.timeouts + a.non2xx,
    server: watch ? { cpuSec: a.serverCpu, utilization: a.serverCpu / a.wall, perCpuSec: a.ok / a.serverCpu } : undefined,
    core: a.coreTotal ? { busy: a.coreBusy / a.coreTotal, otherBusy: Math.max(0, (a.coreBusy - a.serverCpu) / a.coreTotal) } : undefined,
    loader: { utilization: a.loaderCpu / a.wall, otherBusy: a.loaderCoreTotal ? Math.max(0, (a.loaderCoreBusy - a.loaderCpu) / a.loaderCoreTotal) : undefined },
    errorDetail: { connectionErrors: a.connectionErrors, timeouts: a.timeouts, non2xx: a.non2xx, resets: a.resets, statusCounts: a.statusCounts },
  };
}
if (names.length >= 2) {
  const [x, y] = names.map((n) => acc[n].sliceRates);
  out.pairRatios = x.map((r, i) => r / y[i]).filter(Number.isFinite);
}
process.stdout.write(JSON.stringify(out) + '\n');
