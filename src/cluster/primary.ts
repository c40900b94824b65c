import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { FailureLedger } from '../auth/failure-limiter.js';
import { LeaseLedger } from '../gateway/rate-limit.js';
import { type PrimaryMessage, type WorkerMessage, isMessage } from './protocol.js';

export interface PrimaryOptions {
  /** Worker processes to run (CCAUTH_WORKERS / workerPlan). */
  processes: number;
  /** UV_THREADPOOL_SIZE of each worker; undefined: the operator set UV_THREADPOOL_SIZE (inherited). */
  poolSize: number | undefined;
  /** CCAUTH_SHUTDOWN_TIMEOUT_MS: each worker's bound to drain; the primary allows a little more. */
  shutdownTimeoutMs: number;
  log: Logger;
  /** Prints the banner once every worker listens (the first worker's document, for the whole instance). */
  announce(document: Record<string, unknown>, lines: string[], workerPids: number[]): void;
}

/** A worker that dies within this of its start counts towards the restart backoff. */
const STABLE_MS = 30_000;
const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 10_000;
/** The primary waits this much past the workers' own shutdown bound before it kills them. */
const SHUTDOWN_GRACE_MS = 2_000;

/**
 * The primary process of a `serve` with several worker processes (node:cluster). It serves no
 * HTTP: the workers each run the whole region and share the port (round-robin). It holds what
 * must be one per instance without Redis: the accounts' API budgets (LeaseLedger, the rule of the
 * Redis lease script) and the failure counts (FailureLedger), answered over IPC, and it relays
 * change nudges from the worker that wrote a change to the others. It restarts a worker that dies
 * (with backoff), and on SIGTERM/SIGINT asks every worker to drain and resolves with the exit code.
 *
 * The first worker starts alone (it runs the migrations and seeds the demo data when asked),
 * the others once it listens.
 */
export function runPrimary(o: PrimaryOptions): Promise<number> {
  const leases = new LeaseLedger();
  const failures = new FailureLedger();
  const workers = new Set<Worker>();
  const listening = new Set<Worker>();
  const startedAt = new Map<Worker, number>();
  let announced = false;
  let shuttingDown = false;
  let quickDeaths = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let pendingRestarts = 0;
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  let exitCode = 0;
  let first: { document: Record<string, unknown>; lines: string[] } | undefined;

  const send = (w: Worker, m: PrimaryMessage) => {
    if (w.isConnected()) w.send(m, undefined, () => undefined);
  };
  const broadcast = (m: PrimaryMessage, except?: Worker) => {
    for (const w of workers) if (w !== except) send(w, m);
  };

  const fork = (): Worker => {
    const w = cluster.fork(o.poolSize === undefined ? {} : { UV_THREADPOOL_SIZE: String(o.poolSize) });
    workers.add(w);
    startedAt.set(w, Date.now());
    w.on('message', (m: unknown) => onMessage(w, m));
    w.on('exit', (code, signal) => onExit(w, code, signal));
    return w;
  };

  const onMessage = (w: Worker, m: unknown) => {
    if (!isMessage<WorkerMessage>(m)) return;
    switch (m.ccauth) {
      case 'lease':
        send(w, { ccauth: 'lease-answer', id: m.id, grant: leases.lease(m.request) });
        break;
      case 'give-back':
        leases.giveBack(m.entries);
        break;
      case 'failure': {
        const result = failures.record(m.keys.map((k) => ({ key: `${m.ns}\n${k.key}`, limit: k.limit })), m.now, m.windowMs, m.reservation);
        send(w, { ccauth: 'failure-answer', id: m.id, blocked: result.blocked, until: result.until });
        // Every worker refuses the key from now on, without asking (their check does no I/O); the
        // sender too, in case its wait for this answer timed out.
        for (const i of result.reached) broadcast({ ccauth: 'limited', ns: m.ns, key: (m.keys[i] as { key: string }).key, until: result.until[i] as number });
        break;
      }
      case 'withdraw':
        failures.withdraw(m.keys.map((k) => ({ key: `${m.ns}\n${k.key}`, limit: k.limit })), m.reservation);
        break;
      case 'changed':
        broadcast({ ccauth: 'nudge' }, w);
        break;
      case 'listening':
        listening.add(w);
        if (!first) {
          first = { document: m.document, lines: m.lines };
          // The first worker is up (store migrated, demo seeded): start the others.
          for (let i = 1; i < o.processes; i++) fork();
        }
        if (!announced && listening.size >= o.processes && first) {
          announced = true;
          o.announce(first.document, first.lines, [...listening].map((x) => x.process.pid as number));
        } else if (announced) {
          o.log.info({ pid: w.process.pid }, 'worker restarted and listening');
        }
        break;
    }
  };

  const onExit = (w: Worker, code: number | null, signal: string | null) => {
    workers.delete(w);
    const wasListening = listening.delete(w);
    const lived = Date.now() - (startedAt.get(w) ?? 0);
    startedAt.delete(w);
    if (shuttingDown) {
      if (code !== 0) exitCode = 1;
      if (workers.size === 0) resolveExit(exitCode);
      return;
    }
    if (!announced && !wasListening) {
      // A worker that cannot start (bad configuration, store unreachable) fails the start: the
      // worker said why on stderr.
      exitCode = code && code > 0 ? code : 1;
      stopAll();
      return;
    }
    o.log.error({ pid: w.process.pid, code, signal }, 'worker exited unexpectedly; restarting it');
    quickDeaths = lived < STABLE_MS ? quickDeaths + 1 : 0;
    pendingRestarts++;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.max(0, quickDeaths - 1));
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (shuttingDown) return;
      for (; pendingRestarts > 0; pendingRestarts--) fork();
    }, delay);
  };

  const stopAll = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    clearTimeout(restartTimer);
    if (workers.size === 0) {
      resolveExit(exitCode);
      return;
    }
    broadcast({ ccauth: 'shutdown' });
    const deadline = setTimeout(() => {
      o.log.error({ timeoutMs: o.shutdownTimeoutMs }, 'workers did not exit in time; killing them, exiting 1');
      for (const w of workers) w.process.kill('SIGKILL');
      resolveExit(1);
    }, o.shutdownTimeoutMs + SHUTDOWN_GRACE_MS);
    deadline.unref();
  };

  const onSignal = () => {
    if (shuttingDown) {
      o.log.error('second signal during shutdown; exiting 1');
      broadcast({ ccauth: 'force' });
      resolveExit(1);
      return;
    }
    o.log.info({ timeoutMs: o.shutdownTimeoutMs, workers: workers.size }, 'shutting down: every worker drains its in-flight requests');
    stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  fork();
  return exited.finally(() => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  });
}
