// Retention on SQLite, measured: rounds of delivered events (each with a delivery,
// an attempt and its raw callback) go into a real file while the sweeper purges
// what is older than two rounds. Reports the database size after each round (it
// must level off: freed pages are reused), how long each delete batch held the
// writer and how long each scan step ran on the event loop.
//
//   node --import tsx --import ./test/helpers/tsx-workers.mjs bench/retention.ts [--rounds 8] [--per-round 20000] [--archive] [--pg postgres://...]
// With --pg the same runs on PostgreSQL (a fresh schema, dropped afterwards) and the size is
// the schema's tables and indexes (pg_total_relation_size), reused after (auto)vacuum.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { Sweeper } from '../src/lifecycle/sweeper.js';
import { Hub } from '../src/observe.js';
import { PostgresStore } from '../src/store/postgres.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' }, 'per-round': { type: 'string', default: '20000' }, archive: { type: 'boolean', default: false }, pg: { type: 'string' } } });
const rounds = Number(values.rounds);
const perRound = Number(values['per-round']);
const ROUND_MS = 3_600_000;

const dir = mkdtempSync(join(tmpdir(), 'pgr-retention-'));
const file = join(dir, 'relay.db');
const schema = `bench_retention_${process.pid}`;
const pgUrl = values.pg ? `${values.pg}${values.pg.includes('?') ? '&' : '?'}schema=${schema}` : null;
const store: Store = pgUrl ? new PostgresStore(pgUrl) : new SqliteStore(file, { writer: 'thread' });
await store.migrate();
const pgc = values.pg ? new pg.Client({ connectionString: values.pg, options: `-c search_path=${schema}` }) : null;
await pgc?.connect();
let now = Date.UTC(2026, 0, 1);
const scanMs: number[] = [];
const scan = store.retentionScan.bind(store);
store.retentionScan = async (...args) => {
  const t0 = performance.now();
  try {
    return await scan(...args);
  } finally {
    scanMs.push(performance.now() - t0);
  }
};
const batchMs: number[] = [];
const purge = store.retentionPurge.bind(store);
store.retentionPurge = async (...args) => {
  const t0 = performance.now();
  try {
    return await purge(...args);
  } finally {
    batchMs.push(performance.now() - t0);
  }
};
const sweeper = new Sweeper({
  store, clock: () => now, logger: pino({ level: 'silent' }), hub: new Hub(), archiveDir: values.archive ? join(dir, 'archive') : null,
  config: { delivered: 2 * ROUND_MS, callbacks: 2 * ROUND_MS, quarantine: 2 * ROUND_MS, deadLetters: 2 * ROUND_MS, sweepEvery: ROUND_MS, archiveDir: false },
});

const body = Buffer.alloc(600, 'a'); // a typical encrypted Data form
const payload = JSON.stringify({ data: { note: 'x'.repeat(900) } }); // a typical event
let n = 0;
async function insertRoundPg(): Promise<void> {
  const base = n;
  await pgc!.query(`INSERT INTO events (id, dedupe_key, type, source, merchant_id, trans_id, received_at, callback_id, payload)
    SELECT 'evt_' || i, 'k' || i, 'payment.succeeded', 'paygate', 'Shop', 'T' || i, $2 + (i - $1) * $4 / $3, 'cb_' || i, $5
    FROM generate_series($1::bigint, $1::bigint + $3 - 1) i`, [base, now, perRound, ROUND_MS, payload]);
  await pgc!.query(`INSERT INTO deliveries (event_seq, event_id, endpoint_id, state, attempts, next_attempt_at, created_at, updated_at, completed_at, last_status)
    SELECT seq, id, 'erp', 'succeeded', 1, received_at, received_at, received_at, received_at, 200 FROM events WHERE received_at >= $1`, [now]);
  await pgc!.query(`INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code, response_body)
    SELECT d.id, d.event_id, 'erp', d.created_at, 12, 200, 'ok' FROM deliveries d WHERE d.created_at >= $1`, [now]);
  await pgc!.query(`INSERT INTO callbacks (id, received_at, channel, method, path, headers, body, merchant_id, state, event_id, decoded)
    SELECT callback_id, received_at, 'notify', 'POST', '/paygate/notify/OC', '{}', $2, 'Shop', 'accepted', id, '{"amount":"1999"}' FROM events WHERE received_at >= $1`, [now, body]);
  n += perRound;
}

