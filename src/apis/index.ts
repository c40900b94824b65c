import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';
import { agentsAvailabilityApi } from './agents-availability/routes.js';

export interface PlatformApiOptions {
  store: Store;
}

/** Every built-in platform API; registered inside the gateway, so each route declares its scope. */
export async function platformApis(app: FastifyInstance, o: PlatformApiOptions): Promise<void> {
  await app.register(agentsAvailabilityApi, o);
}
