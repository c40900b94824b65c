import { ValidationError } from '../../domain/errors.js';
import type { TimeWindow } from '../../store/platform-model.js';

export const MAX_WINDOW_DAYS = 31;
const DAY_MS = 24 * 60 * 60 * 1000;

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * An ISO 8601 date or date-time to epoch ms; a time without an offset is UTC (never the server's
 * local time). Undefined for anything else, including impossible dates such as 2024-02-30.
 */
export function parseInstant(text: string): number | undefined {
  const m = ISO_8601.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, Number(frac.padEnd(3, '0').slice(0, 3)));
  if (new Date(local).getUTCDate() !== day) return undefined;
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  return local - offsetMinutes * 60_000;
}

/** A reporting window: both ends ISO 8601, start before end, at most 31 days long. */
export function parseWindow(start: string, end: string, maxDays = MAX_WINDOW_DAYS): TimeWindow {
  const from = parseInstant(start);
  if (from === undefined) throw new ValidationError(`start must be an ISO 8601 date-time, e.g. 2024-05-01T00:00:00Z (got "${clip(start)}")`);
  const to = parseInstant(end);
  if (to === undefined) throw new ValidationError(`end must be an ISO 8601 date-time, e.g. 2024-05-08T00:00:00Z (got "${clip(end)}")`);
  if (to <= from) throw new ValidationError('end must be after start');
  if (to - from > maxDays * DAY_MS) {
    const days = Math.round(((to - from) / DAY_MS) * 10) / 10;
    throw new ValidationError(`Request window size limit exceeded: the window from start to end is ${days} days; it may be at most ${maxDays} days`);
  }
  return { from, to };
}

const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}...` : s);
