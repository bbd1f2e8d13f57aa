// Retention end to end on a real relay (real SQLite file, real PostgreSQL, real
// receivers on 127.0.0.1): what is past its retention and held by nothing is
// archived and deleted; what is still needed stays and still works. Time moves by
// shifting the relay's clock; sweeps are started by hand instead of waiting.
import t from 'tap';
import Database from 'better-sqlite3';
import pg from 'pg';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildCallback } from '../../src/paygate/simulator.js';
import { api, ep, eventIdOf, metric, notify, until, SHOP } from '../delivery/_lib.js';
import { GOOD, RULE } from '../collectmaxx/_relay.js';
import { freshSchema, pgUrl, PG_BASE, sharePostgres } from '../helpers/pg.js';
import { newSecret, startReceiver } from '../helpers/receiver.js';
import { login } from '../console/_lib.js';
import { baseConfig, startRelay, tmpDir, VIEWER_TOKEN } from '../helpers/relay.js';

type Tap = Parameters<Parameters<typeof t.test>[1]>[0];
type Raw = (sql: string) => Promise<Record<string, unknown>[]>;

const RETENTION = { delivered: '5s', callbacks: '5s', quarantine: '5s', deadLetters: '5s', sweepEvery: '1h' };

/** A relay on `dialect` whose clock can be moved forward, and a raw connection to its tables. */
async function relayOn(t: Tap, dialect: 'sqlite' | 'postgres', extra: Record<string, unknown>) {
  const dir = tmpDir(t);
  let storage = `sqlite:${join(dir, 'relay.db')}`;
  let raw: Raw;
  if (dialect === 'postgres') {
    await sharePostgres(t);
    const schema = freshSchema(t, 'retention');
    storage = pgUrl(schema);
    raw = async (sql) => {
      const c = new pg.Client({ connectionString: PG_BASE, options: `-c search_path=${schema}` });
      await c.connect();
      try {
        return (await c.query(sql)).rows;
      } finally {
        await c.end();
      }
    };
  } else {
    raw = async (sql) => {
      const db = new Database(join(dir, 'relay.db'), { readonly: true });
      try {
        return db.prepare(sql).all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    };
  }
  const archiveDir = join(dir, 'archive');
  const clock = { shift: 0 };
  const h = await startRelay(t, baseConfig(dir, { storage, retention: { ...RETENTION, archiveDir }, ...extra }), { clock: () => Date.now() + clock.shift });
  return { h, raw, archiveDir, clock };
}

/** Every line of every archive file, read with zlib alone (not the relay's reader). */
function archived(dir: string): { file: string; table: string; id: string; row: Record<string, unknown> }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.jsonl.gz')).flatMap((file) =>
    gunzipSync(readFileSync(join(dir, file))).toString('utf8').split('\n').filter(Boolean).map((l) => ({ file, ...(JSON.parse(l) as { table: string; id: string; row: Record<string, unknown> }) })));
}

const keysOf = (rows: { table: string; id: unknown }[]) => rows.map((r) => `${r.table}:${String(r.id)}`).sort();

