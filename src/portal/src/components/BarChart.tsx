import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  key: string;
  label: string;
  /** The series' colour (the legend swatch's CSS class and the bars on the canvas). */
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
  /** A horizontal line across the bars (the account's API limit), named in the legend. */
  limit?: { value: number; label: string };
}

/** The canvas cannot read CSS classes: the same colours as .tone-* in styles.css. */
const TONE: Record<Series['tone'], string> = {
  primary: '#5b2ee0',
  teal: '#0f8b8d',
  danger: '#c62828',
  warning: '#d08700',
  muted: '#7a8194',
};
const AXIS = '#5d6475';
const GRID = '#e8eaef';
const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const HEIGHT = 180;
/** The share of a bucket's width its group of bars takes (the rest is the gap between groups). */
const GROUP = 0.84;
/** Roughly this many CSS pixels per x-axis label. */
const LABEL_SPACE = 56;
/** Counts are whole numbers: y-axis steps that keep them whole. */
const INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 25_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000];

// TypeScript's const enums of uplot's declarations cannot be read with isolatedModules: their values.
const SCALE_VALUE = 1 as uPlot.Series.BarsPathBuilderFacetUnit;

function niceMax(value: number): number {
  if (value <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * A grouped bar chart drawn by uPlot (one group per bucket, bars via uPlot.paths.bars). Keyboard:
 * the chart is one tab stop; the arrow keys, Home and End move uPlot's cursor between buckets
 * (u.setCursor) and the live readout below says the bucket's values; pointing with the mouse does
 * the same. Its text alternative is a table ("Show as table"). The chart follows its container's
 * width (a ResizeObserver calls u.setSize), so it never makes the page scroll sideways.
 */
export function BarChart({ title, series, rows, formatLabel, formatFull, limit }: BarChartProps) {
  const titleId = useId();
  const readoutId = useId();
  const plotRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<uPlot | null>(null);
  const labelRef = useRef(formatLabel);
  labelRef.current = formatLabel;
  const [active, setActive] = useState<number | null>(null);
  const totals = series.map((s) => rows.reduce((sum, r) => sum + (r.values[s.key] ?? 0), 0));
  const summary = `${title}: ${series.map((s, i) => `${totals[i]} ${s.label.toLowerCase()}`).join(', ')} in ${rows.length} buckets`;
  const current = active === null ? null : rows[active];
  // The chart is rebuilt when the figures change, not on every render of the parent.
  const dataKey = JSON.stringify([series, rows, limit]);

  useEffect(() => {
    const host = plotRef.current;
    if (!host) return;
    const count = rows.length;
    const bar = GROUP / Math.max(1, series.length);
    const indices = rows.map((_, i) => i);
    const data: uPlot.AlignedData = [indices, ...series.map((s) => rows.map((r) => r.values[s.key] ?? 0))];
    const highlight = document.createElement('div');
    highlight.className = 'chart-highlight';
    highlight.hidden = true;

    const place = (u: uPlot) => {
      const idx = u.cursor.idx;
      if (idx === null || idx === undefined || idx < 0 || idx >= count) {
        highlight.hidden = true;
        return;
      }
      const left = u.valToPos(idx - 0.5, 'x');
      highlight.style.left = `${left}px`;
      highlight.style.width = `${u.valToPos(idx + 0.5, 'x') - left}px`;
      highlight.hidden = false;
    };

    const opts: uPlot.Options = {
      width: Math.max(120, host.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: {
        x: false,
        y: false,
        points: { show: false },
        drag: { x: false, y: false, setScale: false },
      },
      scales: {
        x: { time: false, range: () => [-0.5, Math.max(1, count) - 0.5] },
        // A limit stays in view above the bars.
        y: { range: (_u, _min, max) => [0, niceMax(Math.max(max, limit ? limit.value * 1.1 : 0))] },
      },
      axes: [
        {
          stroke: AXIS,
          font: FONT,
          size: 28,
          gap: 6,
          grid: { show: false },
          ticks: { show: false },
          splits: (u) => {
            const width = u.bbox.width / uPlot.pxRatio || u.width;
            const column = width / Math.max(1, count);
            const every = Math.max(1, Math.ceil(LABEL_SPACE / column));
            // The first label starts clear of the y-axis' "0" (half a label from the left edge).
            const first = Math.max(0, Math.ceil(LABEL_SPACE / 3 / column - 0.5));
            return indices.filter((i) => i >= first && (i - first) % every === 0);
          },
          values: (_u, splits) => splits.map((i) => (rows[i] ? labelRef.current(rows[i].at) : '')),
        },
        {
          stroke: AXIS,
          font: FONT,
          size: 40,
          gap: 4,
          incrs: INCRS,
          grid: { stroke: GRID, width: 1 },
          ticks: { show: false },
          values: (_u, splits) => splits.map((v) => String(v)),
        },
      ],
      series: [
        {},
        ...series.map(
          (s, j): uPlot.Series => ({
            label: s.label,
            fill: TONE[s.tone],
            stroke: TONE[s.tone],
            width: 0,
            points: { show: false },
            paths: uPlot.paths.bars?.({
              size: [1, Infinity, 1],
              disp: {
                // Bar j of a group starts at its share of the bucket; all bars are equally wide.
                x0: { unit: SCALE_VALUE, values: () => indices.map((i) => i - GROUP / 2 + j * bar) },
                size: { unit: SCALE_VALUE, values: () => [bar] },
              },
            }),
          }),
        ),
      ],
      hooks: {
        init: [(u) => void u.over.appendChild(highlight)],
        setCursor: [
          (u) => {
            place(u);
            const idx = u.cursor.idx;
            setActive(idx === null || idx === undefined || idx < 0 || idx >= count ? null : idx);
          },
        ],
        setSize: [place],
        draw: [
          (u) => {
            if (!limit) return;
            const y = Math.round(u.valToPos(limit.value, 'y', true));
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = TONE.danger;
            ctx.lineWidth = Math.max(1, uPlot.pxRatio);
            ctx.setLineDash([6 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.restore();
          },
        ],
      },
    };

    const chart = new uPlot(opts, data, host);
    chart.root.setAttribute('aria-hidden', 'true');
    chartRef.current = chart;
    setActive(null);
    let width = host.clientWidth;
    const observer = new ResizeObserver(() => {
      const next = host.clientWidth;
      if (next === width || next <= 0) return;
      width = next;
      chart.setSize({ width: Math.max(120, next), height: HEIGHT });
    });
    observer.observe(host);
    return () => {
      observer.disconnect();
      chartRef.current = null;
      chart.destroy();
    };
    // dataKey stands for series and rows; formatLabel is read through a ref.
  }, [dataKey]);

  function moveTo(idx: number | null) {
    const chart = chartRef.current;
    if (!chart) return;
    if (idx === null) chart.setCursor({ left: -10, top: -10 });
    else chart.setCursor({ left: chart.valToPos(idx, 'x'), top: chart.over.clientHeight / 2 });
  }

  function onKey(event: KeyboardEvent<HTMLDivElement>) {
    if (rows.length === 0) return;
    let next: number | null = null;
    const at = active ?? -1;
    if (event.key === 'ArrowRight') next = Math.min(rows.length - 1, at + 1);
    else if (event.key === 'ArrowLeft') next = at < 0 ? rows.length - 1 : Math.max(0, at - 1);
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = rows.length - 1;
    else if (event.key === 'Escape') {
      moveTo(null);
      return;
    }
    if (next === null) return;
    event.preventDefault();
    moveTo(next);
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
        {limit ? (
          <li>
            <span className="legend-line" />
            {limit.label}
          </li>
        ) : null}
      </ul>
      <div
        className="chart-frame"
        role="group"
        tabIndex={0}
        aria-label={`${summary}${limit ? `; ${limit.label.toLowerCase()}` : ''}. Use the arrow keys to read each bucket.`}
        aria-describedby={readoutId}
        onKeyDown={onKey}
        onBlur={() => moveTo(null)}
      >
        <div ref={plotRef} className="chart-plot" />
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
