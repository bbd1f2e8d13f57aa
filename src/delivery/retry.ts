// Retry policy: a pure function of what happened, the schedule and a random
// draw. No clock reads: `now` and `random` come in, so tables can test it.

export type RetryDecision = { action: 'retry'; at: number; delayMs: number } | { action: 'dead' };

export interface RetryInput {
  /** Attempts made so far in this round, including the one that just failed. */
  attemptsMade: number;
  /** Delay before each attempt; entry 0 is the first attempt (usually 0). */
  scheduleMs: number[];
  /** Fraction, e.g. 0.2 for ±20 %. */
  jitter: number;
  /** A uniform draw in [0, 1). */
  random: number;
  now: number;
  /** The receiver's Retry-After (429/503 only), already converted to ms. */
  retryAfterMs?: number | null;
}

export function nextAttempt(i: RetryInput): RetryDecision {
  if (i.attemptsMade >= i.scheduleMs.length) return { action: 'dead' };
  const base = i.scheduleMs[i.attemptsMade]!;
  let delayMs: number;
  if (i.retryAfterMs !== undefined && i.retryAfterMs !== null) {
    // Honour the receiver, but never beyond the longest wait the schedule allows.
    delayMs = Math.min(Math.max(i.retryAfterMs, 0), Math.max(...i.scheduleMs));
  } else {
    delayMs = Math.round(base * (1 + i.jitter * (2 * i.random - 1)));
  }
  return { action: 'retry', at: i.now + delayMs, delayMs };
}

/** Retry-After is either delta-seconds or an HTTP-date; anything else is ignored. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Only an HTTP-date (all three RFC 9110 forms start with a day name). V8's Date.parse
  // also takes junk such as "1.5" or "-1" as dates in 2001, which made an invalid
  // Retry-After mean "retry immediately" instead of being ignored.
  if (!/^[A-Za-z]{3,9},? /.test(v)) return null;
  // HTTP-dates are GMT; asctime ("Sun Nov  6 08:49:37 1994") does not say so, and V8 would read it as local time.
  const t = Date.parse(v.endsWith(' GMT') ? v : `${v} GMT`);
  if (Number.isNaN(t)) return null;
  return Math.max(0, t - now);
}
