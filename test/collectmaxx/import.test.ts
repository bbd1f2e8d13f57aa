// Import end to end: a real relay (real SQLite file) exports a record for a
// simulated OC callback, then result files for that record come back through
// every channel (admin upload, watched inbox, CLI in a child process) and
// become signed webhooks to a real receiver on 127.0.0.1.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readCsv } from '../../src/collectmaxx/core/index.js';
import { ADMIN_TOKEN, baseConfig, startRelay, tmpDir, type Harness } from '../helpers/relay.js';
import { newSecret, startReceiver } from '../helpers/receiver.js';
import { api, ep, metric, notify, until } from '../delivery/_lib.js';
import { GOOD, RULE } from './_relay.js';

const run = promisify(execFile);

const q = (v: string) => `"${v.replace(/"/g, '""')}"`;
const csv = (rows: string[][]) => Buffer.from(`${rows.map((r) => r.map(q).join(';')).join('\n')}\n`);
const HEADER = ['IDENTIFICATION_IDENTIFIER', 'SMSRESULTS_SMS_1_NUMBER', 'SMSRESULTS_SMS_1_RESULT', 'SMSRESULTS_SMS_1_TIME', 'SMSRESULTS_PAYLINK_1_RESULT', 'SMSRESULTS_PAYLINK_1_TIME'];

async function upload(h: Harness, name: string, body: Buffer, how: 'query' | 'header' = 'query') {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/csv; charset=utf-8' };
  if (how === 'header') headers['content-disposition'] = `attachment; filename="${name}"`;
  const url = `${h.url}/admin/collectmaxx/results${how === 'query' ? `?name=${encodeURIComponent(name)}` : ''}`;
  const res = await fetch(url, { method: 'POST', headers, body: new Uint8Array(body) });
  return { status: res.status, json: (await res.json()) as any };
}

