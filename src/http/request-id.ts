import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** SPEC 3 "Console additions": a caller's own request id is kept when it is this shape. */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id of a request: the caller's `X-Request-Id` when it is 1..128 characters of
 * `[A-Za-z0-9._:-]`, else a new random one. Anything else a client sends (a list, a long value,
 * bytes that would break a log line or a header) is never echoed.
 */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && ACCEPTED.test(header) ? header : randomUUID();
}

/** Fastify's `genReqId`: the same rule, from the raw request. */
export function genReqId(raw: IncomingMessage): string {
  return requestIdOf(raw.headers['x-request-id']);
}
