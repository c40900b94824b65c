import { type KeyboardEvent, useId, useState } from 'react';

export interface Series {
  key: string;
  label: string;
  /** A CSS class that colours the series (fill). */
  tone: 'primary' | 'teal' | 'danger' | 'warning' | 'muted';
}

export interface ChartRow {
  /** ISO start of the bucket. */
  at: string;
  values: Record<string, number>;
}

interface BarChartProps {
  title: string;
  series: Series[];
  rows: ChartRow[];
  /** Formats a bucket's start for the axis and the table ("14:00", "3 Nov"). */
  formatLabel(at: string): string;
  /** Formats a bucket's start in full for the readout and the table. */
  formatFull(at: string): string;
}

const WIDTH = 640;
const HEIGHT = 180;
const PAD = { top: 10, right: 8, bottom: 24, left: 40 };

function niceMax(value: number): number {
  if (value <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * A small bar chart as inline SVG (grouped bars, one group per bucket). Keyboard: the chart is one
 * tab stop; the arrow keys, Home and End move between buckets and the readout below says its
 * values. Its text alternative is a table ("Show as table").
 */
export function BarChart({ title, series, rows, formatLabel, formatFull }: BarChartProps) {
  const titleId = useId();
  const readoutId = useId();
  const [active, setActive] = useState<number | null>(null);
  const max = niceMax(Math.max(0, ...rows.flatMap((r) => series.map((s) => r.values[s.key] ?? 0))));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const groupW = rows.length > 0 ? plotW / rows.length : plotW;
  const barW = Math.max(1, (groupW * 0.8) / series.length);
  const labelEvery = Math.max(1, Math.ceil(rows.length / 8));
  const totals = series.map((s) => rows.reduce((sum, r) => sum + (r.values[s.key] ?? 0), 0));
  const summary = `${title}: ${series.map((s, i) => `${totals[i]} ${s.label.toLowerCase()}`).join(', ')} in ${rows.length} buckets`;
  const current = active === null ? null : rows[active];

  function onKey(event: KeyboardEvent<HTMLDivElement>) {
    if (rows.length === 0) return;
    let next: number | null = null;
    const at = active ?? -1;
    if (event.key === 'ArrowRight') next = Math.min(rows.length - 1, at + 1);
    else if (event.key === 'ArrowLeft') next = at < 0 ? rows.length - 1 : Math.max(0, at - 1);
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = rows.length - 1;
    else if (event.key === 'Escape') {
      setActive(null);
      return;
    }
    if (next === null) return;
    event.preventDefault();
    setActive(next);
  }

  return (
    <figure className="chart" aria-labelledby={titleId}>
      <figcaption id={titleId} className="chart-title">
        {title}
      </figcaption>
      <ul className="chart-legend" aria-hidden="true">
        {series.map((s, i) => (
          <li key={s.key}>
            <span className={`legend-swatch tone-${s.tone}`} />
            {s.label} <strong>{totals[i]}</strong>
          </li>
        ))}
      </ul>
      <div
        className="chart-frame"
        role="group"
        tabIndex={0}
        aria-label={`${summary}. Use the arrow keys to read each bucket.`}
        aria-describedby={readoutId}
        onKeyDown={onKey}
        onBlur={() => setActive(null)}
      >
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" className="chart-svg" aria-hidden="true" focusable="false">
          {[0, 0.5, 1].map((f) => {
            const y = PAD.top + plotH * (1 - f);
            return (
              <g key={f}>
                <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} className="chart-grid" />
                <text x={PAD.left - 6} y={y + 4} textAnchor="end" className="chart-axis">
                  {Math.round(max * f)}
                </text>
              </g>
            );
          })}
          {rows.map((row, i) => {
            const x0 = PAD.left + i * groupW + groupW * 0.1;
            return (
              <g key={row.at} className={active === i ? 'chart-group is-active' : 'chart-group'} onMouseEnter={() => setActive(i)}>
                <rect x={PAD.left + i * groupW} y={PAD.top} width={groupW} height={plotH} className="chart-hit" />
                {series.map((s, j) => {
                  const v = row.values[s.key] ?? 0;
                  const h = max > 0 ? (v / max) * plotH : 0;
                  return <rect key={s.key} x={x0 + j * barW} y={PAD.top + plotH - h} width={Math.max(0.5, barW - 0.5)} height={h} className={`chart-bar tone-${s.tone}`} />;
                })}
                {i % labelEvery === 0 ? (
                  <text x={PAD.left + i * groupW + groupW / 2} y={HEIGHT - 6} textAnchor="middle" className="chart-axis">
                    {formatLabel(row.at)}
                  </text>
                ) : null}
              </g>
            );
          })}
        </svg>
      </div>
      <p id={readoutId} className="chart-readout" aria-live="polite">
        {current ? (
          <>
            <strong>{formatFull(current.at)}</strong>: {series.map((s) => `${s.label} ${current.values[s.key] ?? 0}`).join(' · ')}
          </>
        ) : (
          <span className="muted">{rows.length > 0 ? 'Point at a bar or use the arrow keys for the numbers.' : 'No data.'}</span>
        )}
      </p>
      <details className="chart-table">
        <summary>Show as table</summary>
        <div className="table-wrap">
          <table className="table table-compact">
            <caption className="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                {series.map((s) => (
                  <th key={s.key} scope="col">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.at}>
                  <th scope="row">{formatFull(row.at)}</th>
                  {series.map((s) => (
                    <td key={s.key}>{row.values[s.key] ?? 0}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
