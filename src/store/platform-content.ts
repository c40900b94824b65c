import { createHash, randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { type ContentItem, type ContentKind, iso } from './platform-model.js';
import type { Database } from './schema.js';

const META = ['id', 'account_id', 'interaction_id', 'kind', 'content_type', 'size', 'sha256', 'created_at'] as const;

interface MetaRow {
  id: string;
  account_id: string;
  interaction_id: string;
  kind: string;
  content_type: string;
  size: number;
  sha256: string;
  created_at: number;
}

function toContentItem(row: MetaRow): ContentItem {
  return {
    id: row.id,
    accountId: row.account_id,
    interactionId: row.interaction_id,
    kind: row.kind as ContentKind,
    contentType: row.content_type,
    size: Number(row.size),
    sha256: row.sha256,
    createdAt: iso(row.created_at),
  };
}

export interface NewContentItem {
  accountId: string;
  interactionId: string;
  kind: ContentKind;
  contentType: string;
  data: Uint8Array;
  createdAt?: number;
}

/**
 * Recordings and transcripts. Listing and metadata never read the bytes; a download reads only
 * the byte range it sends (substr works on blob in SQLite and on bytea in PostgreSQL).
 */
export class InteractionContentRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(input: NewContentItem, db: Kysely<Database> = this.db): Promise<ContentItem> {
    const data = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
    const row = {
      id: randomUUID(),
      account_id: input.accountId,
      interaction_id: input.interactionId,
      kind: input.kind,
      content_type: input.contentType,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      created_at: input.createdAt ?? Date.now(),
    };
    await db.insertInto('interaction_content').values({ ...row, data }).execute();
    return toContentItem(row);
  }

  async list(accountId: string, interactionId: string, db: Kysely<Database> = this.db): Promise<ContentItem[]> {
    const rows = await db
      .selectFrom('interaction_content')
      .select(META)
      .where('account_id', '=', accountId)
      .where('interaction_id', '=', interactionId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toContentItem);
  }

  async get(accountId: string, interactionId: string, contentId: string, db: Kysely<Database> = this.db): Promise<ContentItem | undefined> {
    const row = await db
      .selectFrom('interaction_content')
      .select(META)
      .where('account_id', '=', accountId)
      .where('interaction_id', '=', interactionId)
      .where('id', '=', contentId)
      .executeTakeFirst();
    return row ? toContentItem(row) : undefined;
  }

  /** The bytes from start to end inclusive (all of them without a range); undefined when gone. */
  async read(accountId: string, contentId: string, range?: { start: number; end: number }, db: Kysely<Database> = this.db): Promise<Buffer | undefined> {
    const data = range ? sql<Buffer>`substr(data, ${range.start + 1}, ${range.end - range.start + 1})` : sql<Buffer>`data`;
    const row = await db
      .selectFrom('interaction_content')
      .select(data.as('data'))
      .where('account_id', '=', accountId)
      .where('id', '=', contentId)
      .executeTakeFirst();
    return row ? Buffer.from(row.data) : undefined;
  }

  /** The newest transcript (with its bytes) of each of the given interactions. */
  async transcriptsOf(accountId: string, interactionIds: string[], db: Kysely<Database> = this.db): Promise<Map<string, { item: ContentItem; data: Buffer }>> {
    const out = new Map<string, { item: ContentItem; data: Buffer }>();
    if (interactionIds.length === 0) return out;
    const rows = await db
      .selectFrom('interaction_content')
      .select([...META, 'data'])
      .where('account_id', '=', accountId)
      .where('interaction_id', 'in', interactionIds)
      .where('kind', '=', 'transcript')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    for (const row of rows) out.set(row.interaction_id, { item: toContentItem(row), data: Buffer.from(row.data) });
    return out;
  }

  /** Deletes the bytes for good; false when there was no such item for this account and interaction. */
  async delete(accountId: string, interactionId: string, contentId: string, db: Kysely<Database> = this.db): Promise<boolean> {
    const result = await db
      .deleteFrom('interaction_content')
      .where('account_id', '=', accountId)
      .where('interaction_id', '=', interactionId)
      .where('id', '=', contentId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