for (const dialect of ['sqlite', 'postgres'] as const) {
  t.test(`${dialect}: delivered events go (archived first), pending ones stay and still deliver when the receiver is back`, async (t) => {
    const secret = newSecret();
    const receiver = await startReceiver(t, secret);
    const { h, raw, archiveDir, clock } = await relayOn(t, dialect, {
      // A minute of retries: on a loaded machine the steps before the receiver comes back take seconds, and the pending ones must not be dead-lettered meanwhile.
      endpoints: [ep('erp', receiver.url, secret, { retryScheduleMs: [0, ...Array<number>(200).fill(300)] })],
    });
    const done = [await notify(h.url), await notify(h.url), await notify(h.url)];
    await receiver.waitFor((r) => r.length === 3);
    const doneIds = await Promise.all(done.map((p) => eventIdOf(h, p)));
    await until('three deliveries succeeded', async () => (await raw(`SELECT COUNT(*) AS n FROM deliveries WHERE state = 'succeeded'`))[0]!.n == 3);

    receiver.behave(() => ({ status: 503 }));
    const waiting = [await notify(h.url), await notify(h.url)];
    const waitingIds = await Promise.all(waiting.map((p) => eventIdOf(h, p)));
    await receiver.waitFor((r) => r.length >= 7, 8000); // each of the two tried at least twice: retrying

    // What the purge must take: the delivered events, their deliveries, attempts and callbacks, as stored now.
    const list = doneIds.map((id) => `'${id}'`).join(',');
    const expected = [
      ...(await raw(`SELECT id FROM events WHERE id IN (${list})`)).map((r) => ({ table: 'events', id: r.id })),
      ...(await raw(`SELECT id FROM deliveries WHERE event_id IN (${list})`)).map((r) => ({ table: 'deliveries', id: r.id })),
      ...(await raw(`SELECT id FROM attempts WHERE event_id IN (${list})`)).map((r) => ({ table: 'attempts', id: r.id })),
      ...(await raw(`SELECT id FROM callbacks WHERE event_id IN (${list})`)).map((r) => ({ table: 'callbacks', id: r.id })),
    ];
    t.equal(expected.length, 12, 'three events, each with one delivery, one attempt, one callback');
    const bodies = new Map((await raw(`SELECT id, body FROM callbacks WHERE event_id IN (${list})`)).map((r) => [String(r.id), Buffer.from(r.body as Uint8Array)]));

    clock.shift = 10_000;
    const report = await h.relay.retention.sweep();
    t.equal(report.error, null);
    t.equal(report.swept, true);
    for (const id of doneIds) t.equal(await h.relay.store.getEvent(id), null, `delivered ${id} is gone`);
    for (const id of waitingIds) t.not(await h.relay.store.getEvent(id), null, `pending ${id} stays`);
    t.equal((await raw(`SELECT COUNT(*) AS n FROM deliveries WHERE event_id IN (${list})`))[0]!.n == 0, true, 'their deliveries are gone');
    t.equal((await raw(`SELECT COUNT(*) AS n FROM attempts WHERE event_id IN (${list})`))[0]!.n == 0, true, 'their attempts are gone');
    t.equal((await raw(`SELECT COUNT(*) AS n FROM callbacks`))[0]!.n == 2, true, 'only the callbacks of the pending events stay');

    const lines = archived(archiveDir);
    t.same(keysOf(lines), keysOf(expected), 'the archive holds exactly the purged rows');
    const today = new Date().toISOString().slice(0, 10);
    t.same([...new Set(lines.map((l) => l.file))].sort(), [`callbacks-${today}.jsonl.gz`, `delivered-${today}.jsonl.gz`], 'one file per class and UTC day');
    for (const l of lines.filter((x) => x.table === 'callbacks')) {
      t.ok(Buffer.from(String(l.row.body), 'base64').equals(bodies.get(l.id)!), `callback ${l.id}: the raw body, byte for byte`);
    }
    t.equal(await metric(h.url, 'paygate_relay_retention_purged_total', { class: 'delivered' }), 9);
    t.equal(await metric(h.url, 'paygate_relay_retention_archived_total', { class: 'callbacks' }), 3);
    t.ok((await metric(h.url, 'paygate_relay_database_size_bytes', {}))! > 0, 'database size is reported');
    t.equal(await metric(h.url, 'paygate_relay_retention_rows', { class: 'delivered' }), 2, 'the two pending events are what is left');
    if (dialect === 'sqlite') {
      const { client } = await login(h, VIEWER_TOKEN);
      const page = await client!.get('/console/storage');
      t.equal(page.status, 200);
      t.match(page.body, /data-testid="class-delivered"><td>Delivered events<\/td><td class="num">2<\/td>/, 'Storage page: rows per class');
      t.match(page.body, new RegExp(`delivered-${new Date().toISOString().slice(0, 10)}\\.jsonl\\.gz`), 'Storage page: the archive files');
      t.match(page.body, /12 rows purged, 12 archived/, 'Storage page: the last sweep');
    }

    // The receiver comes back: the kept events are delivered, then a later sweep takes them too.
    receiver.behave(() => ({ status: 200 }));
    await until('both pending events delivered', () => receiver.delivered().length === 5, 10_000);
    await until('their deliveries succeeded', async () => (await raw(`SELECT COUNT(*) AS n FROM deliveries WHERE state = 'succeeded'`))[0]!.n == 2);
    const again = await h.relay.retention.sweep();
    t.equal(again.purged.delivered > 0, true);
    t.equal((await raw('SELECT COUNT(*) AS n FROM events'))[0]!.n == 0, true, 'nothing is left once everything was delivered');
    t.equal(archived(archiveDir).filter((l) => l.table === 'events').length, 5, 'every event archived once');
  });
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  t.test(`${dialect}: holds: a conflict, a leased delivery and an unwritten Collectmaxx record keep their events`, async (t) => {
    const secret = newSecret();
    const receiver = await startReceiver(t, secret);
    receiver.behave((r) => (r.event.data.transId.startsWith('LEASE') ? { status: 200, hangMs: 12_000 } : undefined));
    const outbox = join(tmpDir(t), 'outbox');
    const { h, raw, clock } = await relayOn(t, dialect, {
      endpoints: [ep('erp', receiver.url, secret, { timeoutMs: 15_000 })],
      // A long batch delay: the record stays queued, not yet in a file.
      collectmaxx: { export: { clientNumber: '4711', outboxDir: outbox, defaultCountryCode: '49', batch: { maxRecords: 100, maxDelayMs: 3_600_000 }, rules: [RULE] } },
    });
    // A conflict: the same signed identity with other content.
    const same = { transId: 'CONFLICT-1', code: '00000000', payId: 'a'.repeat(32) };
    for (const xid of ['b', 'c']) {
      const cb = buildCallback({ ...same, xid: xid.repeat(32) }, SHOP);
      t.equal((await fetch(`${h.url}/paygate/notify/CR`, { method: 'POST', headers: { 'content-type': cb.contentType }, body: new Uint8Array(cb.body) })).status, 200);
    }
    const cmx = await notify(h.url, GOOD, 'OC'); // becomes a Collectmaxx record
    const plain = await notify(h.url, { transId: 'PLAIN-1' }, 'CR');
    const leased = await notify(h.url, { transId: 'LEASE-1' }, 'CR');
    await until('the Collectmaxx record is queued', async () => (await raw('SELECT COUNT(*) AS n FROM cmx_export_records WHERE file_name IS NULL'))[0]!.n == 1);
    await until('the leased delivery is in flight', async () => (await raw(`SELECT COUNT(*) AS n FROM deliveries WHERE state = 'in_flight'`))[0]!.n == 1);
    await until('the others delivered', async () => (await raw(`SELECT COUNT(*) AS n FROM deliveries WHERE state IN ('pending','in_flight')`))[0]!.n == 1);
    const ids = {
      conflictFirst: String((await raw(`SELECT event_id FROM conflicts`))[0]!.event_id),
      conflictEvent: String((await raw(`SELECT conflict_event_id FROM conflicts`))[0]!.conflict_event_id),
      cmx: await eventIdOf(h, cmx), plain: await eventIdOf(h, plain), leased: await eventIdOf(h, leased),
    };
    clock.shift = 10_000;
    const report = await h.relay.retention.sweep();
    t.equal(report.error, null);
    t.equal(await h.relay.store.getEvent(ids.plain), null, 'a delivered event held by nothing goes');
    t.not(await h.relay.store.getEvent(ids.conflictFirst), null, 'the event a conflict names stays');
    t.not(await h.relay.store.getEvent(ids.conflictEvent), null, 'the callback.conflict event stays');
    t.not(await h.relay.store.getEvent(ids.cmx), null, 'an event whose Collectmaxx record is not in a file yet stays');
    t.not(await h.relay.store.getEvent(ids.leased), null, 'an event whose delivery is leased stays');
    const kept = (await raw('SELECT state, id FROM callbacks')).map((r) => r.state).sort();
    t.same(kept, ['accepted', 'accepted', 'accepted', 'conflict'], 'callbacks stay with held events and while a conflict names them');
    t.equal((await api(h, 'GET', `/admin/events/${ids.leased}`)).status, 200);
  });
}

