import type { FastifyInstance } from 'fastify';
import { ConflictError, NotFoundError } from '../../domain/errors.js';
import { CHANNELS, DIRECTIONS, INTERACTION_STATES } from '../../store/platform-model.js';
import type { Store } from '../../store/store.js';
import { activeAgentOf } from '../shared/references.js';
import { badRequest, errorSchema, gatewayErrors, idParams, notFound, nullable } from '../shared/schemas.js';
import { CUSTOMER_MAX, type InteractionPatchBody, NOTES_MAX, type NewInteractionBody, SKILL_MAX, interactionPatch, interactionView, newInteraction } from './rules.js';

const TAGS = ['Interactions'];

const interactionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    channel: { type: 'string', enum: [...CHANNELS] },
    direction: { type: 'string', enum: [...DIRECTIONS] },
    state: { type: 'string', enum: [...INTERACTION_STATES] },
    agentId: nullable({ type: 'string' }),
    skill: nullable({ type: 'string' }),
    customer: nullable({ type: 'string' }),
    notes: nullable({ type: 'string' }),
    startedAt: { type: 'string', format: 'date-time' },
    endedAt: nullable({ type: 'string', format: 'date-time' }),
    handlingSeconds: nullable({ type: 'integer', description: 'Seconds from start to completion' }),
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'channel', 'direction', 'state', 'agentId', 'skill', 'customer', 'notes', 'startedAt', 'endedAt', 'handlingSeconds', 'createdAt', 'updatedAt'],
} as const;

const fields = {
  agentId: { type: 'string', minLength: 1, maxLength: 100, description: 'An active user of the account' },
  skill: { type: 'string', minLength: 1, maxLength: SKILL_MAX },
  customer: { type: 'string', minLength: 1, maxLength: CUSTOMER_MAX, description: 'How the platform shows the customer, e.g. a masked phone number' },
  notes: { type: 'string', minLength: 1, maxLength: NOTES_MAX, description: 'Free text; never card data' },
} as const;

/** Interactions API: create active interactions and update them until they are completed. */
export async function interactionsApi(app: FastifyInstance, o: { store: Store }): Promise<void> {
  app.post<{ Body: NewInteractionBody }>(
    '/interactions',
    {
      config: { scope: 'interactions:write' },
      schema: {
        summary: 'Create an active interaction',
        tags: TAGS,
        body: {
          type: 'object',
          properties: { channel: { type: 'string', enum: [...CHANNELS] }, direction: { type: 'string', enum: [...DIRECTIONS] }, ...fields },
          required: ['channel', 'direction'],
          additionalProperties: false,
        },
        response: { 201: interactionSchema, 400: badRequest, ...gatewayErrors },
      },
    },
    async (request, reply) => {
      const input = newInteraction(request.body);
      const { accountId } = request.token;
      if (input.agentId !== undefined) await activeAgentOf(o.store, accountId, input.agentId);
      const created = await o.store.interactions.create({ accountId, ...input });
      return reply.code(201).header('location', `/interactions/${created.id}`).send(interactionView(created));
    },
  );

  app.patch<{ Params: { id: string }; Body: InteractionPatchBody }>(
    '/interactions/:id',
    {
      config: { scope: 'interactions:write' },
      schema: {
        summary: 'Update an active interaction: assign an agent, set skill, customer or notes, or complete it',
        description: '"state": "completed" ends it (endedAt, handlingSeconds); a completed interaction can no longer be updated (409). null clears a field.',
        tags: TAGS,
        params: idParams('id'),
        body: {
          type: 'object',
          properties: {
            state: { type: 'string', enum: ['completed'] },
            agentId: nullable(fields.agentId),
            skill: nullable(fields.skill),
            customer: nullable(fields.customer),
            notes: nullable(fields.notes),
          },
          additionalProperties: false,
          minProperties: 1,
        },
        response: { 200: interactionSchema, 400: badRequest, 404: notFound, 409: { ...errorSchema, description: 'The interaction is no longer active' }, ...gatewayErrors },
      },
    },
    async (request) => {
      const changes = interactionPatch(request.body);
      const { accountId } = request.token;
      const { id } = request.params;
      if (!(await o.store.interactions.get(accountId, id))) throw new NotFoundError(`No interaction with id ${id} in this account`);
      if (typeof changes.agentId === 'string') await activeAgentOf(o.store, accountId, changes.agentId);
      const result = await o.store.interactions.updateActive(accountId, id, changes);
      if (result.outcome === 'not_found') throw new NotFoundError(`No interaction with id ${id} in this account`);
      if (result.outcome === 'not_active') throw new ConflictError(`Interaction ${id} is ${result.interaction.state}: only active interactions can be updated`);
      return interactionView(result.interaction);
    },
  );
}
