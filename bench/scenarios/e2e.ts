// Scenario 3, end to end: callbacks at a fixed rate (uniform arrivals, see
// harness runPaced; --rate-load autocannon for autocannon's overallRate) into the relay, delivered to a bare Fastify receiver on loopback (both child
// processes). Latency = the event's receivedAt (the relay got the callback) to
// the receiver's handler. The outbox backlog is sampled every second from the
// relay's paygate_relay_delivery_queue_depth gauge; its slope over the send
// phase says whether delivery keeps up.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BodyPool, latencySummary, round, scrapeGauge, sleep, splitSummary, startBare, windowSummaries, startRelay, type BareChild, type BenchContext, type Child, type LatencySummary } from '../lib/harness.js';
import { runAtRate } from '../lib/load.js';

export interface BacklogSample {
  t: number;
  queueDepth: number;
  /** Answered 200 minus delivered, as the load generator sees it. */
  undelivered: number;
}

export interface RateRow {
  rate: number;
  instances: number;
  seconds: number;
  offeredPerSec: number;
  accepted: number;
  non2xx: number;
  errors: number;
  deliveredPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  intakeP99Ms: number;
  /** Which fixed-rate generator ran (see harness runPaced). */
  load: 'paced' | 'autocannon';
  /** Least-squares slope of the queue depth over the send phase (after its first 2 s), deliveries per second. */
  backlogSlopePerSec: number;
  maxQueueDepth: number;
  growing: boolean;
  /** Seconds after the last send until every accepted callback was delivered (NaN: not within 30 s). */
  drainSeconds: number;
  samples: BacklogSample[];
  /** Whether the relay got the 2 s warm-up at 500/s first; without it the run starts right after /readyz. */
  warmedUp: boolean;
  /**
   * The run split at `coldSeconds` after the first send: end-to-end latency by the
   * event's receivedAt, intake latency by the request's scheduled time.
   */
  windows?: {
    coldSeconds: number;
    cold: LatencySummary & { n: number; intakeP99Ms: number };
    warm: LatencySummary & { n: number; intakeP99Ms: number };
  };
  /** End-to-end latency of the first and of the last `seconds` of the run (by receivedAt): does it creep up? */
  edges?: { seconds: number; first: LatencySummary & { n: number }; last: LatencySummary & { n: number } };
  /** End-to-end latency of every consecutive `edgeSeconds` window (by receivedAt): where it climbs and whether it levels off. */
  series?: (LatencySummary & { n: number; fromSeconds: number })[];
  /** The same per minute (runs of 5 minutes or more): whether the tail comes with the sweeps or all the time. */
  minutes?: (LatencySummary & { n: number; fromSeconds: number })[];
}

export interface FixedRateOptions {
  /** 2 s at 500/s before the measured run (default true). */
  warmUp?: boolean;
  /** Report the first N seconds (cold) apart from the rest (warm). */
  coldSeconds?: number;
  /** Report the first and the last N seconds apart (a long run's drift). */
  edgeSeconds?: number;
}

