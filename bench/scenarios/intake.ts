// Scenario 1, intake ceiling: the relay's /paygate/notify (real encrypted
// callbacks, distinct TransIDs, SQLite synchronous=FULL) against a bare Fastify
// + formbody route answering `ok` to the same bodies, same autocannon settings.
// Each server is a fresh child process; the load generator is this process.
// Afterwards the relay's database is opened read-only: every TransID that got a
// 200 must be there (durability proof).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BodyPool, round, startBare, startRelay, type BenchContext, type Child } from '../lib/harness.js';
import { runLoad, type LoadResult } from '../lib/load.js';

export interface IntakeRow extends Omit<LoadResult, 'okTransIds'> {
  server: string;
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
}

const row = (server: string, r: LoadResult): IntakeRow => {
  const { okTransIds: _ids, ...rest } = r;
  return { server, ...rest };
};

/**
 * Warm-up (not counted in req/s) then the measured run; both runs' 200s count
 * for durability. Before the measured run the pool is grown to what the
 * warm-up pace needs (with a margin, capped by the bare server's pace): bodies
 * cost ~0.2 ms each to build, so building for the bare server's pace when the
 * relay runs at a tenth of it would waste half a minute.
 */
async function measure(ctx: BenchContext, server: Child, pool: BodyPool, trackOk: boolean, capPerSec?: number): Promise<{ main: LoadResult; okIds: string[] }> {
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
  const main = await runLoad({ ...base, seconds: ctx.intakeSeconds });
  return { main, okIds: [...warm.okTransIds, ...main.okTransIds] };
}

function checkDurability(file: string, okIds: string[]): Durability {
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
  const relay = await startRelay({ dir, name, storage: `sqlite:${file}`, endpointUrl: receiver && `${receiver.url}/hook`, relay: ctx.relay, profDir: ctx.profDir });
  pool.reset(false);
  const late = pool.builtLate;
  try {
    const { main, okIds } = await measure(ctx, relay, pool, true, bareReqPerSec);
    await relay.stop();
    return { main, durability: checkDurability(file, okIds), builtLate: pool.builtLate - late };
  } finally {
    await relay.stop();
    await receiver?.stop();
  }
}

export async function intakeScenario(ctx: BenchContext, pool: BodyPool, opts: { intakeOnly: boolean }): Promise<IntakeResult> {
  ctx.log(`intake: bare Fastify, ${ctx.connections} connections, ${ctx.warmupSeconds} s warm-up + ${ctx.intakeSeconds} s`);
  const bare = await startBare('intake');
  pool.reset(true);
  let bareMain: LoadResult;
  try {
    bareMain = (await measure(ctx, bare, pool, false)).main;
  } finally {
    await bare.stop();
  }
  ctx.log(`intake: bare ${bareMain.reqPerSec} req/s`);
  ctx.log('intake: relay with one endpoint (delivery running)');
  const withEp = await relayRun(ctx, pool, 'intake', true, bareMain.reqPerSec);
  const result: IntakeResult = {
    bare: row('bare fastify', bareMain),
    relay: { ...row('relay (1 endpoint)', withEp.main), durability: withEp.durability, bodiesBuiltLate: withEp.builtLate },
    ratio: round(withEp.main.reqPerSec / bareMain.reqPerSec, 3),
  };
  if (opts.intakeOnly) {
    ctx.log('intake: relay without endpoints (intake only)');
    const only = await relayRun(ctx, pool, 'intake-only', false, bareMain.reqPerSec);
    result.intakeOnly = { ...row('relay (intake only)', only.main), durability: only.durability, bodiesBuiltLate: only.builtLate };
    result.ratioIntakeOnly = round(only.main.reqPerSec / bareMain.reqPerSec, 3);
  }
  return result;
}
