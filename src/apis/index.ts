import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';
import { agentsAvailabilityApi } from './agents-availability/routes.js';
import { conversationAnalyzerApi } from './conversation-analyzer/routes.js';
import { interactionContentApi } from './interaction-content/routes.js';
import { interactionsApi } from './interactions/routes.js';
import { paymentsApi } from './payments/routes.js';
import { guardBody } from './shared/body-guard.js';
import { guardQuery } from './shared/query-guard.js';
import { schemaErrorFormatter } from './shared/schema-errors.js';
import { statsApi } from './stats/routes.js';
import { userAdminApi } from './useradmin/routes.js';

export interface PlatformApiOptions {
  store: Store;
}

/**
 * Every built-in platform API; registered inside the gateway, so each route declares its scope
 * and every handler reads only `request.token.accountId`'s data.
 */
export async function platformApis(app: FastifyInstance, o: PlatformApiOptions): Promise<void> {
  // Validation messages people can act on, and bodies checked before schema validation can coerce
  // or drop anything (card data is refused there, unknown fields are errors).
  app.setSchemaErrorFormatter(schemaErrorFormatter());
  app.addHook('preValidation', guardBody);
  app.addHook('preValidation', guardQuery);

  await app.register(agentsAvailabilityApi, o);
  await app.register(userAdminApi, o);
  await app.register(interactionContentApi, o);
  await app.register(conversationAnalyzerApi, o);
  await app.register(statsApi, o);
  await app.register(interactionsApi, o);
  await app.register(paymentsApi, o);
}
