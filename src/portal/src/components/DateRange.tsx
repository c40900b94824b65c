/** Day inputs (UTC) for a list's from/to filter: "from" is the start of its day, "to" the end of its day. */
export function dayOf(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 10);
}

export function fromDay(day: string): string {
  return day ? `${day}T00:00:00.000Z` : '';
}

/** The end of a day: the next day's start (an exclusive end, as the lists' `to` is compared). */
export function toDay(day: string): string {
  if (!day) return '';
  const d = new Date(`${day}T00:00:00.000Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString();
}

/** The day a `to` value names (one before its exclusive end). */
export function dayOfTo(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  d.setUTCMilliseconds(d.getUTCMilliseconds() - 1);
  return d.toISOString().slice(0, 10);
}

interface DateRangeProps {
  idPrefix: string;
  from: string;
  to: string;
  onChange(range: { from: string; to: string }): void;
}

export function DateRange({ idPrefix, from, to, onChange }: DateRangeProps) {
  return (
    <>
      <div className="filter">
        <label htmlFor={`${idPrefix}-from`}>From (UTC)</label>
        <input id={`${idPrefix}-from`} className="input" type="date" value={dayOf(from)} max={dayOfTo(to) || undefined} onChange={(e) => onChange({ from: fromDay(e.target.value), to })} />
      </div>
      <div className="filter">
        <label htmlFor={`${idPrefix}-to`}>To (UTC)</label>
        <input id={`${idPrefix}-to`} className="input" type="date" value={dayOfTo(to)} min={dayOf(from) || undefined} onChange={(e) => onChange({ from, to: toDay(e.target.value) })} />
      </div>
    </>
  );
}
