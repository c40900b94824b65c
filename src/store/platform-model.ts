/**
 * The platform data behind the APIs (interactions, their content, payment sessions) as the
 * repositories hand it out: ISO 8601 times, camelCase names, never raw rows.
 */

export const CHANNELS = ['voice', 'chat', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];

export const DIRECTIONS = ['inbound', 'outbound'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const INTERACTION_STATES = ['active', 'completed'] as const;
export type InteractionState = (typeof INTERACTION_STATES)[number];

export const CONTENT_KINDS = ['recording', 'transcript'] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];

export interface Interaction {
  id: string;
  accountId: string;
  channel: Channel;
  direction: Direction;
  state: InteractionState;
  agentId: string | null;
  customer: string | null;
  skill: string | null;
  notes: string | null;
  startedAt: string;
  endedAt: string | null;
  handlingSeconds: number | null;
  createdAt: string;
  updatedAt: string;
}

/** One recording or transcript, without its bytes. */
export interface ContentItem {
  id: string;
  accountId: string;
  interactionId: string;
  kind: ContentKind;
  contentType: string;
  size: number;
  sha256: string;
  createdAt: string;
}

export const PAYMENT_STATUSES = ['pending', 'expired'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export interface PaymentSession {
  id: string;
  accountId: string;
  agentId: string;
  interactionId: string | null;
  amountMinor: number;
  currency: string;
  reference: string | null;
  status: PaymentStatus;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
}

/** A half-open time window [from, to) in epoch milliseconds. */
export interface TimeWindow {
  from: number;
  to: number;
}

export interface PageRequest {
  offset: number;
  limit: number;
}

/** Interaction counts and handling times of one channel, direction and skill in a window. */
export interface InteractionStatsRow {
  channel: Channel;
  direction: Direction;
  skill: string | null;
  interactions: number;
  active: number;
  completed: number;
  totalHandlingSeconds: number;
  maxHandlingSeconds: number | null;
}

/** What one agent handled in a window. */
export interface AgentActivityRow {
  agentId: string;
  name: string;
  email: string;
  interactions: number;
  completed: number;
  byChannel: Record<Channel, number>;
  totalHandlingSeconds: number;
  firstStartedAt: string;
  lastStartedAt: string;
}

export const iso = (ms: number): string => new Date(Number(ms)).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
