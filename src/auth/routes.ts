import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequestError, OAuthError } from '../domain/errors.js';
import { hasRepeatedAuthorization } from '../http/headers.js';
import { ALL_SCOPES } from '../domain/scopes.js';
import type { TokenIntrospection } from './introspection.js';
import type { KeySet } from './signing-keys.js';
import type { TokenService } from './token-service.js';

export interface AuthRoutesOptions {
  issuer: string;
  publicUrl: string;
  tokens: TokenService;
  introspection: TokenIntrospection;
  keys: KeySet;
  countOutcome: (outcome: string) => void;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/**
 * The request's one Authorization header. Node keeps only the first of several, so the raw list
 * decides: two are two sets of credentials, an invalid_request (RFC 6749 5.2), whichever is valid.
 */
function authorizationOf(request: FastifyRequest): string | undefined {
  if (hasRepeatedAuthorization(request.raw.rawHeaders)) throw new InvalidRequestError('The request has more than one Authorization header');
  return request.headers.authorization;
}

function sendOAuthError(reply: FastifyReply, err: OAuthError): FastifyReply {
  return reply
    .code(err.status)
    .headers({ ...NO_STORE, ...err.headers })
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(err.toBody()));
}

/**
 * The token service's HTTP surface: the token endpoint (RFC 6749 4.4), discovery (RFC 8414 /
 * OIDC discovery) and the JWKS. Bodies are taken as raw text here and parsed strictly by the
 * token service, so no content type and no malformed body can reach a 5xx.
 */
export async function authRoutes(app: FastifyInstance, o: AuthRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof OAuthError) return sendOAuthError(reply, error);
    const status = error.statusCode ?? 500;
    if (status < 500) {
      const message = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'The request body is too large' : 'The request is malformed';
      o.countOutcome('invalid_request');
      return reply.code(400).headers(NO_STORE).send({ error: 'invalid_request', error_description: message });
    }
    request.log.error({ err: error }, 'token endpoint failure');
    return reply.code(500).headers(NO_STORE).send({ error: 'server_error', error_description: 'The server could not process the request' });
  });

  app.post('/Auth/connect/token', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const token = await o.tokens.issue({
        contentType: request.headers['content-type'],
        authorization: authorizationOf(request),
        body: typeof request.body === 'string' ? request.body : '',
        ip: request.ip,
      });
      o.countOutcome('issued');
      return reply
        .code(200)
        .headers(NO_STORE)
        .type('application/json; charset=utf-8')
        .send(`{"access_token":"${token.accessToken}","expires_in":${token.expiresIn},"token_type":"Bearer","scope":${JSON.stringify(token.scope)}}`);
    } catch (err) {
      if (err instanceof OAuthError) {
        o.countOutcome(err.code);
        return sendOAuthError(reply, err);
      }
      throw err;
    }
  });

  const request = (r: FastifyRequest) => ({
    contentType: r.headers['content-type'],
    authorization: authorizationOf(r),
    body: typeof r.body === 'string' ? r.body : '',
    ip: r.ip,
  });

  app.post('/Auth/connect/introspect', async (r, reply) => {
    const answer = await o.introspection.introspect(request(r));
    return reply.headers(NO_STORE).type('application/json; charset=utf-8').send(JSON.stringify(answer));
  });

  app.post('/Auth/connect/revocation', async (r, reply) => {
    await o.introspection.revoke(request(r));
    return reply.code(200).headers(NO_STORE).send();
  });

  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH'],
    url: '/Auth/connect/token',
    handler: async (_request, reply) =>
      reply.code(405).headers({ ...NO_STORE, allow: 'POST' }).send({ error: 'invalid_request', error_description: 'The token endpoint accepts POST only' }),
  });

  const discovery = () => ({
    issuer: o.issuer,
    token_endpoint: `${o.issuer}/connect/token`,
    jwks_uri: `${o.issuer}/.well-known/openid-configuration/jwks`,
    introspection_endpoint: `${o.issuer}/connect/introspect`,
    revocation_endpoint: `${o.issuer}/connect/revocation`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    grant_types_supported: ['client_credentials'],
    response_types_supported: ['token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: [...ALL_SCOPES],
    claims_supported: ['iss', 'aud', 'sub', 'client_id', 'scope', 'iat', 'nbf', 'exp', 'jti', 'account_id', 'region', 'user_id'],
    subject_types_supported: ['public'],
    // The algs of the published keys (CCAUTH_SIGNING_ALG, and the other one while a key of it is
    // still published): relying parties that take the allowed algs from discovery accept both.
    id_token_signing_alg_values_supported: o.keys.publishedAlgs(),
    token_endpoint_auth_signing_alg_values_supported: o.keys.publishedAlgs(),
  });

  const sendDiscovery = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.header('cache-control', 'public, max-age=300').send(discovery());
  app.get('/Auth/.well-known/openid-configuration', sendDiscovery);
  // RFC 8414 section 3: the metadata of an issuer with a path lives at the well-known URI with the path appended.
  app.get('/.well-known/oauth-authorization-server/Auth', sendDiscovery);

  app.get('/Auth/.well-known/openid-configuration/jwks', async (_request, reply) =>
    reply
      .header('cache-control', 'public, max-age=300')
      .type('application/jwk-set+json; charset=utf-8')
      .send(o.keys.jwks()),
  );
}
