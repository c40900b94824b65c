// Shared helpers of the benchmark harness: pinned child processes, waiting for a server, the
// autocannon loader in its own pinned process, the RS256 signing baseline, RSS, checks, tables.
// Scenarios (bench/scenarios/*.mjs) and peers (bench/peers/*.mjs) are built from these.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
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
  if (pinningAvailable()) argv = ['taskset', '-c', String(core), ...argv];
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
  const child = spawnNodePinned(core, script, [JSON.stringify(input)]);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
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

/** Busy and total seconds of one core so far, from /proc/stat (busy = all but idle and iowait). */
export function coreCpuSec(core) {
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
export function runLoad({ request, connections, durationSec, warmupSec = 0, serverPid }) {
  const pinned = pinningAvailable();
  const watch = serverPid ? { pid: serverPid, core: pinned ? SERVER_CORE : undefined, loaderCore: pinned ? LOADER_CORE : undefined } : undefined;
  return runNodeJson(LOADER_CORE, join(BENCH_DIR, 'load.mjs'), { request, connections, durationSec, warmupSec, watch }, { timeoutMs: (durationSec + warmupSec + 60) * 1000 });
}

/** `crypto.sign('sha256', ...)` calls per second with a 2048-bit RSA key, on one pinned core. */
export function measureSignRate({ seconds = 4, payloadBytes = 600, core = SERVER_CORE } = {}) {
  return runNodeJson(core, join(BENCH_DIR, 'sign-rate.mjs'), { seconds, payloadBytes }, { timeoutMs: (seconds + 60) * 1000 });
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
