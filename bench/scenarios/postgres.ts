// Scenario 5, PostgreSQL: scenario 1 (intake ceiling, 50 connections split
// over the instances) and scenario 3 (one fixed rate) with 1, 2 and 3 relay
// processes on one fresh schema, all delivering to one bare receiver. The
// bare Fastify req/s of scenario 1 is the anchor. Skipped with a note when
// PostgreSQL does not answer.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { BodyPool, round, sleep, startBare, startRelay, type BenchContext, type Child } from '../lib/harness.js';
import { runLoad } from '../lib/load.js';
import { fixedRate, type RateRow } from './e2e.js';

export interface PgRow {
  instances: number;
  intake: { reqPerSec: number; p50Ms: number; p99Ms: number; maxMs: number; non2xx: number; errors: number; ratioToBare: number | null };
  durability: { answered200: number; storedEvents: number; missing: number };
  e2e: RateRow;
}

export type PgResult = { skipped: string } | { url: string; rows: PgRow[] };

async function admin(url: string, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end().catch(() => {});
  }
}

export async function postgresScenario(ctx: BenchContext, pool: BodyPool, opts: { instances: number[]; rate: number; seconds: number; bareReqPerSec: number | null }): Promise<PgResult> {
  try {
    await admin(ctx.pgUrl, 'SELECT 1');
  } catch (e) {
    return { skipped: `PostgreSQL not reachable at ${ctx.pgUrl} (${(e as Error).message})` };
  }
  const rows: PgRow[] = [];
  const receiver = await startBare('receiver');
  try {
    for (const n of opts.instances) {
      const schema = `bench_${process.pid}_${randomBytes(3).toString('hex')}`;
      const storage = `${ctx.pgUrl}${ctx.pgUrl.includes('?') ? '&' : '?'}schema=${schema}`;
      const dir = join(ctx.workDir, `pg-${n}`);
      mkdirSync(dir, { recursive: true });
      ctx.log(`pg: ${n} instance(s) on schema ${schema}: intake ${ctx.intakeSeconds} s, then ${opts.rate}/s for ${opts.seconds} s`);
      // One instance first: it creates the schema; the others find it migrated.
      const relays: Child[] = [];
      try {
        for (let i = 0; i < n; i++) {
          relays.push(await startRelay({ dir, name: `pg${n}-r${i}`, storage, endpointUrl: `${receiver.url}/hook`, relay: ctx.relay, profDir: ctx.profDir }));
        }
        pool.reset(false);
        const conns = Math.ceil(ctx.connections / n);
        const load = (seconds: number) => Promise.all(relays.map((r) => runLoad({ url: r.url, connections: conns, seconds, pool, trackOk: true })));
        const baseline = (await receiver.stats(true)).count;
        const warm = await load(ctx.warmupSeconds);
        const main = await load(ctx.intakeSeconds);
        const okIds = [...warm, ...main].flatMap((r) => r.okTransIds);
        const ok = main.reduce((a, r) => a + r.ok, 0);
        const seconds = Math.max(...main.map((r) => r.seconds));
        // Let the intake's deliveries drain (up to 60 s, or 5 s without progress) so the fixed-rate run starts from an empty queue.
        for (let i = 0, last = -1, still = 0; i < 600 && still < 50; i++) {
          const got = (await receiver.stats(true)).count - baseline;
          if (got >= okIds.length) break;
          still = got === last ? still + 1 : 0;
          last = got;
          await sleep(100);
        }
        const stored = await admin(ctx.pgUrl, `SELECT trans_id FROM ${schema}.events`);
        const have = new Set(stored.rows.map((r: { trans_id: string }) => r.trans_id));
        const e2e = await fixedRate(ctx, relays, receiver, pool, opts.rate, opts.seconds);
        rows.push({
          instances: n,
          intake: {
            reqPerSec: round(ok / seconds, 0),
            // Per-instance percentiles are not mergeable; the worst instance is reported.
            p50Ms: Math.max(...main.map((r) => r.p50Ms)), p99Ms: Math.max(...main.map((r) => r.p99Ms)), maxMs: Math.max(...main.map((r) => r.maxMs)),
            non2xx: main.reduce((a, r) => a + r.non2xx, 0), errors: main.reduce((a, r) => a + r.errors, 0),
            ratioToBare: opts.bareReqPerSec ? round(ok / seconds / opts.bareReqPerSec, 3) : null,
          },
          durability: { answered200: okIds.length, storedEvents: have.size, missing: okIds.filter((id) => !have.has(id)).length },
          e2e,
        });
      } finally {
        await Promise.all(relays.map((r) => r.stop()));
        await admin(ctx.pgUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      }
    }
  } finally {
    await receiver.stop();
  }
  return { url: ctx.pgUrl, rows };
}
