// Server-rendered SVG bar charts: no chart library, no client script, nothing for the
// CSP to allow. Colours come from classes in the stylesheet; each bar has a <title>
// so hovering shows the bucket's numbers.

import { fmtInt } from './format.js';
import type { Html } from './jsx-runtime.js';

export interface Series {
  label: string;
  /** CSS class of the bars: bar, bar-ok, bar-bad. */
  cls: string;
}

export interface ChartBucket {
  start: number;
  /** One value per series, stacked bottom to top. */
  values: number[];
}

const W = 420;
const H = 140;
const PAD = { left: 34, right: 4, top: 10, bottom: 20 };

/** 1, 2, 5 × 10^k at or above n (at least 1). */
export function niceMax(n: number): number {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

export function BarChart(props: { title: string; series: Series[]; buckets: ChartBucket[]; bucketMs: number; testId?: string }): Html {
  const { buckets, series, bucketMs } = props;
  const totals = buckets.map((b) => b.values.reduce((a, v) => a + v, 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bw = buckets.length ? plotW / buckets.length : plotW;
  const gap = bw > 4 ? 1 : 0;
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const sums = series.map((_, i) => buckets.reduce((a, b) => a + (b.values[i] ?? 0), 0));
  const grand = sums.reduce((a, v) => a + v, 0);
  const ticks = [0, max / 2, max];
  const label = `${props.title}: ${series.map((s, i) => `${fmtInt(sums[i]!)} ${s.label}`).join(', ')}`;
  const xLabels = buckets.length
    ? [buckets[0]!.start, buckets[Math.floor(buckets.length / 2)]!.start, buckets[buckets.length - 1]!.start + bucketMs]
    : [];
  return (
    <div class="panel chart" data-testid={props.testId}>
      <h3>
        {props.title} <span class="muted">· {fmtInt(grand)}</span>
      </h3>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} xmlns="http://www.w3.org/2000/svg">
        {ticks.map((t) => (
          <>
            <line class="axis" x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} />
            <text x={PAD.left - 4} y={y(t) + 3} text-anchor="end">{fmtInt(t)}</text>
          </>
        ))}
        {buckets.map((b, i) => {
          let base = 0;
          const x = PAD.left + i * bw;
          const tip = `${hhmm(b.start)}–${hhmm(b.start + bucketMs)}Z: ${series.map((s, j) => `${fmtInt(b.values[j] ?? 0)} ${s.label}`).join(', ')}`;
          return (
            <g>
              <title>{tip}</title>
              {series.map((s, j) => {
                const v = b.values[j] ?? 0;
                if (v <= 0) return null;
                const top = y(base + v);
                const r = <rect class={s.cls} x={(x + gap / 2).toFixed(2)} y={top.toFixed(2)} width={Math.max(0.5, bw - gap).toFixed(2)} height={(y(base) - top).toFixed(2)} />;
                base += v;
                return r;
              })}
              {/* an invisible full-height target so the tooltip works on empty buckets too */}
              <rect x={x.toFixed(2)} y={PAD.top} width={bw.toFixed(2)} height={plotH} fill="transparent" />
            </g>
          );
        })}
        {xLabels.map((t, i) => (
          <text x={i === 0 ? PAD.left : i === 1 ? PAD.left + plotW / 2 : W - PAD.right} y={H - 5} text-anchor={i === 0 ? 'start' : i === 1 ? 'middle' : 'end'}>
            {hhmm(t)}Z
          </text>
        ))}
      </svg>
      <div class="legend">
        {series.map((s, i) => (
          <span>
            <i class={s.cls}></i>
            {s.label} {fmtInt(sums[i]!)}
          </span>
        ))}
      </div>
    </div>
  );
}
