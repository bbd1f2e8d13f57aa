// PostgreSQL-specific behaviour of the shared store, on the real server:
// URL and schema handling, concurrent migrations, the per-key intake lock that
// keeps seq order = commit order, SKIP LOCKED with the ordering guard, NOTIFY
// wake-ups (only on commit, only for our schema, across reconnects) and a pool
// that recovers from killed connections.
import t from 'tap';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { parseConfig } from '../../src/config/load.js';
import { openStore } from '../../src/store/open.js';
import { orderKeyLockId, parsePostgresUrl, PostgresStore } from '../../src/store/postgres.js';
import type { EventDraft, IngestItem } from '../../src/store/types.js';
import { adminQuery, freshSchema, PG_BASE, pgUrl, requirePostgres, sharePostgres } from '../helpers/pg.js';
import { baseConfig } from '../helpers/relay.js';

type Tap = Parameters<Parameters<typeof t.test>[1]>[0];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.before(async () => {
  await requirePostgres();
});

async function store(t: Tap, schema?: string): Promise<PostgresStore> {
  await sharePostgres(t);
  const s = new PostgresStore(pgUrl(schema ?? freshSchema(t, 'pgs')));
  await s.migrate();
  t.teardown(() => s.close());
  return s;
}

/** A client on the store's schema, for holding locks and transactions open. */
async function raw(t: Tap, schema: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: PG_BASE, options: `-c search_path=${schema}` });
  c.on('error', () => {});
  await c.connect();
  t.teardown(() => c.end().catch(() => {}));
  return c;
}

let n = 0;
function item(transId: string, over: { endpoints?: string[]; kind?: string } = {}): IngestItem {
  n++;
  const id = `evt_pg${String(n).padStart(24, '0')}`;
  const event: EventDraft = {
    id, type: 'payment.succeeded', source: 'paygate', merchantId: 'M', operation: 'payment', outcome: 'succeeded',
    transId, payId: `P${n}`, mandateId: null, receivedAt: 1000 + n, dedupeKey: `pgk${n}-${process.pid}`, payload: JSON.stringify({ id }),
    deliveries: (over.endpoints ?? ['a']).map((e) => ({ endpointId: e, orderKey: `M\u0000${transId}` })),
  };
  return {
    callback: {
      id: `cb_pg${String(n).padStart(24, '0')}`, receivedAt: 1000 + n, channel: 'notify', method: 'POST', path: '/paygate/notify',
      kind: over.kind ?? null, contentType: 'application/x-www-form-urlencoded', remoteIp: '127.0.0.1', headers: {}, body: Buffer.from([0, 1, 2, 255]),
      merchantId: 'M', state: 'accepted', reason: null, detail: null, decoded: null,
    },
    event,
  };
}

const settled = async (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true, () => true), sleep(ms).then(() => false)]);

t.test('storage URL: postgres:// and postgresql:// select PostgreSQL; schema validated', async (t) => {
  t.same(parsePostgresUrl('postgres://u@h:5432/db'), { connectionString: 'postgres://u@h:5432/db', schema: 'public', poolMax: 10 });
  t.match(parsePostgresUrl('postgresql://u@h/db?schema=relay_2&pool=4&sslmode=disable'), { schema: 'relay_2', poolMax: 4, connectionString: 'postgresql://u@h/db?sslmode=disable' });
  for (const bad of ['Relay', 'a-b', '1x', 'x;drop', 'pg_temp', '"x"', 'a'.repeat(64)]) {
    t.throws(() => parsePostgresUrl(`postgres://u@h/db?schema=${encodeURIComponent(bad)}`), /schema must be/, `schema ${bad} refused`);
  }
  t.throws(() => parsePostgresUrl('postgres://u@h/db?pool=0'), /pool/);
  const cfg = (storage: string) => parseConfig({ ...baseConfig('/tmp'), storage }, {});
  t.equal(cfg('postgres://postgres@127.0.0.1:5432/postgres?schema=relay').storage, 'postgres://postgres@127.0.0.1:5432/postgres?schema=relay');
  t.ok(cfg('postgresql://h/db'));
  t.throws(() => cfg('mysql://h/db'), /storage must be sqlite:<path> or postgres:/);
  const s = openStore('postgres://postgres@127.0.0.1:5432/postgres?schema=unused_never_connected');
  t.equal(s.kind, 'postgres');
  await s.close();
});

