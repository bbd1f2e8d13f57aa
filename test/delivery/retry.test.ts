// The retry policy is a pure function of (attempts made, schedule, jitter, random draw, now,
// Retry-After): these tables pin every step of it without a clock or a network.
import t from 'tap';
import { DEFAULT_RETRY_SCHEDULE_MS } from '../../src/delivery/endpoints.js';
import { nextAttempt, parseRetryAfter, type RetryInput } from '../../src/delivery/retry.js';

// A zone far from UTC (+12:45 or +13:45): a date read as local time instead of GMT is off by hours here.
process.env.TZ = 'Pacific/Chatham';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const JUST_BELOW_ONE = 1 - Number.EPSILON;

const base = (o: Partial<RetryInput>): RetryInput => ({
  attemptsMade: 1, scheduleMs: DEFAULT_RETRY_SCHEDULE_MS, jitter: 0.2, random: 0.5, now: NOW, ...o,
});

t.test('the default schedule is the documented one', async (t) => {
  t.same(DEFAULT_RETRY_SCHEDULE_MS, [0, 5 * S, 5 * MIN, 30 * MIN, 2 * H, 5 * H, 10 * H, 10 * H]);
});

t.test('each step of the default schedule, without jitter (random = 0.5 is the midpoint)', async (t) => {
  // After attempt n failed, the wait is schedule[n]: the first attempt is immediate (entry 0),
  // the first retry comes 5 s after the first failure, and so on.
  const expected = [5 * S, 5 * MIN, 30 * MIN, 2 * H, 5 * H, 10 * H, 10 * H];
  expected.forEach((delay, i) => {
    const n = i + 1;
    t.same(nextAttempt(base({ attemptsMade: n })), { action: 'retry', at: NOW + delay, delayMs: delay }, `after attempt ${n}: +${delay} ms`);
    t.same(nextAttempt(base({ attemptsMade: n, jitter: 0, random: 0.99 })), { action: 'retry', at: NOW + delay, delayMs: delay }, `jitter 0 ignores the draw (attempt ${n})`);
  });
  t.same(nextAttempt(base({ attemptsMade: 8 })), { action: 'dead' }, 'after the 8th attempt (last entry) the delivery is dead');
  t.same(nextAttempt(base({ attemptsMade: 9 })), { action: 'dead' }, 'and stays dead past it');
});

t.test('jitter bounds: ±20 % at the extremes of the draw', async (t) => {
  const rows: [attemptsMade: number, random: number, delay: number][] = [
    [1, 0, 4 * S], // 5 s - 20 %
    [1, JUST_BELOW_ONE, 6 * S], // 5 s + 20 % (exclusive upper end of the draw rounds to it)
    [1, 0.25, 4.5 * S],
    [1, 0.75, 5.5 * S],
    [2, 0, 4 * MIN],
    [2, JUST_BELOW_ONE, 6 * MIN],
    [3, 0, 24 * MIN],
    [3, JUST_BELOW_ONE, 36 * MIN],
    [6, 0, 8 * H],
    [7, JUST_BELOW_ONE, 12 * H],
  ];
  for (const [n, random, delay] of rows) {
    const d = nextAttempt(base({ attemptsMade: n, random }));
    t.same(d, { action: 'retry', at: NOW + delay, delayMs: delay }, `attempt ${n}, random ${random} → ${delay} ms`);
  }
  // A sweep over the draw never leaves the band and is monotonic in it.
  for (let n = 1; n < DEFAULT_RETRY_SCHEDULE_MS.length; n++) {
    const b = DEFAULT_RETRY_SCHEDULE_MS[n]!;
    let prev = -1;
    let inBand = true;
    let monotonic = true;
    for (let i = 0; i <= 100; i++) {
      const d = nextAttempt(base({ attemptsMade: n, random: Math.min(i / 100, JUST_BELOW_ONE) }));
      if (d.action !== 'retry') throw new Error('expected retry');
      if (d.delayMs < b * 0.8 || d.delayMs > b * 1.2 || d.at !== NOW + d.delayMs) inBand = false;
      if (d.delayMs < prev) monotonic = false;
      prev = d.delayMs;
    }
    t.ok(inBand, `attempt ${n}: every delay within [0.8, 1.2] × ${b} ms`);
    t.ok(monotonic, `attempt ${n}: delay grows with the draw`);
  }
  t.same(nextAttempt(base({ attemptsMade: 1, jitter: 0.5, random: 0 })).action, 'retry');
  t.equal((nextAttempt(base({ attemptsMade: 1, jitter: 0.5, random: 0 })) as { delayMs: number }).delayMs, 2500, 'configured jitter 0.5 → -50 %');
});

