import { demoWav } from '../../src/demo.js';
import type { Channel, ContentItem, Direction, Interaction } from '../../src/store/platform-model.js';
import type { Store } from '../../src/store/store.js';

export interface SeededInteraction {
  interaction: Interaction;
  recording?: { item: ContentItem; data: Buffer };
  transcript?: { item: ContentItem; data: Buffer };
}

export interface InteractionSpec {
  channel?: Channel;
  direction?: Direction;
  agentId?: string | null;
  skill?: string | null;
  startedAt: number;
  /** Seconds of handling; null keeps it active. */
  handling?: number | null;
  recording?: boolean;
  transcript?: 'json' | 'text' | false;
}

export const TRANSCRIPT = {
  language: 'en-GB',
  segments: [
    { speaker: 'agent', offsetMs: 0, text: 'Hello, how can I help?' },
    { speaker: 'customer', offsetMs: 2100, text: 'I would like to check my order.' },
  ],
};

/** An interaction with optional recording and transcript, written through the repositories. */
export async function seedInteraction(store: Store, accountId: string, spec: InteractionSpec): Promise<SeededInteraction> {
  const handling = spec.handling === undefined ? 300 : spec.handling;
  const interaction = await store.interactions.create({
    accountId,
    channel: spec.channel ?? 'voice',
    direction: spec.direction ?? 'inbound',
    agentId: spec.agentId ?? null,
    skill: spec.skill === undefined ? 'Sales' : spec.skill,
    customer: '+44 7700 9001**',
    startedAt: spec.startedAt,
    endedAt: handling === null ? null : spec.startedAt + handling * 1000,
  });
  const out: SeededInteraction = { interaction };
  if (spec.recording) {
    const data = demoWav(0.5);
    out.recording = { item: await store.interactionContent.add({ accountId, interactionId: interaction.id, kind: 'recording', contentType: 'audio/wav', data }), data };
  }
  if (spec.transcript === 'json') {
    const data = Buffer.from(JSON.stringify(TRANSCRIPT));
    out.transcript = { item: await store.interactionContent.add({ accountId, interactionId: interaction.id, kind: 'transcript', contentType: 'application/json', data }), data };
  } else if (spec.transcript === 'text') {
    const data = Buffer.from('Agent: Hello, how can I help?\nCustomer: Where is my parcel?\n');
    out.transcript = { item: await store.interactionContent.add({ accountId, interactionId: interaction.id, kind: 'transcript', contentType: 'text/plain; charset=utf-8', data }), data };
  }
  return out;
}
