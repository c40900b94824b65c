import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../../domain/errors.js';

interface NumericProperty {
  name: string;
  type: 'integer' | 'number';
  maximum: number | undefined;
}

const DECIMAL_INTEGER = /^-?[0-9]+$/;
const DECIMAL_NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;

const numericOf = new WeakMap<object, NumericProperty[]>();

function numericProperties(querystring: unknown): NumericProperty[] {
  if (querystring === null || typeof querystring !== 'object') return [];
  let found = numericOf.get(querystring);
  if (found) return found;
  found = [];
  const properties = (querystring as { properties?: Record<string, { type?: unknown; maximum?: unknown }> }).properties ?? {};
  for (const [name, p] of Object.entries(properties)) {
    if (p.type === 'integer' || p.type === 'number') found.push({ name, type: p.type, maximum: typeof p.maximum === 'number' ? p.maximum : undefined });
  }
  numericOf.set(querystring, found);
  return found;
}

/**
 * Numeric query parameters are plain decimal numbers of a size JavaScript holds exactly. The
 * schema validator coerces `Infinity`, `1e308` or `0x10` to numbers and skips the range checks
 * for a non-finite one, so `page=Infinity` reached the store as an offset (a 500). Runs before
 * validation; what passes here gets the schema's own checks and messages (minimum, maximum).
 */
export async function guardQuery(request: FastifyRequest): Promise<void> {
  const properties = numericProperties(request.routeOptions.schema?.querystring);
  if (properties.length === 0) return;
  const query = request.query as Record<string, unknown> | undefined;
  if (!query) return;
  for (const p of properties) {
    const value = query[p.name];
    if (value === undefined) continue;
    const kind = p.type === 'integer' ? 'an integer' : 'a number';
    if (typeof value !== 'string' || !(p.type === 'integer' ? DECIMAL_INTEGER : DECIMAL_NUMBER).test(value)) {
      throw new ValidationError(`Query parameter ${p.name} must be ${kind}`);
    }
    const n = Number(value);
    if (p.type === 'integer' ? !Number.isSafeInteger(n) : !Number.isFinite(n)) {
      throw new ValidationError(p.maximum !== undefined && n > 0 ? `Query parameter ${p.name} must be <= ${p.maximum}` : `Query parameter ${p.name} is out of range`);
    }
  }
}
