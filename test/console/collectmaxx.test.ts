// The console's Collectmaxx page over real HTTP against a real relay (real SQLite file, the real
// exporter behind its outbox endpoint): rejects with every reason, delivery files, result files
// imported from the page through the same Importer as the admin API, roles, CSRF and escaping.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCsv } from '../../src/collectmaxx/core/index.js';
import { collectmaxx } from '../../src/collectmaxx/module.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { notify, until } from '../delivery/_lib.js';
import { GOOD, RULE } from '../collectmaxx/_relay.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const setCookie = (res: Response, name: string) => new RegExp(`(?:^|\\n)${name}=([^;]*)`).exec(res.headers.getSetCookie().join('\n'))?.[1];

interface Page { status: number; body: string; location: string | null }

/** A browser-like session over a real socket: the real login form, the cookie, the page's CSRF token. */
async function session(base: string, token: string) {
  const form = await fetch(`${base}/console/login`);
  const nonce = setCookie(form, 'pgr_login')!;
  const hidden = /name="_login" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${base}/console/login`, {
    method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: `pgr_login=${nonce}` },
    body: new URLSearchParams({ _login: hidden, token, next: '/console' }).toString(),
  });
  if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
  const cookie = `pgr_console=${setCookie(res, 'pgr_console')}`;
  const read = async (r: Response): Promise<Page> => ({ status: r.status, body: await r.text(), location: r.headers.get('location') });
  const get = async (path: string) => read(await fetch(`${base}${path}`, { redirect: 'manual', headers: { cookie } }));
  const csrf = /name="_csrf" value="([^"]+)"/.exec((await get('/console')).body)![1]!;
  const post = async (path: string, fields: Record<string, string>, opts: { csrf?: boolean } = {}) =>
    read(await fetch(`${base}${path}`, {
      method: 'POST', redirect: 'manual', headers: { ...FORM, cookie },
      body: new URLSearchParams(opts.csrf === false ? fields : { _csrf: csrf, ...fields }).toString(),
    }));
  return { get, post, csrf };
}

/** The markup of one table (by data-testid), so an assertion cannot be satisfied by another part of the page. */
const table = (html: string, id: string) => {
  const start = html.indexOf(`data-testid="${id}"`);
  if (start < 0) return '';
  return html.slice(start, html.indexOf('</table>', start));
};
const rows = (html: string, id: string) => (html.match(new RegExp(`data-testid="${id}"`, 'g')) ?? []).length;

const q = (v: string) => `"${v.replace(/"/g, '""')}"`;
// Browsers send a textarea's line breaks as CRLF: the tests paste what a browser would send.
const pasted = (lines: string[][]) => `${lines.map((r) => r.map(q).join(';')).join('\r\n')}\r\n`;
const HEADER = ['IDENTIFICATION_IDENTIFIER', 'SMSRESULTS_SMS_1_NUMBER', 'SMSRESULTS_SMS_1_RESULT', 'SMSRESULTS_SMS_1_TIME', 'SMSRESULTS_PAYLINK_1_RESULT', 'SMSRESULTS_PAYLINK_1_TIME'];
const XSS = '<img src=x onerror=alert(1)>';

