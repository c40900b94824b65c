import type { ContentItem, Interaction } from '../../store/platform-model.js';

export interface TranscriptSegment {
  speaker: string;
  offsetMs: number | null;
  text: string;
}

export interface TranscriptView {
  contentId: string;
  contentType: string;
  language: string | null;
  segments: TranscriptSegment[];
}

const SPEAKER_LINE = /^\s*([A-Za-z][\w -]{0,30}):\s*(.*)$/;

/**
 * A stored transcript as the Conversation Analyzer shows it. JSON transcripts are
 * `{"language","segments":[{"speaker","offsetMs","text"}]}`; plain text ones are "Speaker: text"
 * lines. Whatever does not parse is kept as text, never dropped.
 */
export function transcriptView(item: ContentItem, data: Buffer): TranscriptView {
  const text = data.toString('utf8');
  const base = { contentId: item.id, contentType: item.contentType };
  if (item.contentType.toLowerCase().startsWith('application/json')) {
    try {
      const parsed = JSON.parse(text) as { language?: unknown; segments?: unknown };
      if (Array.isArray(parsed.segments)) {
        return {
          ...base,
          language: typeof parsed.language === 'string' ? parsed.language : null,
          segments: parsed.segments.map((s: Record<string, unknown>) => ({
            speaker: typeof s?.speaker === 'string' ? s.speaker : 'unknown',
            offsetMs: typeof s?.offsetMs === 'number' ? s.offsetMs : null,
            text: typeof s?.text === 'string' ? s.text : '',
          })),
        };
      }
    } catch {
      // Not the JSON we expect: shown as text below.
    }
  }
  const segments = text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const m = SPEAKER_LINE.exec(line);
      return m ? { speaker: (m[1] as string).trim().toLowerCase(), offsetMs: null, text: (m[2] as string).trim() } : { speaker: 'unknown', offsetMs: null, text: line.trim() };
    });
  return { ...base, language: null, segments };
}

export function analyzedInteraction(i: Interaction, transcript: TranscriptView | null) {
  return {
    id: i.id,
    channel: i.channel,
    direction: i.direction,
    state: i.state,
    agentId: i.agentId,
    skill: i.skill,
    customer: i.customer,
    startedAt: i.startedAt,
    endedAt: i.endedAt,
    handlingSeconds: i.handlingSeconds,
    transcript,
  };
}
