import type { FastifyRequest } from 'fastify';
import { ApiError, ValidationError } from '../../domain/errors.js';
import { CARD_DATA_MESSAGE, findCardDataFields } from './card-data.js';

interface PropertySchema {
  type?: string | string[];
  items?: PropertySchema;
}

interface BodySchema {
  type?: string;
  properties?: Record<string, PropertySchema>;
  additionalProperties?: boolean;
  minProperties?: number;
}

const ARTICLE: Record<string, string> = { string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', array: 'an array', object: 'an object', null: 'null' };

function matches(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return true;
  }
}

function checkType(value: unknown, schema: PropertySchema, path: string): void {
  if (schema.type === undefined) return;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (!types.some((t) => matches(value, t))) throw new ValidationError(`Field ${path} must be ${types.map((t) => ARTICLE[t] ?? t).join(' or ')}`);
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => checkType(v, schema.items as PropertySchema, `${path}[${i}]`));
}

/**
 * The body checks JSON Schema validation (with Fastify's type coercion and removal of unknown
 * properties) cannot make: an unknown field is an error, not silently dropped; a field's JSON type
 * must be the declared one ("5" is not a number); a body that changes nothing is an error.
 */
export function checkBodyStrictly(schema: BodySchema, body: Record<string, unknown>): void {
  const properties = schema.properties ?? {};
  const allowed = Object.keys(properties);
  const keys = Object.keys(body);
  if (schema.additionalProperties === false) {
    const unknown = keys.filter((k) => !Object.hasOwn(properties, k));
    if (unknown.length > 0) {
      throw new ValidationError(`Unknown field${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}: this request accepts ${allowed.join(', ')}`);
    }
  }
  if (schema.minProperties !== undefined && keys.length < schema.minProperties) {
    throw new ValidationError(`The request body must set at least one of: ${allowed.join(', ')}`);
  }
  for (const key of keys) {
    const property = properties[key];
    if (property) checkType(body[key], property, key);
  }
}

/**
 * preValidation hook of every platform API: card data in any body is refused before anything
 * else looks at it (and the refusal names only the fields, never their values); then the strict
 * body checks of the route's schema.
 */
export async function guardBody(request: FastifyRequest): Promise<void> {
  const body = request.body;
  if (body === null || typeof body !== 'object') return;
  const cardFields = findCardDataFields(body);
  if (cardFields.length > 0) {
    throw new ApiError(400, 'card_data_not_allowed', `${CARD_DATA_MESSAGE} (field${cardFields.length === 1 ? '' : 's'} ${cardFields.join(', ')})`);
  }
  const schema = request.routeOptions.schema?.body as BodySchema | undefined;
  if (schema?.type === 'object' && !Array.isArray(body)) checkBodyStrictly(schema, body as Record<string, unknown>);
}
