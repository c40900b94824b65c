import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { MAX_PAGE_SIZE } from './schemas.js';

type SchemaErrorFormatter = Parameters<FastifyInstance['setSchemaErrorFormatter']>[0];
type SchemaErrorDataVar = Parameters<SchemaErrorFormatter>[1];

const ARTICLE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  null: 'null',
};

/** "/skills/0" of the body -> "skills[0]". */
function pathOf(instancePath: string): string {
  return instancePath
    .split('/')
    .filter((p) => p !== '')
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

function subject(dataVar: SchemaErrorDataVar, path: string): string {
  if (path === '') return dataVar === 'body' ? 'The request body' : dataVar === 'querystring' ? 'The query string' : `The ${dataVar}`;
  if (dataVar === 'querystring') return `Query parameter ${path}`;
  if (dataVar === 'params') return `Path parameter ${path}`;
  if (dataVar === 'body') return `Field ${path}`;
  return `Header ${path}`;
}

export function describeSchemaError(e: FastifySchemaValidationError, dataVar: SchemaErrorDataVar): string {
  const path = pathOf(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const missing = String(p.missingProperty);
      const full = path ? `${path}.${missing}` : missing;
      return `${subject(dataVar, full)} is required`;
    }
    case 'type': {
      const types = String(p.type).split(',');
      if (path === '' && dataVar === 'body') return 'The request body must be a JSON object';
      return `${subject(dataVar, path)} must be ${types.map((t) => ARTICLE[t] ?? t).join(' or ')}`;
    }
    case 'enum':
      return `${subject(dataVar, path)} must be one of: ${((p.allowedValues as unknown[]) ?? []).map(String).join(', ')}`;
    case 'minLength':
      return `${subject(dataVar, path)} must be at least ${String(p.limit)} character${p.limit === 1 ? '' : 's'} long`;
    case 'maxLength':
      return `${subject(dataVar, path)} must be at most ${String(p.limit)} characters long`;
    case 'minItems':
      return `${subject(dataVar, path)} must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    case 'maxItems':
      return `${subject(dataVar, path)} must have at most ${String(p.limit)} items`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${subject(dataVar, path)} ${e.message ?? 'is out of range'}`;
    case 'minProperties':
      return `${subject(dataVar, path)} must contain at least ${String(p.limit)} field${p.limit === 1 ? '' : 's'}`;
    case 'additionalProperties':
      return `${subject(dataVar, path)} has an unknown field: ${String(p.additionalProperty)}`;
    case 'format':
      return `${subject(dataVar, path)} must be a valid ${String(p.format)}`;
    default:
      return `${subject(dataVar, path)} ${e.message ?? 'is invalid'}`;
  }
}

/**
 * Schema errors as a person would write them ("Query parameter pageSize must be <= 50"). With a
 * resource name, too large a pageSize gets the platform's query-limit message.
 */
export function schemaErrorFormatter(resource?: string): SchemaErrorFormatter {
  return (errors, dataVar) => {
    const first = errors[0];
    if (!first) return new Error(`The ${dataVar} is invalid`);
    if (resource && dataVar === 'querystring' && first.instancePath === '/pageSize' && first.keyword === 'maximum') {
      return new Error(`Request exceeded maximum number for ${resource} of ${MAX_PAGE_SIZE} in one query.`);
    }
    return new Error(describeSchemaError(first, dataVar));
  };
}
