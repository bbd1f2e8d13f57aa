// Backpressure row: far more connections than one relay can answer quickly
// (800 by default, closed loop, intake only). A relay with backpressure
// answers the excess at once with 503 + Retry-After, so the 200s it does give
// keep a short tail; without it every callback queues and the tail grows to
// seconds. Reported as it is: p99 of the 200s alone, how many 200s (every one
// must be in storage), and every answer that was not a 200 by status.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BodyPool, cpuMeter, round, startRelay, type BenchContext, type LatencySummary } from '../lib/harness.js';
import { runLoad } from '../lib/load.js';
import { checkDurability, type Durability } from './intake.js';

export interface OverloadResult {
  connections: number;
  seconds: number;
  answered: number;
  ok200: number;
  okPerSec: number;
  /** Latency of the 200 answers only. */
  ok200Latency: LatencySummary;
  /** Every answer, 200s and the rest. */
  allLatency: LatencySummary;
  /** Answers by status; 'error' = socket errors and timeouts. */
  statuses: Record<string, number>;
  /** Answers that were neither 200 nor 503 (including errors): must be 0. */
  otherThan503: number;
  durability: Durability;
  serverCpuSeconds: number;
  cpuMicrosPer200: number;
}

export async function overloadScenario(ctx: BenchContext, pool: BodyPool, connections: number): Promise<OverloadResult> {
  const dir = join(ctx.workDir, 'overload');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'relay.db');
  // Bodies for a relay at a few thousand per second, warm-up included; the pool grows past this if it must.
  await pool.ensure(Math.min(60_000, 4000 * (ctx.intakeSeconds + ctx.warmupSeconds)));
  pool.reset(false);
  ctx.log(`overload: ${connections} connections against one relay (intake only), ${ctx.warmupSeconds} s warm-up + ${ctx.intakeSeconds} s`);
  const relay = await startRelay({ dir, name: 'overload', storage: `sqlite:${file}`, relay: ctx.relay, profDir: ctx.profDir });
  try {
    const base = { url: relay.url, connections, pool, trackOk: true };
    const warm = await runLoad({ ...base, seconds: ctx.warmupSeconds });
    const meter = cpuMeter(relay.proc.pid!);
    const main = await runLoad({ ...base, seconds: ctx.intakeSeconds });
    const cpu = meter.stop();
    await relay.stop();
    const durability = checkDurability(file, [...warm.okTransIds, ...main.okTransIds]);
    const ok200 = main.statuses['200'] ?? 0;
    const answered = Object.values(main.statuses).reduce((a, b) => a + b, 0);
    return {
      connections, seconds: main.seconds, answered, ok200, okPerSec: round(ok200 / main.seconds, 0),
      ok200Latency: main.ok200, allLatency: { p50Ms: main.p50Ms, p99Ms: main.p99Ms, maxMs: main.maxMs }, statuses: main.statuses,
      otherThan503: answered - ok200 - (main.statuses['503'] ?? 0), durability,
      serverCpuSeconds: cpu.serverCpuSeconds, cpuMicrosPer200: round((cpu.serverCpuSeconds / ok200) * 1e6, 1),
    };
  } finally {
    await relay.stop();
  }
}