function slope(points: { t: number; y: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** One fixed-rate run over already started relays (load spread evenly), receiver stats reset first. */
export async function fixedRate(ctx: BenchContext, relays: Child[], receiver: BareChild, pool: BodyPool, rate: number, seconds: number, opts: FixedRateOptions = {}): Promise<RateRow> {
  const n = relays.length;
  const warmUp = opts.warmUp ?? true;
  if (warmUp) {
    // Warm-up (2 s at 500/s) so JIT and connection pools are in place, then wait until it is delivered.
    const warm = { ok: 0 };
    const before = (await receiver.stats(true)).count;
    await Promise.all(relays.map((r) => runAtRate(ctx, { url: r.url, connections: Math.ceil(ctx.connections / n), seconds: 2, overallRate: 500 / n, pool, progress: warm })));
    for (let i = 0; i < 100 && (await receiver.stats(true)).count - before < warm.ok; i++) await sleep(100);
  }
  const base = (await receiver.stats(true)).count;
  const splitAtMs = opts.coldSeconds !== undefined ? opts.coldSeconds * 1000 : undefined;

  const progress = { ok: 0 };
  const samples: BacklogSample[] = [];
  let sending = true;
  const started = performance.now();
  const sampler = (async () => {
    while (sending) {
      await sleep(1000);
      const [depth, rx] = await Promise.all([scrapeGauge(relays[0]!.url, 'paygate_relay_delivery_queue_depth', 'endpoint="rx"').catch(() => NaN), receiver.stats(false)]);
      samples.push({ t: round((performance.now() - started) / 1000, 2), queueDepth: depth, undelivered: progress.ok - (rx.count - base) });
    }
  })();
  const runs = await Promise.all(relays.map((r) => runAtRate(ctx, { url: r.url, connections: Math.ceil(ctx.connections / n), seconds, overallRate: rate / n, pool, progress, ...(splitAtMs !== undefined ? { splitAtMs } : {}) })));
  sending = false;
  const sendSeconds = (performance.now() - started) / 1000;
  const deliveredAtEnd = (await receiver.stats(false)).count - base;
  await sampler;

  const accepted = runs.reduce((a, r) => a + r.ok, 0);
  const drainStart = performance.now();
  let drainSeconds = NaN;
  while (performance.now() - drainStart < 30_000) {
    if ((await receiver.stats(false)).count - base >= accepted) {
      drainSeconds = round((performance.now() - drainStart) / 1000, 2);
      break;
    }
    await sleep(50);
  }
  const { latencies, receivedAts } = await receiver.stats(true);
  const steady = samples.filter((s) => s.t >= 2 && Number.isFinite(s.queueDepth)).map((s) => ({ t: s.t, y: s.queueDepth }));
  const backlogSlope = round(slope(steady), 1);
  const maxDepth = Math.max(0, ...samples.map((s) => s.queueDepth).filter(Number.isFinite));
  // Growing: the queue gains more than 3 % of the rate per second, or delivery fell more than 5 % behind
  // the offered rate over the window (a saw-tooth backlog can have a flat slope), or it takes over 3 s to
  // drain once sending stops.
  const offeredPerSec = runs.reduce((a, r) => a + r.sent, 0) / sendSeconds;
  const deliveredPerSec = deliveredAtEnd / sendSeconds;
  const growing = backlogSlope > Math.max(10, rate * 0.03) || deliveredPerSec < offeredPerSec * 0.95 || !(drainSeconds <= 3);
  const intakeLat = runs.map((r) => r.p99Ms).filter(Number.isFinite);
  let windows: RateRow['windows'];
  const firstSend = Math.min(...runs.map((r) => r.startedAt ?? NaN));
  if (opts.coldSeconds !== undefined && Number.isFinite(firstSend)) {
    const e2e = splitSummary(latencies, receivedAts, firstSend + opts.coldSeconds * 1000);
    const worst = (k: 'cold' | 'warm') => Math.max(...runs.map((r) => r.split?.[k].p99Ms ?? NaN).filter(Number.isFinite));
    windows = { coldSeconds: opts.coldSeconds, cold: { ...e2e.cold, intakeP99Ms: worst('cold') }, warm: { ...e2e.warm, intakeP99Ms: worst('warm') } };
  }
  let edges: RateRow['edges'];
  let series: RateRow['series'];
  let minutes: RateRow['minutes'];
  if (opts.edgeSeconds !== undefined && Number.isFinite(firstSend)) {
    const first = splitSummary(latencies, receivedAts, firstSend + opts.edgeSeconds * 1000).cold;
    const last = splitSummary(latencies, receivedAts, firstSend + (seconds - opts.edgeSeconds) * 1000).warm;
    edges = { seconds: opts.edgeSeconds, first, last };
    series = windowSummaries(latencies, receivedAts, firstSend, opts.edgeSeconds * 1000);
    if (seconds >= 300) minutes = windowSummaries(latencies, receivedAts, firstSend, 60_000);
  }
  return {
    rate, instances: n, load: ctx.rateLoad, seconds: round(sendSeconds, 1),
    offeredPerSec: round(offeredPerSec, 0),
    accepted, non2xx: runs.reduce((a, r) => a + r.non2xx, 0), errors: runs.reduce((a, r) => a + r.errors, 0),
    deliveredPerSec: round(deliveredPerSec, 0),
    ...latencySummary(latencies),
    intakeP99Ms: intakeLat.length ? Math.max(...intakeLat) : NaN,
    backlogSlopePerSec: backlogSlope, maxQueueDepth: maxDepth, growing, drainSeconds, samples, warmedUp: warmUp,
    ...(windows ? { windows } : {}),
    ...(edges ? { edges } : {}),
    ...(series ? { series } : {}),
    ...(minutes ? { minutes } : {}),
  };
}

export interface E2EResult {
  rows: RateRow[];
  /** Highest rate with no growing backlog and no non-2xx (null when none). */
  highestSteadyRate: number | null;
}

/** The cold window: from the first callback after /readyz said ready. */
export const COLD_SECONDS = 3;

export async function e2eScenario(ctx: BenchContext, pool: BodyPool): Promise<E2EResult> {
  // The measured run, with a margin.
  await pool.ensure(Math.max(...ctx.rates) * ctx.e2eSeconds + 1100);
  const receiver = await startBare('receiver');
  const rows: RateRow[] = [];
  try {
    for (const rate of ctx.rates) {
      ctx.log(`e2e: ${rate}/s for ${ctx.e2eSeconds} s (fresh relay)`);
      const dir = join(ctx.workDir, `e2e-${rate}`);
      mkdirSync(dir, { recursive: true });
      const relay = await startRelay({ dir, name: `e2e-${rate}`, storage: `sqlite:${join(dir, 'relay.db')}`, endpointUrl: `${receiver.url}/hook`, relay: ctx.relay, profDir: ctx.profDir });
      pool.reset(false);
      try {
        // No warm-up: a relay that has just (re)started gets Paygate's retries at once, so the first seconds count.
        rows.push(await fixedRate(ctx, [relay], receiver, pool, rate, ctx.e2eSeconds, { warmUp: false, coldSeconds: COLD_SECONDS }));
      } finally {
        await relay.stop();
      }
    }
  } finally {
    await receiver.stop();
  }
  const steady = rows.filter((r) => !r.growing && r.non2xx === 0 && r.errors === 0).map((r) => r.rate);
  return { rows, highestSteadyRate: steady.length ? Math.max(...steady) : null };
}
