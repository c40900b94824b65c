import { AggregatorRegistry, type Registry } from 'prom-client';
import type { FailureCountSource, LimitedKey } from '../auth/failure-limiter.js';
import type { LeaseGrant, LeaseRequest, LeaseSource } from '../gateway/rate-limit.js';
import { type PrimaryMessage, type WorkerMessage, isMessage } from './protocol.js';

/** What a region needs from the other worker processes of its instance (src/server.ts). */
export interface ClusterLink {
  /** The accounts' API budgets, held by the primary (one budget per account per instance). */
  readonly leases: LeaseSource;
  /** The failure counts of one namespace (e.g. `ccauth:emea:authfail`), held by the primary. */
  failures(namespace: string): FailureCountSource;
  /** A change was committed through this worker's store. */
  readonly changed: () => void;
  /** Another worker committed a change; returns the unsubscribe function. */
  onNudge(listener: () => void): () => void;
  /** This worker's metrics, summed with the others' by the primary's /metrics listener. */
  exposeMetrics(registry: Registry): void;
}

/**
 * How long a lease or a failure count waits for the primary before the worker decides from its own
 * counts. The primary answers from memory in microseconds; only an overloaded machine is slower,
 * and deciding locally then would let each worker spend the whole budget (Redis gets 100 ms:
 * there, a slow answer usually means a network or Redis problem worth not waiting on).
 */
const IPC_TIMEOUT_MS = 1000;

interface Pending {
  resolve: (m: PrimaryMessage) => void;
  reject: (err: Error) => void;
}

/**
 * The worker's end of the IPC channel to the primary: requests with ids answered by the primary,
 * and the primary's pushes (nudges, lockouts, shutdown). Without a channel (the primary is gone)
 * every source reports not ready and the worker decides from its local counts.
 */
export class WorkerLink implements ClusterLink {
  readonly leases: LeaseSource;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly nudgeListeners = new Set<() => void>();
  private readonly limitedListeners = new Map<string, Set<(key: string, until: number) => void>>();
  private readonly controlListeners = new Set<(kind: 'shutdown' | 'force') => void>();

  constructor(private readonly proc: NodeJS.Process = process) {
    proc.on('message', this.onMessage);
    proc.once('disconnect', () => this.failPending(new Error('the primary process is gone')));
    this.leases = {
      ready: () => this.connected(),
      timeoutMs: IPC_TIMEOUT_MS,
      lease: async (request: LeaseRequest): Promise<LeaseGrant> => {
        const answer = await this.request({ ccauth: 'lease', id: 0, request });
        return (answer as Extract<PrimaryMessage, { ccauth: 'lease-answer' }>).grant;
      },
      giveBack: async (entries: [string, number][]) => {
        this.send({ ccauth: 'give-back', entries });
      },
    };
  }

  failures(ns: string): FailureCountSource {
    return {
      ready: () => this.connected(),
      timeoutMs: IPC_TIMEOUT_MS,
      record: async (keys: readonly LimitedKey[], now: number, windowMs: number, reservation?: string) => {
        const message: Extract<WorkerMessage, { ccauth: 'failure' }> = { ccauth: 'failure', id: 0, ns, keys: [...keys], now, windowMs };
        if (reservation !== undefined) message.reservation = reservation;
        const answer = (await this.request(message)) as Extract<PrimaryMessage, { ccauth: 'failure-answer' }>;
        return { blocked: answer.blocked, until: answer.until };
      },
      withdraw: async (keys: readonly LimitedKey[], reservation: string) => {
        this.send({ ccauth: 'withdraw', ns, keys: [...keys], reservation });
      },
      onLimited: (listener) => {
        let set = this.limitedListeners.get(ns);
        if (!set) this.limitedListeners.set(ns, (set = new Set()));
        set.add(listener);
      },
    };
  }

  readonly changed = (): void => {
    this.send({ ccauth: 'changed' });
  };

  onNudge(listener: () => void): () => void {
    this.nudgeListeners.add(listener);
    return () => this.nudgeListeners.delete(listener);
  }

  exposeMetrics(registry: Registry): void {
    // prom-client answers the primary's AggregatorRegistry over the cluster channel.
    AggregatorRegistry.setRegistries([registry]);
    new AggregatorRegistry();
  }

  /** The primary asks this worker to drain and exit ('shutdown'), or to exit at once ('force'). */
  onControl(listener: (kind: 'shutdown' | 'force') => void): void {
    this.controlListeners.add(listener);
  }

  listening(document: Record<string, unknown>, lines: string[]): void {
    this.send({ ccauth: 'listening', document, lines });
  }

  /** Stops listening to the primary (the channel itself is closed by cluster's disconnect). */
  close(): void {
    this.proc.removeListener('message', this.onMessage);
    this.failPending(new Error('the worker is closing'));
  }

  private connected(): boolean {
    return this.proc.connected === true;
  }

  private send(message: WorkerMessage): boolean {
    if (!this.connected() || !this.proc.send) return false;
    try {
      return this.proc.send(message, undefined, {}, () => undefined);
    } catch {
      return false;
    }
  }

  private request(message: Extract<WorkerMessage, { id: number }>): Promise<PrimaryMessage> {
    const id = this.nextId++;
    return new Promise<PrimaryMessage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.send({ ...message, id })) {
        this.pending.delete(id);
        reject(new Error('no channel to the primary process'));
      }
    });
  }

  private readonly onMessage = (m: unknown): void => {
    if (!isMessage<PrimaryMessage>(m)) return;
    switch (m.ccauth) {
      case 'lease-answer':
      case 'failure-answer': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m);
        break;
      }
      case 'limited':
        for (const listener of this.limitedListeners.get(m.ns) ?? []) listener(m.key, m.until);
        break;
      case 'nudge':
        for (const listener of this.nudgeListeners) listener();
        break;
      case 'shutdown':
      case 'force':
        for (const listener of this.controlListeners) listener(m.ccauth);
        break;
    }
  };

  private failPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
