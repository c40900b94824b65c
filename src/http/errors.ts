import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { CcauthError, OAuthError } from '../domain/errors.js';
import { genReqId, requestIdOf } from './request-id.js';

/**
 * The one place where whatever no route answered in its own way becomes SPEC's error shape
 * `{"error","message"}`: unknown routes, framework errors (a broken percent-escape, a malformed
 * request line, a body of the wrong type or too large) and failures of the region's own routes.
 * Areas with their own error shape (the token service: RFC 6749 bodies) keep their own handler;
 * this is what remains. A body never carries a framework's error code (`FST_ERR_*`).
 */

type EdgeError = Error & { statusCode?: number; code?: string; validation?: unknown };

const JSON_TYPE = 'application/json; charset=utf-8';

/** A message for a client's mistake that the framework noticed, by the framework's code. */
export function clientErrorMessage(error: EdgeError): { status: number; message: string } {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return { status: 400, message: 'The request path is not valid: it has a malformed percent-escape or character' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, message: 'A path parameter of the request is too long' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: 'The request body has a content type this route does not accept' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: 'The request body does not match its Content-Length' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: 'The request body is too large' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, message: 'The request body is empty but its content type is application/json' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, message: 'The request body is not valid JSON' };
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return { status: 400, message: 'The request could not be routed' };
    default:
      if (error instanceof SyntaxError) return { status: 400, message: 'The request body is not valid JSON' };
      if (error.validation) return { status: 400, message: error.message };
      return { status: 400, message: 'The request is malformed' };
  }
}

/** Root error handler: SPEC's JSON error shape for every route without a handler of its own. */
export function edgeErrorHandler(error: EdgeError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof OAuthError) return reply.code(error.status).headers(error.headers).type(JSON_TYPE).send(error.toBody());
  if (error instanceof CcauthError) return reply.code(error.status).headers(error.headers).type(JSON_TYPE).send({ error: error.code, message: error.message });
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const { status: answer, message } = clientErrorMessage(error);
    request.log.info({ code: error.code, status: answer }, 'request refused');
    return reply.code(answer).type(JSON_TYPE).send({ error: 'invalid_request', message });
  }
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).type(JSON_TYPE).send({ error: 'server_error', message: 'Something went wrong; try again' });
}

/** Unknown routes (SPEC 3 "Console additions"): 404 `{"error":"not_found","message"}`. */
export function edgeNotFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = (request.raw.url ?? '/').split('?')[0] ?? '/';
  const shown = path.length > 200 ? `${path.slice(0, 200)}...` : path;
  return reply.code(404).type(JSON_TYPE).send({ error: 'not_found', message: `There is no route ${request.method} ${shown}` });
}

/** Errors the router raises before any route or hook runs (bad escapes, overlong parameters). */
function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, message } = clientErrorMessage(error);
  request.log.info({ code: error.code, status }, 'request refused');
  void reply.code(status).header('x-request-id', String(request.id)).type(JSON_TYPE).send({ error: 'invalid_request', message });
}

/**
 * Bytes that are not HTTP (a malformed request line or header, headers too large, a request that
 * took too long): Node answers these before Fastify sees a request, so the answer is written here,
 * in the same shape.
 */
function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'The request took too long to arrive']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'The request headers are too large']
        : [400, 'The request is not valid HTTP'];
  this.log.trace({ code: err.code }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({ error: 'invalid_request', message });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestIdOf(undefined)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** The Fastify options of the edge: request ids and the answers to framework errors. */
export function edgeServerOptions(): Pick<FastifyServerOptions, 'genReqId' | 'requestIdHeader' | 'frameworkErrors' | 'clientErrorHandler'> {
  return { requestIdHeader: false, genReqId, frameworkErrors, clientErrorHandler };
}

/**
 * On the root instance, before any route: every response carries `X-Request-Id`, unknown routes
 * and otherwise unhandled errors get SPEC's shape. Each log line of a request carries its id
 * (`reqId`, from Fastify's request logger).
 */
export function installEdge(app: FastifyInstance): void {
  // Callback style, not async: one less promise per response on the hot paths.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  app.setErrorHandler(edgeErrorHandler);
  app.setNotFoundHandler(edgeNotFoundHandler);
}
