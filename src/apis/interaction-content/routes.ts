import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, NotFoundError } from '../../domain/errors.js';
import { CONTENT_KINDS, type ContentItem } from '../../store/platform-model.js';
import type { Store } from '../../store/store.js';
import { errorSchema, gatewayErrors, idParams, notFound } from '../shared/schemas.js';
import { decideRange, ifRangeHolds, noneMatch } from './range.js';

const TAGS = ['Interaction Content'];

const contentItemSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    interactionId: { type: 'string' },
    kind: { type: 'string', enum: [...CONTENT_KINDS] },
    contentType: { type: 'string', description: 'e.g. audio/wav, audio/mpeg, application/json, text/plain' },
    size: { type: 'integer', description: 'Bytes' },
    createdAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'interactionId', 'kind', 'contentType', 'size', 'createdAt'],
} as const;

const bytes = (description: string) => ({
  description,
  content: Object.fromEntries(['audio/wav', 'audio/mpeg', 'application/json', 'text/plain'].map((t) => [t, { schema: { type: 'string', format: 'binary' } }])),
});

const EXTENSIONS: Record<string, string> = { 'audio/wav': 'wav', 'audio/x-wav': 'wav', 'audio/mpeg': 'mp3', 'application/json': 'json', 'text/plain': 'txt' };

function fileName(item: ContentItem): string {
  const type = item.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return `${item.kind}-${item.id}.${EXTENSIONS[type] ?? 'bin'}`;
}

const toView = (c: ContentItem) => ({ id: c.id, interactionId: c.interactionId, kind: c.kind, contentType: c.contentType, size: c.size, createdAt: c.createdAt });

/**
 * Interaction Content API: list, download (with byte ranges) and delete the recordings and
 * transcripts of the account's interactions.
 */
export async function interactionContentApi(app: FastifyInstance, o: { store: Store }): Promise<void> {
  const contentOf = async (accountId: string, interactionId: string, contentId: string): Promise<ContentItem> => {
    const item = await o.store.interactionContent.get(accountId, interactionId, contentId);
    if (!item) throw new NotFoundError(`No content ${contentId} on interaction ${interactionId} in this account`);
    return item;
  };

  app.get<{ Params: { id: string } }>(
    '/interaction-content/interactions/:id/content',
    {
      config: { scope: 'interaction-content:read' },
      schema: {
        summary: 'List the recordings and transcripts of an interaction',
        tags: TAGS,
        params: idParams('id'),
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: contentItemSchema } }, required: ['items'] },
          404: notFound,
          ...gatewayErrors,
        },
      },
    },
    async (request) => {
      const { accountId } = request.token;
      const interaction = await o.store.interactions.get(accountId, request.params.id);
      if (!interaction) throw new NotFoundError(`No interaction with id ${request.params.id} in this account`);
      return { items: (await o.store.interactionContent.list(accountId, interaction.id)).map(toView) };
    },
  );

  // The gateway labels every application/json answer with the API's versioned media type; stored
  // bytes keep their own type (this route-level hook runs after the gateway's).
  const servedType = new WeakMap<FastifyRequest, string>();

  app.get<{ Params: { id: string; contentId: string } }>(
    '/interaction-content/interactions/:id/content/:contentId',
    {
      config: { scope: 'interaction-content:read', versioned: false },
      onSend: async (request, reply, payload) => {
        const type = servedType.get(request);
        if (type !== undefined && reply.statusCode < 300) reply.header('content-type', type);
        return payload;
      },
      schema: {
        summary: 'Download a recording or transcript',
        description:
          'Answers the bytes in their own media type with Content-Length, ETag and Accept-Ranges: bytes. ' +
          'One byte range (Range: bytes=0-1023, bytes=1024-, bytes=-512) is answered 206 with Content-Range; ' +
          'a range past the end 416 with Content-Range: bytes */size. If-Range and If-None-Match are honoured.',
        tags: TAGS,
        params: idParams('id', 'contentId'),
        headers: {
          type: 'object',
          properties: {
            range: { type: 'string', description: 'One byte range, e.g. bytes=0-1023' },
            'if-range': { type: 'string' },
            'if-none-match': { type: 'string' },
          },
        },
        response: {
          200: bytes('The whole content'),
          206: bytes('The requested byte range'),
          304: { description: 'Not modified (If-None-Match)', type: 'null' },
          404: notFound,
          416: { ...errorSchema, description: 'The range starts past the end of the content' },
          ...gatewayErrors,
        },
      },
    },
    async (request, reply) => {
      const { accountId } = request.token;
      const item = await contentOf(accountId, request.params.id, request.params.contentId);
      const etag = `"${item.sha256}"`;
      const lastModified = new Date(item.createdAt).toUTCString();
      const validators = { etag, 'last-modified': lastModified, 'accept-ranges': 'bytes', 'cache-control': 'private, no-cache' };
      const header = (name: string) => {
        const value = request.headers[name];
        return typeof value === 'string' ? value : undefined;
      };
      if (noneMatch(header('if-none-match'), etag)) return reply.code(304).headers(validators).send();

      const rangeHeader = header('range');
      let range = decideRange(rangeHeader, item.size);
      if (range.kind !== 'full' && !ifRangeHolds(header('if-range'), etag, lastModified)) range = { kind: 'full' };
      if (range.kind === 'unsatisfiable') {
        throw new ApiError(416, 'range_not_satisfiable', `The range ${rangeHeader ?? ''} is not satisfiable: the content has ${item.size} bytes`, {
          'content-range': `bytes */${item.size}`,
          'accept-ranges': 'bytes',
        });
      }
      const slice = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
      reply.headers({
        ...validators,
        'content-disposition': `attachment; filename="${fileName(item)}"`,
        'x-content-type-options': 'nosniff',
      });
      reply.type(item.contentType);
      servedType.set(request, item.contentType);
      if (slice) reply.code(206).header('content-range', `bytes ${slice.start}-${slice.end}/${item.size}`);
      const data = await o.store.interactionContent.read(accountId, item.id, slice);
      if (!data) throw new NotFoundError(`No content ${item.id} on interaction ${item.interactionId} in this account`);
      return reply.send(data);
    },
  );

  app.delete<{ Params: { id: string; contentId: string } }>(
    '/interaction-content/interactions/:id/content/:contentId',
    {
      config: { scope: 'interaction-content:delete' },
      schema: {
        summary: 'Delete a recording or transcript for good',
        tags: TAGS,
        params: idParams('id', 'contentId'),
        response: { 204: { description: 'Deleted', type: 'null' }, 404: notFound, ...gatewayErrors },
      },
    },
    async (request, reply) => {
      const { id, contentId } = request.params;
      const deleted = await o.store.interactionContent.delete(request.token.accountId, id, contentId);
      if (!deleted) throw new NotFoundError(`No content ${contentId} on interaction ${id} in this account`);
      return reply.code(204).send();
    },
  );
}
