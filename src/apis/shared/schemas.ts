/**
 * JSON Schema building blocks shared by the platform APIs. They validate requests, shape
 * responses and feed the OpenAPI 3.1 document, so every route describes all of its parts.
 */

declare module 'fastify' {
  /** OpenAPI annotations of a route (the same as @fastify/swagger's). */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
  }
}

export const MAX_PAGE_SIZE = 50;
/**
 * The highest page number a request may name. Without a maximum, `page=1e308`, `Infinity` or a
 * 20-digit number passed the integer check and became an offset no store accepts (a 500).
 */
export const MAX_PAGE = 1_000_000;

export const errorSchema = {
  type: 'object',
  description: 'An error: a stable code and a message for people',
  properties: {
    error: { type: 'string', description: 'Stable error code, e.g. invalid_request, not_found' },
    message: { type: 'string' },
  },
  required: ['error', 'message'],
} as const;

const error = (description: string) => ({ ...errorSchema, description });

/** What the gateway may answer before a handler runs. */
export const gatewayErrors = {
  401: error('The access token is missing, invalid or has expired'),
  403: error("The access token lacks the route's scope (insufficient_scope)"),
  406: error('The Accept header asks for an API version this gateway does not serve'),
  429: error("The account's API limit is used up; retry after Retry-After seconds"),
} as const;

export const badRequest = error('The request is invalid: the message says which parameter or field and why');
export const notFound = error('No such resource in the account of the access token');

export const pageMetaSchema = {
  type: 'object',
  properties: {
    page: { type: 'integer', minimum: 1, description: 'This page number (1-based)' },
    count: { type: 'integer', minimum: 0, description: 'Items on this page' },
    pageCount: { type: 'integer', minimum: 0, description: 'Pages in all at this page size' },
    totalCount: { type: 'integer', minimum: 0, description: 'Items in all' },
  },
  required: ['page', 'count', 'pageCount', 'totalCount'],
} as const;

export const pagingProperties = {
  page: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 1, description: `Page number, 1..${MAX_PAGE}` },
  pageSize: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: MAX_PAGE_SIZE, description: `Items a page, 1..${MAX_PAGE_SIZE}` },
} as const;

export const windowProperties = {
  start: {
    type: 'string',
    description: 'Start of the window (inclusive), ISO 8601, e.g. 2024-05-01T00:00:00Z; without an offset the time is UTC',
    examples: ['2024-05-01T00:00:00Z'],
  },
  end: {
    type: 'string',
    description: 'End of the window (exclusive), ISO 8601; at most 31 days after start',
    examples: ['2024-05-08T00:00:00Z'],
  },
} as const;

export function pagedSchema(item: object, description: string, extra: Record<string, object> = {}): object {
  return {
    type: 'object',
    description,
    properties: { meta: pageMetaSchema, items: { type: 'array', items: item }, ...extra },
    required: ['meta', 'items'],
  };
}

export function idParams(...names: string[]): object {
  return {
    type: 'object',
    properties: Object.fromEntries(names.map((n) => [n, { type: 'string', minLength: 1, maxLength: 100, description: `The ${n} (a UUID)` }])),
    required: names,
  };
}

export const nullable = (schema: { type: string } & Record<string, unknown>) => ({ ...schema, type: [schema.type, 'null'] });