t.test('dead letters go by their own age; quarantine by its own', async (t) => {
  const { h, raw, clock } = await relayOn(t, 'sqlite', {
    endpoints: [ep('gone', 'http://127.0.0.1:9/x', newSecret(), { retryScheduleMs: [0] })],
    // Ages far apart: the rows' own timestamps are real time, and a loaded machine takes seconds between the steps.
    retention: { ...RETENTION, delivered: '1h', callbacks: '1h', deadLetters: '60s', quarantine: '300s' },
  });
  const dead = await notify(h.url);
  const bad = buildCallback({ transId: 'Q-1', code: '00000000' }, SHOP, { macOverride: 'f'.repeat(64) });
  t.equal((await fetch(`${h.url}/paygate/notify/CR`, { method: 'POST', headers: { 'content-type': bad.contentType }, body: new Uint8Array(bad.body) })).status >= 400, true);
  const id = await eventIdOf(h, dead);
  await until('dead-lettered', async () => (await raw(`SELECT COUNT(*) AS n FROM deliveries WHERE state = 'dead'`))[0]!.n == 1);
  clock.shift = 10_000;
  await h.relay.retention.sweep();
  t.not(await h.relay.store.getEvent(id), null, 'a dead letter younger than deadLetters stays');
  clock.shift = 65_000;
  const r = await h.relay.retention.sweep();
  t.equal(await h.relay.store.getEvent(id), null, 'past deadLetters it goes');
  t.equal(r.purged.deadLetters, 3, 'event, delivery, attempt');
  t.equal((await raw(`SELECT COUNT(*) AS n FROM callbacks WHERE state = 'quarantined'`))[0]!.n == 1, true, 'quarantine is younger than its 300 s');
  clock.shift = 310_000;
  t.equal((await h.relay.retention.sweep()).purged.quarantine, 1);
  t.equal((await raw(`SELECT COUNT(*) AS n FROM callbacks WHERE state = 'quarantined'`))[0]!.n == 0, true);
  t.equal((await raw(`SELECT COUNT(*) AS n FROM callbacks`))[0]!.n == 1, true, 'the dead letter\'s callback follows callbacks (1 h), not the event');
});
