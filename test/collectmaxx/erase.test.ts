// Erasure reaches the Collectmaxx tables through the feature's erase hook (SQLite,
// writes on the writer thread): records not in a file yet are deleted, records in
// one keep their identifier and amounts, rejects are redacted, seen states go.
// PostgreSQL: test/lifecycle/erasure-postgres-cli.test.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { eraseRecord } from '../../src/collectmaxx/core/erase.js';
import { deliveryBytes } from '../../src/collectmaxx/exporter.js';
import { collectmaxx } from '../../src/collectmaxx/module.js';
import type { SqliteStore } from '../../src/store/sqlite.js';
import { post, transId } from '../helpers/paygate.js';
import { baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { RULE } from './_relay.js';

t.test('a record keeps what accounting and result matching need; the person goes', async (t) => {
  const r = { IDENTIFICATION_IDENTIFIER: 'I1', CONTROL_FLOWID: 'F', SERVICES_SMS: '1', PERSON_FAMILYNAME: 'Muster', PERSON_GIVENNAME: 'Anna', CONTACT_PHONENUMBER_1: '+49170', ADDRESS_STREET: 'Hauptstr.', INVOICE_NUMBER: 'RE-1', INVOICE_AMOUNT: '19.99', INVOICE_CURRENCY: 'EUR', INVOICE_DESCRIPTION: 'Rechnung für Anna', PERSON_GENDER: '' };
  t.same(eraseRecord(r), {
    IDENTIFICATION_IDENTIFIER: 'I1', CONTROL_FLOWID: 'F', SERVICES_SMS: '1', PERSON_FAMILYNAME: '[erased]', PERSON_GIVENNAME: '[erased]', CONTACT_PHONENUMBER_1: '[erased]',
    ADDRESS_STREET: '[erased]', INVOICE_NUMBER: 'RE-1', INVOICE_AMOUNT: '19.99', INVOICE_CURRENCY: 'EUR', INVOICE_DESCRIPTION: '[erased]', PERSON_GENDER: '',
  });
  t.equal(eraseRecord(eraseRecord(r)!), null, 'a second pass changes nothing');
});

t.test('SQLite: the erase hook runs with the core erasure, by event id and TransID', async (t) => {
  const dir = tmpDir(t);
  const h = await startRelay(t, baseConfig(dir, {
    collectmaxx: { export: { clientNumber: '4711', outboxDir: join(dir, 'outbox'), defaultCountryCode: '49', batch: { maxRecords: 100, maxDelayMs: 600_000 }, rules: [RULE] } },
  }), { listen: false, delivery: false });
  const T = transId('CMX');
  t.equal((await post(h, '/paygate/notify/OC', { transId: T, refNr: 'RE-1', extra: { Amount: '1999', Currency: 'EUR' }, custom: { lastname: 'Muster', phone: '0170 1234567' } })).statusCode, 200);
  const ev = (await h.relay.store.listEvents({ transId: T }, 1)).items[0]!;
  const cmx = h.relay.feature(collectmaxx)!.store;
  const record = { IDENTIFICATION_IDENTIFIER: 'I', PERSON_FAMILYNAME: 'Muster', INVOICE_AMOUNT: '19.99' };
  const src = { merchantId: 'ShopTest', flowId: 'F100', ruleIndex: 0, format: 'csv' as const, queuedAt: 1 };
  await cmx.addExport({ ...src, identifier: 'A', eventId: ev.id, transId: T, record });
  // Its delivery file, already uploaded: the local copy in sent/ holds the person.
  const file = (await cmx.allocateFile({ day: '2026-12-04', clientNumber: '4711', format: 'csv', limit: 1, owner: 'me', now: 2, leaseMs: 1000 }))!;
  mkdirSync(join(dir, 'outbox', 'sent'), { recursive: true });
  const sent = join(dir, 'outbox', 'sent', file.name);
  writeFileSync(sent, deliveryBytes(file));
  t.ok(readFileSync(sent).includes('Muster'), 'planted in the file');
  // Found by TransID alone (an event retention already removed, say).
  await cmx.addExport({ ...src, identifier: 'B', eventId: 'evt_gone', transId: T, record, queuedAt: 3 });
  await cmx.addReject({ ...src, identifier: 'C', eventId: ev.id, transId: T, reasons: [{ field: 'PERSON_FAMILYNAME', code: 'required', message: 'm' }], record, createdAt: 1 });
  await cmx.addSeenStates([{ stateKey: 's', subjectKey: 'k', identifier: 'A', firstSeenAt: 1 }, { stateKey: 's2', subjectKey: 'k2', identifier: 'other', firstSeenAt: 1 }]);
  // Someone else's record stays.
  await cmx.addExport({ ...src, identifier: 'K', eventId: 'evt_k', transId: 'OTHER', record, queuedAt: 4 });

  const r = await h.relay.erasure.erase({ selector: { transId: T }, reason: 'ticket', actor: 'cli' });
  t.same(r.rows, { events: 1, callbacks: 1, attempts: 0, cmx_export_records: 2, cmx_rejects: 1, cmx_seen_states: 1, collectmaxx_files: 1, archive: 0 }, 'archive: the default directory, nothing in it yet');
  const after = readFileSync(sent, 'utf8');
  t.notOk(after.includes('Muster'), 'the local copy of the delivery file no longer names the person');
  t.match(after, /19\.99/, 'and keeps the amount');
  const db = (h.relay.store as SqliteStore).db;
  const rows = db.prepare('SELECT identifier, record, file_name FROM cmx_export_records ORDER BY identifier').all() as { identifier: string; record: string; file_name: string | null }[];
  t.same(rows.map((x) => [x.identifier, JSON.parse(x.record).PERSON_FAMILYNAME, x.file_name !== null]), [['A', '[erased]', true], ['K', 'Muster', false]],
    'B (not in a file) is gone; A (in a file) is redacted; K untouched');
  t.equal(JSON.parse((db.prepare(`SELECT record FROM cmx_rejects`).get() as { record: string }).record).PERSON_FAMILYNAME, '[erased]');
  t.same(db.prepare('SELECT identifier FROM cmx_seen_states').all(), [{ identifier: 'other' }]);
  t.equal((await h.relay.erasure.erase({ selector: { transId: T }, reason: 'again', actor: 'cli' })).total, 0, 'a repeat changes nothing');
});
