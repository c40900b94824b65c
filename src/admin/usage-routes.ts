import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canReadAudit } from '../domain/access.js';
import { ForbiddenError, ValidationError } from '../domain/errors.js';
import type { User } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { UsageRepository } from '../store/usage.js';
import { parseRange, parseTime, perMinuteReport, usageReport } from '../usage/report.js';
import type { ActiveSession } from './sessions.js';
import type { CredentialAdmin } from './credentials.js';
import type { CursorCodec } from './cursor.js';
import { toCsv, wantsCsv } from './csv.js';
import { CSV_LIMIT_MAX, LIST_LIMIT_DEFAULT } from './list-query.js';
import { operation, parseRequest } from './request.js';
import type { AccountUsage, EventList, Usage } from './schemas.js';

export interface UsageRoutesOptions {
  store: Store;
  credentials: CredentialAdmin;
  /** The admin API's checks (src/admin/routes.ts): a session, and rule 1. */
  requireArea: (request: FastifyRequest) => Promise<void>;
  actor: (request: FastifyRequest) => User;
  /** The lists' signed cursors (src/admin/cursor.ts), shared with the credential list and the audit log. */
  cursors: CursorCodec;
}

const TOP_CREDENTIALS = 10;
/** A CSV export without `limit` holds up to this many rows; past them `X-Next-Cursor` continues. */
const CSV_EXPORT_ROWS = CSV_LIMIT_MAX;
const CSV_COLUMNS = ['id', 'at', 'type', 'credentialId', 'clientId', 'reason', 'ip', 'count'] as const;

/** An events cursor's position: [at (epoch ms), id]. */
function eventKey(position: unknown[]): { at: number; id: string } {
  const [at, id] = position;
  if (position.length !== 2 || typeof at !== 'number' || !Number.isSafeInteger(at) || typeof id !== 'string') throw new ValidationError('Invalid query parameter cursor: not a cursor of this list');
  return { at, id };
}

/**
 * Usage you can see (SPEC "Console additions"): a credential's counters by hour or day, the
 * account's totals and top credentials, and the events list. Registered inside the admin API
 * (same session, CSRF, error shape); visibility is the credential service's.
 */
export async function usageRoutes(app: FastifyInstance, o: UsageRoutesOptions): Promise<void> {
  const usage = new UsageRepository(o.store.db);

  app.get('/credentials/:id/usage', { ...operation('getCredentialUsage'), preHandler: o.requireArea }, async (request): Promise<Usage> => {
    const { params: path, query: params } = parseRequest(request, 'getCredentialUsage');
    const { id } = path;
    // Bad parameters are 400 before a credential's existence is looked at.
    parseRange(params, Date.now());
    // 404 for an id the caller may not see (the credential service's rule).
    const credential = await o.credentials.get(o.actor(request), id);
    const report = await usageReport(usage, { clientId: credential.clientId }, params);
    return { ...report, credentialId: credential.id };
  });

  app.get('/usage', { ...operation('getAccountUsage'), preHandler: o.requireArea }, async (request): Promise<AccountUsage> => {
    const user = o.actor(request);
    if (!canReadAudit(user)) throw new ForbiddenError("Only admins can read the account's usage");
    const params = parseRequest(request, 'getAccountUsage').query;
    const now = Date.now();
    const range = parseRange(params, now);
    const account = (request.adminSession as ActiveSession).account;
    const [report, top, perMinute] = await Promise.all([
      usageReport(usage, { accountId: user.accountId }, params, now),
      usage.top(user.accountId, range.start, range.to, TOP_CREDENTIALS),
      // The last 60 minutes whatever the range: the account page's calls against the API limit.
      perMinuteReport(usage, user.accountId, account.apiRateLimitPerMinute, now),
    ]);
    return { ...report, apiRateLimitPerMinute: account.apiRateLimitPerMinute, top, perMinute };
  });

  app.get('/events', { ...operation('listEvents'), preHandler: o.requireArea }, async (request, reply: FastifyReply) => {
    const user = o.actor(request);
    const params = parseRequest(request, 'listEvents').query;
    const csv = wantsCsv(params.format, request.headers.accept);
    const type = params.type;
    const from = parseTime(params.from, 'from');
    const to = parseTime(params.to, 'to');
    if (from !== undefined && to !== undefined && to <= from) throw new ValidationError('to must be later than from');
    const limit = params.limit ?? (csv ? CSV_EXPORT_ROWS : LIST_LIMIT_DEFAULT);
    // Bound to the query and to who asks (the shared codec): another user's or another query's cursor is refused.
    const bound = { user: user.id, credential: params.credential, type, from, to };
    const after = params.cursor !== undefined ? eventKey(o.cursors.decode(params.cursor, 'events', bound)) : undefined;

    let clientId: string | undefined;
    if (params.credential !== undefined) clientId = (await o.credentials.get(user, params.credential)).clientId;
    const rows = await usage.events({
      accountId: user.accountId,
      // Rule 6: a supervisor sees the events of their own credentials only.
      ...(user.license === 'admin' ? {} : { ownerUserId: user.id }),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(after ? { after } : {}),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const nextCursor = rows.length > limit && last ? o.cursors.encode('events', bound, [Date.parse(last.at), last.id]) : null;
    if (csv) {
      if (nextCursor) reply.header('x-next-cursor', nextCursor);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="events.csv"')
        .send(toCsv(CSV_COLUMNS, items.map((item) => CSV_COLUMNS.map((c) => item[c]))));
    }
    const answer: EventList = { items, nextCursor };
    return answer;
  });
}
