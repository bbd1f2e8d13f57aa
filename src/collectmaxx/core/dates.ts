// Calendar dates as `YYYY-MM-DD` strings. The core never reads a clock: the
// caller passes `today` in its own business time zone, so "is DUEDATE in the
// future" and file-name dates mean the same day the operator sees.

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date in `YYYY-MM-DD` (2021-02-29 is false). */
export function isIsoDate(s: string): boolean {
  const m = ISO_DATE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** Throw on a malformed `today`: a wrong date silently shifts every DUEDATE check. */
export function assertIsoDate(s: string, what = 'date'): void {
  if (!isIsoDate(s)) throw new RangeError(`${what} must be a calendar date YYYY-MM-DD, got ${JSON.stringify(s)}`);
}

export function addDays(date: string, days: number): string {
  assertIsoDate(date);
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** `YYYYMMDD` → `YYYY-MM-DD`, or null if it is not a real date. */
export function fromCompact(s: string): string | null {
  if (!/^\d{8}$/.test(s)) return null;
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
  return isIsoDate(iso) ? iso : null;
}

export function toCompact(date: string): string {
  assertIsoDate(date);
  return date.replace(/-/g, '');
}
