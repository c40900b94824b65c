import type { FastifyInstance, RouteOptions } from 'fastify';
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { UpstreamConfig } from '../config.js';
import { SCOPE_CATALOGUE, scopeDefinition } from '../domain/scopes.js';
import { mediaTypeOf } from '../gateway/media-type.js';

export interface OpenApiOptions {
  publicUrl: string;
  region: string;
  upstreams: UpstreamConfig[];
}

/** The OpenAPI paths of the token service: only the token endpoint is an API consumers call. */
export const TOKEN_PATH = '/Auth/connect/token';
const TOKEN_TAG = 'OAuth 2.0 token';
const API_MEDIA_TYPE = mediaTypeOf(1);

const errorBody = {
  type: 'object',
  properties: {
    error: { type: 'string', description: 'Stable error code' },
    message: { type: 'string', description: 'What went wrong, for people' },
  },
  required: ['error', 'message'],
} as const;

const error = (description: string, code: string, headers?: Record<string, { type: 'string'; description: string }>) => ({
  description,
  ...errorBody,
  properties: { ...errorBody.properties, error: { type: 'string', description: 'Stable error code', examples: [code] } },
  ...(headers ? { headers } : {}),
});

const retryAfter = { type: 'string', description: 'Seconds until the request may be retried' } as const;

/** What the gateway answers before any API handler runs; every gateway operation may get them. */
function gatewayResponses(options: { versioned: boolean }): Record<string, object> {
  return {
    401: error('The access token is missing, malformed, expired, revoked or from another region', 'invalid_token', {
      'WWW-Authenticate': { type: 'string', description: 'Bearer challenge (RFC 6750)' },
    }),
    403: error("The access token lacks the operation's scope; the message names it", 'insufficient_scope', {
      'WWW-Authenticate': { type: 'string', description: 'Bearer error="insufficient_scope", scope="<scope>"' },
    }),
    ...(options.versioned ? { 406: error('The Accept header asks for an API version this gateway does not serve', 'not_acceptable') } : {}),
    429: error("The account's API limit is used up", 'rate_limited', { 'Retry-After': retryAfter }),
  };
}

const oauthError = (description: string, codes: string[]) => ({
  description,
  type: 'object',
  properties: {
    error: { type: 'string', enum: codes },
    error_description: { type: 'string' },
  },
  required: ['error'],
});

/** Documentation of the token endpoint (its handler parses the form itself, so it has no schema). */
const tokenEndpointSchema = {
  summary: 'Get an access token (client credentials grant)',
  description:
    'OAuth 2.0 client credentials grant (RFC 6749 4.4). Authenticate with the client ID and secret of an API credential, either with HTTP Basic ' +
    '(client_secret_basic) or in the form (client_secret_post), never both. `scope` names one or more scopes of the credential, space-separated. ' +
    'The access token is a JWT (RFC 9068) to send as `Authorization: Bearer <token>`; reuse it until it expires.',
  operationId: 'createToken',
  tags: [TOKEN_TAG],
  security: [{ clientSecretBasic: [] }, {}],
  consumes: ['application/x-www-form-urlencoded'],
  body: {
    type: 'object',
    properties: {
      grant_type: { type: 'string', enum: ['client_credentials'] },
      scope: { type: 'string', description: 'Space-separated scopes, e.g. agents-availability:read', examples: ['agents-availability:read'] },
      client_id: { type: 'string', description: 'With client_secret_post: the client ID' },
      client_secret: { type: 'string', description: 'With client_secret_post: the client secret', format: 'password' },
    },
    required: ['grant_type', 'scope'],
  },
  response: {
    200: {
      description: 'The access token',
      type: 'object',
      properties: {
        access_token: { type: 'string' },
        expires_in: { type: 'integer', description: 'Seconds until the token expires' },
        token_type: { type: 'string', enum: ['Bearer'] },
        scope: { type: 'string', description: 'The granted scopes, space-separated' },
      },
      required: ['access_token', 'expires_in', 'token_type', 'scope'],
    },
    400: oauthError('The request is malformed, the grant type is not supported or the scope is not allowed', ['invalid_request', 'unsupported_grant_type', 'invalid_scope']),
    401: oauthError('Client authentication failed, or the client may not get tokens now', ['invalid_client']),
    429: { ...oauthError('Too many failed client authentications for this client ID or address', ['temporarily_unavailable']), headers: { 'Retry-After': retryAfter } },
  },
};

