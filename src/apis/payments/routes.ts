import type { FastifyInstance } from 'fastify';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { PAYMENT_STATUSES } from '../../store/platform-model.js';
import type { Store } from '../../store/store.js';
import { activeAgentOf } from '../shared/references.js';
import { badRequest, errorSchema, gatewayErrors, idParams, notFound, nullable } from '../shared/schemas.js';
import { AMOUNT_MAX, type NewPaymentBody, REFERENCE_MAX, newPayment, paymentView } from './rules.js';

const TAGS = ['Payment'];

const sessionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: [...PAYMENT_STATUSES], description: 'pending until the secure payment page has captured the card, expired after 15 minutes' },
    agentId: { type: 'string' },
    interactionId: nullable({ type: 'string' }),
    amount: { type: 'number' },
    currency: { type: 'string' },
    reference: nullable({ type: 'string' }),
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'status', 'agentId', 'interactionId', 'amount', 'currency', 'reference', 'createdAt', 'updatedAt', 'expiresAt'],
} as const;

/**
 * Payment API: secure payment sessions. The card is captured by the secure payment page, so a
 * request that carries card data is refused (by the platform APIs' body guard) before it is
 * validated, stored or logged.
 */
export async function paymentsApi(app: FastifyInstance, o: { store: Store }): Promise<void> {
  app.post<{ Body: NewPaymentBody }>(
    '/payments/sessions',
    {
      config: { scope: 'globalpci' },
      schema: {
        summary: 'Create a secure payment session for an agent',
        description:
          'Never send card data (card number, CVV, expiry...): a body with such a field is refused with 400 card_data_not_allowed; ' +
          'the card is captured by the secure payment page.',
        tags: TAGS,
        body: {
          type: 'object',
          properties: {
            agentId: { type: 'string', minLength: 1, maxLength: 100, description: 'The active user taking the payment' },
            amount: { type: 'number', exclusiveMinimum: 0, maximum: AMOUNT_MAX, description: 'In major units, e.g. 12.50' },
            currency: { type: 'string', minLength: 3, maxLength: 3, description: 'ISO 4217, e.g. GBP' },
            reference: { type: 'string', minLength: 1, maxLength: REFERENCE_MAX, description: 'Your reference, e.g. an invoice number' },
            interactionId: { type: 'string', minLength: 1, maxLength: 100, description: 'The active interaction the payment is taken on' },
          },
          required: ['agentId', 'amount', 'currency'],
          additionalProperties: false,
        },
        response: {
          201: sessionSchema,
          400: badRequest,
          409: { ...errorSchema, description: 'The interaction is no longer active' },
          ...gatewayErrors,
        },
      },
    },
    async (request, reply) => {
      const input = newPayment(request.body);
      const { accountId } = request.token;
      await activeAgentOf(o.store, accountId, input.agentId);
      if (input.interactionId !== null) {
        const interaction = await o.store.interactions.get(accountId, input.interactionId);
        if (!interaction) throw new ValidationError(`Field interactionId: no interaction with id ${input.interactionId} in this account`);
        if (interaction.state !== 'active') throw new ConflictError(`Interaction ${interaction.id} is ${interaction.state}: a payment session needs an active interaction`);
      }
      const session = await o.store.paymentSessions.create({ accountId, ...input });
      return reply.code(201).header('location', `/payments/sessions/${session.id}`).send(paymentView(session));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/payments/sessions/:id',
    {
      config: { scope: 'globalpci' },
      schema: {
        summary: 'Read a secure payment session',
        tags: TAGS,
        params: idParams('id'),
        response: { 200: sessionSchema, 404: notFound, ...gatewayErrors },
      },
    },
    async (request) => {
      const session = await o.store.paymentSessions.get(request.token.accountId, request.params.id);
      if (!session) throw new NotFoundError(`No payment session with id ${request.params.id} in this account`);
      return paymentView(session);
    },
  );
}
