// The sweeper over many chunks on a real SQLite file (writer and reader threads,
// as the relay runs them): the next chunk is read while the current one is
// deleted, and still every due unit is archived once and deleted once, including
// a dead-letter event that turns up in two chunks.
import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pino from 'pino';
import { readArchive, listArchives } from '../../src/lifecycle/archive.js';
import { Sweeper } from '../../src/lifecycle/sweeper.js';
import { Hub } from '../../src/observe.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tmpDir } from '../helpers/relay.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const CHUNK = 8;

/** `n` events received a minute apart from T0, each with a delivery in `state` per endpoint (updated `gapMs` apart), an attempt each, and its callback. */
function seed(file: string, n: number, state: 'succeeded' | 'dead', from = 0, endpoints = ['erp'], gapMs = 0): string[] {
  const db = new Database(file);
  const ids: string[] = [];
  db.transaction(() => {
    for (let i = from; i < from + n; i++) {
      const id = `evt_${String(i).padStart(6, '0')}`;
      const at = T0 + i * 60_000;
      const seq = db.prepare(`INSERT INTO events (id, dedupe_key, type, source, merchant_id, trans_id, received_at, callback_id, payload) VALUES (?, ?, 'payment.succeeded', 'paygate', 'Shop', ?, ?, ?, '{}')`)
        .run(id, `k${i}`, `T${i}`, at, `cb_${i}`).lastInsertRowid;
      for (const [j, endpoint] of endpoints.entries()) {
        const d = db.prepare(`INSERT INTO deliveries (event_seq, event_id, endpoint_id, state, attempts, next_attempt_at, created_at, updated_at, completed_at, last_status) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, 200)`)
          .run(seq, id, endpoint, state, at, at, at + j * gapMs, at).lastInsertRowid;
        db.prepare(`INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code) VALUES (?, ?, ?, ?, 5, 200)`).run(d, id, endpoint, at);
      }
      db.prepare(`INSERT INTO callbacks (id, received_at, channel, method, path, headers, body, merchant_id, state, event_id) VALUES (?, ?, 'notify', 'POST', '/paygate/notify/CR', '{}', x'00', 'Shop', 'accepted', ?)`)
        .run(`cb_${i}`, at, id);
      ids.push(id);
    }
  })();
  db.close();
  return ids;
}

async function sweeperOn(t: Parameters<Parameters<typeof t.test>[1]>[0], now: number) {
  const dir = tmpDir(t);
  const file = join(dir, 'relay.db');
  const store = new SqliteStore(file, { writer: 'thread' });
  await store.migrate();
  t.teardown(() => store.close());
  // Units read but not yet handed to a delete, at each read: reading ahead means a read starts
  // while a whole chunk (8 units) waits for its deletes; one chunk at a time never gets there.
  const scanned = new Set<string>();
  const handed = new Set<string>();
  const log = { aheadReads: 0, reads: 0 };
  const scan = store.retentionScan.bind(store);
  store.retentionScan = async (...args) => {
    log.reads++;
    if ([...scanned].filter((k) => !handed.has(k)).length >= CHUNK) log.aheadReads++;
    const step = await scan(...args);
    for (const u of step.units) scanned.add(u.key);
    return step;
  };
  const purge = store.retentionPurge.bind(store);
  store.retentionPurge = (cls, cutoff, sizes) => {
    for (const k of Object.keys(sizes)) handed.add(k);
    return purge(cls, cutoff, sizes);
  };
  const archiveDir = join(dir, 'archive');
  const sweeper = new Sweeper({
    store, clock: () => now, logger: pino({ level: 'silent' }), hub: new Hub(), archiveDir, batch: 4, chunk: CHUNK,
    config: { delivered: HOUR, callbacks: 1000 * HOUR, quarantine: 1000 * HOUR, deadLetters: HOUR, sweepEvery: HOUR, archiveDir: false },
  });
  return { file, store, sweeper, log, archiveDir };
}

async function archivedKeys(dir: string): Promise<string[]> {
  const keys: string[] = [];
  for (const { file } of await listArchives(dir)) for await (const l of readArchive(file)) keys.push(`${l.table}:${l.id}`);
  return keys;
}

t.test('a sweep of many chunks reads ahead while it deletes, and archives and deletes every due unit once', async (t) => {
  const now = T0 + 200 * 60_000;
  const { file, store, sweeper, log, archiveDir } = await sweeperOn(t, now);
  const due = seed(file, 60, 'succeeded');
  const young = seed(file, 5, 'succeeded', 190);
  const r = await sweeper.sweep();
  t.equal(r.error, null);
  t.equal(r.purged.delivered, 60 * 3, 'each due event with its delivery and attempt');
  t.ok(log.aheadReads > 0, `the next chunk was read before the current one was deleted (${log.aheadReads} of ${log.reads} reads)`);
  for (const id of due) t.equal(await store.getEvent(id), null);
  for (const id of young) t.not(await store.getEvent(id), null, 'younger than the retention: kept');
  const keys = await archivedKeys(archiveDir);
  t.equal(keys.length, new Set(keys).size, 'no row archived twice');
  t.equal(keys.filter((k) => k.startsWith('events:')).length, 60);
});

t.test('a dead-letter event whose two dead deliveries fall into two chunks is archived and deleted once', async (t) => {
  const now = T0 + 1000 * HOUR;
  const { file, store, sweeper, archiveDir } = await sweeperOn(t, now);
  // Each event's second delivery died 5 minutes after its first: it sorts among the first deaths
  // of the events received 5 minutes later, so the chunk read ahead meets the event again.
  const ids = seed(file, 90, 'dead', 0, ['erp', 'crm'], 5 * 60_000);
  const r = await sweeper.sweep();
  t.equal(r.error, null);
  t.equal(r.purged.deadLetters, 90 * 5, 'each event, its two deliveries and two attempts');
  for (const id of ids) t.equal(await store.getEvent(id), null);
  const keys = await archivedKeys(archiveDir);
  t.equal(keys.length, 90 * 5);
  t.equal(new Set(keys).size, keys.length, 'no row archived twice');
});
