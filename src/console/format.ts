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

/**
 * What the console's time inputs take: `YYYY-MM-DD`, optionally with `THH:MM[:SS[.sss]]` (a space
 * for the T is fine), in UTC: a trailing `Z` or nothing; an explicit offset (`+02:00`) is honoured.
 * Nothing else: Date.parse would read `Jan 31 2026 10:00` or `2026-01-31 10:00` in the server's
 * local zone, and `2026` as a year or as epoch milliseconds: the ambiguity these inputs exist to end.
 */
const UTC_INPUT = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?([Zz]|[+-]\d{2}:\d{2})?$/;

/** Epoch ms of a time input; null when it is not one of the forms above (or names no real date). */
export function parseUtcInput(v: string): number | null {
  const m = UTC_INPUT.exec(v.trim());
  if (!m) return null;
  const [y, mo, d, h = 0, mi = 0, sec = 0] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x))) as number[];
  const ms = Number((m[7] ?? '').padEnd(3, '0'));
  const t = Date.UTC(y!, mo! - 1, d!, h, mi, sec, ms);
  const back = new Date(t);
  // Date.UTC rolls 2026-02-31 over into March: refuse instead of guessing.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) return null;
  const zone = m[8];
  if (!zone || zone === 'Z' || zone === 'z') return t;
  const sign = zone[0] === '-' ? -1 : 1;
  const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
  if (oh > 23 || om > 59) return null;
  return t - sign * (oh * 60 + om) * 60_000;
}

/** A time input's value as the console writes it back: `2026-01-31T10:00Z` (seconds when not zero); what did not parse stays as typed. */
export function toInputValue(v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  const s = String(v);
  const ms = parseUtcInput(s);
  if (ms === null || !Number.isFinite(new Date(ms).getTime())) return s;
  const iso = new Date(ms).toISOString();
  return iso.endsWith(':00.000Z') ? `${iso.slice(0, 16)}Z` : iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
}
