import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import {
  type AgentActivityRow,
  type Channel,
  type Direction,
  type Interaction,
  type InteractionState,
  type InteractionStatsRow,
  type PageRequest,
  type TimeWindow,
  iso,
  isoOrNull,
} from './platform-model.js';
import type { Database, InteractionsTable } from './schema.js';

export function toInteraction(row: Selectable<InteractionsTable>): Interaction {
  return {
    id: row.id,
    accountId: row.account_id,
    channel: row.channel as Channel,
    direction: row.direction as Direction,
    state: row.state as InteractionState,
    agentId: row.agent_user_id,
    customer: row.customer,
    skill: row.skill,
    notes: row.notes,
    startedAt: iso(row.started_at),
    endedAt: isoOrNull(row.ended_at === null ? null : Number(row.ended_at)),
    handlingSeconds: row.handling_seconds === null ? null : Number(row.handling_seconds),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export interface NewInteraction {
  accountId: string;
  channel: Channel;
  direction: Direction;
  agentId?: string | null;
  customer?: string | null;
  skill?: string | null;
  notes?: string | null;
  /** Defaults to now; the demo seed and imports give past times. */
  startedAt?: number;
  /** Given together with startedAt: a completed interaction (seed, import). */
  endedAt?: number | null;
}

export interface InteractionChanges {
  agentId?: string | null;
  customer?: string | null;
  skill?: string | null;
  notes?: string | null;
  /** Completes the interaction now: sets endedAt and handlingSeconds. */
  complete?: boolean;
}

export type ActiveUpdate =
  | { outcome: 'updated'; interaction: Interaction }
  | { outcome: 'not_found' }
  | { outcome: 'not_active'; interaction: Interaction };

/** Every read and write is scoped by the account: another account's id is simply not found. */
export class InteractionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: NewInteraction, db: Kysely<Database> = this.db): Promise<Interaction> {
    const now = Date.now();
    const startedAt = input.startedAt ?? now;
    const endedAt = input.endedAt ?? null;
    const row: Selectable<InteractionsTable> = {
      id: randomUUID(),
      account_id: input.accountId,
      channel: input.channel,
      direction: input.direction,
      state: endedAt === null ? 'active' : 'completed',
      agent_user_id: input.agentId ?? null,
      customer: input.customer ?? null,
      skill: input.skill ?? null,
      notes: input.notes ?? null,
      started_at: startedAt,
      ended_at: endedAt,
      handling_seconds: endedAt === null ? null : handlingSeconds(startedAt, endedAt),
      created_at: now,
      updated_at: now,
    };
    await db.insertInto('interactions').values(row).execute();
    return toInteraction(row);
  }

  async get(accountId: string, id: string, db: Kysely<Database> = this.db): Promise<Interaction | undefined> {
    const row = await db.selectFrom('interactions').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    return row ? toInteraction(row) : undefined;
  }

  /**
   * Changes an interaction only while it is active; the state is part of the UPDATE's condition,
   * so two concurrent completions cannot both succeed.
   */
  async updateActive(accountId: string, id: string, changes: InteractionChanges, db: Kysely<Database> = this.db): Promise<ActiveUpdate> {
    const current = await this.get(accountId, id, db);
    if (!current) return { outcome: 'not_found' };
    if (current.state !== 'active') return { outcome: 'not_active', interaction: current };
    const now = Date.now();
    const set: Partial<InteractionsTable> = { updated_at: now };
    if (changes.agentId !== undefined) set.agent_user_id = changes.agentId;
    if (changes.customer !== undefined) set.customer = changes.customer;
    if (changes.skill !== undefined) set.skill = changes.skill;
    if (changes.notes !== undefined) set.notes = changes.notes;
    if (changes.complete) {
      set.state = 'completed';
      set.ended_at = now;
      set.handling_seconds = handlingSeconds(Date.parse(current.startedAt), now);
    }
    const result = await db
      .updateTable('interactions')
      .set(set)
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .where('state', '=', 'active')
      .executeTakeFirst();
    const after = await this.get(accountId, id, db);
    if (!after) return { outcome: 'not_found' };
    if (Number(result.numUpdatedRows) === 0) return { outcome: 'not_active', interaction: after };
    return { outcome: 'updated', interaction: after };
  }

  /** Interactions started in the window that have a transcript, oldest first. */
  async listWithTranscripts(accountId: string, window: TimeWindow, page: PageRequest, db: Kysely<Database> = this.db): Promise<{ total: number; items: Interaction[] }> {
    const base = db
      .selectFrom('interactions as i')
      .where('i.account_id', '=', accountId)
      .where('i.started_at', '>=', window.from)
      .where('i.started_at', '<', window.to)
      .where(({ exists, selectFrom }) =>
        exists(selectFrom('interaction_content as c').select('c.id').whereRef('c.interaction_id', '=', 'i.id').where('c.kind', '=', 'transcript')),
      );
    const counted = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    const rows = await base.selectAll('i').orderBy('i.started_at').orderBy('i.id').offset(page.offset).limit(page.limit).execute();
    return { total: Number(counted?.n ?? 0), items: rows.map(toInteraction) };
  }

  /** Counts and handling times by channel, direction and skill of the interactions started in the window. */
  async statsByChannel(accountId: string, window: TimeWindow, db: Kysely<Database> = this.db): Promise<InteractionStatsRow[]> {
    const rows = await db
      .selectFrom('interactions')
      .select(['channel', 'direction', 'skill'])
      .select((eb) => [
        eb.fn.countAll<number>().as('interactions'),
        eb.fn.sum<number>(eb.case().when('state', '=', 'completed').then(1).else(0).end()).as('completed'),
        eb.fn.sum<number | null>('handling_seconds').as('total_handling'),
        eb.fn.max<number | null>('handling_seconds').as('max_handling'),
      ])
      .where('account_id', '=', accountId)
      .where('started_at', '>=', window.from)
      .where('started_at', '<', window.to)
      .groupBy(['channel', 'direction', 'skill'])
      .execute();
    return rows
      .map((r) => ({
        channel: r.channel as Channel,
        direction: r.direction as Direction,
        skill: r.skill,
        interactions: Number(r.interactions),
        active: Number(r.interactions) - Number(r.completed),
        completed: Number(r.completed),
        totalHandlingSeconds: Number(r.total_handling ?? 0),
        maxHandlingSeconds: r.max_handling === null ? null : Number(r.max_handling),
      }))
      .sort((a, b) => compare(a.channel, b.channel) || compare(a.direction, b.direction) || compare(a.skill ?? '', b.skill ?? ''));
  }

  /** Per agent: the interactions they handled that started in the window. */
  async agentActivities(accountId: string, window: TimeWindow, db: Kysely<Database> = this.db): Promise<AgentActivityRow[]> {
    const rows = await db
      .selectFrom('interactions as i')
      .innerJoin('users as u', 'u.id', 'i.agent_user_id')
      .select(['u.id as agent_id', 'u.name as name', 'u.email as email'])
      .select((eb) => {
        const count = (channel: Channel) => eb.fn.sum<number>(eb.case().when('i.channel', '=', channel).then(1).else(0).end());
        return [
          eb.fn.countAll<number>().as('interactions'),
          eb.fn.sum<number>(eb.case().when('i.state', '=', 'completed').then(1).else(0).end()).as('completed'),
          count('voice').as('voice'),
          count('chat').as('chat'),
          count('email').as('email_count'),
          eb.fn.sum<number | null>('i.handling_seconds').as('total_handling'),
          eb.fn.min<number>('i.started_at').as('first_started'),
          eb.fn.max<number>('i.started_at').as('last_started'),
        ];
      })
      .where('i.account_id', '=', accountId)
      .where('i.started_at', '>=', window.from)
      .where('i.started_at', '<', window.to)
      .groupBy(['u.id', 'u.name', 'u.email'])
      .execute();
    return rows
      .map((r) => ({
        agentId: r.agent_id,
        name: r.name,
        email: r.email,
        interactions: Number(r.interactions),
        completed: Number(r.completed),
        byChannel: { voice: Number(r.voice), chat: Number(r.chat), email: Number(r.email_count) },
        totalHandlingSeconds: Number(r.total_handling ?? 0),
        firstStartedAt: iso(Number(r.first_started)),
        lastStartedAt: iso(Number(r.last_started)),
      }))
      .sort((a, b) => compare(a.name, b.name) || compare(a.agentId, b.agentId));
  }
}

function handlingSeconds(startedAt: number, endedAt: number): number {
  return Math.max(0, Math.round((endedAt - startedAt) / 1000));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
