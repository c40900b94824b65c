// The loader: one autocannon measurement, run in its own process (pinned by the caller to the
// loader core). Input: one JSON argument { request: { url, method, headers, body }, requests?,
// connections, durationSec, warmupSec, watch?: { pid, cores | core, loaderCore } }. Output: one
// JSON document on stdout.
//
// With `requests` (a list of { method?, headers?, body? } on the same URL), successive requests,
// over ALL connections together, take the next entry in turn (one shared counter, through
// autocannon's setupRequest): 10,000 bodies with distinct client credentials are each sent once
// before any is sent again, whatever the connection count. `request` then gives the defaults.
//
// With `watch`, the server's CPU time (/proc/<pid>/stat) and its core's busy time (/proc/stat)
// are sampled right around the measured run: `server.utilization` near 1 means the server was
// CPU-bound; `core.otherBusy` is the share of its core used by other processes (noise), and
// `server.tokensPerCpuSec` is a throughput that such noise barely affects.
//
// Latency percentiles are computed here from every response time autocannon reports (float ms),
// because autocannon's own histogram truncates to whole milliseconds.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { coreCpuSec, processTreeCpuSec } from './lib.mjs';

// The argument is the JSON itself, or @FILE holding it (large inputs: lib.mjs runNodeJson).
const arg = process.argv[2] ?? '{}';
const input = JSON.parse(arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg);
const { request, requests, connections, durationSec, warmupSec = 0, watch, keepLatencies = false } = input;
const watchCores = watch?.cores ?? (watch?.core !== undefined ? [watch.core] : undefined);
let next = 0;
// A shared rotation: each request built by autocannon takes the next entry.
const rotation = Array.isArray(requests) && requests.length > 0
  ? [{ setupRequest: (req) => { const r = requests[next++ % requests.length]; return { ...req, ...r, headers: { ...req.headers, ...(r.headers ?? {}) } }; } }]
  : undefined;
if (!request?.url || !connections || !durationSec) {
  process.stderr.write('usage: node bench/load.mjs \'{"request":{"url":...},"connections":16,"durationSec":10}\'\n');
  process.exit(2);
}

function run(duration, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        method: request.method ?? 'GET',
        headers: request.headers ?? {},
        body: request.body,
        ...(rotation ? { requests: rotation } : {}),
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

if (warmupSec > 0) await run(warmupSec);

const latencies = [];
const statusCounts = {};
const serverCpu0 = watch ? processTreeCpuSec(watch.pid) : NaN;
const core0 = watchCores ? coreCpuSec(watchCores) : undefined;
const loaderCore0 = watch?.loaderCore !== undefined ? coreCpuSec(watch.loaderCore) : undefined;
const loaderCpu0 = process.cpuUsage();
const startedAt = process.hrtime.bigint();
const result = await run(durationSec, (_client, statusCode, _bytes, responseTimeMs) => {
  statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
  if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
});
const wallSec = Number(process.hrtime.bigint() - startedAt) / 1e9;
const loaderCpu = process.cpuUsage(loaderCpu0);
const serverCpuSec = watch ? processTreeCpuSec(watch.pid) - serverCpu0 : NaN;
const core1 = core0 ? coreCpuSec(watchCores) : undefined;
const loaderCore1 = loaderCore0 ? coreCpuSec(watch.loaderCore) : undefined;
const loaderCpuSec = (loaderCpu.user + loaderCpu.system) / 1e6;

const sorted = Float64Array.from(latencies).sort();
const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const seconds = result.duration || wallSec;
const ok = result['2xx'];
const errors = result.errors + result.timeouts + result.non2xx;

process.stdout.write(
  JSON.stringify({
    connections,
    seconds,
    ok,
    tokensPerSec: ok / seconds,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN,
    errors,
    server: watch ? { cpuSec: serverCpuSec, utilization: serverCpuSec / wallSec, tokensPerCpuSec: ok / serverCpuSec } : undefined,
    // Shares of the server's cores (summed over them; 1 = all of them busy).
    core: core1 ? { cores: watchCores.length, busy: (core1.busy - core0.busy) / (core1.total - core0.total), otherBusy: Math.max(0, (core1.busy - core0.busy - serverCpuSec) / (core1.total - core0.total)) } : undefined,
    loader: {
      utilization: loaderCpuSec / wallSec,
      otherBusy: loaderCore1 ? Math.max(0, (loaderCore1.busy - loaderCore0.busy - loaderCpuSec) / (loaderCore1.total - loaderCore0.total)) : undefined,
    },
    errorDetail: { connectionErrors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, resets: result.resets, statusCounts },
    // Every 2xx response time (ms, 0.01 ms steps), to merge runs (lib.mjs mergeLoads).
    ...(keepLatencies ? { latencies: latencies.map((l) => Math.round(l * 100) / 100) } : {}),
    wallSec,
  }) + '\n',
);