t.test('collectmaxx page: rejects with every reason, delivery files, imports from the page', async (t) => {
  const dir = tmpDir(t);
  const outbox = join(dir, 'outbox');
  const h = await startRelay(t, baseConfig(dir, {
    collectmaxx: { export: { clientNumber: '4711', outboxDir: outbox, defaultCountryCode: '49', batch: { maxRecords: 100, maxDelayMs: 0 }, rules: [RULE] } },
  }));
  const cmx = h.relay.feature(collectmaxx)!;
  const op = await session(h.url, ADMIN_TOKEN);

  const empty = await op.get('/console/collectmaxx');
  t.equal(empty.status, 200);
  t.match(empty.body, 'No rejected records: every exported record so far was valid.', 'empty states say so');
  t.match(empty.body, 'No delivery files yet.');
  t.match(empty.body, 'No result files imported yet.');
  t.match((await op.get('/console')).body, /<nav>.*href="\/console\/collectmaxx"/s, 'configured: the page is in the navigation');

  // One valid record (a delivery file) and one with two bad values, one of them markup.
  await notify(h.url, GOOD, 'OC');
  const bad = await notify(h.url, { ...GOOD, refNr: 'RE-2', custom: { ...GOOD.custom, email: XSS, gender: 'X' } }, 'OC');
  const badEvent = (await h.relay.store.listEvents({ payId: bad.payId }, 1)).items[0]!;
  await until('the reject', async () => (await cmx.store.listRejects(10)).items.length === 1);
  await until('the delivery file written', async () => (await cmx.store.listDeliveryFiles(10)).some((f) => f.writtenAt !== null));
  const file = readdirSync(outbox).find((f) => f.endsWith('.csv'))!;
  const identifier = readCsv(readFileSync(join(outbox, file)))[1]!.cells[0]!.value;

  const page = (await op.get('/console/collectmaxx')).body;
  const rejects = table(page, 'rejects');
  t.equal(rows(rejects, 'reject-row'), 1, 'the rejected record is listed');
  t.match(rejects, `href="/console/events/${badEvent.id}"`, 'linked to its event page');
  t.match(rejects, 'F100', 'with its flow id');
  t.match(rejects, `pgr1.ShopTest.${bad.transId}.`, 'and its identifier');
  t.equal(rows(rejects, 'reject-reason'), 2, 'every reason');
  t.match(rejects, /CONTACT_EMAIL_1<\/span> <span class="badge bad">email<\/span> not an email address/);
  t.match(rejects, /PERSON_GENDER<\/span> <span class="badge bad">gender<\/span> must be M, F or U \(given <code>X<\/code>\)/);
  t.match(rejects, '(given <code>&lt;img src=x onerror=alert(1)&gt;</code>)', 'the bad value is shown as text');
  t.notMatch(page, '<img', 'no markup from the callback reaches the page');
  t.equal(rows(rejects, 'reject-resolved'), 0, 'not exported yet');
  // The data was fixed at the source and the record exported under the same identifier: the row says so.
  const rejected = (await cmx.store.listRejects(1)).items[0]!;
  await cmx.store.addExport({
    identifier: rejected.identifier, eventId: rejected.eventId, merchantId: rejected.merchantId, transId: rejected.transId, flowId: rejected.flowId,
    ruleIndex: 0, format: 'csv', record: { IDENTIFICATION_IDENTIFIER: rejected.identifier, CONTROL_FLOWID: 'F100' }, queuedAt: Date.now(),
  });
  t.equal(rows(table((await op.get('/console/collectmaxx')).body, 'rejects'), 'reject-resolved'), 1, 'a reject exported since is marked');
  const delivery = table(page, 'delivery-files');
  t.equal(rows(delivery, 'delivery-row'), 1);
  t.match(delivery, new RegExp(`${file}</td><td>csv</td><td class="num">1</td><td class="mono"><time`), 'name, format, one record, written at');

  // Import from the page: a result file for the exported record.
  const name = 'result_20260114-acos1001.csv';
  const daily = pasted([HEADER, [identifier, '491701234567', '1', '2026-01-14T09:00:05+00:00', 'paid', '2026-01-14T10:00:00+00:00']]);
  const up = await op.post('/console/collectmaxx/import', { name, content: daily });
  t.equal(up.status, 303, 'POST → redirect → page');
  const after = await op.get(up.location!);
  t.match(after.body, `Imported ${name}: 2 new events from 1 row.`, 'the outcome is shown');
  t.match(table(after.body, 'imports'), new RegExp(`${name}</td><td><span class="badge ok">imported</span></td><td></td><td class="num">2</td>`), 'and the file is listed');
  t.equal((await h.relay.store.listEvents({ type: 'paylink.paid' }, 10)).items.length, 1, 'its events were stored');

  const again = await op.post('/console/collectmaxx/import', { name, content: daily });
  t.match((await op.get(again.location!)).body, `${name} was imported before with the same content`, 'the same file again: skipped');
  t.notMatch((await op.get(`/console/collectmaxx?msg=imported&file=${name}&sha=${'0'.repeat(64)}`)).body, 'data-testid="flash"', 'a crafted link shows no made-up outcome');

  // Malformed: refused as a whole with line and column, the form comes back filled in.
  const broken = `${q('IDENTIFICATION_IDENTIFIER')};${q('SMSRESULTS_SMS_1_RESULT')}\r\n"${identifier}";"2"\r\n"other";"1"x\r\n`;
  const failed = await op.post('/console/collectmaxx/import', { name: 'result_20260115-acos1001.csv', content: broken });
  t.equal(failed.status, 422);
  t.match(failed.body, 'Not imported: result_20260115-acos1001.csv, line 3, column 12: unexpected &quot;x&quot; after a closing quote', 'line and column of the first error');
  t.match(failed.body, '&quot;other&quot;;&quot;1&quot;x', 'what was pasted is still in the form');
  t.match(table(failed.body, 'imports'), /result_20260115-acos1001.csv<\/td><td><span class="badge bad">failed<\/span><\/td><td>line 3, column 12: /, 'listed as failed with its reason');
  t.equal((await h.relay.store.listEvents({ type: 'reminder.sms_result' }, 10)).items.length, 1, 'nothing from the malformed file was stored');

  // A result file's name is input too: shown as text in the message and in the list.
  const hostile = `result_${XSS}.csv`;
  const odd = await op.post('/console/collectmaxx/import', { name: hostile, content: daily });
  t.equal(odd.status, 422);
  t.match(odd.body, 'is not a Collectmaxx result file name');
  const listed = (await op.get('/console/collectmaxx')).body;
  t.match(table(listed, 'imports'), `result_&lt;img src=x onerror=alert(1)&gt;.csv</td><td><span class="badge bad">failed`);
  t.notMatch(listed, '<img');
  t.notMatch(odd.body, '<img');

  const missing = await op.post('/console/collectmaxx/import', { name, content: '  ' });
  t.equal(missing.status, 400);
  t.match(missing.body, 'Paste the content of the result file.');
  t.equal((await op.post('/console/collectmaxx/import', { name: '../result_20260114-acos1001.csv', content: daily })).status, 400, 'a path is no file name');
  t.equal((await cmx.store.listImports(50)).length, 3, 'refused forms record nothing');

  // Paging with the store's cursor: 50 more rejects, newest first.
  for (let i = 0; i < 50; i++) {
    await cmx.store.addReject({
      identifier: `pgr1.paging.${i}`, eventId: `evt_paging_${i}`, merchantId: 'ShopTest', transId: `T${i}`, flowId: 'F100', ruleIndex: 0,
      reasons: [{ field: 'PERSON_GENDER', code: 'gender', message: 'must be M, F or U' }], record: { PERSON_GENDER: 'X' }, createdAt: Date.now() + i,
    });
  }
  const first = (await op.get('/console/collectmaxx')).body;
  t.equal(rows(first, 'reject-row'), 50, 'a page of 50');
  t.ok(first.indexOf('evt_paging_49') < first.indexOf('evt_paging_48'), 'newest first');
  t.notMatch(first, badEvent.id, 'the oldest is not on the first page');
  const older = /data-testid="rejects-older" href="([^"]+)"|href="([^"]+)" data-testid="rejects-older"/.exec(first);
  const next = (older?.[1] ?? older?.[2] ?? '').replace(/&amp;/g, '&');
  t.match(next, /^\/console\/collectmaxx\?cursor=/);
  const second = (await op.get(next)).body;
  t.equal(rows(second, 'reject-row'), 1);
  t.match(second, badEvent.id, 'the oldest on the next page');
  t.match(second, 'end of list');
  const stale = await op.get('/console/collectmaxx?cursor=not-a-cursor');
  t.equal(stale.status, 200);
  t.match(stale.body, 'That page link is not valid any more');
});

