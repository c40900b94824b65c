import type { FastifyInstance } from 'fastify';
import { PRESENCES } from '../../domain/licenses.js';
import type { Store } from '../../store/store.js';
import { errorSchema, gatewayErrors } from '../shared/schemas.js';

/**
 * Agent Availability API: how many of the account's agents tagged with all the given skills are
 * in each presence category.
 */
export async function agentsAvailabilityApi(app: FastifyInstance, o: { store: Store }): Promise<void> {
  app.get(
    '/agents-availability',
    {
      config: { scope: 'agents-availability:read' },
      schema: {
        summary: 'Agent counts by presence for the agents tagged with all the given skills',
        tags: ['Agent Availability'],
        querystring: {
          type: 'object',
          properties: { skillNames: { type: 'string', description: 'Comma-separated skill names, e.g. French,English (required)' } },
        },
        response: {
          200: {
            type: 'object',
            properties: Object.fromEntries(PRESENCES.map((p) => [p, { type: 'integer' }])),
            required: [...PRESENCES],
          },
          // Missing skillNames answers the platform's own shape; any other invalid request the
          // common error shape (one schema alone would serialize the other to {}).
          400: {
            description: 'skillNames is missing, or the request is otherwise invalid',
            anyOf: [
              { type: 'object', properties: { SkillNames: { type: 'array', items: { type: 'string' } } }, required: ['SkillNames'] },
              errorSchema,
            ],
          },
          ...gatewayErrors,
        },
      },
    },
    async (request, reply) => {
      const raw = (request.query as { skillNames?: unknown }).skillNames;
      const skills = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
      if (skills.length === 0) return reply.code(400).send({ SkillNames: ['The SkillNames field is required.'] });
      const wanted = skills.map((s) => s.toLowerCase());
      const counts: Record<string, number> = Object.fromEntries(PRESENCES.map((p) => [p, 0]));
      for (const user of await o.store.users.listByAccount(request.token.accountId)) {
        const has = new Set(user.skills.map((s) => s.toLowerCase()));
        if (wanted.every((s) => has.has(s))) counts[user.presence] = (counts[user.presence] ?? 0) + 1;
      }
      return counts;
    },
  );
}
