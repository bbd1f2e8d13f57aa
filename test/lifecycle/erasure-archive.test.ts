// Erasure of rows retention already moved to the archive: the event (found by its
// column), its callback and attempts (found through the event's id), a quarantined
// callback naming the TransID in plain; another person's lines stay byte for byte.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { appendToArchive, listArchives, readArchive, type ArchiveLine } from '../../src/lifecycle/archive.js';
import { Erasure } from '../../src/lifecycle/erasure.js';
import { Hub } from '../../src/observe.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tmpDir } from '../helpers/relay.js';

const payload = (id: string, transId: string, name: string) =>
  JSON.stringify({ id, type: 'debtor.created', source: 'paygate', operation: 'debtor', data: { transId, payId: 'P1', fields: { lastname: name, amount: '9' } } });
const b64 = (s: string) => Buffer.from(s).toString('base64');

t.test('archived rows of the subject are erased in place; nothing else changes', async (t) => {
  const dir = tmpDir(t);
  const archiveDir = join(dir, 'archive');
  const store = new SqliteStore(join(dir, 'relay.db'));
  await store.migrate();
  t.teardown(() => store.close());
  const lines: ArchiveLine[] = [
    // Keyed by seq, as retention may key them: the event is known by its id column.
    { table: 'events', id: '17', row: { seq: 17, id: 'evt_A', trans_id: 'TA', pay_id: 'P1', payload: payload('evt_A', 'TA', 'Doe'), fingerprint: null } },
    { table: 'callbacks', id: 'cb_A', row: { id: 'cb_A', event_id: 'evt_A', body: b64('Data=00'), headers: '{"user-agent":"ua"}', decoded: '{"transId":"TA","fields":{"lastname":"Doe"}}', remote_ip: '203.0.113.1' } },
    { table: 'attempts', id: '3', row: { id: 3, event_id: 'evt_A', response_body: 'hello Doe' } },
    { table: 'events', id: '18', row: { seq: 18, id: 'evt_B', trans_id: 'TB', pay_id: 'P2', payload: payload('evt_B', 'TB', 'Roe'), fingerprint: null } },
    { table: 'callbacks', id: 'cb_B', row: { id: 'cb_B', event_id: 'evt_B', body: b64('Data=11'), headers: '{}', decoded: '{"transId":"TB","fields":{"lastname":"Roe"}}', remote_ip: null } },
  ];
  await appendToArchive(archiveDir, 'delivered', '2026-01-02', lines);
  await appendToArchive(archiveDir, 'quarantine', '2026-01-03', [
    { table: 'callbacks', id: 'cb_Q', row: { id: 'cb_Q', event_id: null, body: b64('MerchantID=M&TransID=TA&Name=Doe&Data=00'), headers: '{}', decoded: null, remote_ip: null } },
  ]);
  const erasure = new Erasure({ store, features: [], archiveDir, hub: new Hub(), now: () => 1 });

  const r = await erasure.erase({ selector: { transId: 'TA' }, reason: 'ticket', actor: 'cli' });
  t.same(r.rows, { events: 0, callbacks: 0, attempts: 0, archive: 4 }, 'event, callback, attempt and the quarantined callback');
  const all = new Map<string, ArchiveLine>();
  for (const f of await listArchives(archiveDir)) for await (const l of readArchive(f.file)) all.set(`${l.table}:${l.id}`, l);
  t.equal(all.size, 6, 'no line dropped');
  const ev = JSON.parse(String(all.get('events:17')!.row.payload));
  t.same([ev.id, ev.data.transId, ev.data.fields.amount, ev.data.fields.lastname, ev.erased], ['evt_A', 'TA', '9', '[erased]', true]);
  t.same(all.get('callbacks:cb_A')!.row, { id: 'cb_A', event_id: 'evt_A', body: '', headers: '{"user-agent":"[erased]"}', decoded: '{"transId":"TA","fields":{"lastname":"[erased]"}}', remote_ip: null });
  t.equal(all.get('attempts:3')!.row.response_body, null);
  t.equal(all.get('callbacks:cb_Q')!.row.body, '');
  t.same(all.get('events:18'), lines[3], 'another person\'s event untouched');
  t.same(all.get('callbacks:cb_B'), lines[4]);
  const bytes = Buffer.concat((await listArchives(archiveDir)).map((f) => gunzipSync(readFileSync(f.file))));
  t.notOk(bytes.includes(Buffer.from('Doe')), 'the name is in no archive file');
  t.ok(bytes.includes(Buffer.from('Roe')));

  t.equal((await erasure.erase({ selector: { transId: 'TA' }, reason: 'again', actor: 'cli' })).total, 0, 'a repeat changes nothing');
  t.equal((await erasure.erase({ selector: { payId: 'P2' }, reason: 'B', actor: 'cli' })).rows.archive, 2, 'by PayID: the archived event and, through its id, its callback');
});
