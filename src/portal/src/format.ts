const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' });

export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateOnly.format(d);
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeOnly.format(d);
}

export function formatFull(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : full.format(d);
}

const LICENSES: Record<string, string> = { admin: 'Admin', supervisor: 'Supervisor', agent: 'Agent' };

export function licenseLabel(license: string): string {
  return LICENSES[license] ?? license;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 hours ago", "in 20 minutes". */
export function formatRelative(iso: string, now = Date.now()): string {
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((at - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 60) return relative.format(seconds, 'second');
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 86400 * 60) return relative.format(Math.round(seconds / 86400), 'day');
  return formatDate(iso);
}

/** "15 minutes", "1 hour 30 minutes", "45 seconds". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const parts: string[] = [];
  if (h) parts.push(`${h} hour${h === 1 ? '' : 's'}`);
  if (m) parts.push(`${m} minute${m === 1 ? '' : 's'}`);
  if (r && !h) parts.push(`${r} second${r === 1 ? '' : 's'}`);
  return parts.length ? parts.join(' ') : '0 seconds';
}

/** True while a grace period for the previous secret runs. */
export function graceRunning(until: string | null | undefined, now = Date.now()): until is string {
  return typeof until === 'string' && new Date(until).getTime() > now;
}

/** "Try again in 15 minutes": the wait the server gave in Retry-After, rounded up to whole minutes past one minute. */
export function lockoutMessage(retryAfter: number | null): string {
  if (retryAfter === null || retryAfter <= 0) return 'Too many sign-in attempts. Wait a moment and try again.';
  const wait = retryAfter > 60 ? Math.ceil(retryAfter / 60) * 60 : retryAfter;
  return `Too many sign-in attempts. Try again in ${formatDuration(wait)}.`;
}
