// OpenMetrics 1.0 text exposition, rendered from prom-client's JSON view of a
// registry. prom-client's own OpenMetrics mode renames counters on the metric
// objects it shares with the Prometheus-format registry (it strips `_total` in
// place), so the same registry could not serve both formats; this renderer
// reads values only. Pure: values in, text out.
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** True when an Accept header prefers OpenMetrics to the Prometheus text format (what Prometheus sends). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let om = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    const qp = params.find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === 'application/openmetrics-text') om = Math.max(om, q);
    else if (type === 'text/plain' || type === '*/*' || type === 'text/*') text = Math.max(text, q);
  }
  return om > 0 && om >= text;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = escapeLabel;

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labels(l: Record<string, string | number | undefined>): string {
  const parts = Object.entries(l)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}="${escapeLabel(typeof v === 'number' ? number(v) : String(v))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** One family per metric; counters are named without `_total` and sampled with it, as the format requires. */
export function renderOpenMetrics(metrics: MetricObjectWithValues<MetricValue<string>>[]): string {
  const out: string[] = [];
  for (const m of metrics) {
    const type = String(m.type);
    const family = type === 'counter' ? m.name.replace(/_total$/, '') : m.name;
    out.push(`# HELP ${family} ${escapeHelp(m.help)}`);
    out.push(`# TYPE ${family} ${type === 'counter' || type === 'gauge' || type === 'histogram' || type === 'summary' ? type : 'unknown'}`);
    for (const v of m.values) {
      const name = (v as { metricName?: string }).metricName ?? (type === 'counter' ? `${family}_total` : m.name);
      out.push(`${name}${labels(v.labels as Record<string, string | number | undefined>)} ${number(v.value)}`);
    }
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}
