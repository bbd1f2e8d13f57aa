// Big result files: parsed on a worker thread and stored chunk by chunk, with the
// same outcome as one pass (a state once, file order per transaction, origins
// looked up when the identifier is not ours), and one size cap,
// collectmaxx.maxResultFileBytes, for every channel: the admin API answers 413,
// the inbox moves the file to failed/ unread, the CLI warns and imports.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildIdentifier } from '../../src/collectmaxx/core/identifier.js';
import { collectmaxx } from '../../src/collectmaxx/module.js';
import { ADMIN_TOKEN, baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { metric, until } from '../delivery/_lib.js';

const HEADER = ['IDENTIFICATION_IDENTIFIER', 'SMSRESULTS_SMS_1_NUMBER', 'SMSRESULTS_SMS_1_RESULT', 'SMSRESULTS_SMS_1_TIME', 'SMSRESULTS_PAYLINK_1_RESULT', 'SMSRESULTS_PAYLINK_1_TIME'];
const line = (cells: string[]) => `${cells.map((c) => `"${c}"`).join(';')}\n`;
const ours = (i: number) => buildIdentifier({ merchantId: 'ShopTest', transId: `BIG-${i}`, eventId: `evt_01JH0000000000000000${String(i).padStart(6, '0')}`, flowId: 'F100' });
const row = (identifier: string, i: number) => line([identifier, `49170${String(i).padStart(7, '0')}`, '1', '2026-01-14T09:00:05+00:00', 'paid', '2026-01-14T10:00:00+00:00']);

/** `n` rows of our own identifiers (two events each), a few foreign ones, and one row repeated. */
function bigFile(n: number): Buffer {
  const rows = [line(HEADER)];
  for (let i = 0; i < n; i++) rows.push(row(ours(i), i));
  for (let i = 0; i < 5; i++) rows.push(row(`foreign-${i}`, 900_000 + i));
  rows.push(row(ours(7), 7));
  return Buffer.from(rows.join(''), 'utf8');
}

t.test('a file of many chunks: every changed state once, file order per transaction, foreign identifiers looked up; again: nothing new', async (t) => {
  const dir = tmpDir(t);
  const h = await startRelay(t, baseConfig(dir, { collectmaxx: { import: { inboxDir: join(dir, 'inbox') } } }), { listen: false, delivery: false });
  const cmx = h.relay.feature(collectmaxx)!;
  const content = bigFile(700);
  const [first, second] = await Promise.all([
    cmx.importer.importFile('result_20260114-acos1001.csv', content, Date.now()),
    // The same content under another name, at the same time: imports run one after the other, so this finds every state seen.
    cmx.importer.importFile('result_20260101_20260131-acos1001.csv', content, Date.now()),
  ]);
  t.match(first, { status: 'imported', kind: 'daily', rows: 706, events: 1410, unchanged: 2 }, '705 distinct rows, two events each; the repeated row is one change');
  t.match(second, { status: 'imported', kind: 'monthly', rows: 706, events: 0, unchanged: 1412 }, 'the second saw every state of the first');
  const events = (h.relay.store as unknown as { db: { prepare(s: string): { all(...a: unknown[]): { trans_id: string | null; type: string; merchant_id: string | null }[] } } }).db
    .prepare(`SELECT trans_id, type, merchant_id FROM events WHERE source = 'collectmaxx' ORDER BY seq`).all();
  t.equal(events.length, 1410);
  const byTrans = new Map<string, string[]>();
  for (const e of events) if (e.trans_id) byTrans.set(e.trans_id, [...(byTrans.get(e.trans_id) ?? []), e.type]);
  t.equal(byTrans.size, 700, 'our identifiers give the original TransID');
  t.same(new Set([...byTrans.values()].map((x) => x.join(','))), new Set(['reminder.sms_result,paylink.paid']), 'per transaction in file order');
  t.equal(events.filter((e) => e.trans_id === null && e.merchant_id === null).length, 10, 'foreign identifiers: looked up, no origin found, events without a merchant');
});

t.test('one size cap: the admin API refuses, the inbox fails the file unread, the CLI warns and imports', async (t) => {
  const dir = tmpDir(t);
  const inbox = join(dir, 'inbox');
  const raw = baseConfig(dir, { collectmaxx: { import: { inboxDir: inbox }, maxResultFileBytes: 65_536 } });
  const h = await startRelay(t, raw);
  const big = bigFile(450);
  t.ok(big.length > 65_536, `${big.length} bytes`);
  const small = bigFile(3);

  const post = (name: string, body: Buffer) => fetch(`${h.url}/admin/collectmaxx/results?name=${name}`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/csv' }, body: new Uint8Array(body),
  });
  const refused = await post('result_20260114-acos1001.csv', big);
  t.equal(refused.status, 413, 'admin API: over the cap, 413');
  t.match(await refused.json(), { error: 'body_too_large' });
  t.equal((await post('result_20260115-acos1001.csv', small)).status, 200, 'under it, imported');

  writeFileSync(join(inbox, 'result_20260116-acos1001.csv'), big);
  await until('the big file moved', () => existsSync(join(inbox, 'failed', 'result_20260116-acos1001.csv')), 10_000);
  t.match(readFileSync(join(inbox, 'failed', 'result_20260116-acos1001.csv.reason.txt'), 'utf8'), `has ${big.length} bytes, over collectmaxx.maxResultFileBytes (65536)`, 'inbox: failed/ with the reason');
  t.same(readdirSync(inbox).sort(), ['failed', 'processed']);
  t.equal(await metric(h.url, 'paygate_relay_collectmaxx_result_files_total', { result: 'failed' }), 1, 'counted as a failed file');
  t.ok(h.logs.some((l) => l.includes('over the size cap')), 'and logged');

  const cfgFile = join(dir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify(raw));
  const file = join(dir, 'result_20260117-acos1001.csv');
  writeFileSync(file, big);
  const cli = await promisify(execFile)(process.execPath, ['--import=tsx', '--import=./test/helpers/tsx-workers.mjs', 'src/cli.ts', 'collectmaxx', 'import', '--config', cfgFile, file], { cwd: process.cwd(), timeout: 60_000 });
  t.match(cli.stderr, `result_20260117-acos1001.csv: warning: ${big.length} bytes, over collectmaxx.maxResultFileBytes (65536); importing anyway`, 'CLI: a warning');
  t.match(cli.stdout, 'result_20260117-acos1001.csv: imported: 456 rows, 892 events, 20 unchanged', 'and the file imported (the states of the small file known)');
});
