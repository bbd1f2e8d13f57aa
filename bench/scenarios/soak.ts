// Scenario 6, memory soak (only with --soak [SECONDS]): 1000 callbacks/s into
// one relay delivering to a bare receiver; the relay child's VmRSS is read
// from /proc every 10 s. After the warm-up (the first tenth, at least 30 s,
// capped at half the run) the median RSS of the last minute must be within
// ±10 % of the median of the first post-warm-up minute. Single samples swing
// with garbage collection (±10-20 % in a steady run), so the largest deviation
// of any one sample is reported too, but a sawtooth is not growth.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../../src/lifecycle/duration.js';
import { BodyPool, round, rssKiB, sleep, startBare, startRelay, type BenchContext } from '../lib/harness.js';
import { fixedRate, type RateRow } from './e2e.js';

/** The database on disk: the SQLite file and its WAL, in MiB. */
function dbMiB(file: string): number {
  const size = (f: string) => {
    try {
      return statSync(f).size;
    } catch {
      return 0;
    }
  };
  return round((size(file) + size(`${file}-wal`)) / 1048576, 1);
}

/** Retention for the soaked relay (`--retention-delivered 5m` ...); absent keys keep the relay's defaults. */
export type SoakRetention = Record<string, string>;

export interface SoakResult {
  seconds: number;
  retention: SoakRetention;
  /** Database size every 10 s (SQLite file + WAL). */
  db: { t: number; mib: number }[];
  /** Median database size of the first post-warm-up minute and of the last minute. */
  dbFirstMinuteMiB: number;
  dbLastMinuteMiB: number;
  /**
   * With retention: the median size of a minute `back` seconds before the last one (up to 600 s, at
   * least 120 s after the warm-up) and the last minute's growth over it. Null without retention or in a shorter run.
   */
  dbLevel: { back: number; beforeMiB: number; growthPct: number } | null;
  rate: number;
  warmupSeconds: number;
  samples: { t: number; rssMiB: number }[];
  afterWarmup: {
    firstMiB: number; lastMiB: number; minMiB: number; maxMiB: number; maxDeviationPct: number;
    /** Medians of the first post-warm-up minute and of the last minute, and the drift between them. */
    firstMinuteMedianMiB: number; lastMinuteMedianMiB: number; driftPct: number;
  };
  withinTenPct: boolean;
  e2e: Omit<RateRow, 'samples'>;
  bodiesBuiltLate: number;
}

export async function soakScenario(ctx: BenchContext, seconds: number, rate = 1000, retention: SoakRetention = {}): Promise<SoakResult> {
  // Every body is built as it is sent (about 20 % of a core at 1000/s), from the first second to the
  // last: the load generator shares the cores, and a prebuilt pool that runs dry part-way (a soak
  // needs millions) would raise its CPU in the middle of the run and read as the relay slowing down.
  const pool = new BodyPool('S');
  const dir = join(ctx.workDir, 'soak');
  mkdirSync(dir, { recursive: true });
  const receiver = await startBare('receiver');
  const file = join(dir, 'relay.db');
  const relay = await startRelay({
    dir, name: 'soak', storage: `sqlite:${file}`, endpointUrl: `${receiver.url}/hook`, relay: ctx.relay, profDir: ctx.profDir,
    extraConfig: { retention: { archiveDir: join(dir, 'archive'), ...retention } },
  });
  ctx.log(`soak: ${rate}/s for ${seconds} s, relay RSS and database size every 10 s${Object.keys(retention).length ? `, retention ${JSON.stringify(retention)}` : ''}`);
  const samples: { t: number; rssMiB: number }[] = [];
  const db: { t: number; mib: number }[] = [];
  let running = true;
  const started = performance.now();
  const sampler = (async () => {
    while (running) {
      const t = round((performance.now() - started) / 1000, 0);
      samples.push({ t, rssMiB: round(rssKiB(relay.proc.pid!) / 1024, 1) });
      db.push({ t, mib: dbMiB(file) });
      for (let i = 0; i < 100 && running; i++) await sleep(100);
    }
  })();
  let row: RateRow;
  try {
    // The first and last 5 minutes apart (a fifth of the run when shorter): latency must not creep up as the data grows.
    row = await fixedRate(ctx, [relay], receiver, pool, rate, seconds, { edgeSeconds: Math.min(300, Math.max(1, Math.floor(seconds / 5))) });
  } finally {
    running = false;
    await sampler;
    await relay.stop();
    await receiver.stop();
  }
  // Steady state begins once the sweeper has purged: the oldest data is due after the shorter of the
  // two retentions and the next sweep comes at most sweepEvery later. Before that the relay neither
  // archives nor deletes, so RSS and latency there are not the baseline of a relay with retention.
  const due = ['delivered', 'callbacks'].map((k) => (retention[k] ? parseDuration(retention[k]!) : null)).filter((x): x is number => x !== null);
  const firstPurgeSeconds = due.length ? (Math.min(...due) + (parseDuration(retention.sweepEvery ?? '10m') ?? 0)) / 1000 : 0;
  const warmupSeconds = Math.min(seconds / 2, Math.max(30, seconds / 10, firstPurgeSeconds));
  const after = samples.filter((s) => s.t >= warmupSeconds);
  const xs = after.length ? after.map((s) => s.rssMiB) : samples.map((s) => s.rssMiB);
  const first = xs[0]!;
  const dev = Math.max(...xs.map((x) => Math.abs(x - first) / first)) * 100;
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const t0 = after.length ? after[0]!.t : 0;
  const tEnd = samples[samples.length - 1]?.t ?? 0;
  const firstMin = median((after.length ? after : samples).filter((x) => x.t < t0 + 60).map((x) => x.rssMiB));
  const lastMin = median((after.length ? after : samples).filter((x) => x.t > tEnd - 60).map((x) => x.rssMiB));
  const drift = ((lastMin - firstMin) / firstMin) * 100;
  const { samples: _backlog, ...e2e } = row;
  const dbAfter = db.filter((x) => x.t >= warmupSeconds);
  const dbWindow = dbAfter.length ? dbAfter : db;
  const dbLastMinuteMiB = median(dbWindow.filter((x) => x.t > tEnd - 60).map((x) => x.mib));
  // Once sweeps keep up the file stops growing: compare the last minute with one up to 10 minutes before.
  const back = Math.min(600, tEnd - warmupSeconds - 60);
  const before = db.filter((x) => x.t > tEnd - back - 60 && x.t <= tEnd - back).map((x) => x.mib);
  const beforeMiB = Object.keys(retention).length && back >= 120 && before.length ? median(before) : null;
  return {
    seconds, retention, db, rate, warmupSeconds, samples,
    dbFirstMinuteMiB: median(dbWindow.filter((x) => x.t < (dbWindow[0]?.t ?? 0) + 60).map((x) => x.mib)),
    dbLastMinuteMiB,
    dbLevel: beforeMiB ? { back, beforeMiB, growthPct: round(((dbLastMinuteMiB - beforeMiB) / beforeMiB) * 100, 1) } : null,
    afterWarmup: {
      firstMiB: first, lastMiB: xs[xs.length - 1]!, minMiB: Math.min(...xs), maxMiB: Math.max(...xs), maxDeviationPct: round(dev, 1),
      firstMinuteMedianMiB: firstMin, lastMinuteMedianMiB: lastMin, driftPct: round(drift, 1),
    },
    withinTenPct: Math.abs(drift) <= 10, e2e, bodiesBuiltLate: pool.builtLate,
  };
}