t.test('a short, per-endpoint schedule', async (t) => {
  const scheduleMs = [0, 50, 100];
  t.same(nextAttempt({ attemptsMade: 1, scheduleMs, jitter: 0, random: 0.3, now: NOW }), { action: 'retry', at: NOW + 50, delayMs: 50 });
  t.same(nextAttempt({ attemptsMade: 2, scheduleMs, jitter: 0, random: 0.3, now: NOW }), { action: 'retry', at: NOW + 100, delayMs: 100 });
  t.same(nextAttempt({ attemptsMade: 3, scheduleMs, jitter: 0, random: 0.3, now: NOW }), { action: 'dead' }, 'three entries = three attempts');
  t.same(nextAttempt({ attemptsMade: 1, scheduleMs: [0], jitter: 0, random: 0, now: NOW }), { action: 'dead' }, 'a single-entry schedule never retries');
  t.same(nextAttempt({ attemptsMade: 3, scheduleMs, jitter: 0, random: 0, now: NOW, retryAfterMs: 10 }), { action: 'dead' }, 'Retry-After does not buy attempts past the schedule');
});

t.test('Retry-After replaces the scheduled delay, clamped to the longest schedule entry', async (t) => {
  const rows: [retryAfterMs: number | null | undefined, attemptsMade: number, delay: number, why: string][] = [
    [null, 1, 5 * S, 'no Retry-After: the schedule'],
    [undefined, 1, 5 * S, 'absent: the schedule'],
    [60 * S, 1, 60 * S, 'longer than the step: honoured'],
    [1 * S, 2, 1 * S, 'shorter than the step: honoured'],
    [0, 3, 0, 'zero: right away'],
    [10 * H, 1, 10 * H, 'exactly the longest entry'],
    [48 * H, 1, 10 * H, 'a day-long Retry-After is clamped to the longest entry (10 h)'],
    [-5 * S, 1, 0, 'negative is treated as now'],
  ];
  for (const [retryAfterMs, n, delay, why] of rows) {
    // random 0 would shorten a scheduled wait by 20 %: Retry-After is not jittered.
    const d = nextAttempt(base({ attemptsMade: n, random: 0, retryAfterMs }));
    const want = retryAfterMs === null || retryAfterMs === undefined ? Math.round(delay * 0.8) : delay;
    t.same(d, { action: 'retry', at: NOW + want, delayMs: want }, why);
  }
  const short = { scheduleMs: [0, 50, 100], jitter: 0, random: 0.5, now: NOW };
  t.same(nextAttempt({ ...short, attemptsMade: 1, retryAfterMs: 120 * S }), { action: 'retry', at: NOW + 100, delayMs: 100 }, 'clamped to that endpoint\'s own max (100 ms)');
  t.same(nextAttempt({ ...short, attemptsMade: 1, retryAfterMs: 70 }), { action: 'retry', at: NOW + 70, delayMs: 70 });
});

t.test('parseRetryAfter: delta-seconds and HTTP-date, junk ignored', async (t) => {
  const date = (ms: number) => new Date(ms).toUTCString();
  const rows: [value: string | undefined, want: number | null, why: string][] = [
    ['0', 0, 'zero seconds'],
    ['1', 1000, 'one second'],
    ['120', 120_000, 'two minutes'],
    [' 30 ', 30_000, 'surrounding whitespace'],
    ['86400', 86_400_000, 'a day (clamping is the policy\'s job)'],
    [date(NOW + 90_000), 90_000, 'IMF-fixdate 90 s ahead'],
    [date(NOW - 90_000), 0, 'a date in the past means now'],
    [date(NOW), 0, 'exactly now'],
    ['Sunday, 19-Jan-25 12:01:00 GMT', Date.UTC(2025, 0, 19, 12, 1) - NOW, 'obsolete RFC 850 date'],
    ['Sun Jan 19 12:01:00 2025', Date.UTC(2025, 0, 19, 12, 1) - NOW, 'obsolete asctime date, which means GMT whatever the local zone'],
    ['Wed Jan 15 12:00:09 2025', 9_000, 'asctime with a two-digit day'],
    ['Sat Jan  1 00:00:00 2000', 0, 'asctime with a space-padded day, in the past'],
    ['15 Jan 2025 12:01:00 GMT', null, 'a date without its day name is not an HTTP-date'],
    ['Someday, soon', null, 'starts like an HTTP-date but is none'],
    [undefined, null, 'absent'],
    ['', null, 'empty'],
    ['soon', null, 'not a number or date'],
    ['1.5', null, 'fractional seconds are not delta-seconds'],
    ['-1', null, 'negative is not delta-seconds'],
    ['5s', null, 'units are not allowed'],
    ['0x10', null, 'hex'],
  ];
  for (const [value, want, why] of rows) t.equal(parseRetryAfter(value, NOW), want, `${JSON.stringify(value)}: ${why}`);
});
