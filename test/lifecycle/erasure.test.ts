// Erasure on a real relay: SQLite file (and its WAL) on disk, real HTTP receiver,
// real archive files. A debtor's name, IBAN and UserData are planted through
// genuine encrypted callbacks; erasing the TransID must leave them nowhere: not in
// any table, not in the database files' bytes, not in the archive, not in what is
// delivered afterwards, while the event keeps its id, type and amount.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { paygateEventSchema } from '../../src/events/schema.js';
import { appendToArchive, dayOf, listArchives, type ArchiveLine } from '../../src/lifecycle/archive.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { login } from '../console/_lib.js';
import { post, transId } from '../helpers/paygate.js';
import { startReceiver } from '../helpers/receiver.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, baseConfig, startRelay, tmpDir, type Harness } from '../helpers/relay.js';

const SECRET = `whsec_${Buffer.from('erasure-test-secret-0123456789ab').toString('base64')}`;
const LAST = 'Quacksalverova';
const FIRST = 'Zebulonia';
const IBAN = 'DE89370400440532013000';
const PERSON = { FirstName: FIRST, LastName: LAST, AccOwner: `${FIRST} ${LAST}`, IBAN, Email: 'zq@example.org', Amount: '4711', Currency: 'EUR' };

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every place the planted values could hide in the file bytes (UTF-8 as SQLite stores TEXT). */
const planted = (buf: Buffer) => [LAST, FIRST, IBAN].filter((s) => buf.includes(Buffer.from(s, 'utf8')));