const upper = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** `PUT /useradmin/users/:id/presence` -> `putUseradminUsersByIdPresence`. */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((segment) => segment !== '' && segment !== '*')
    .map((segment) => (segment.startsWith(':') ? `By${upper(segment.slice(1))}` : segment.split(/[^A-Za-z0-9]+/).filter(Boolean).map(upper).join('')));
  return `${method.toLowerCase()}${words.join('')}`;
}

const security = (scope: string) => [{ bearerAuth: [scope] }, { oauth2: [scope] }];

const scopeText = (scope: string) => {
  const definition = scopeDefinition(scope);
  return definition ? `\`${scope}\` (${definition.description})` : `\`${scope}\``;
};

/** The tag of an upstream's operations. */
const upstreamTag = (prefix: string) => `Upstream ${prefix}`;

const FORWARDED_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

function upstreamSchema(upstream: UpstreamConfig, method: string, scope: string) {
  const withBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
  return {
    summary: `${method} anything below ${upstream.prefix} (forwarded to an upstream)`,
    description:
      `${upstream.description ? `${upstream.description}\n\n` : ''}` +
      `The gateway checks the access token (scope ${scopeText(scope)}) and the account's API limit, then forwards the request to an external ` +
      `upstream: the path after \`${upstream.prefix}\` and the query string unchanged, the body as it is sent, without the Authorization and ` +
      'Cookie headers, with `X-CCAUTH-Account-Id`, `X-CCAUTH-Client-Id`, `X-CCAUTH-User-Id` (user-level credentials), `X-CCAUTH-Scope` and ' +
      "`X-Forwarded-For/Proto/Host`. The upstream's status, headers and body come back as they are, streamed.",
    operationId: operationIdOf(method, `${upstream.prefix}/:path`),
    tags: [upstreamTag(upstream.prefix)],
    security: security(scope),
    params: {
      type: 'object',
      properties: { path: { type: 'string', description: `The path below ${upstream.prefix}, passed to the upstream` } },
      required: ['path'],
    },
    ...(withBody ? { consumes: ['*/*'], body: { description: 'Any body, passed to the upstream as it is sent' } } : {}),
    response: {
      '2XX': { description: "The upstream's answer (any status the upstream gives is passed on the same way)", content: { '*/*': { schema: {} } } },
      ...gatewayResponses({ versioned: false }),
      502: error('The upstream could not be reached or answered with something that is not HTTP', 'bad_gateway'),
      504: error('The upstream did not answer in time', 'gateway_timeout'),
    },
  };
}

interface RouteLike {
  method: RouteOptions['method'];
  url: string;
  config?: { scope?: string; upstream?: string };
}

/**
 * The OpenAPI 3.1 document, generated from the route schemas: the platform APIs (every route
 * inside the gateway), the configured upstreams described generically, and the token endpoint.
 * The Admin Portal's API, the portal and the operations endpoints are not part of it.
 *
 * Call it on the root instance before any route is added (not through `register`, which would
 * encapsulate it): it collects the routes as they are added.
 */
