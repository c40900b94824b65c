import { useEffect, useState } from 'react';
import { ApiError, type Usage } from '../api';
import { BarChart, type ChartRow } from './BarChart';

export type Period = 'day' | 'month';

const hourLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZone: 'UTC', hourCycle: 'h23' });
const dayLabel = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
const hourFull = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', hourCycle: 'h23' });
const dayFull = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeZone: 'UTC' });

/** The query of a period: the last 24 hours by hour, or the last 30 days by day (UTC buckets). */
export function periodQuery(period: Period): { bucket: 'hour' | 'day'; from: string } {
  const now = Date.now();
  if (period === 'day') {
    const from = new Date(now - 23 * 3_600_000);
    from.setUTCMinutes(0, 0, 0);
    return { bucket: 'hour', from: from.toISOString() };
  }
  const from = new Date(now - 29 * 86_400_000);
  from.setUTCHours(0, 0, 0, 0);
  return { bucket: 'day', from: from.toISOString() };
}

interface UsageChartsProps {
  load(bucket: 'hour' | 'day', from: string): Promise<Usage>;
  /** Called with the answer (the account page shows its "top" list). */
  onLoaded?(usage: Usage | null): void;
  /** Refreshes when this changes. */
  refreshKey?: unknown;
}

/** Tokens and API calls, and beside them the failures, per hour over 24 h or per day over 30 days. */
export function UsageCharts({ load, onLoaded, refreshKey }: UsageChartsProps) {
  const [period, setPeriod] = useState<Period>('day');
  const [usage, setUsage] = useState<Usage | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const { bucket, from } = periodQuery(period);
    setError(null);
    load(bucket, from)
      .then((u) => {
        if (!live) return;
        setUsage(u);
        onLoaded?.(u);
      })
      .catch((e: unknown) => {
        if (!live) return;
        setUsage(null);
        onLoaded?.(null);
        if (e instanceof ApiError && e.status === 404) setError('Usage figures are not available on this server.');
        else setError(e instanceof Error ? e.message : 'The usage figures could not be loaded.');
      });
    return () => {
      live = false;
    };
    // load is a new function on each render of the parent; the period and refreshKey decide.
  }, [period, refreshKey]);

  const rows = (pick: (item: Usage['items'][number]) => Record<string, number>): ChartRow[] => (usage?.items ?? []).map((item) => ({ at: item.at, values: pick(item) }));
  const hourly = usage?.bucket === 'hour';
  const formatLabel = (at: string) => (hourly ? hourLabel.format(new Date(at)) : dayLabel.format(new Date(at)));
  const formatFull = (at: string) => (hourly ? `${hourFull.format(new Date(at))} UTC` : dayFull.format(new Date(at)));

  return (
    <div className="usage">
      <fieldset className="segmented usage-period">
        <legend className="visually-hidden">Period</legend>
        {(
          [
            ['day', 'Last 24 hours'],
            ['month', 'Last 30 days'],
          ] as const
        ).map(([value, label]) => (
          <label key={value} className={`segment${period === value ? ' is-checked' : ''}`}>
            <input type="radio" name={`usage-period-${label}`} value={value} checked={period === value} onChange={() => setPeriod(value)} />
            {label}
          </label>
        ))}
      </fieldset>
      {error ? (
        <p className="notice notice-info" role="status">
          {error}
        </p>
      ) : usage === null ? (
        <p className="loading" aria-busy="true">
          Loading usage…
        </p>
      ) : (
        <div className="chart-grid-2">
          <BarChart
            title={hourly ? 'Tokens and API calls per hour' : 'Tokens and API calls per day'}
            series={[
              { key: 'tokens', label: 'Tokens issued', tone: 'primary' },
              { key: 'calls', label: 'API calls', tone: 'teal' },
            ]}
            rows={rows((i) => ({ tokens: i.tokensIssued, calls: i.apiCalls }))}
            formatLabel={formatLabel}
            formatFull={formatFull}
          />
          <BarChart
            title={hourly ? 'Failures per hour' : 'Failures per day'}
            series={[
              { key: 'auth', label: 'Failed authentications', tone: 'danger' },
              { key: 'r401', label: 'API 401', tone: 'warning' },
              { key: 'r403', label: 'API 403', tone: 'muted' },
              { key: 'r429', label: 'API 429', tone: 'primary' },
            ]}
            rows={rows((i) => ({ auth: i.authFailures, r401: i.apiRejected?.['401'] ?? 0, r403: i.apiRejected?.['403'] ?? 0, r429: i.apiRejected?.['429'] ?? 0 }))}
            formatLabel={formatLabel}
            formatFull={formatFull}
          />
        </div>
      )}
    </div>
  );
}
