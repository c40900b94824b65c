import type { FastifyInstance } from 'fastify';
import { CHANNELS, DIRECTIONS, INTERACTION_STATES } from '../../store/platform-model.js';
import type { Store } from '../../store/store.js';
import { type PageQuery, pageMeta, pageRequest } from '../shared/paging.js';
import { schemaErrorFormatter } from '../shared/schema-errors.js';
import { badRequest, gatewayErrors, nullable, pagedSchema, pagingProperties, windowProperties } from '../shared/schemas.js';
import { parseWindow } from '../shared/window.js';
import { analyzedInteraction, transcriptView } from './transcript.js';

const analyzedInteractionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    channel: { type: 'string', enum: [...CHANNELS] },
    direction: { type: 'string', enum: [...DIRECTIONS] },
    state: { type: 'string', enum: [...INTERACTION_STATES] },
    agentId: nullable({ type: 'string' }),
    skill: nullable({ type: 'string' }),
    customer: nullable({ type: 'string' }),
    startedAt: { type: 'string', format: 'date-time' },
    endedAt: nullable({ type: 'string', format: 'date-time' }),
    handlingSeconds: nullable({ type: 'integer' }),
    transcript: {
      type: ['object', 'null'],
      properties: {
        contentId: { type: 'string', description: 'Download it from the Interaction Content API' },
        contentType: { type: 'string' },
        language: nullable({ type: 'string' }),
        segments: {
          type: 'array',
          items: {
            type: 'object',
            properties: { speaker: { type: 'string', description: 'agent, customer, ...' }, offsetMs: nullable({ type: 'integer' }), text: { type: 'string' } },
            required: ['speaker', 'offsetMs', 'text'],
          },
        },
      },
      required: ['contentId', 'contentType', 'language', 'segments'],
    },
  },
  required: ['id', 'channel', 'direction', 'state', 'agentId', 'skill', 'customer', 'startedAt', 'endedAt', 'handlingSeconds', 'transcript'],
} as const;

/** Conversation Analyzer API: the interactions with transcripts that started in a window. */
export async function conversationAnalyzerApi(app: FastifyInstance, o: { store: Store }): Promise<void> {
  app.get<{ Querystring: PageQuery & { start: string; end: string } }>(
    '/conversation-analyzer/interactions',
    {
      config: { scope: 'interaction-content:read' },
      schemaErrorFormatter: schemaErrorFormatter('interactions'),
      schema: {
        summary: 'Interactions with their transcripts, started in a window of at most 31 days',
        description: 'Oldest first. Only interactions that have a transcript are listed.',
        tags: ['Conversation Analyzer'],
        querystring: { type: 'object', properties: { ...windowProperties, ...pagingProperties }, required: ['start', 'end'] },
        response: { 200: pagedSchema(analyzedInteractionSchema, 'A page of interactions with transcripts'), 400: badRequest, ...gatewayErrors },
      },
    },
    async (request) => {
      const q = request.query;
      const window = parseWindow(q.start, q.end);
      const { accountId } = request.token;
      const { total, items } = await o.store.interactions.listWithTranscripts(accountId, window, pageRequest(q));
      const transcripts = await o.store.interactionContent.transcriptsOf(accountId, items.map((i) => i.id));
      return {
        meta: pageMeta(q, items.length, total),
        items: items.map((i) => {
          const t = transcripts.get(i.id);
          return analyzedInteraction(i, t ? transcriptView(t.item, t.data) : null);
        }),
      };
    },
  );
}