function insertRound(): void {
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  db.transaction(() => {
    const ev = db.prepare(`INSERT INTO events (id, dedupe_key, type, source, merchant_id, trans_id, received_at, callback_id, payload) VALUES (?, ?, 'payment.succeeded', 'paygate', 'Shop', ?, ?, ?, ?)`);
    const dl = db.prepare(`INSERT INTO deliveries (event_seq, event_id, endpoint_id, state, attempts, next_attempt_at, created_at, updated_at, completed_at, last_status) VALUES (?, ?, 'erp', 'succeeded', 1, ?, ?, ?, ?, 200)`);
    const at = db.prepare(`INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code, response_body) VALUES (?, ?, 'erp', ?, 12, 200, 'ok')`);
    const cb = db.prepare(`INSERT INTO callbacks (id, received_at, channel, method, path, headers, body, merchant_id, state, event_id, decoded) VALUES (?, ?, 'notify', 'POST', '/paygate/notify/OC', '{}', ?, 'Shop', 'accepted', ?, ?)`);
    for (let i = 0; i < perRound; i++, n++) {
      const when = now + Math.floor((i * ROUND_MS) / perRound);
      const id = `evt_${n}`;
      const seq = ev.run(id, `k${n}`, `T${n}`, when, `cb_${n}`, payload).lastInsertRowid;
      const d = dl.run(seq, id, when, when, when, when).lastInsertRowid;
      at.run(d, id, when);
      cb.run(`cb_${n}`, when, body, id, '{"amount":"1999"}');
    }
  })();
  db.close();
}

const mib = (b: number) => (b / 1048576).toFixed(1);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))] ?? 0;
console.log(`rounds of ${perRound} delivered events (+ delivery, attempt, callback each), retention 2 rounds, archive ${values.archive ? 'on' : 'off'}`);
console.log(pgc ? 'round  tables MiB  (free: n/a)  purged rows  sweep s' : 'round  file MiB  (free MiB)  purged rows  sweep s');
// How late a 1 ms timer fires while sweeps run: what a callback arriving then would wait for the loop.
const lateMs: number[] = [];
for (let r = 1; r <= rounds; r++) {
  if (pgc) await insertRoundPg();
  else insertRound();
  now += ROUND_MS;
  // The inserts above block the loop on purpose (they stand in for other processes): let it settle first.
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  let last = performance.now();
  const tick = setInterval(() => {
    const t = performance.now();
    lateMs.push(Math.max(0, t - last - 1));
    last = t;
  }, 1);
  const rep = await sweeper.sweep();
  clearInterval(tick);
  const secs = (performance.now() - t0) / 1000;
  const size = await store.databaseSize();
  const onDisk = pgc
    ? Number((await pgc.query(`SELECT SUM(pg_total_relation_size(c.oid)) AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relkind = 'r'`, [schema])).rows[0].n)
    : statSync(file).size;
  const purged = Object.values(rep.purged).reduce((a, b) => a + b, 0);
  console.log(`${String(r).padStart(5)}  ${mib(onDisk).padStart(8)}  (${mib(size.freeBytes ?? 0).padStart(8)})  ${String(purged).padStart(11)}  ${secs.toFixed(2).padStart(7)}`);
}
console.log(`delete batch (≤ ${Sweeper.BATCH} units, one write transaction incl. commit): p50 ${pct(batchMs, 0.5).toFixed(1)} ms, p99 ${pct(batchMs, 0.99).toFixed(1)} ms, max ${Math.max(...batchMs).toFixed(1)} ms (${batchMs.length} batches)`);
console.log(`scan step (≤ ${Sweeper.BATCH} candidates${pgc ? '' : ', on the event loop'}): p50 ${pct(scanMs, 0.5).toFixed(1)} ms, p99 ${pct(scanMs, 0.99).toFixed(1)} ms, max ${Math.max(...scanMs).toFixed(1)} ms (${scanMs.length} steps)`);
console.log(`event-loop delay during sweeps (a 1 ms timer's lateness): p50 ${pct(lateMs, 0.5).toFixed(1)} ms, p99 ${pct(lateMs, 0.99).toFixed(1)} ms, max ${Math.max(...lateMs).toFixed(1)} ms`);
await store.close();
if (pgc) {
  await pgc.query(`DROP SCHEMA ${schema} CASCADE`);
  await pgc.end();
}
rmSync(dir, { recursive: true, force: true });
