// Presentation helpers for the console: times in UTC, durations, numbers.

/** `2026-01-31 10:04:05Z` (UTC, second precision). */
export function fmtTime(t: number | string | null | undefined): string {
  if (t === null || t === undefined || t === '') return '—';
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (Number.isNaN(ms)) return String(t);
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function fmtTimeMs(t: number | string): string {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return new Date(ms).toISOString().replace('T', ' ');
}

/** 0.4 s, 12 s, 5 min, 3.2 h, 2.1 d */
export function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  if (s < 1) return `${s.toFixed(1)} s`;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export function ago(t: number | string | null | undefined, now: number): string {
  if (t === null || t === undefined) return '—';
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (Number.isNaN(ms)) return '—';
  const s = (now - ms) / 1000;
  return s < 0 ? `in ${fmtSeconds(-s)}` : `${fmtSeconds(s)} ago`;
}

export function fmtPct(x: number | null | undefined): string {
  if (x === null || x === undefined) return '—';
  const p = x * 100;
  return `${p === 100 || p === 0 ? p.toFixed(0) : p >= 99.95 ? p.toFixed(2) : p.toFixed(1)} %`;
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** A query string from the non-empty entries, for links that keep the current filter. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** `<input type=datetime-local>` sends no zone: the console labels its time inputs UTC and means it. */
export function utcInput(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const s = String(v).trim();
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(s) ? `${s}Z` : s;
}

/** The value for a datetime-local input from what the user sent (ISO or epoch ms), in UTC. */
export function toInputValue(v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  const s = String(v);
  const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(utcInput(s)!);
  return Number.isNaN(ms) ? s : new Date(ms).toISOString().slice(0, 16);
}
