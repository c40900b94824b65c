import type { LimitedKey } from '../auth/failure-limiter.js';
import type { LeaseGrant, LeaseRequest } from '../gateway/rate-limit.js';

/**
 * The messages between the primary process of a `serve` with several worker processes and its
 * workers (node:cluster IPC, JSON). Every message carries `ccauth`, its type.
 */
export type WorkerMessage =
  /** Lease a slice of an account's budget (the primary runs LEASE_SCRIPT's rule). */
  | { ccauth: 'lease'; id: number; request: LeaseRequest }
  /** Unused leases given back. */
  | { ccauth: 'give-back'; entries: [string, number][] }
  /** One failed authentication under these keys of a namespace (client auth, admin sign-in). */
  | { ccauth: 'failure'; id: number; ns: string; keys: LimitedKey[]; now: number; windowMs: number; reservation?: string }
  /** A reserved attempt (a failure with `reservation`) succeeded: take it back. */
  | { ccauth: 'withdraw'; ns: string; keys: LimitedKey[]; reservation: string }
  /** A change was committed through this worker's store: nudge the other workers. */
  | { ccauth: 'changed' }
  /** The worker listens; what `serve` prints once for the whole instance. */
  | { ccauth: 'listening'; document: Record<string, unknown>; lines: string[] };

export type PrimaryMessage =
  | { ccauth: 'lease-answer'; id: number; grant: LeaseGrant }
  | { ccauth: 'failure-answer'; id: number; blocked: boolean; until: number[] }
  /** A key of a namespace reached its limit (through any worker): refuse it until `until`. */
  | { ccauth: 'limited'; ns: string; key: string; until: number }
  /** Another worker committed a change: look at the change feed now. */
  | { ccauth: 'nudge' }
  /** Drain and exit (SIGTERM/SIGINT at the primary). */
  | { ccauth: 'shutdown' }
  /** A second signal: exit 1 at once. */
  | { ccauth: 'force' };

export function isMessage<T extends { ccauth: string }>(m: unknown): m is T {
  return typeof m === 'object' && m !== null && typeof (m as { ccauth?: unknown }).ccauth === 'string';
}
