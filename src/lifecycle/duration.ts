// Durations in the configuration: `<n>s|m|h|d`, e.g. "90d", "10m".
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^([1-9][0-9]{0,5})(s|m|h|d)$/;

/** Milliseconds of a duration, or null when it is not `<n>s|m|h|d` with n a positive integer. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text);
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
