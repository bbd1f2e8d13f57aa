// Sizing: how many callbacks per second N relay processes on one PostgreSQL
// accept (answered 200 = committed), while they also deliver every event to a
// bare receiver on loopback. Closed loop (autocannon): a fixed number of
// connections spread over the instances, for a fixed time. Callbacks are built
// before the clock starts. Scenario 5 of `npm run bench` adds a fixed-rate run.
//
// Usage: node --import tsx bench/postgres-cluster.ts [--instances 1,2,3] [--seconds 10] [--concurrency 64] [--sqlite] [--intake-only]
//   PostgreSQL from PAYGATE_RELAY_BENCH_PG (default postgres://postgres@127.0.0.1:5432/postgres);
//   a fresh schema per run, dropped afterwards. --sqlite adds a one-process SQLite row for comparison;
//   --intake-only configures no endpoint (no deliveries), to see intake alone. BENCH_LOG=1 keeps relay logs.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BodyPool, prepareRelay, round, sleep, startBare, startRelay } from './lib/harness.js';
import { runLoad } from './lib/load.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const INSTANCES = opt('instances', '1,2,3').split(',').map(Number);
const SECONDS = Number(opt('seconds', '10'));
const CONCURRENCY = Number(opt('concurrency', '64'));
const INTAKE_ONLY = args.includes('--intake-only');
const PG_URL = process.env.PAYGATE_RELAY_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const RELAY = prepareRelay('auto');

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(sql);
  await c.end();
}

const pool = new BodyPool('S');

async function run(n: number, storage: 'postgres' | 'sqlite') {
  const dir = mkdtempSync(join(tmpdir(), 'pgr-bench-pg-'));
  const schema = `bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const receiver = await startBare('receiver');
  const url = storage === 'postgres' ? `${PG_URL}?schema=${schema}` : `sqlite:${join(dir, 'relay.db')}`;
  const relays = [];
  for (let i = 0; i < n; i++) {
    relays.push(await startRelay({ dir, name: `r${i}`, storage: url, endpointUrl: INTAKE_ONLY ? undefined : `${receiver.url}/hook`, relay: RELAY, keepLog: Boolean(process.env.BENCH_LOG) }));
  }
  pool.reset(false);
  const base = (await receiver.stats(true)).count;
  const runs = await Promise.all(relays.map((r) => runLoad({ url: r.url, connections: Math.ceil(CONCURRENCY / n), seconds: SECONDS, pool })));
  const ok = runs.reduce((a, r) => a + r.ok, 0);
  const elapsed = Math.max(...runs.map((r) => r.seconds));
  const drainStart = Date.now();
  let delivered = 0;
  while (!INTAKE_ONLY && (delivered = (await receiver.stats(true)).count - base) < ok && Date.now() - drainStart < 60_000) await sleep(50);
  const drained = elapsed + (Date.now() - drainStart) / 1000;
  await Promise.all(relays.map((r) => r.stop()));
  await receiver.stop();
  if (storage === 'postgres') await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  rmSync(dir, { recursive: true, force: true });
  return {
    storage, instances: n, seconds: SECONDS, concurrency: CONCURRENCY, accepted: ok, non200: runs.reduce((a, r) => a + r.non2xx + r.errors, 0),
    acceptedPerSec: round(ok / elapsed, 0), worstP50Ms: Math.max(...runs.map((r) => r.p50Ms)), worstP99Ms: Math.max(...runs.map((r) => r.p99Ms)),
    delivered, deliveredAllAfterS: round(drained, 1),
  };
}

await pool.ensure(8000 * SECONDS);
const rows = [];
if (args.includes('--sqlite')) rows.push(await run(1, 'sqlite'));
for (const n of INSTANCES) rows.push(await run(n, 'postgres'));
RELAY.dispose();
console.log(`cpus: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; relay from ${RELAY.mode}`);
console.table(rows);
