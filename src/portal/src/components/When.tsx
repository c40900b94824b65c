import { formatDate, formatFull, formatRelative, formatTime } from '../format';

/** A date with its time below (full date and time as the tooltip). */
export function When({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={formatFull(iso)} className="when">
      <span>{formatDate(iso)}</span>
      <span className="when-time">{formatTime(iso)}</span>
    </time>
  );
}

/** "3 hours ago" with the full date and time as the tooltip. */
export function Ago({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={formatFull(iso)}>
      {formatRelative(iso)}
    </time>
  );
}