t.test('migrations: instances starting together do not race; a second run is a no-op', async (t) => {
  await sharePostgres(t);
  const schema = freshSchema(t, 'mig');
  const stores = [1, 2, 3, 4].map(() => new PostgresStore(pgUrl(schema)));
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  await Promise.all(stores.map((s) => s.migrate()));
  await stores[0]!.migrate();
  const rows = (await adminQuery(`SELECT scope, version FROM ${schema}.migrations ORDER BY scope, version`)).rows;
  const files = readdirSync(new URL('../../src/store/migrations/postgres/', import.meta.url)).filter((f) => f.endsWith('.sql'));
  t.same(rows.map((r) => `${r.scope} ${r.version}`).sort(), files.map((f) => `core ${Number(f.slice(0, 4))}`).sort(), 'every migration file applied once');
  const tables = (await adminQuery(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema])).rows.map((r) => r.table_name);
  t.same(tables, ['attempts', 'auth_failures', 'callbacks', 'conflicts', 'console_sessions', 'deliveries', 'endpoint_state', 'erasures', 'events', 'migrations'], 'tables in the configured schema');
});

t.test('intake holds a per-key lock until commit, so seq order is commit order per TransID', async (t) => {
  const s = await store(t);
  const other = await raw(t, s.schema);
  // Another instance's intake, caught between INSERT and COMMIT: it holds the key's lock and has taken the lower seq.
  const first = item('ORD');
  await other.query('BEGIN');
  await other.query('SELECT pg_advisory_xact_lock($1::bigint)', [orderKeyLockId(s.schema, 'M\u0000ORD')]);
  const seq1 = (await other.query(
    `INSERT INTO events (id, dedupe_key, type, source, received_at, trans_id, payload) VALUES ($1, $2, 'payment.succeeded', 'paygate', 1, 'ORD', '{}') RETURNING seq`,
    [first.event!.id, first.event!.dedupeKey],
  )).rows[0].seq;
  await other.query(
    `INSERT INTO deliveries (event_seq, event_id, endpoint_id, order_key, state, next_attempt_at, created_at, updated_at) VALUES ($1, $2, 'a', $3, 'pending', 1, 1, 1)`,
    [seq1, first.event!.id, Buffer.from('M\u0000ORD')],
  );
  const second = item('ORD');
  const unrelated = item('OTHER');
  const p = s.ingest([second]);
  t.equal(await settled(p, 400), false, 'the later event of the same TransID waits for the earlier commit');
  await s.ingest([unrelated]);
  t.pass('another TransID is not held up');
  t.same((await s.claim('a', 'w', 5000, 1000, 10)).map((d) => d.eventId), [unrelated.event!.id], 'nothing of ORD is claimable yet');
  await other.query('COMMIT');
  await p;
  const [e1, e2] = [await s.getEvent(first.event!.id), await s.getEvent(second.event!.id)];
  t.ok(e1!.seq < e2!.seq, 'the event committed first has the lower seq');
  t.same((await s.claim('a', 'w', 5000, 1000, 10)).map((d) => d.eventId), [first.event!.id], 'and goes first; the later one waits for it');
});

t.test('SKIP LOCKED on the earlier row never makes the later one of its key eligible', async (t) => {
  const s = await store(t);
  const [x1, x2] = [item('SK'), item('SK')];
  await s.ingest([x1, x2]);
  const [d1] = await s.claim('a', 'dead-owner', 4000, 100, 10);
  t.equal(d1!.eventId, x1.event!.id);
  // The lease expired; instance A is taking it over right now (row locked, not committed).
  const a = await raw(t, s.schema);
  await a.query('BEGIN');
  await a.query(`SELECT id FROM deliveries WHERE id = $1 FOR UPDATE`, [d1!.id]);
  t.same(await s.claim('a', 'B', 5000, 1000, 10), [], 'B skips the locked earlier delivery and leaves the later one alone');
  await a.query(`UPDATE deliveries SET lease_owner = 'A', lease_expires_at = 999999 WHERE id = $1`, [d1!.id]);
  await a.query('COMMIT');
  t.same(await s.claim('a', 'B', 5000, 1000, 10), [], 'A owns it now: still nothing for B');
  t.equal(await s.complete(d1!.id, 'dead-owner', { deliveryId: d1!.id, eventId: x1.event!.id, endpointId: 'a', startedAt: 5000, durationMs: 1, statusCode: 200, errorClass: null, responseBody: null }, 5000), false, 'the old owner cannot complete it');
  t.equal(await s.complete(d1!.id, 'A', { deliveryId: d1!.id, eventId: x1.event!.id, endpointId: 'a', startedAt: 5001, durationMs: 1, statusCode: 200, errorClass: null, responseBody: 'with \u0000 NUL' }, 5001), true);
  t.same((await s.claim('a', 'B', 5002, 1000, 10)).map((d) => d.eventId), [x2.event!.id], 'once the earlier one is done, the later one goes');
});

