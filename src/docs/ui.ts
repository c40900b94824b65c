import type { FastifyInstance } from 'fastify';
import swaggerUi from '@fastify/swagger-ui';
import { ADMIN_API_PREFIX, adminOpenApiDocument } from '../admin/openapi.js';

/**
 * The page and its assets get a policy of their own (the Admin Portal's applies to /admin only):
 * scripts from this origin only (Swagger UI needs no inline script), styles from this origin plus
 * the inline styles Swagger UI applies as it renders; the UI calls the APIs and the token endpoint
 * of this origin only.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const LOGO =
  '<svg xmlns="http://www.w3.org/2000/svg" width="220" height="40" viewBox="0 0 220 40">' +
  '<text x="0" y="28" font-family="sans-serif" font-size="22" font-weight="700" fill="#ffffff">API reference</text></svg>';

/** The two documents of the Swagger UI selector; `/docs/?urls.primaryName=Admin%20Portal%20API` opens the second. */
export const DOCS_SPECS = [
  { url: '/openapi.json', name: 'Platform APIs' },
  { url: `${ADMIN_API_PREFIX}/openapi.json`, name: 'Admin Portal API' },
] as const;

/**
 * `/openapi.json` (the platform APIs), `/admin/api/openapi.json` (the Admin Portal API, public
 * like the other: it holds no account data) and `/docs` (Swagger UI with a selector between the
 * two: "Authorize" with a bearer token or with the client credentials of an API credential, or
 * with the portal's session, then "Try it out").
 */
export async function docsRoutes(app: FastifyInstance, o: { region: string; publicUrl: string }): Promise<void> {
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => reply.header('cache-control', 'no-cache').send(app.swagger()));
  const adminDocument = JSON.stringify(adminOpenApiDocument({ publicUrl: o.publicUrl, region: o.region }));
  app.get(`${ADMIN_API_PREFIX}/openapi.json`, { schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'no-cache').type('application/json; charset=utf-8').send(adminDocument),
  );

  // Encapsulated, so that the headers below apply to the UI and its assets only.
  await app.register(async (ui) => {
    ui.addHook('onSend', async (_request, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
      return payload;
    });
    await ui.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: DOCS_CSP,
      theme: { title: `API reference (region ${o.region})` },
      logo: { type: 'image/svg+xml', content: Buffer.from(LOGO), href: '/docs', target: '_self' },
      uiConfig: {
        // A selector in the top bar: the platform APIs (first) and the Admin Portal API.
        urls: DOCS_SPECS.map((spec) => ({ ...spec })),
        docExpansion: 'list',
        deepLinking: true,
        displayRequestDuration: true,
        // Tokens stay in the page's memory, never in localStorage.
        persistAuthorization: false,
        defaultModelsExpandDepth: 0,
      },
      initOAuth: { scopeSeparator: ' ' },
    });
  });
}
