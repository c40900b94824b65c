import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiCredentialsAccess, canReadAudit } from '../domain/access.js';
import { ApiError, CcauthError, ForbiddenError, ValidationError } from '../domain/errors.js';
import type { User } from '../domain/model.js';
import { grantableScopes } from '../domain/policy.js';
import { scopeDefinition } from '../domain/scopes.js';
import type { Store } from '../store/store.js';
import type { CredentialAdmin } from './credentials.js';
import type { CursorCodec } from './cursor.js';
import { toCsv, wantsCsv } from './csv.js';
import { CSV_LIMIT_MAX, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from './list-query.js';
import { operation, parseRequest } from './request.js';
import type { AuditList, CredentialList, ScopeList, SessionView } from './schemas.js';
import type { ActiveSession, SessionService } from './sessions.js';
import { usageRoutes } from './usage-routes.js';

export const SESSION_COOKIE = 'ccauth_session';

export interface AdminRoutesOptions {
  store: Store;
  sessions: SessionService;
  credentials: CredentialAdmin;
  secureCookies: boolean;
  /** Signs the lists' paging cursors (a key derived from the master key: the same on every instance). */
  cursors: CursorCodec;
}

declare module 'fastify' {
  interface FastifyRequest {
    adminSession?: ActiveSession;
  }
}

function sessionView(session: ActiveSession): SessionView {
  const { user, account } = session;
  return {
    user: { id: user.id, email: user.email, name: user.name, license: user.license, accountId: user.accountId },
    account: { id: account.id, name: account.name, apiCredentialsEnabled: account.apiCredentialsEnabled },
    access: apiCredentialsAccess(user, account),
    csrfToken: session.csrfToken,
    expiresAt: new Date(session.expiresAt).toISOString(),
  };
}

/**
 * The Admin Portal's JSON API (SPEC 3): sessions, the API Credentials area and the audit log.
 * Every rule is enforced here, not only hidden in the UI.
 */
export async function adminRoutes(app: FastifyInstance, o: AdminRoutesOptions): Promise<void> {
  await app.register(cookie);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof CcauthError) {
      const body = error instanceof ApiError ? error.toBody() : { error: error.code, message: error.message };
      return reply.code(error.status).headers(error.headers).send(body);
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      const message =
        error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
          ? 'The request body is not valid JSON'
          : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'The request body must be application/json'
            : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
              ? 'The request body is too large'
              : error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
                ? 'The request body is empty'
                : 'The request is malformed';
      return reply.code(400).send({ error: 'invalid_request', message });
    }
    request.log.error({ err: error }, 'admin API failure');
    return reply.code(500).send({ error: 'server_error', message: 'Something went wrong; try again' });
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found', message: 'No such admin API route' }));

  const setCookie = (reply: FastifyReply, value: string, maxAgeSeconds: number) =>
    reply.setCookie(SESSION_COOKIE, value, { path: '/admin', httpOnly: true, sameSite: 'strict', secure: o.secureCookies, maxAge: maxAgeSeconds });

  /** Signed in, and (for state changes) the CSRF header matches. */
  const requireSession = async (request: FastifyRequest) => {
    const session = await o.sessions.resolve(request.cookies[SESSION_COOKIE]);
    if (!session) throw new ApiError(401, 'unauthorized', 'Sign in to continue; your session is missing or has expired');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const header = request.headers['x-csrf-token'];
      if (!o.sessions.csrfMatches(session, typeof header === 'string' ? header : undefined)) {
        throw new ForbiddenError('The X-CSRF-Token header is missing or does not match the session', 'csrf_failed');
      }
    }
    request.adminSession = session;
  };

  /** Rule 1 on top of a session: admin or supervisor, in an account with the switch on. */
  const requireArea = async (request: FastifyRequest) => {
    await requireSession(request);
    const { user, account } = request.adminSession as ActiveSession;
    const access = apiCredentialsAccess(user, account);
    if (access === 'forbidden') throw new ForbiddenError(`The API Credentials area is for admin and supervisor licenses; you have the ${user.license} license`);
    if (access === 'api_credentials_disabled') {
      throw new ForbiddenError('API credentials are not enabled for your account; contact support to turn them on', 'api_credentials_disabled');
    }
  };
  const actor = (request: FastifyRequest): User => (request.adminSession as ActiveSession).user;
  await usageRoutes(app, { store: o.store, credentials: o.credentials, requireArea, actor, cursors: o.cursors });

  app.post('/session', operation('signIn'), async (request, reply) => {
    const { body } = parseRequest(request, 'signIn');
    const { sessionId, session } = await o.sessions.signIn(body.email, body.password, request.ip);
    setCookie(reply, sessionId, Math.floor((session.expiresAt - Date.now()) / 1000));
    return sessionView(session);
  });

  app.delete('/session', { ...operation('signOut'), preHandler: requireSession }, async (request, reply) => {
    await o.sessions.signOut(request.adminSession as ActiveSession);
    reply.clearCookie(SESSION_COOKIE, { path: '/admin' });
    return reply.code(204).send();
  });

  app.get('/me', { ...operation('getSession'), preHandler: requireSession }, async (request) => sessionView(request.adminSession as ActiveSession));

  app.get('/scopes', { ...operation('listGrantableScopes'), preHandler: requireArea }, async (request): Promise<ScopeList> => ({
    items: grantableScopes(actor(request).license).map((value) => {
      const def = scopeDefinition(value);
      return { value, description: def?.description ?? value, apis: [...(def?.apis ?? [])] };
    }),
  }));

  app.get('/credentials', { ...operation('listCredentials'), preHandler: requireArea }, async (request): Promise<CredentialList> => {
    const { cursor, limit, ...filters } = parseRequest(request, 'listCredentials').query;
    const user = actor(request);
    // A cursor is bound to the user and every filter and the sort (not the page size).
    const bound = { user: user.id, ...filters };
    const after = cursor === undefined ? undefined : credentialKey(o.cursors.decode(cursor, 'credentials', bound));
    const page = await o.credentials.page(user, {
      ...(filters.owner ? { owner: filters.owner } : {}),
      ...(filters.level ? { level: filters.level } : {}),
      ...(filters.q !== undefined ? { q: filters.q } : {}),
      ...(filters.scope ? { scopes: filters.scope } : {}),
      ...(filters.unused_days !== undefined ? { unusedDays: filters.unused_days } : {}),
      ...(filters.sort ? { sort: filters.sort } : {}),
      limit: limit ?? LIST_LIMIT_DEFAULT,
      ...(after ? { after } : {}),
    });
    return { items: page.items, nextCursor: page.next ? o.cursors.encode('credentials', bound, page.next) : null };
  });

  app.post('/credentials', { ...operation('createCredential'), preHandler: requireArea }, async (request, reply) => {
    const { body } = parseRequest(request, 'createCredential');
    // The schema accepts both levels (the document lists them); creating an account-level one is refused here.
    if (body.level === 'account') {
      throw new ValidationError('Account-level API credentials are deprecated and can no longer be created; create a user-level credential instead', 'account_level_deprecated');
    }
    const created = await o.credentials.create(actor(request), { name: body.name, scopes: body.scopes });
    return reply.code(201).header('location', `/admin/api/credentials/${created.id}`).send(created);
  });

  app.get('/credentials/:id', { ...operation('getCredential'), preHandler: requireArea }, async (request) => {
    const { id } = parseRequest(request, 'getCredential').params;
    return o.credentials.get(actor(request), id);
  });

  app.get('/credentials/:id/evaluate', { ...operation('evaluateCredential'), preHandler: requireArea }, async (request) => {
    const { id } = parseRequest(request, 'evaluateCredential').params;
    return o.credentials.evaluate(actor(request), id);
  });

  app.post('/credentials/:id/secret/end-grace', { ...operation('endCredentialGrace'), preHandler: requireArea }, async (request) => {
    // No body is needed; an empty JSON object is accepted, anything else is refused.
    const { id } = parseRequest(request, 'endCredentialGrace').params;
    return o.credentials.endGrace(actor(request), id);
  });

  app.patch('/credentials/:id', { ...operation('updateCredential'), preHandler: requireArea }, async (request) => {
    const { params, body } = parseRequest(request, 'updateCredential');
    return o.credentials.update(actor(request), params.id, body);
  });

  app.delete('/credentials/:id', { ...operation('deleteCredential'), preHandler: requireArea }, async (request, reply) => {
    const { id } = parseRequest(request, 'deleteCredential').params;
    await o.credentials.delete(actor(request), id);
    return reply.code(204).send();
  });

  app.post('/credentials/:id/secret', { ...operation('rotateCredentialSecret'), preHandler: requireArea }, async (request) => {
    const { params, body } = parseRequest(request, 'rotateCredentialSecret');
    return o.credentials.rotateSecret(actor(request), params.id, body.graceSeconds ?? 0);
  });

  app.get('/audit', { ...operation('listAuditEvents'), preHandler: requireArea }, async (request, reply) => {
    const user = actor(request);
    if (!canReadAudit(user)) throw new ForbiddenError('Only admins can read the audit log');
    const { cursor, limit, format, ...filters } = parseRequest(request, 'listAuditEvents').query;
    const csv = wantsCsv(format, request.headers.accept);
    if (!csv && limit !== undefined && limit > LIST_LIMIT_MAX) throw new ValidationError(`Invalid query parameter limit: expected a whole number from 1 to ${LIST_LIMIT_MAX}`);
    if (filters.from !== undefined && filters.to !== undefined && filters.from > filters.to) throw new ValidationError('Invalid query parameter to: it is before from');
    const bound = { user: user.id, ...filters };
    const after = cursor === undefined ? undefined : auditKey(o.cursors.decode(cursor, 'audit', bound));
    const page = await o.store.audit.search({
      accountId: user.accountId,
      ...(filters.action ? { actions: filters.action } : {}),
      ...(filters.actor !== undefined ? { actorEmail: filters.actor } : {}),
      ...(filters.credential !== undefined ? { credentialId: filters.credential } : {}),
      ...(filters.from !== undefined ? { from: filters.from } : {}),
      ...(filters.to !== undefined ? { to: filters.to } : {}),
      ...(filters.before !== undefined ? { before: filters.before } : {}),
      limit: limit ?? (csv ? CSV_LIMIT_MAX : LIST_LIMIT_DEFAULT),
      ...(after ? { after } : {}),
    });
    const nextCursor = page.next ? o.cursors.encode('audit', bound, page.next) : null;
    const items = page.items.map(({ accountId: _a, ...rest }) => rest);
    if (csv) {
      if (nextCursor) reply.header('x-next-cursor', nextCursor);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit.csv"')
        .send(
          toCsv(
            ['id', 'at', 'action', 'actor_id', 'actor_email', 'target_type', 'target_id', 'target_name', 'changes'],
            items.map((e) => [e.id, e.at, e.action, e.actor.id, e.actor.email, e.target.type, e.target.id, e.target.name, e.changes]),
          ),
        );
    }
    const last = items[items.length - 1];
    // nextBefore: the paging of the first console (before=), kept for its clients.
    const answer: AuditList = { items, nextCursor, ...(nextCursor && last ? { nextBefore: last.at } : {}) };
    return answer;
  });
}

/** A cursor's position for the credential list: [sort value, id]. */
function credentialKey(position: unknown[]): readonly [string | number, string] {
  const [value, id] = position;
  if (position.length !== 2 || (typeof value !== 'string' && typeof value !== 'number') || typeof id !== 'string') throw new ValidationError('Invalid query parameter cursor: not a cursor of this list');
  return [value, id];
}

/** A cursor's position for the audit log: [at (epoch ms), id]. */
function auditKey(position: unknown[]): readonly [number, string] {
  const [at, id] = position;
  if (position.length !== 2 || typeof at !== 'number' || typeof id !== 'string') throw new ValidationError('Invalid query parameter cursor: not a cursor of this list');
  return [at, id];
}