function fileBytes(db: string): Buffer {
  return Buffer.concat([db, `${db}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

async function erase(h: Harness, token: string, body: Record<string, unknown>) {
  return h.app.inject({ method: 'POST', url: '/admin/erasures', headers: { ...auth(token), 'content-type': 'application/json' }, payload: body });
}

t.test('erasing a TransID removes the person everywhere on SQLite, keeps the accounting, and the pending delivery goes out redacted', async (t) => {
  const dir = tmpDir(t);
  const archiveDir = join(dir, 'archive');
  const rx = await startReceiver(t, SECRET);
  let up = true;
  // While up, the receiver answers with the debtor's name (receivers echo): the attempt log holds it.
  rx.behave((r) => (up ? { status: 200, body: `booked ${String((r.event.data.fields as Record<string, string> | undefined)?.lastname)}` } : { status: 503, body: '' }));
  const h = await startRelay(t, baseConfig(dir, {
    endpoints: [{ id: 'erp', url: rx.url, secret: SECRET, jitter: 0, retryScheduleMs: [0, ...Array<number>(60).fill(200)] }],
  }), { listen: false, archiveDir });
  const store = h.relay.store as SqliteStore;
  const dbFile = join(dir, 'relay.db');
  const T = transId('ERA');

  // A: the debtor created, delivered (the receiver's answer names them).
  const a = await post(h, '/paygate/notify/debtor', { transId: T, payId: 'PAYA1', userData: `Kunde ${LAST}`, extra: PERSON });
  t.equal(a.statusCode, 200, a.body);
  await rx.waitFor((r) => r.some((x) => x.event.data.payId === 'PAYA1'));
  // B: a second step of the same TransID while the receiver is down: a pending delivery.
  up = false;
  const b = await post(h, '/paygate/notify/debtor', { transId: T, payId: 'PAYB2', status: 'AUTHORIZED', extra: PERSON });
  t.equal(b.statusCode, 200, b.body);
  await rx.waitFor((r) => r.some((x) => x.event.data.payId === 'PAYB2'));
  // C: a forged callback naming the TransID and the person in plain: quarantined, never decoded.
  const c = await post(h, '/paygate/notify/debtor', { transId: T, payId: 'PAYC3', custom: { TransID: T, Name: LAST } }, { macOverride: 'F'.repeat(64) });
  t.equal(c.statusCode, 401, 'refused, and kept in quarantine');
  // Someone else's callback: must stay untouched.
  const other = transId('KEEP');
  t.equal((await post(h, '/paygate/notify/debtor', { transId: other, payId: 'PAYK', extra: { LastName: 'Keepme' } })).statusCode, 200);

  const events = store.db.prepare('SELECT * FROM events WHERE trans_id = ? ORDER BY seq').all(T) as Record<string, unknown>[];
  t.equal(events.length, 2, 'two events of the TransID');
  const quarantined = store.db.prepare(`SELECT id FROM callbacks WHERE state = 'quarantined'`).all() as { id: string }[];
  t.equal(quarantined.length, 1, 'the forged one is quarantined');
  await rx.waitFor(() => (store.db.prepare('SELECT count(*) AS n FROM attempts WHERE response_body LIKE ?').get(`%${LAST}%`) as { n: number }).n > 0);

  // Retention's archive holds copies of A's rows (as stored: Buffers as base64).
  const asLine = (table: string, row: Record<string, unknown>, id: unknown): ArchiveLine => ({
    table, id: String(id), row: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('base64') : v])),
  });
  const aEvent = events[0]!;
  const aCallback = store.db.prepare('SELECT * FROM callbacks WHERE id = ?').get(aEvent.callback_id) as Record<string, unknown>;
  const aAttempts = store.db.prepare('SELECT * FROM attempts WHERE event_id = ?').all(aEvent.id) as Record<string, unknown>[];
  await appendToArchive(archiveDir, 'delivered', dayOf(Number(aEvent.received_at)), [
    asLine('events', aEvent, aEvent.seq), asLine('callbacks', aCallback, aCallback.id), ...aAttempts.map((x) => asLine('attempts', x, x.id)),
  ]);
  const archiveBytes = async () => Buffer.concat(await Promise.all((await listArchives(archiveDir)).map(async (f) => gunzipSync(readFileSync(f.file)))));
  t.same(planted(await archiveBytes()), [LAST, FIRST, IBAN], 'the archive holds the person before');
  t.same(planted(fileBytes(dbFile)), [LAST, FIRST, IBAN], 'so do the database files (the check can fail)');

  // Only operators erase.
  const denied = await erase(h, VIEWER_TOKEN, { transId: T, reason: 'ticket 42' });
  t.equal(denied.statusCode, 403, 'a viewer may not erase');
  t.equal((await erase(h, ADMIN_TOKEN, { transId: T, payId: 'PAYA1', reason: 'x' })).statusCode, 400, 'two selectors: 400');
  t.equal((await erase(h, ADMIN_TOKEN, { transId: T, reason: '  ' })).statusCode, 400, 'no reason: 400');

  const res = await erase(h, ADMIN_TOKEN, { transId: T, reason: 'GDPR request, ticket 42' });
  t.equal(res.statusCode, 200, res.body);
  const out = res.json() as { rows: Record<string, number>; total: number; actor: string; purged: boolean; selector: unknown };
  t.same(out.selector, { kind: 'transId', value: T });
  t.equal(out.rows.events, 2, 'both events');
  t.equal(out.rows.callbacks, 3, 'both callbacks and the quarantined one');
  t.ok(out.rows.attempts! >= 1, 'the receiver\'s answers');
  t.equal(out.rows.archive, 3, 'the archived event, callback and attempt');
  t.match(out.actor, /^token:[0-9a-f]{12}$/, 'recorded by token id, not the token');
  t.notOk(out.actor.includes(ADMIN_TOKEN.slice(0, 8)));
  t.equal(out.purged, true, 'WAL checkpointed and truncated');

  // Nowhere in any table, any column.
  for (const { name } of store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]) {
    for (const row of store.db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
      const text = Object.values(row).map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v))).join('\u0001');
      for (const s of [LAST, FIRST, IBAN, 'zq@example.org']) t.notOk(text.includes(s), `${name}: no ${s}`);
    }
  }
  // Not in the file bytes either: the database and its WAL.
  t.same(planted(fileBytes(dbFile)), [], 'the database file and WAL hold none of it');
  t.same(planted(await archiveBytes()), [], 'nor do the archive files');
  t.ok((await archiveBytes()).includes(Buffer.from(String(aEvent.id))), 'the archived rows are still there');

  // What accounting needs stays.
  const after = store.db.prepare('SELECT * FROM events WHERE trans_id = ? ORDER BY seq').all(T) as Record<string, unknown>[];
  t.same(after.map((e) => [e.id, e.type, e.merchant_id, e.pay_id, e.received_at]), events.map((e) => [e.id, e.type, e.merchant_id, e.pay_id, e.received_at]));
  const ev = JSON.parse(String(after[0]!.payload)) as Record<string, any>;
  t.equal(paygateEventSchema.safeParse(ev).success, true, 'the erased event is still a valid Paygate event');
  t.equal(ev.erased, true);
  t.equal(ev.data.fields.amount, '4711');
  t.equal(ev.data.fields.currency, 'EUR');
  t.equal(ev.data.transId, T);
  t.equal(ev.data.fields.lastname, '[erased]');
  t.equal(ev.data.userData, '[erased]');
  const keep = JSON.parse(String((store.db.prepare('SELECT payload FROM events WHERE trans_id = ?').get(other) as { payload: string }).payload));
  t.equal(keep.data.fields.lastname, 'Keepme', 'another person\'s event is untouched');
  t.equal(keep.erased, undefined);

  // A second erasure changes nothing (the receiver is still down, nothing new was stored), and is recorded.
  const again = await erase(h, ADMIN_TOKEN, { transId: T, reason: 'repeat' });
  t.equal(again.statusCode, 200);
  t.equal((again.json() as { total: number }).total, 0, 'erasing again changes no row');

  // The pending delivery of B goes out redacted once the receiver is back.
  up = true;
  await rx.waitFor(() => rx.delivered().some((x) => x.event.data.payId === 'PAYB2'));
  const delivered = rx.delivered().find((x) => x.event.data.payId === 'PAYB2')!;
  t.ok(delivered.verified, 'signed over the redacted bytes');
  t.same(planted(Buffer.from(delivered.body)), [], 'the delivered payload holds none of it');
  t.equal(delivered.event.erased, true);
  t.equal(delivered.event.id, after[1]!.id);

  const list = await h.app.inject({ method: 'GET', url: '/admin/erasures', headers: auth(VIEWER_TOKEN) });
  t.equal(list.statusCode, 200, 'viewers read the record');
  const items = (list.json() as { items: { total: number; reason: string }[] }).items;
  t.same(items.map((i) => [i.reason, i.total > 0]), [['repeat', false], ['GDPR request, ticket 42', true]]);
  const page = await h.app.inject({ method: 'GET', url: '/admin/erasures?limit=1', headers: auth(VIEWER_TOKEN) });
  const next = (page.json() as { next: string }).next;
  t.ok(next, 'paged');
  t.same(((await h.app.inject({ method: 'GET', url: `/admin/erasures?limit=1&cursor=${next}`, headers: auth(VIEWER_TOKEN) })).json() as { items: { reason: string }[] }).items.map((i) => i.reason), ['GDPR request, ticket 42']);

  // The console lists the record to every user; it shows counts and the identifier, never erased values.
  const { client } = await login(h, VIEWER_TOKEN);
  const pageHtml = (await client!.get('/console/erasures')).body;
  t.match(pageHtml, /href="\/console\/erasures"[^>]*aria-current="page"|aria-current="page"[^>]*>Erasures/, 'in the navigation');
  t.equal((pageHtml.match(/data-testid="erasure-row"/g) ?? []).length, 2);
  t.match(pageHtml, /GDPR request, ticket 42/);
  t.match(pageHtml, /events 2, callbacks 3/);
  t.match(pageHtml, /already erased/);
  t.match(pageHtml, new RegExp(`transId ${T}`));

  t.equal(h.logs.filter((l) => l.includes('erasure recorded')).length, 2, 'each erasure logged');
  t.notOk(h.logs.some((l) => [LAST, FIRST, IBAN, 'ticket 42'].some((s) => l.includes(s))), 'the log holds neither the person nor the reason');

  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;

  // Paygate repeating the original callback after the erasure: the erased event's fingerprint no
  // longer matches, so it is a conflict — and it brings the person back, so it is erased again.
  t.equal((await post(h, '/paygate/notify/debtor', { transId: T, payId: 'PAYA1', userData: `Kunde ${LAST}`, extra: PERSON })).statusCode, 200);
  t.equal((store.db.prepare('SELECT state FROM callbacks ORDER BY rowid DESC LIMIT 1').get() as { state: string }).state, 'conflict');
  const third = (await erase(h, ADMIN_TOKEN, { transId: T, reason: 'late repeat' })).json() as { rows: Record<string, number> };
  t.equal(third.rows.callbacks, 1, 'the repeat\'s callback');
  t.equal(third.rows.events, 1, 'its callback.conflict event (the client address in its origin)');
  t.same(planted(fileBytes(dbFile)), [], 'gone again');
  t.match(metrics, /paygate_relay_rows_erased_total\{table="events"\} 2/);
  t.match(metrics, /paygate_relay_rows_erased_total\{table="archive"\} 3/);
});

t.test('what retention archived is erased in the archive the config names (retention.archiveDir)', async (t) => {
  const dir = tmpDir(t);
  const archiveDir = join(dir, 'kept');
  const clock = { shift: 0 };
  const h = await startRelay(t, baseConfig(dir, { retention: { delivered: '5s', callbacks: '5s', sweepEvery: '1h', archiveDir } }), { listen: false, clock: () => Date.now() + clock.shift });
  const T = transId('ARC');
  t.equal((await post(h, '/paygate/notify/debtor', { transId: T, payId: 'PAYR1', extra: PERSON })).statusCode, 200);
  clock.shift = 60_000;
  const report = await h.relay.retention.sweep();
  t.ok(report.archived.delivered > 0, `the sweeper archived ${report.archived.delivered} rows of the delivered event`);
  const bytes = () => Buffer.concat(readdirSync(archiveDir).filter((n) => n.endsWith('.jsonl.gz')).map((n) => gunzipSync(readFileSync(join(archiveDir, n)))));
  t.same(planted(bytes()), [LAST, FIRST, IBAN], 'the archive holds the person (the check can fail)');
  const r = (await erase(h, ADMIN_TOKEN, { transId: T, reason: 'ticket 7' })).json() as { rows: Record<string, number> };
  t.ok(r.rows.archive! > 0, 'archived rows erased');
  t.same(planted(bytes()), [], 'the archive no longer holds the person');
});