export async function openApi(app: FastifyInstance, o: OpenApiOptions): Promise<void> {
  const tokenUrl = `${o.publicUrl}${TOKEN_PATH}`;
  const upstreamByPrefix = new Map(o.upstreams.map((u) => [u.prefix, u]));

  const options: FastifyDynamicSwaggerOptions = {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: `Contact-center platform APIs (region ${o.region})`,
        version: '1',
        summary: 'The platform APIs behind the regional API gateway, and the OAuth 2.0 token endpoint',
        description: [
          `Every call needs an access token: get one from the token endpoint (\`POST ${tokenUrl}\`, OAuth 2.0 client credentials) with the client ID ` +
            'and secret of an API credential created in the Admin Portal, then send it as `Authorization: Bearer <token>`. Each operation needs the scope it names.',
          '',
          `Responses use the media type \`${API_MEDIA_TYPE}\` (send it in \`Accept\`, or \`application/json\`). Every response of the gateway carries ` +
            "`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` for the account's API limit.",
          '',
          `Discovery: \`${o.publicUrl}/Auth/.well-known/openid-configuration\` (token, JWKS, introspection and revocation endpoints).`,
          '',
          'To try an operation here: **Authorize**, then either paste a token under *bearerAuth*, or give a client ID and secret under *oauth2* and tick the scopes to get one.',
        ].join('\n'),
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      },
      servers: [{ url: o.publicUrl, description: `Region ${o.region}` }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: `An access token from ${tokenUrl}, sent as \`Authorization: Bearer <token>\``,
          },
          oauth2: {
            type: 'oauth2',
            description: 'OAuth 2.0 client credentials grant with the client ID and secret of an API credential',
            flows: {
              clientCredentials: {
                tokenUrl,
                scopes: Object.fromEntries(SCOPE_CATALOGUE.map((s) => [s.value, s.description])),
              },
            },
          },
          clientSecretBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'The token endpoint only: the client ID and secret of an API credential as HTTP Basic (RFC 6749 2.3.1)',
          },
        },
      },
    },
    stripBasePath: false,
    transform: ({ schema, url, route }) => {
      const r = route as unknown as RouteLike;
      const method = [r.method].flat()[0] ?? 'GET';
      const config = r.config ?? {};
      if (config.upstream !== undefined) {
        const upstream = upstreamByPrefix.get(config.upstream);
        // One generic operation per routed method, on the wildcard route; HEAD and OPTIONS follow GET.
        if (!upstream || !config.scope || !url.endsWith('/*') || !FORWARDED_METHODS.has(method)) return { schema: { hide: true }, url };
        return { schema: upstreamSchema(upstream, method, config.scope) as never, url: `${upstream.prefix}/{path}` };
      }
      if (config.scope) {
        const s = (schema ?? {}) as Record<string, unknown>;
        return {
          schema: {
            ...s,
            operationId: s.operationId ?? operationIdOf(method, url),
            summary: s.summary ?? `${method} ${url}`,
            description: [s.description, `Scope: ${scopeText(config.scope)}.`].filter(Boolean).join('\n\n'),
            security: security(config.scope),
            produces: [API_MEDIA_TYPE],
            response: { ...gatewayResponses({ versioned: true }), ...((s.response as object | undefined) ?? {}) },
          } as never,
          url,
        };
      }
      if (url === TOKEN_PATH && method === 'POST') return { schema: tokenEndpointSchema as never, url };
      return { schema: { hide: true }, url };
    },
    transformObject: (documentObject) =>
      describeTags(('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject) as unknown as OpenApiDocument) as never,
  };
  await app.register(swagger, options);
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, { tags?: string[]; security?: Record<string, string[]>[] }>>;
  tags?: { name: string; description?: string }[];
  [key: string]: unknown;
}

/** Declares every tag the operations use, each described by the scopes its operations need. */
function describeTags(doc: OpenApiDocument): OpenApiDocument {
  const scopesByTag = new Map<string, Set<string>>();
  for (const item of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(item)) {
      if (typeof operation !== 'object' || operation === null || !Array.isArray(operation.tags)) continue;
      for (const tag of operation.tags) {
        const scopes = scopesByTag.get(tag) ?? new Set<string>();
        for (const requirement of operation.security ?? []) for (const scope of requirement.oauth2 ?? []) scopes.add(scope);
        scopesByTag.set(tag, scopes);
      }
    }
  }
  const tags = [...scopesByTag.keys()]
    .sort((a, b) => (a === TOKEN_TAG ? -1 : b === TOKEN_TAG ? 1 : a.localeCompare(b)))
    .map((name) => {
      if (name === TOKEN_TAG) return { name, description: 'Get access tokens for the APIs (OAuth 2.0 client credentials grant)' };
      const scopes = [...(scopesByTag.get(name) ?? [])];
      const what = name.startsWith('Upstream ') ? `Requests forwarded to an external upstream at ${name.slice('Upstream '.length)}` : `The ${name} API`;
      return { name, description: `${what}. Scopes: ${scopes.map(scopeText).join(', ') || 'none'}.` };
    });
  return { ...doc, tags };
}
