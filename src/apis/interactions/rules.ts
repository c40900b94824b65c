import { ValidationError } from '../../domain/errors.js';
import type { Channel, Direction, Interaction } from '../../store/platform-model.js';
import { CARD_DATA_MESSAGE, containsPan } from '../shared/card-data.js';

export const SKILL_MAX = 50;
export const CUSTOMER_MAX = 200;
export const NOTES_MAX = 2000;

export interface NewInteractionBody {
  channel: Channel;
  direction: Direction;
  agentId?: string;
  skill?: string;
  customer?: string;
  notes?: string;
}

export interface InteractionPatchBody {
  state?: 'completed';
  agentId?: string | null;
  skill?: string | null;
  customer?: string | null;
  notes?: string | null;
}

/** A trimmed text field of 1..max characters; null stays null (it clears the field). */
function text(field: string, value: string | null | undefined, max: number): string | null | undefined {
  if (value === undefined || value === null) return value;
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > max) throw new ValidationError(`Field ${field} must be 1..${max} characters after trimming`);
  return trimmed;
}

/** Notes are free text: a card number typed into them is refused, never stored. */
function notes(value: string | null | undefined): string | null | undefined {
  const out = text('notes', value, NOTES_MAX);
  if (typeof out === 'string' && containsPan(out)) throw new ValidationError(`Field notes looks like it holds a card number. ${CARD_DATA_MESSAGE}`, 'card_data_not_allowed');
  return out;
}

export function newInteraction(body: NewInteractionBody) {
  return {
    channel: body.channel,
    direction: body.direction,
    agentId: body.agentId,
    skill: text('skill', body.skill, SKILL_MAX),
    customer: text('customer', body.customer, CUSTOMER_MAX),
    notes: notes(body.notes),
  };
}

export function interactionPatch(body: InteractionPatchBody) {
  return {
    complete: body.state === 'completed',
    agentId: body.agentId,
    skill: text('skill', body.skill, SKILL_MAX),
    customer: text('customer', body.customer, CUSTOMER_MAX),
    notes: notes(body.notes),
  };
}

export function interactionView(i: Interaction) {
  return {
    id: i.id,
    channel: i.channel,
    direction: i.direction,
    state: i.state,
    agentId: i.agentId,
    skill: i.skill,
    customer: i.customer,
    notes: i.notes,
    startedAt: i.startedAt,
    endedAt: i.endedAt,
    handlingSeconds: i.handlingSeconds,
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
  };
}
