// Shared helpers of the benchmark harness: pinned child processes, waiting for a server, the
// autocannon loader in its own pinned process, the RS256 signing baseline, RSS, checks, tables.
// Scenarios (bench/scenarios/*.mjs) and peers (bench/peers/*.mjs) are built from these.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export { sleep };

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(BENCH_DIR, '..');

/** The server under test (and the signing baseline) runs on this core, the loader on the other. */
export const SERVER_CORE = 0;
export const LOADER_CORE = 1;

let pinningChecked;
/** Whether `taskset` can pin processes here; warns loudly (once) when it cannot. */
export function pinningAvailable() {
  if (pinningChecked !== undefined) return pinningChecked;
  const probe = spawnSync('taskset', ['-c', String(LOADER_CORE), process.execPath, '-e', '0'], { stdio: 'ignore' });
  pinningChecked = probe.status === 0;
  if (!pinningChecked) {
    warn(
      'taskset (util-linux) is missing or cannot pin to cores 0 and 1: running UNPINNED. ' +
        'Server and loader will compete for CPU and the figures are NOT comparable to the targets.',
    );
  } else if (availableParallelism() < 2) {
    warn(`only ${availableParallelism()} CPU available: the loader shares the server's core`);
  }
  return pinningChecked;
}

export function warn(message) {
  const line = `\n!!! WARNING: ${message}\n`;
  process.stderr.write(process.stderr.isTTY ? `\x1b[31;1m${line}\x1b[0m` : line);
}

export function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

let niceness = 0;
/**
 * Runs the measured processes (servers, loader, sign baseline) at this niceness: on a shared
 * machine a negative value (root only) makes other processes yield the cores to them, which
 * cuts the noise. All measured processes get the same, so the comparison stays fair.
 * With the kernel's autogroup scheduling (sched_autogroup_enabled), CPU is shared between
 * sessions first and a process's own nice only counts inside its session; so each measured
 * process runs in a session of its own (detached) and that session's autogroup gets the niceness.
 */
export function setNiceness(n) {
  niceness = n;
  if (n < 0 && process.getuid?.() !== 0) {
    warn(`niceness ${n} needs root: running at the default priority`);
    niceness = 0;
  }
}

const children = new Set();
// Measured processes run detached (own session): make sure none outlives the harness.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => process.exit(130));

/**
 * Spawns `node script ...args` pinned to `core` (unpinned, with a warning, without taskset), at
 * the niceness set by setNiceness. nice and taskset exec node, so child.pid is node's own pid,
 * and every thread node starts inherits the affinity and the niceness.
 */
export function spawnNodePinned(core, script, args = [], { env = {}, cwd = ROOT, nodeArgs = [] } = {}) {
  let argv = [process.execPath, ...nodeArgs, script, ...args];
  // `core`: one core, a list of cores, a taskset list string ("0-3"), or null for unpinned.
  const cpus = cpuList(core);
  if (cpus !== undefined && pinningAvailable()) argv = ['taskset', '-c', cpus, ...argv];
  if (niceness !== 0) argv = ['nice', '-n', String(niceness), ...argv];
  const [cmd, ...rest] = argv;
  const child = spawn(cmd, rest, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: niceness !== 0 });
  if (niceness !== 0) {
    try {
      writeFileSync(`/proc/${child.pid}/autogroup`, String(niceness));
    } catch {
      // No autogroup scheduling here: nice alone does it.
    }
  }
  children.add(child);
  child.stdoutText = '';
  child.stderrText = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (child.stdoutText += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (child.stderrText += d));
  child.exited = once(child, 'exit').then(([code, signal]) => {
    children.delete(child);
    return { code, signal };
  });
  return child;
}

/**
 * Resolves with the first complete JSON document the child prints on stdout (servers print one,
 * possibly pretty-printed, once listening); rejects if it exits or times out first.
 */
export function waitForJsonOnStdout(child, { timeoutMs = 60_000, what = 'process' } = {}) {
  return new Promise((resolve, reject) => {
    const tryParse = () => {
      const text = child.stdoutText.trim();
      if (!text.endsWith('}')) return;
      try {
        finish(null, JSON.parse(text));
      } catch {
        // Not complete yet.
      }
    };
    const onExit = (code, signal) =>
      finish(new Error(`${what} exited (code ${code}, signal ${signal}) before it was ready\nstdout: ${child.stdoutText.slice(-2000)}\nstderr: ${child.stderrText.slice(-2000)}`));
    const timer = setTimeout(() => finish(new Error(`${what} was not ready within ${timeoutMs} ms\nstderr: ${child.stderrText.slice(-2000)}`)), timeoutMs);
    function finish(err, value) {
      clearTimeout(timer);
      child.stdout.off('data', tryParse);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value);
    }
    child.stdout.on('data', tryParse);
    child.on('exit', onExit);
    tryParse();
  });
}

