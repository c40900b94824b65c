import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Account, User } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { verifyPassword } from '../auth/secrets.js';
import { FailureLimiter, type SharedFailureCounters } from '../auth/failure-limiter.js';
import { ApiError } from '../domain/errors.js';

export interface SessionPolicy {
  /** A session ends after this long without a request. */
  idleMs: number;
  /** And in any case this long after sign-in. */
  absoluteMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 };

export interface ActiveSession {
  idHash: string;
  csrfToken: string;
  expiresAt: number;
  user: User;
  account: Account;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('base64url');

export class InvalidCredentialsError extends ApiError {
  constructor() {
    super(401, 'invalid_credentials', 'The email or password is incorrect');
  }
}

/**
 * Failed sign-ins, over 15 minutes: 5 per (email, source IP), 20 per IP, and a ceiling of 100 per
 * email that only a guess spread over many addresses reaches. Failures from an attacker's
 * address never lock the real user out of their own address (SPEC 3).
 */
export interface SignInLimits {
  perEmailAndIp: number;
  perIp: number;
  perEmail: number;
  windowMs: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = { perEmailAndIp: 5, perIp: 20, perEmail: 100, windowMs: 15 * 60_000 };

/**
 * Portal sessions, kept in the store so that any instance can serve any request. The cookie
 * carries a random 256-bit id; the store keeps only its SHA-256. Failed sign-ins are limited per
 * (email, IP) pair, per IP and per email (a high ceiling), shared through Redis when given, and
 * an unknown email costs and answers the same as a wrong password.
 */
export class SessionService {
  private readonly failures: FailureLimiter;

  constructor(
    private readonly store: Store,
    private readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY,
    limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS,
    shared: SharedFailureCounters = {},
  ) {
    this.failures = new FailureLimiter({ perPair: limits.perEmailAndIp, perIp: limits.perIp, perSubject: limits.perEmail }, { ...shared, windowMs: limits.windowMs });
  }

  async signIn(email: string, password: string, ip: string): Promise<{ sessionId: string; session: ActiveSession }> {
    const emailKey = email.trim().toLowerCase();
    const limited = (wait: number) => new ApiError(429, 'rate_limited', 'Too many failed sign-ins; try again later', { 'retry-after': String(wait) });
    // Reserved before the first await (counted as a failure here and in the shared counts, taken
    // back on success): a concurrent burst gets no more passwords checked than the limits allow.
    const attempt = this.failures.reserve(emailKey, ip);
    if (typeof attempt === 'number') throw limited(attempt);
    let found: Awaited<ReturnType<Store['users']['getWithPasswordHash']>>;
    let ok: boolean;
    let account: Account | undefined;
    try {
      // Past a shared limit already (attempts at other instances or workers): answered as limited.
      const sharedWait = await attempt.shared;
      if (sharedWait > 0) throw limited(sharedWait);
      found = await this.store.users.getWithPasswordHash(emailKey);
      ok = await verifyPassword(password, found?.passwordHash ?? null);
      account = found && ok ? await this.store.accounts.get(found.user.accountId) : undefined;
    } catch (err) {
      attempt.release();
      throw err;
    }
    if (!found || !ok || found.user.status !== 'active' || !account) {
      const sharedWait = await attempt.fail();
      await this.auditFailedSignIn(email, emailKey, found?.user, !found ? 'unknown_email' : !ok ? 'wrong_password' : found.user.status !== 'active' ? 'user_disabled' : 'no_account', ip);
      if (sharedWait > 0) throw limited(sharedWait);
      throw new InvalidCredentialsError();
    }
    attempt.succeed();
    const sessionId = randomBytes(32).toString('base64url');
    const now = Date.now();
    const row = {
      id_hash: hashId(sessionId),
      user_id: found.user.id,
      csrf_token: randomBytes(32).toString('base64url'),
      created_at: now,
      last_seen_at: now,
      expires_at: now + this.policy.absoluteMs,
    };
    await this.store.sessions.create(row);
    await this.store.audit.record({
      accountId: account.id,
      actor: { id: found.user.id, email: found.user.email },
      action: 'user.signed_in',
      target: { type: 'user', id: found.user.id, name: found.user.email },
      changes: { ip },
    });
    return { sessionId, session: { idHash: row.id_hash, csrfToken: row.csrf_token, expiresAt: this.expiry(row), user: found.user, account } };
  }

  /**
   * A failed sign-in, audited as user.sign_in_failed (never the password): in the account of the
   * email's user when it exists, where that account's admins read it. An unknown email belongs to
   * no account: recorded without one (account_id null), so no account's admins see it, and kept
   * for the operator like other account-less events. Requests refused by the limiter before any
   * check are not audited, which bounds what a flood can write.
   */
  private async auditFailedSignIn(emailAsGiven: string, emailKey: string, user: User | undefined, reason: string, ip: string): Promise<void> {
    await this.store.audit.record({
      accountId: user?.accountId ?? null,
      actor: { id: user?.id ?? null, email: emailKey },
      action: 'user.sign_in_failed',
      target: { type: 'user', id: user?.id ?? null, name: emailKey },
      changes: { email: emailAsGiven, reason, ip },
    });
  }

  /** The session of a cookie value, or undefined when absent, unknown, expired, or its user is disabled. */
  async resolve(sessionId: string | undefined): Promise<ActiveSession | undefined> {
    if (!sessionId || sessionId.length > 200) return undefined;
    const idHash = hashId(sessionId);
    const row = await this.store.sessions.get(idHash);
    if (!row) return undefined;
    const now = Date.now();
    if (now >= this.expiry(row)) {
      await this.store.sessions.delete(idHash);
      return undefined;
    }
    const user = await this.store.users.get(row.user_id);
    const account = user ? await this.store.accounts.get(user.accountId) : undefined;
    if (!user || user.status !== 'active' || !account) return undefined;
    // Sliding idle expiry, written at most once a minute.
    if (now - Number(row.last_seen_at) > 60_000) {
      row.last_seen_at = now;
      await this.store.sessions.touch(idHash, now);
    }
    return { idHash, csrfToken: row.csrf_token, expiresAt: this.expiry(row), user, account };
  }

  csrfMatches(session: ActiveSession, header: string | undefined): boolean {
    if (!header) return false;
    const a = Buffer.from(header);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async signOut(session: ActiveSession): Promise<void> {
    await this.store.sessions.delete(session.idHash);
  }

  private expiry(row: { last_seen_at: number; expires_at: number }): number {
    return Math.min(Number(row.expires_at), Number(row.last_seen_at) + this.policy.idleMs);
  }
}
