// Scenario 1, intake ceiling: the relay's /paygate/notify (real encrypted
// callbacks, distinct TransIDs, SQLite synchronous=FULL) against a bare Fastify
// + formbody route answering `ok` to the same bodies, same autocannon settings.
// Each server is a fresh child process; the load generator is this process.
// Afterwards the relay's database is opened read-only: every TransID that got a
// 200 must be there (durability proof).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BodyPool, cpuMeter, round, startBare, startRelay, type BenchContext, type Child, type CpuSplit } from '../lib/harness.js';
import { runLoad, type LoadResult } from '../lib/load.js';

export interface IntakeRow extends Omit<LoadResult, 'okTransIds'> {
  server: string;
  /** Server process CPU (utime+stime, all threads, /proc) over the measured window. */
  serverCpuSeconds: number;
  /** Server CPU microseconds per request answered 2xx (200 for the relay). */
  cpuMicrosPer2xx: number;
  /** CPU of the load generator (this process) over the same window: near 1 s/s means it was the limit. */
  loadCpuSeconds: number;
  /** Server CPU µs per 2xx by thread: main (event loop), the busiest other (the relay's SQLite writer), the rest (V8, libuv). */
  perThreadMicros: { main: number; busiestOther: number; rest: number };
}

export interface Durability {
  answered200: number;
  storedEvents: number;
  storedCallbacks: number;
  /** TransIDs answered 200 but missing from the database: must be 0. */
  missing: number;
}

export interface IntakeResult {
  bare: IntakeRow;
  relay: IntakeRow & { durability: Durability; bodiesBuiltLate: number };
  intakeOnly?: IntakeRow & { durability: Durability; bodiesBuiltLate: number };
  ratio: number;
  ratioIntakeOnly?: number;
  /** Relay CPU per 200 ÷ bare Fastify CPU per 2xx, same run, same load. */
  cpuRatio: number;
  cpuRatioIntakeOnly?: number;
}

interface Measured {
  main: LoadResult;
  okIds: string[];
  cpu: CpuSplit;
}

const row = (server: string, m: Measured): IntakeRow => {
  const { okTransIds: _ids, ...rest } = m.main;
  const per = (x: number) => round((x / m.main.ok) * 1e6, 1);
  return {
    server, ...rest, serverCpuSeconds: m.cpu.serverCpuSeconds, loadCpuSeconds: m.cpu.loadCpuSeconds, cpuMicrosPer2xx: per(m.cpu.serverCpuSeconds),
    perThreadMicros: { main: per(m.cpu.mainThreadCpuSeconds), busiestOther: per(m.cpu.busiestOtherThreadCpuSeconds), rest: per(m.cpu.restCpuSeconds) },
  };
};

/**
 * Warm-up (not counted in req/s) then the measured run; both runs' 200s count
 * for durability. Before the measured run the pool is grown to what the
 * warm-up pace needs (with a margin, capped by the bare server's pace): bodies
 * cost ~0.2 ms each to build, so building for the bare server's pace when the
 * relay runs at a tenth of it would waste half a minute.
 */
async function measure(ctx: BenchContext, server: Child, pool: BodyPool, trackOk: boolean, capPerSec?: number): Promise<Measured> {
  const base = { url: server.url, connections: ctx.connections, pool, trackOk };
  const late = pool.builtLate;
  const warm = await runLoad({ ...base, seconds: ctx.warmupSeconds });
  if (!pool.cycle) {
    // A warm-up that ran the pool dry was slowed by building bodies: its pace says nothing, use the cap.
    const ranDry = pool.builtLate > late;
    // The warm-up runs colder than the measured run (JIT, page cache): twice its pace.
    const pace = capPerSec === undefined ? warm.reqPerSec * 2 : ranDry ? capPerSec : Math.min(capPerSec, warm.reqPerSec * 2);
    const need = pool.next + Math.ceil(pace * ctx.intakeSeconds * 1.1) + ctx.connections;
    if (need > pool.bodies.length) ctx.log(`intake: warm-up ${warm.reqPerSec} req/s; building ${need - pool.bodies.length} more distinct callbacks`);
    await pool.ensure(Math.min(need, 600_000));
  }
  const meter = cpuMeter(server.proc.pid!);
  const main = await runLoad({ ...base, seconds: ctx.intakeSeconds });
  return { main, okIds: [...warm.okTransIds, ...main.okTransIds], cpu: meter.stop() };
}

export function checkDurability(file: string, okIds: string[]): Durability {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const stored = new Set((db.prepare('SELECT trans_id FROM events').pluck().all() as string[]));
    const storedCallbacks = db.prepare('SELECT COUNT(*) FROM callbacks').pluck().get() as number;
    return { answered200: okIds.length, storedEvents: stored.size, storedCallbacks, missing: okIds.filter((id) => !stored.has(id)).length };
  } finally {
    db.close();
  }
}

async function relayRun(ctx: BenchContext, pool: BodyPool, name: string, withEndpoint: boolean, bareReqPerSec: number) {
  const dir = join(ctx.workDir, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'relay.db');
  const receiver = withEndpoint ? await startBare('receiver') : undefined;
  const relay = await startRelay({ dir, name, storage: `sqlite:${file}`, endpointUrl: receiver && `${receiver.url}/hook`, relay: ctx.relay, profDir: ctx.profDir, workers: ctx.workers });
  pool.reset(false);
  const late = pool.builtLate;
  try {
    const m = await measure(ctx, relay, pool, true, bareReqPerSec);
    await relay.stop();
    return { m, durability: checkDurability(file, m.okIds), builtLate: pool.builtLate - late };
  } finally {
    await relay.stop();
    await receiver?.stop();
  }
}

export async function intakeScenario(ctx: BenchContext, pool: BodyPool, opts: { intakeOnly: boolean }): Promise<IntakeResult> {
  ctx.log(`intake: bare Fastify, ${ctx.connections} connections, ${ctx.warmupSeconds} s warm-up + ${ctx.intakeSeconds} s`);
  const bare = await startBare('intake');
  pool.reset(true);
  let bareRun: Measured;
  try {
    bareRun = await measure(ctx, bare, pool, false);
  } finally {
    await bare.stop();
  }
  const bareRow = row('bare fastify', bareRun);
  ctx.log(`intake: bare ${bareRow.reqPerSec} req/s, ${bareRow.cpuMicrosPer2xx} µs CPU per request`);
  ctx.log('intake: relay with one endpoint (delivery running)');
  const withEp = await relayRun(ctx, pool, 'intake', true, bareRow.reqPerSec);
  const relayRow = row('relay (1 endpoint)', withEp.m);
  const result: IntakeResult = {
    bare: bareRow,
    relay: { ...relayRow, durability: withEp.durability, bodiesBuiltLate: withEp.builtLate },
    ratio: round(relayRow.reqPerSec / bareRow.reqPerSec, 3),
    cpuRatio: round(relayRow.cpuMicrosPer2xx / bareRow.cpuMicrosPer2xx, 2),
  };
  if (opts.intakeOnly) {
    ctx.log('intake: relay without endpoints (intake only)');
    const only = await relayRun(ctx, pool, 'intake-only', false, bareRow.reqPerSec);
    const onlyRow = row('relay (intake only)', only.m);
    result.intakeOnly = { ...onlyRow, durability: only.durability, bodiesBuiltLate: only.builtLate };
    result.ratioIntakeOnly = round(onlyRow.reqPerSec / bareRow.reqPerSec, 3);
    result.cpuRatioIntakeOnly = round(onlyRow.cpuMicrosPer2xx / bareRow.cpuMicrosPer2xx, 2);
  }
  return result;
}
