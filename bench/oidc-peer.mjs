// The peer: panva's oidc-provider (v9) configured for ccauth's job, to compare against.
// One confidential client (client_secret_post; client_secret_basic is enabled too), the
// client_credentials grant only, scope `stats`, and through resource indicators a default
// resource server whose access tokens are RS256 JWTs (at+jwt) signed with a 2048-bit RSA key.
// Default in-memory adapter (JWT access tokens are not stored anyway). No logging: oidc-provider
// logs nothing per request, and Koa's error logger is silenced; NODE_ENV=production.
//
// Env: PORT (required), HOST (default 127.0.0.1). Prints one JSON document on stdout once
// listening: { listening, issuer, tokenPath, clientId, clientSecret, scope, resource }.
// Stops on SIGINT/SIGTERM.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('PORT is required\n');
  process.exit(2);
}
const host = process.env.HOST ?? '127.0.0.1';
process.env.NODE_ENV ??= 'production';

const issuer = `http://${host}:${port}/Auth`;
const resource = `http://${host}:${port}/`; // the API the tokens are for (ccauth: its public URL)
const scope = 'stats';
const clientId = randomBytes(16).toString('hex');
const clientSecret = randomBytes(32).toString('base64url');
const tokenPath = '/Auth/connect/token';
const ACCESS_TOKEN_TTL = 900; // as the demo account of ccauth

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope,
    },
  ],
  clientAuthMethods: ['client_secret_post', 'client_secret_basic'],
  jwks: { keys: [signingJwk] },
  scopes: [scope],
  claims: {},
  routes: { token: '/connect/token' },
  ttl: { ClientCredentials: ACCESS_TOKEN_TTL },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (resourceIndicator !== resource) throw new errors.InvalidTarget();
        return {
          scope,
          audience: resource,
          accessTokenTTL: ACCESS_TOKEN_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});
provider.silent = true; // Koa: no console.error for emitted errors.

// The issuer has a path (/Auth), like ccauth's, so mount the provider under it.
const { createServer } = await import('node:http');
const callback = provider.callback();
const server = createServer((req, res) => {
  if (req.url === '/Auth' || req.url.startsWith('/Auth/') || req.url.startsWith('/Auth?')) {
    req.originalUrl = req.url;
    req.url = req.url.slice('/Auth'.length) || '/';
    return callback(req, res);
  }
  res.statusCode = 404;
  res.end();
});
server.listen(port, host, () => {
  process.stdout.write(
    JSON.stringify({ listening: `http://${host}:${port}`, issuer, tokenPath, clientId, clientSecret, scope, resource }, null, 2) + '\n',
  );
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
