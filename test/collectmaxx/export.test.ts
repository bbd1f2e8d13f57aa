// Export end to end: a real relay (real SQLite file, real socket) gets
// simulated Paygate OC callbacks; the `collectmaxx` outbox endpoint turns them
// into records, the flush loop writes delivery files into a real directory.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays, buildIdentifier, readCsv, writeDeliveryCsv } from '../../src/collectmaxx/core/index.js';
import { collectmaxx } from '../../src/collectmaxx/module.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { api, metric, notify, until } from '../delivery/_lib.js';
import { baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { GOOD, RULE } from './_relay.js';

const today = () => new Date().toISOString().slice(0, 10);
const files = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.') && /\.(csv|xml)$/.test(f)).sort((a, b) => Number(a.split('-')[2]!.split('.')[0]) - Number(b.split('-')[2]!.split('.')[0]));
const identifiersIn = (dir: string, name: string) => readCsv(readFileSync(join(dir, name))).slice(1).map((r) => r.cells[0]!.value);

t.test('OC callbacks become delivery files; full files split; invalid events are rejected with every reason', async (t) => {
  const dir = tmpDir(t);
  const outbox = join(dir, 'outbox');
  const h = await startRelay(t, baseConfig(dir, {
    collectmaxx: { export: { clientNumber: '4711', outboxDir: outbox, defaultCountryCode: '49', batch: { maxRecords: 3, maxDelayMs: 1500 }, rules: [RULE] } },
  }));

  // One record: written once it waited maxDelayMs.
  const p = await notify(h.url, GOOD, 'OC');
  t.equal(p.status, 200);
  const stored = (await h.relay.store.listEvents({ payId: p.payId }, 1)).items[0]!;
  const first = await until('the first delivery file', () => files(outbox).length === 1 && files(outbox));
  const day = today().replaceAll('-', '');
  t.same(first, [`${day}-4711-1.csv`], 'YYYYMMDD-<client>-<n>.csv');
  const expected = {
    IDENTIFICATION_IDENTIFIER: buildIdentifier({ merchantId: 'ShopTest', transId: p.transId, eventId: stored.id, flowId: 'F100' }),
    PERSON_FAMILYNAME: 'Mustermann', PERSON_GENDER: 'F', CONTACT_PHONENUMBER_1: '491701234567', CONTACT_EMAIL_1: 'erika@example.de',
    INVOICE_NUMBER: 'RE-1', INVOICE_DATE: '2026-01-14', INVOICE_DUEDATE: addDays(today(), 14), INVOICE_CURRENCY: 'EUR', INVOICE_AMOUNT: '1999',
    INVOICE_DESCRIPTION: 'Rechnung RE-1', INVOICE_REFERENCE: p.transId, CONTROL_FLOWID: 'F100',
  };
  t.ok(readFileSync(join(outbox, first[0]!)).equals(writeDeliveryCsv([expected])), 'the file is byte for byte the writer\'s output for the expected record');

  // Redelivering the event to the exporter must not make a second record.
  const again = await api(h, 'POST', `/admin/events/${stored.id}/redeliver?endpoint=collectmaxx`);
  t.same(again.json.scheduled, ['collectmaxx']);
  await until('redelivery done', async () => (await api(h, 'GET', `/admin/events/${stored.id}`)).json.deliveries.find((d: any) => d.endpointId === 'collectmaxx').attemptLog.length === 2);

  // Five more: one full file of three at once, the other two after the delay.
  const posted = [];
  for (let i = 0; i < 5; i++) posted.push(await notify(h.url, GOOD, 'OC'));
  const all = await until('two more files', () => files(outbox).length === 3 && files(outbox), 10_000);
  t.same(all, [1, 2, 3].map((n) => `${day}-4711-${n}.csv`), 'increasing names, never reused');
  t.equal(identifiersIn(outbox, all[1]!).length, 3, 'a full file has maxRecords records');
  t.equal(identifiersIn(outbox, all[2]!).length, 2, 'the rest follows after maxDelayMs');
  const exported = all.flatMap((f) => identifiersIn(outbox, f));
  t.equal(exported.length, 6, 'six events, six records: the redelivery added none');
  for (const q of posted) t.ok(exported.some((id) => id.startsWith(`pgr1.ShopTest.${q.transId}.`)), `${q.transId} exported`);

  // Invalid: no phone (SMS needs one), gender X, no amount.
  const bad = await notify(h.url, { refNr: 'RE-9', extra: { Currency: 'EUR' }, custom: { ...GOOD.custom, phone: '', gender: 'X' } }, 'OC');
  const rejects = await until('the reject', async () => {
    const r = await api(h, 'GET', '/admin/collectmaxx/rejects');
    return r.json.items.length === 1 && r.json.items;
  });
  t.equal(rejects[0].transId, bad.transId);
  t.same(rejects[0].reasons.map((r: any) => `${r.field}:${r.code}`).sort(), ['CONTACT_PHONENUMBER_x:required', 'INVOICE_AMOUNT:required', 'PERSON_GENDER:gender']);
  t.match(rejects[0].reasons.find((r: any) => r.field === 'INVOICE_AMOUNT').message, /no value for \{fields\.amount\}/, 'says which placeholder was empty');
  t.equal(rejects[0].record.PERSON_GENDER, 'X', 'the reject shows what was given');
  const viewer = await api(h, 'GET', '/admin/collectmaxx/rejects', { token: 'test-viewer-token-0123456789' });
  t.equal(viewer.status, 200, 'viewers may read rejects');
  t.equal((await api(h, 'GET', '/admin/collectmaxx/rejects', { token: null })).status, 401);
  await new Promise((r) => setTimeout(r, 1700));
  t.equal(files(outbox).length, 3, 'no file for the rejected record');
  t.same((await h.relay.feature(collectmaxx)!.store.pendingSummary()).count, 0);

  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_rejects_total', { reason: 'required' }), 1, 'a reject counts once per distinct reason code');
  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_rejects_total', { reason: 'gender' }), 1);
  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_records_exported_total', {}), 6);
  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_files_written_total', {}), 3);

  const listed = await api(h, 'GET', '/admin/collectmaxx/files');
  t.same(listed.json.delivery.map((f: any) => [f.name, f.records]), [[all[2], 2], [all[1], 3], [all[0], 1]]);
  t.ok(listed.json.delivery.every((f: any) => typeof f.writtenAt === 'string'));
});

t.test('a file allocated before a crash is completed on start: rewritten when missing, only marked when renamed', async (t) => {
  const dir = tmpDir(t);
  const outbox = join(dir, 'outbox');
  const raw = baseConfig(dir, { collectmaxx: { export: { clientNumber: '4711', outboxDir: outbox, format: 'xml', batch: { maxRecords: 10, maxDelayMs: 0 }, rules: [RULE] } } });
  // First life: records allocated into two files, then the process "dies" before writing either.
  const h1 = await startRelay(t, raw, { delivery: false });
  const cmx = h1.relay.feature(collectmaxx)!.store;
  for (let i = 0; i < 5; i++) {
    await cmx.addExport({ identifier: `id-${i}`, eventId: `e${i}`, merchantId: 'ShopTest', transId: `T${i}`, flowId: 'F100', ruleIndex: 0, format: 'xml', record: { IDENTIFICATION_IDENTIFIER: `id-${i}`, CONTROL_FLOWID: 'F100' }, queuedAt: i });
  }
  const a = await cmx.allocateFile({ day: '2026-01-15', clientNumber: '4711', format: 'xml', limit: 2, owner: 'dead', now: Date.now(), leaseMs: 60_000 });
  const b = await cmx.allocateFile({ day: '2026-01-15', clientNumber: '4711', format: 'xml', limit: 2, owner: 'dead', now: Date.now(), leaseMs: 60_000 });
  const c = await cmx.allocateFile({ day: '2026-01-15', clientNumber: '4711', format: 'xml', limit: 2, owner: 'dead', now: Date.now(), leaseMs: 60_000 });
  // File b got as far as the rename (with a marker the rewrite would not produce); file c was
  // even uploaded by SFTP (moved to sent/) before the crash.
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(outbox, 'sent'), { recursive: true });
  writeFileSync(join(outbox, b!.name), 'renamed before the crash');
  writeFileSync(join(outbox, 'sent', c!.name), 'uploaded before the crash');
  await h1.close();

  const h2 = await startRelay(t, raw);
  await until('all three files marked written', async () => {
    const rows = await h2.relay.feature(collectmaxx)!.store.listDeliveryFiles(10);
    return rows.length === 3 && rows.every((f) => f.writtenAt !== null);
  });
  const { writeDeliveryXml } = await import('../../src/collectmaxx/core/index.js');
  t.ok(readFileSync(join(outbox, a!.name)).equals(writeDeliveryXml(a!.records.map((r) => r.record))), 'the missing file is written from the same records');
  t.equal(readFileSync(join(outbox, b!.name), 'utf8'), 'renamed before the crash', 'a renamed file is left as it is (it may be uploading)');
  t.same(files(outbox), [a!.name, b!.name], 'the uploaded one is not written again (it would go up twice)');
  t.same(readdirSync(outbox).filter((f) => f.startsWith('.')), [], 'no temp files left');
  t.equal(readFileSync(join(outbox, 'sent', c!.name), 'utf8'), 'uploaded before the crash');
});

t.test('config: the endpoint id collectmaxx is reserved; rule merchants must exist', async (t) => {
  const dir = tmpDir(t);
  const error = (raw: Record<string, unknown>) => {
    try {
      parseConfig(raw, {});
    } catch (err) {
      return err instanceof ConfigError ? err.message : `not a ConfigError: ${String(err)}`;
    }
    return 'accepted';
  };
  t.match(error(baseConfig(dir, { endpoints: [{ id: 'collectmaxx', url: 'http://127.0.0.1:1/x', secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` }] })),
    /endpoints\[0\]\.id.*reserved/);
  t.match(error(baseConfig(dir, { collectmaxx: { export: { clientNumber: '1', outboxDir: dir, rules: [{ ...RULE, merchants: ['Nope'] }] } } })),
    /collectmaxx\.export\.rules\[0\]\.merchants\[0\].*unknown merchant Nope/);
  const example = loadConfig(new URL('../../config/collectmaxx.example.json', import.meta.url).pathname);
  t.match(example.collectmaxx, { export: { clientNumber: '4711', rules: [{ on: 'open_position.created', services: ['sms', 'paylink'] }] }, import: { inboxDir: String } }, 'config/collectmaxx.example.json is valid');
});