t.test('NOTIFY: wakes listeners on commit only, for their own schema, and survives a lost connection', async (t) => {
  const s = await store(t);
  const elsewhere = await store(t);
  const got: string[][] = [];
  const states: string[][] = [];
  const stop = await s.listen({ events: (ids) => got.push(ids), endpointStates: (ids) => states.push(ids) });
  await s.ingest([item('N1', { endpoints: ['a', 'b'] })]);
  await elsewhere.ingest([item('N2', { endpoints: ['zzz'] })]);
  const dup = item('N3');
  await s.ingest([dup]);
  await s.ingest([{ ...item('N3'), event: { ...item('N3').event!, dedupeKey: dup.event!.dedupeKey } }]);
  await sleep(300);
  t.same(got, [['a', 'b'], ['a']], 'one notification per commit with new events; none for another schema or a duplicate');
  // A failed transaction notifies nobody.
  const broken = item('N4');
  broken.callback.id = dup.callback.id; // primary key violation at the end of the transaction
  await t.rejects(s.ingest([broken]));
  await sleep(200);
  t.equal(got.length, 2, 'nothing for a rolled-back commit');
  // Kill the listening connection as a server restart would.
  const killed = await adminQuery(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
    [`paygate-relay:${s.schema}`],
  );
  t.equal(killed.rowCount, 1, 'the listener connection was found and killed');
  const end = Date.now() + 5000;
  while (got.length < 3 && Date.now() < end) {
    await s.ingest([item(`N5-${Date.now()}`, { endpoints: ['c'] })]);
    await sleep(150);
  }
  t.same(got[2], ['c'], 'the listener reconnected by itself');
  t.same(states, [[]], 'and asked for endpoint state to be read again (changes may have been missed meanwhile)');
  // An enable/disable is announced as endpoint state, to every listener of the schema.
  await s.setEndpointDisabled('a', true, 'operator', 6000);
  await elsewhere.setEndpointDisabled('a', true, 'operator', 6000);
  await s.setEndpointDisabled('a', false, null, 6001);
  for (const stop = Date.now() + 3000; states.length < 3 && Date.now() < stop; ) await sleep(20);
  t.same(states.slice(1), [['a'], ['a']], 'endpoint state changes notified as such, only for this schema');
  await stop();
  const before = got.length;
  await s.ingest([item('N6')]);
  await sleep(200);
  t.equal(got.length, before, 'nothing after unsubscribe');
});

t.test('pool: connections killed under it are replaced, never reused broken', async (t) => {
  const s = await store(t);
  await Promise.all([1, 2, 3].map((i) => s.ingest([item(`PK${i}`)])));
  await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`paygate-relay:${s.schema}`]);
  await sleep(100);
  await s.ping();
  const r = (await Promise.all([1, 2, 3, 4].map((i) => s.ingest([item(`PK-after${i}`, { kind: `k\u0000${i}` })])))).map((x) => x[0]!);
  t.equal(r.filter((x) => !x.duplicate).length, 4, 'intake works at once on fresh connections');
  t.equal((await s.getCallback(r[0]!.callbackId))!.body.toString('hex'), '000102ff', 'raw body bytes kept exactly');
  t.match((await s.getCallback(r[0]!.callbackId))!.kind, /^k\uFFFD\d$/, 'a NUL in a text column is stored as U+FFFD');
});
