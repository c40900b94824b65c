import type { FastifyInstance, FastifyReply } from 'fastify';
import { CHANNELS, DIRECTIONS, type TimeWindow } from '../../store/platform-model.js';
import type { Store } from '../../store/store.js';
import { type PageQuery, pageOf } from '../shared/paging.js';
import { schemaErrorFormatter } from '../shared/schema-errors.js';
import { badRequest, gatewayErrors, nullable, pagedSchema, pagingProperties, windowProperties } from '../shared/schemas.js';
import { parseWindow } from '../shared/window.js';

const TAGS = ['Insights Stats'];
const CACHE_CONTROL = 'max-age=5, must-revalidate, private';

const upTo = { type: 'string', format: 'date-time', description: 'The data covers the window up to this time (the end, or now if earlier)' };

const interactionStatsSchema = {
  type: 'object',
  properties: {
    channel: { type: 'string', enum: [...CHANNELS] },
    direction: { type: 'string', enum: [...DIRECTIONS] },
    skill: nullable({ type: 'string' }),
    interactions: { type: 'integer', description: 'Interactions started in the window' },
    active: { type: 'integer' },
    completed: { type: 'integer' },
    totalHandlingSeconds: { type: 'integer', description: 'Sum of the handling times of the completed ones' },
    averageHandlingSeconds: nullable({ type: 'number', description: 'Mean handling time of the completed ones (null when none)' }),
    maxHandlingSeconds: nullable({ type: 'integer' }),
  },
  required: ['channel', 'direction', 'skill', 'interactions', 'active', 'completed', 'totalHandlingSeconds', 'averageHandlingSeconds', 'maxHandlingSeconds'],
} as const;

const agentActivitySchema = {
  type: 'object',
  properties: {
    agentId: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    interactions: { type: 'integer', description: 'Interactions handled that started in the window' },
    completed: { type: 'integer' },
    byChannel: {
      type: 'object',
      properties: Object.fromEntries(CHANNELS.map((c) => [c, { type: 'integer' }])),
      required: [...CHANNELS],
    },
    totalHandlingSeconds: { type: 'integer' },
    averageHandlingSeconds: nullable({ type: 'number' }),
    firstStartedAt: { type: 'string', format: 'date-time' },
    lastStartedAt: { type: 'string', format: 'date-time' },
  },
  required: ['agentId', 'name', 'email', 'interactions', 'completed', 'byChannel', 'totalHandlingSeconds', 'averageHandlingSeconds', 'firstStartedAt', 'lastStartedAt'],
} as const;

const average = (total: number, n: number): number | null => (n === 0 ? null : Math.round((total / n) * 10) / 10);

function respond<T>(reply: FastifyReply, window: TimeWindow, all: T[], q: PageQuery) {
  reply.header('cache-control', CACHE_CONTROL);
  return { ...pageOf(all, q), upTo: new Date(Math.min(window.to, Date.now())).toISOString() };
}

/** Insights Stats API: interaction counts and handling times, and agent activities, in a window of at most 31 days. */
export async function statsApi(app: FastifyInstance, o: { store: Store }): Promise<void> {
  const querystring = { type: 'object', properties: { ...windowProperties, ...pagingProperties }, required: ['start', 'end'] };

  app.get<{ Querystring: PageQuery & { start: string; end: string } }>(
    '/stats/interactions',
    {
      config: { scope: 'stats' },
      schemaErrorFormatter: schemaErrorFormatter('stats'),
      schema: {
        summary: 'Interaction counts and handling times by channel, direction and skill',
        description: `Over the interactions that started in the window (at most 31 days). Answers carry Cache-Control: ${CACHE_CONTROL}.`,
        tags: TAGS,
        querystring,
        response: { 200: pagedSchema(interactionStatsSchema, 'A page of interaction stats', { upTo }), 400: badRequest, ...gatewayErrors },
      },
    },
    async (request, reply) => {
      const window = parseWindow(request.query.start, request.query.end);
      const rows = await o.store.interactions.statsByChannel(request.token.accountId, window);
      const items = rows.map((r) => ({ ...r, averageHandlingSeconds: average(r.totalHandlingSeconds, r.completed) }));
      return respond(reply, window, items, request.query);
    },
  );

  app.get<{ Querystring: PageQuery & { start: string; end: string } }>(
    '/stats/agent-activities',
    {
      config: { scope: 'stats' },
      schemaErrorFormatter: schemaErrorFormatter('stats'),
      schema: {
        summary: 'What each agent handled',
        description: `The agents with at least one interaction that started in the window (at most 31 days), by name. Answers carry Cache-Control: ${CACHE_CONTROL}.`,
        tags: TAGS,
        querystring,
        response: { 200: pagedSchema(agentActivitySchema, 'A page of agent activities', { upTo }), 400: badRequest, ...gatewayErrors },
      },
    },
    async (request, reply) => {
      const window = parseWindow(request.query.start, request.query.end);
      const rows = await o.store.interactions.agentActivities(request.token.accountId, window);
      const items = rows.map((r) => ({ ...r, averageHandlingSeconds: average(r.totalHandlingSeconds, r.completed) }));
      return respond(reply, window, items, request.query);
    },
  );
}