t.test('viewers read the page but cannot import; every import needs the CSRF token', async (t) => {
  const dir = tmpDir(t);
  const h = await startRelay(t, baseConfig(dir, { collectmaxx: { import: { inboxDir: join(dir, 'inbox') } } }), { delivery: false });
  const cmx = h.relay.feature(collectmaxx)!;
  const viewer = await session(h.url, VIEWER_TOKEN);
  const op = await session(h.url, ADMIN_TOKEN);
  const content = pasted([['IDENTIFICATION_IDENTIFIER', 'SMSRESULTS_SMS_1_RESULT'], ['x1', '1']]);

  const page = await viewer.get('/console/collectmaxx');
  t.equal(page.status, 200);
  t.notMatch(page.body, 'data-testid="import-form"', 'no import form for a viewer');
  t.match(page.body, 'Importing result files is for operators.');
  t.match(page.body, 'Export is not configured (collectmaxx.export)', 'import-only setup: the delivery list says why it is empty');
  const refused = await viewer.post('/console/collectmaxx/import', { name: 'result_20260114-acos1001.csv', content });
  t.equal(refused.status, 403, 'a viewer POST is refused');
  t.equal((await op.post('/console/collectmaxx/import', { name: 'result_20260114-acos1001.csv', content }, { csrf: false })).status, 403, 'no CSRF token: refused');
  t.equal((await op.post('/console/collectmaxx/import', { name: 'result_20260114-acos1001.csv', content, _csrf: viewer.csrf })).status, 403, "another session's token: refused");
  t.same(await cmx.store.listImports(10), [], 'nothing was imported');
  t.match((await op.get('/console/collectmaxx')).body, 'data-testid="import-form"', 'operators get the form');
  t.equal((await op.post('/console/collectmaxx/import', { name: 'result_20260114-acos1001.csv', content })).status, 303, 'and the same file imports for them');
});

t.test('without collectmaxx configured there is no page and no link', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { delivery: false });
  const op = await session(h.url, ADMIN_TOKEN);
  const overview = await op.get('/console');
  t.equal(overview.status, 200);
  t.notMatch(overview.body, '/console/collectmaxx', 'no navigation link');
  t.match(overview.body, /<nav>.*href="\/console\/endpoints"/s, 'the other links are there');
  t.equal((await op.get('/console/collectmaxx')).status, 404);
});