/** taskset's list form of a core, a list of cores or a list string; undefined for unpinned (null). */
export function cpuList(core) {
  if (core === null || core === undefined) return undefined;
  if (Array.isArray(core)) return core.length ? core.join(',') : undefined;
  return String(core);
}

/**
 * Moves every process named `name` on this host (with all its threads) onto `cores`, and
 * returns a function that puts each back on the cores it had. Used to keep a local PostgreSQL
 * off the server core, as the loader is: in production the store runs on other machines.
 * Processes started later inherit the mask of their parent (PostgreSQL's backends fork from the
 * postmaster). Returns null (and changes nothing) where taskset is missing or not permitted.
 */
export function pinProcessesByName(name, cores) {
  const list = cpuList(cores);
  if (list === undefined || !pinningAvailable()) return null;
  const found = spawnSync('pgrep', ['-x', name], { encoding: 'utf8' });
  const pids = (found.stdout ?? '').split('\n').filter((x) => /^\d+$/.test(x));
  if (pids.length === 0) return null;
  const before = new Map();
  for (const pid of pids) {
    const got = spawnSync('taskset', ['-c', '-p', pid], { encoding: 'utf8' });
    const mask = /:\s*([0-9,-]+)\s*$/.exec(got.stdout ?? '')?.[1];
    if (got.status !== 0 || mask === undefined) continue;
    const set = spawnSync('taskset', ['-a', '-c', '-p', list, pid], { encoding: 'utf8' });
    if (set.status !== 0) {
      for (const [p, m] of before) spawnSync('taskset', ['-a', '-c', '-p', m, p]);
      return null;
    }
    before.set(pid, mask);
  }
  return () => {
    for (const [pid, mask] of before) spawnSync('taskset', ['-a', '-c', '-p', mask, pid]);
  };
}

/** The cores a taskset list names ("0-2,5" -> [0, 1, 2, 5]). */
export function parseCpuList(list) {
  return String(list)
    .split(',')
    .flatMap((part) => {
      const [a, b] = part.split('-').map(Number);
      return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
    })
    .filter(Number.isInteger);
}

/**
 * Where the server of N workers and the loader(s) run, on a machine of `nproc` cores: the
 * loader(s) on the last core(s), the server on the first N; when the machine has fewer than
 * N + loaders cores, the server is left unpinned (all cores; `shared` says it shares them with
 * the loader). Without taskset everything is unpinned.
 */
export function coreLayout(workers, { nproc = availableParallelism(), loaders = 1 } = {}) {
  const pinned = pinningAvailable() && nproc >= 2;
  if (!pinned) return { pinned: false, serverCores: null, loaderCores: [null], shared: true, description: 'unpinned (no taskset)' };
  const loaderCores = Array.from({ length: Math.min(loaders, nproc - 1) }, (_, i) => nproc - 1 - i);
  if (workers + loaderCores.length <= nproc) {
    const serverCores = Array.from({ length: workers }, (_, i) => i);
    return { pinned: true, serverCores, loaderCores, shared: false, description: `server on cores ${serverCores.join(',')}, loader on ${loaderCores.join(',')}` };
  }
  return { pinned: true, serverCores: null, loaderCores, shared: true, description: `server unpinned (all ${nproc} cores), loader on ${loaderCores.join(',')} (shared)` };
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopProcess(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a pinned node script that takes one JSON argument and prints one JSON result. */
export async function runNodeJson(core, script, input, { timeoutMs = 120_000 } = {}) {
  // Large inputs (e.g. 10,000 request bodies) go through a file: argv has a size limit.
  const json = JSON.stringify(input);
  let file;
  if (json.length > 64 * 1024) {
    file = join(mkdtempSync(join(tmpdir(), 'ccauth-bench-input-')), 'input.json');
    writeFileSync(file, json);
  }
  const child = spawnNodePinned(core, script, [file ? `@${file}` : json]);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  if (file) rmSync(dirname(file), { recursive: true, force: true });
  if (code !== 0) throw new Error(`${script} failed (code ${code}, signal ${signal}): ${child.stderrText.slice(-2000)}`);
  return JSON.parse(child.stdoutText);
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Resident set size of a process (`VmRSS`) and its peak (`VmHWM`), in MB (10^6 bytes; /proc
 * reports KiB, so MB is the larger, stricter number when compared with a target).
 */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: (kib('VmRSS') * 1024) / 1e6, peakRssMB: (kib('VmHWM') * 1024) / 1e6 };
}

const CLK_TCK = 100; // USER_HZ: /proc times are in 1/100 s on Linux (getconf CLK_TCK)

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat. */
export function processCpuSec(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

/**
 * CPU seconds of a process and all its descendants (threads included: /proc/<pid>/stat sums a
 * process's threads), so that a server that forks workers is counted whole.
 */
export function processTreeCpuSec(pid) {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += processCpuSec(p);
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

/** A process and its descendants (from /proc/<pid>/task/<tid>/children). */
export function processTree(pid) {
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    out.push(p);
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) queue.push(Number(c));
      } catch {
        // Gone, or no children file on this kernel.
      }
    }
  }
  return out;
}