t.test('result files: events only for changes, original merchant + TransID, every channel', async (t) => {
  const dir = tmpDir(t);
  const outbox = join(dir, 'outbox');
  const inbox = join(dir, 'inbox');
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const raw = baseConfig(dir, {
    endpoints: [ep('shop', rx.url, secret, { events: ['paylink.*', 'reminder.*'] })],
    collectmaxx: {
      export: { clientNumber: '4711', outboxDir: outbox, defaultCountryCode: '49', batch: { maxRecords: 100, maxDelayMs: 0 }, rules: [RULE] },
      import: { inboxDir: inbox },
    },
  });
  const h = await startRelay(t, raw);

  const p = await notify(h.url, GOOD, 'OC');
  const oc = (await h.relay.store.listEvents({ payId: p.payId }, 1)).items[0]!;
  const file = await until('the delivery file', () => readdirSync(outbox).find((f) => f.endsWith('.csv')));
  const identifier = readCsv(readFileSync(join(outbox, file)))[1]!.cells[0]!.value;

  // Daily file: SMS delivered, PayLink paid (v2 name).
  const daily = csv([HEADER, [identifier, '491701234567', '1', '2026-01-14T09:00:05+00:00', 'paid', '2026-01-14T10:00:00+00:00']]);
  const d1 = await upload(h, 'result_20260114-acos1001.csv', daily);
  t.equal(d1.status, 200);
  t.match(d1.json, { status: 'imported', kind: 'daily', rows: 1, events: 2, unchanged: 0 });
  await rx.waitFor((r) => r.some((x) => x.event.type === 'paylink.paid') && r.some((x) => x.event.type === 'reminder.sms_result'));
  const paid = rx.received.find((x) => x.event.type === 'paylink.paid')!;
  t.ok(paid.verified, 'signed like every webhook');
  t.match(paid.event, {
    source: 'collectmaxx', merchantId: 'ShopTest',
    data: {
      identifier, transId: p.transId, origin: { merchantId: 'ShopTest', transId: p.transId, eventId: oc.id, flowId: 'F100' },
      channel: 'sms', status: 'paid', result: { name: 'paid', version: 'v2' }, file: { fileName: 'result_20260114-acos1001.csv', fileKind: 'daily', line: 2 },
    },
  });
  t.match(rx.received.find((x) => x.event.type === 'reminder.sms_result')!.event.data, { number: '491701234567', result: { code: 1, name: 'delivered' } });
  const deliveries = await h.relay.store.deliveriesOf(paid.event.id);
  t.same(deliveries.map((x) => x.endpointId), ['shop'], 'the collectmaxx exporter endpoint does not get result events');

  // Monthly file with the same states (the PayLink as its SMS v1 code 4 = paid): nothing new.
  const monthly = csv([HEADER, [identifier, '491701234567', '1', '2026-01-14T09:00:05+00:00', '4', '2026-01-31T23:00:00+00:00']]);
  const m = await upload(h, 'result_20260101_20260131-acos1001.csv', monthly, 'header');
  t.match(m.json, { status: 'imported', kind: 'monthly', events: 0, unchanged: 2 }, 'the same states again: no events (name via Content-Disposition)');
  // The same file again: skipped by name + content hash.
  t.match((await upload(h, 'result_20260114-acos1001.csv', daily)).json, { status: 'skipped', events: 0 });

  // Result files are far bigger than callbacks: the callback body limit (64 KiB) does not apply here.
  const big = Buffer.concat([csv([HEADER]), Buffer.alloc(200_000, '\n')]);
  t.match((await upload(h, 'result_20260113-acos1001.csv', big)).json, { status: 'imported', rows: 0, events: 0 }, 'a 200 KB upload is taken');

  // Malformed: the first error's line and column, nothing of the file imported (its first row is fine).
  const broken = Buffer.from(`${q('IDENTIFICATION_IDENTIFIER')};${q('SMSRESULTS_SMS_1_RESULT')}\n"${identifier}";"2"\n"other";"1"x\n`);
  const bad = await upload(h, 'result_20260115-acos1001.csv', broken);
  t.equal(bad.status, 422);
  t.equal(bad.json.error, 'malformed_result_file');
  t.match(bad.json.message, /^line 3, column 12: /);
  t.match(bad.json, { line: 3, column: 12 });
  t.equal((await h.relay.store.listEvents({ type: 'reminder.sms_result' }, 10)).items.length, 1, 'nothing from the malformed file was stored (its valid first row neither)');
  t.equal((await upload(h, 'notes.csv', daily)).status, 422, 'a name that is no result file name');
  const anonymous = await fetch(`${h.url}/admin/collectmaxx/results?name=result_20260114-acos1001.csv`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: new Uint8Array(daily) });
  t.equal(anonymous.status, 401, 'admin token required');
  const viewer = await fetch(`${h.url}/admin/collectmaxx/results?name=result_20260114-acos1001.csv`, { method: 'POST', headers: { 'content-type': 'text/csv', authorization: 'Bearer test-viewer-token-0123456789' }, body: new Uint8Array(daily) });
  t.equal(viewer.status, 403, 'an import changes state: operators only');

  // Inbox: a changed state (SMS now not delivered) and a malformed file.
  const changed = csv([HEADER, [identifier, '491701234567', '2', '2026-01-16T09:00:05+00:00', 'paid', '2026-01-16T10:00:00+00:00']]);
  writeFileSync(join(inbox, 'result_20260116-acos1001.csv'), changed);
  writeFileSync(join(inbox, 'result_20260117-acos1001.csv'), broken);
  await until('inbox files moved', () => existsSync(join(inbox, 'processed', 'result_20260116-acos1001.csv')) && existsSync(join(inbox, 'failed', 'result_20260117-acos1001.csv')), 10_000);
  t.match(readFileSync(join(inbox, 'failed', 'result_20260117-acos1001.csv.reason.txt'), 'utf8'), /^line 3, column 12: /);
  t.same(readdirSync(inbox).sort(), ['failed', 'processed'], 'nothing left in the inbox');
  await rx.waitFor((r) => r.filter((x) => x.event.type === 'reminder.sms_result').length === 2);
  const smsResults = rx.received.filter((x) => x.event.type === 'reminder.sms_result');
  t.equal(smsResults[1]!.event.data.result.name, 'not_delivered', 'only the changed state became an event');
  t.equal(rx.received.filter((x) => x.event.type === 'paylink.paid').length, 1, 'paylink.paid only once');

  // CLI in a child process against the same SQLite file; the running relay delivers what it stored.
  const cfgFile = join(dir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify(raw));
  mkdirSync(join(dir, 'cli'));
  const cliGood = join(dir, 'cli', 'result_20260118-acos1001.csv');
  writeFileSync(cliGood, csv([HEADER, [identifier, '491701234567', '1', '2026-01-18T09:00:05+00:00', 'paid', '2026-01-18T10:00:00+00:00']]));
  const cliBad = join(dir, 'cli', 'result_20260119-acos1001.csv');
  writeFileSync(cliBad, broken);
  const cli = await run(process.execPath, ['--import=tsx', '--import=./test/helpers/tsx-workers.mjs', 'src/cli.ts', 'collectmaxx', 'import', '--config', cfgFile, cliGood, cliBad], { cwd: process.cwd(), timeout: 30_000 })
    .then(() => ({ code: 0, stdout: '' }), (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }));
  t.equal(cli.code, 1, 'exit code 1 when a file failed');
  t.same(cli.stdout.trim().split('\n'), [
    'result_20260118-acos1001.csv: imported: 1 rows, 1 events, 1 unchanged',
    'result_20260119-acos1001.csv: failed: line 3, column 12: unexpected "x" after a closing quote (a quote inside a field must be doubled)',
  ]);
  await rx.waitFor((r) => r.filter((x) => x.event.type === 'reminder.sms_result').length === 3);
  t.equal(rx.received.filter((x) => x.event.type === 'reminder.sms_result')[2]!.event.data.file.fileName, 'result_20260118-acos1001.csv');

  const files = await api(h, 'GET', '/admin/collectmaxx/files');
  const byName = Object.fromEntries(files.json.imported.map((f: any) => [f.name, f]));
  t.match(byName['result_20260114-acos1001.csv'], { status: 'imported', events: 2 });
  t.match(byName['result_20260115-acos1001.csv'], { status: 'failed', reason: /^line 3, column 12/ });
  t.equal(files.json.delivery.length, 1);

  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_result_files_total', { result: 'imported' }), 4, 'daily, monthly, big, inbox (the CLI counts in its own process)');
  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_result_files_total', { result: 'skipped' }), 1);
  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_result_files_total', { result: 'failed' }), 3);
  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_result_events_total', { type: 'paylink.paid' }), 1);
  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_result_events_total', { type: 'reminder.sms_result' }), 2);
});

t.test('without collectmaxx configured the routes answer 404', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { delivery: false });
  const r = await api(h, 'GET', '/admin/collectmaxx/rejects');
  t.equal(r.status, 404);
  t.match(r.json, { error: 'not_found', detail: 'collectmaxx is not configured' });
});
