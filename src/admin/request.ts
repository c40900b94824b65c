import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ValidationError } from '../domain/errors.js';
import { parseListQuery } from './list-query.js';
import { FIELD_ERRORS, type OperationId, REQUESTS } from './schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The admin API operation a route serves (src/admin/schemas.ts REQUESTS, the OpenAPI operationId). */
    operationId?: OperationId;
  }
}

/** The route options of an admin API operation: its operationId, which parseRequest checks. */
export const operation = (operationId: OperationId) => ({ config: { operationId } });

type Requests = typeof REQUESTS;
type Part<K extends OperationId, P extends 'params' | 'query' | 'body'> = Requests[K] extends Record<P, infer S extends z.ZodType> ? z.output<S> : undefined;
export interface ParsedRequest<K extends OperationId> {
  params: Part<K, 'params'>;
  query: Part<K, 'query'>;
  body: Part<K, 'body'>;
}

/**
 * Parses a request with the schemas of its operation (REQUESTS[operationId], the same objects the
 * OpenAPI document is written from). A route registered for another operation is a programming
 * error (500), so a handler cannot parse with a schema other than its documented one. Refusals are
 * 400 invalid_request naming the parameter or field, or the code SPEC gives the field (FIELD_ERRORS).
 */
export function parseRequest<K extends OperationId>(request: FastifyRequest, operationId: K): ParsedRequest<K> {
  const registered = request.routeOptions.config.operationId;
  if (registered !== operationId) throw new Error(`admin API: the route of ${String(registered)} parses as ${operationId}`);
  const schemas = REQUESTS[operationId] as { params?: z.ZodType; query?: z.ZodType; body?: z.ZodType };
  return {
    params: schemas.params ? parseFields(schemas.params, request.params, 'path') : undefined,
    query: schemas.query ? parseListQuery(schemas.query, request.query) : undefined,
    body: schemas.body ? parseFields(schemas.body, request.body ?? {}, operationId === 'signIn' ? 'sign-in body' : 'request body') : undefined,
  } as ParsedRequest<K>;
}

function parseFields<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') throw new ValidationError(`Unknown field in the ${what}: ${(issue as { keys: string[] }).keys.join(', ')}`);
  const field = issue?.path.join('.') || '';
  const own = FIELD_ERRORS.get(schema)?.[String(issue?.path[0] ?? '')];
  if (own) throw new ValidationError(own.message, own.code);
  throw new ValidationError(`Invalid ${what}${field ? ` field ${field}` : ''}: ${issue?.message ?? 'invalid'}`);
}