/** RSS of a process and its descendants, in MB (see memoryOf). */
export function memoryOfTree(pid) {
  let rssMB = 0;
  let peakRssMB = 0;
  for (const p of processTree(pid)) {
    try {
      const m = memoryOf(p);
      rssMB += m.rssMB;
      peakRssMB += m.peakRssMB;
    } catch {
      // Exited meanwhile.
    }
  }
  return { rssMB, peakRssMB };
}

/** Threads of a process (from /proc/<pid>/status). */
export function threadsOf(pid) {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * Busy and total seconds of one core (or the sum over a list of cores) so far, from /proc/stat
 * (busy = all but idle and iowait).
 */
export function coreCpuSec(core) {
  if (Array.isArray(core)) {
    return core.map(coreCpuSec).reduce((a, b) => ({ busy: a.busy + b.busy, total: a.total + b.total }), { busy: 0, total: 0 });
  }
  const line = new RegExp(`^cpu${core} (.+)$`, 'm').exec(readFileSync('/proc/stat', 'utf8'))?.[1];
  if (!line) return { busy: NaN, total: NaN };
  const v = line.trim().split(/\s+/).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal, not guest (counted in user)
  return { busy: (total - v[3] - v[4]) / CLK_TCK, total: total / CLK_TCK };
}

/**
 * A request description that both the loader (autocannon) and fetch() understand:
 * { url, method, headers, body }.
 */
export async function sendOnce(request) {
  const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Decodes a compact JWS's header and payload (no verification: used to check the peers are comparable). */
export function decodeJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error(`not a compact JWS: ${String(token).slice(0, 40)}...`);
  const [header, payload] = parts.slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8')));
  return { header, payload, length: String(token).length };
}

/**
 * Requests one token and checks it is a 200 with a JWT signed RS256 (so the peers do the same
 * work). Returns the decoded token; throws with the response otherwise.
 */
export async function assertIssuesRs256Jwt(name, request) {
  const res = await sendOnce(request);
  let body;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  if (res.status !== 200 || !body?.access_token) throw new Error(`${name}: token request returned ${res.status}: ${res.text.slice(0, 500)}`);
  const jwt = decodeJwt(body.access_token);
  if (jwt.header.alg !== 'RS256') throw new Error(`${name}: access token alg is ${jwt.header.alg}, expected RS256`);
  return { ...jwt, tokenType: body.token_type, expiresIn: body.expires_in, scope: body.scope };
}

/**
 * One autocannon measurement in a separate process pinned to the loader core.
 * Returns { connections, seconds, ok, tokensPerSec, p50, p90, p99, max, mean, errors, ... }; with
 * `serverPid`, also the server's CPU use during the measurement (`server`) and how busy its core
 * was with other processes (`core.otherBusy`, the noise), and the loader's own CPU use (`loader`).
 */
export function runLoad({ request, requests, connections, durationSec, warmupSec = 0, serverPid, serverCores = SERVER_CORE, loaderCore = LOADER_CORE, keepLatencies = false }) {
  const pinned = pinningAvailable();
  const cores = pinned && serverCores !== null && serverCores !== undefined ? (Array.isArray(serverCores) ? serverCores : parseCpuList(serverCores)) : undefined;
  const loader = pinned && loaderCore !== null && loaderCore !== undefined ? loaderCore : undefined;
  const watch = serverPid ? { pid: serverPid, cores, loaderCore: loader } : undefined;
  return runNodeJson(loader ?? null, join(BENCH_DIR, 'load.mjs'), { request, requests, connections, durationSec, warmupSec, watch, keepLatencies }, { timeoutMs: (durationSec + warmupSec + 60) * 1000 });
}

/**
 * Several loader processes at once (each on its own core, `connections` split among them), for
 * servers that one autocannon process cannot saturate. Returns the summed figures; the latency
 * percentiles are the mean of the loaders' p50s and the highest of their p99s.
 */
export async function runLoadMany({ loaderCores, connections, serverPid, serverCores, ...rest }) {
  if (loaderCores.length <= 1) return runLoad({ ...rest, connections, serverPid, serverCores, loaderCore: loaderCores[0] ?? null });
  const per = loaderCores.map((_, i) => Math.floor(connections / loaderCores.length) + (i < connections % loaderCores.length ? 1 : 0)).filter((c) => c > 0);
  // The loaders run side by side over the same window: each samples the server's CPU over its
  // own measured run; their mean is the server's CPU over the window, all loaders' requests in it.
  const results = await Promise.all(per.map((c, i) => runLoad({ ...rest, connections: c, serverPid, serverCores, loaderCore: loaderCores[i] })));
  const ok = results.reduce((a, r) => a + r.ok, 0);
  const seconds = Math.max(...results.map((r) => r.seconds));
  const mean = (f) => results.reduce((a, r) => a + f(r), 0) / results.length;
  return {
    connections,
    loaders: results.length,
    seconds,
    ok,
    tokensPerSec: results.reduce((a, r) => a + r.tokensPerSec, 0),
    p50: results.reduce((a, r) => a + r.p50, 0) / results.length,
    p90: Math.max(...results.map((r) => r.p90)),
    p99: Math.max(...results.map((r) => r.p99)),
    max: Math.max(...results.map((r) => r.max)),
    errors: results.reduce((a, r) => a + r.errors, 0),
    server: serverPid ? { cpuSec: mean((r) => r.server.cpuSec), utilization: mean((r) => r.server.utilization), tokensPerCpuSec: ok / mean((r) => r.server.cpuSec) } : undefined,
    core: results[0].core,
    loader: { utilization: Math.max(...results.map((r) => r.loader.utilization)), otherBusy: Math.max(...results.map((r) => r.loader.otherBusy ?? 0)) },
    perLoader: results.map(({ errorDetail: _, latencies: __, ...r }) => r),
    errorDetail: { statusCounts: results.reduce((acc, r) => { for (const [k, v] of Object.entries(r.errorDetail.statusCounts)) acc[k] = (acc[k] ?? 0) + v; return acc; }, {}) },
    // keepLatencies: every loader's, for mergeLoads (percentiles over all responses).
    latencies: results.every((r) => r.latencies) ? results.flatMap((r) => Array.from(r.latencies)) : undefined,
    wallSec: Math.max(...results.map((r) => r.wallSec ?? r.seconds)),
  };
}

/**
 * Runs several measurements in rounds, the order reversed every other round (A B C, C B A, ...),
 * so that slow drifts of the machine's speed hit all alike, and merges each one's rounds.
 * `runs`: { name: (durationSec) => runLoad({ ..., keepLatencies: true }) }. Resolves to
 * { name: merged result }.
 */
export async function roundRobin(runs, { durationSec, rounds = 2, onResult } = {}) {
  const names = Object.keys(runs);
  const parts = Object.fromEntries(names.map((n) => [n, []]));
  const slice = durationSec / Math.max(1, rounds);
  for (let r = 0; r < Math.max(1, rounds); r++) {
    for (const n of r % 2 === 0 ? names : [...names].reverse()) {
      const result = await runs[n](slice);
      parts[n].push(result);
      onResult?.(n, result, r);
    }
  }
  return Object.fromEntries(names.map((n) => [n, mergeLoads(parts[n])]));
}

/** One load result from several (runs of the same thing): sums, and percentiles over all latencies. */
export function mergeLoads(list) {
  if (list.length === 1 && !list[0].latencies) return list[0];
  const sum = (f) => list.reduce((a, r) => a + (f(r) ?? 0), 0);
  const seconds = sum((r) => r.seconds);
  const ok = sum((r) => r.ok);
  const wall = sum((r) => r.wallSec ?? r.seconds);
  const all = Float64Array.from(list.flatMap((r) => r.latencies ?? [])).sort();
  const pct = (p) => (all.length ? all[Math.min(all.length - 1, Math.ceil((p / 100) * all.length) - 1)] : NaN);
  const cpu = sum((r) => r.server?.cpuSec);
  const statusCounts = {};
  for (const r of list) for (const [k, v] of Object.entries(r.errorDetail?.statusCounts ?? {})) statusCounts[k] = (statusCounts[k] ?? 0) + v;
  return {
    connections: list[0].connections,
    rounds: list.length,
    seconds,
    ok,
    tokensPerSec: ok / seconds,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: all.length ? all[all.length - 1] : NaN,
    mean: all.length ? all.reduce((a, b) => a + b, 0) / all.length : NaN,
    errors: sum((r) => r.errors),
    server: list[0].server ? { cpuSec: cpu, utilization: cpu / wall, tokensPerCpuSec: ok / cpu } : undefined,
    core: list[0].core ? { cores: list[0].core.cores, busy: sum((r) => r.core.busy * (r.wallSec ?? r.seconds)) / wall, otherBusy: sum((r) => r.core.otherBusy * (r.wallSec ?? r.seconds)) / wall } : undefined,
    loader: { utilization: sum((r) => r.loader.utilization * (r.wallSec ?? r.seconds)) / wall, otherBusy: sum((r) => (r.loader.otherBusy ?? 0) * (r.wallSec ?? r.seconds)) / wall },
    errorDetail: { statusCounts },
    wallSec: wall,
  };
}

/**
 * `crypto.sign` calls per second on one pinned core: RS256 (a 2048-bit RSA key, sha256) or
 * ES256 (a P-256 key, sha256, the JWS signature form).
 */
export function measureSignRate({ seconds = 4, payloadBytes = 600, core = SERVER_CORE, alg = 'RS256' } = {}) {
  return runNodeJson(core, join(BENCH_DIR, 'sign-rate.mjs'), { seconds, payloadBytes, alg }, { timeoutMs: (seconds + 60) * 1000 });
}

/** Share of all CPUs busy over `sec` seconds (from /proc/stat). */
export async function machineBusy(sec = 2) {
  const read = () => {
    const v = /^cpu (.+)$/m.exec(readFileSync('/proc/stat', 'utf8'))[1].trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - v[3] - v[4], total };
  };
  const a = read();
  await sleep(sec * 1000);
  const b = read();
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * On a shared machine: waits (up to maxWaitSec) until the CPUs have been less than `threshold`
 * busy for `sec` seconds. Returns the last busy share seen.
 */
export async function waitForQuiet({ maxWaitSec, threshold = 0.15, sec = 8 }) {
  const deadline = Date.now() + maxWaitSec * 1000;
  let busy = await machineBusy(sec);
  while (busy >= threshold && Date.now() < deadline) {
    log(`machine ${fmt.pct(busy)} busy; waiting for it to go under ${fmt.pct(threshold)}...`);
    busy = await machineBusy(sec);
  }
  if (busy >= threshold) warn(`machine still ${fmt.pct(busy)} busy after ${maxWaitSec} s: measuring anyway`);
  return busy;
}

/** Context facts for the report: machine, CPU, Node, date, pinning. */
export function machineInfo() {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // Not Linux.
  }
  let loadavg;
  try {
    loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    loadavg = 'unknown';
  }
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpuModel,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    pinned: pinningAvailable(),
    niceness,
    serverCore: SERVER_CORE,
    loaderCore: LOADER_CORE,
    loadavgAtStart: loadavg,
  };
}

/** A target check: { name, target, value, pass }. */
export function check(name, target, value, pass) {
  return { name, target, value, pass: Boolean(pass) };
}

export const fmt = {
  n: (v, digits = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a'),
  ms: (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a'),
  x: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a'),
  pct: (v) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a'),
};

/** A plain-text table; `align` is a string of 'l'/'r' per column (default: first left, rest right). */
export function table(headers, rows, align) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c)));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const a = align ?? 'l' + 'r'.repeat(headers.length - 1);
  const line = (r) => r.map((c, i) => (a[i] === 'l' ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** The same table as Markdown (for docs/benchmarks.md). */
export function markdownTable(headers, rows, align) {
  const a = align ?? 'l' + 'r'.repeat(headers.length - 1);
  const sep = headers.map((_, i) => (a[i] === 'l' ? ':---' : '---:'));
  return [headers, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
