// The whole Collectmaxx loop over a real OpenSSH server: a simulated Paygate
// OC callback becomes a delivery record in a file on the SFTP server; a result
// file that Alphacomm drops there, reporting the record's PayLink as paid,
// comes back as a signed `paylink.paid` webhook carrying the original TransID.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCsv } from '../../src/collectmaxx/core/index.js';
import { baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { newSecret, startReceiver } from '../helpers/receiver.js';
import { startSshd } from '../helpers/sshd.js';
import { ep, metric, notify, until } from '../delivery/_lib.js';
import { GOOD, RULE } from './_relay.js';

const q = (v: string) => `"${v.replace(/"/g, '""')}"`;

t.test('OC callback → delivery file on SFTP → paylink.paid result on SFTP → webhook with the original TransID', async (t) => {
  const sshd = await startSshd(t);
  if (!sshd) return;
  const remoteIn = join(sshd.dir, 'upload');
  const remoteOut = join(sshd.dir, 'results');
  mkdirSync(remoteIn);
  mkdirSync(remoteOut);
  const dir = tmpDir(t);
  const outbox = join(dir, 'outbox');
  const inbox = join(dir, 'inbox');
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const h = await startRelay(t, baseConfig(dir, {
    endpoints: [ep('shop', rx.url, secret, { events: ['paylink.*'] })],
    collectmaxx: {
      export: { clientNumber: '4711', outboxDir: outbox, defaultCountryCode: '49', batch: { maxRecords: 100, maxDelayMs: 0 }, rules: [RULE] },
      import: { inboxDir: inbox },
      sftp: {
        host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256,
        uploadDir: remoteIn, resultsDir: remoteOut, pollIntervalMs: 10_000,
      },
    },
  }));

  const p = await notify(h.url, GOOD, 'OC');
  t.equal(p.status, 200);
  // The exporter cuts the file; cutting it triggers an upload without waiting for the poll.
  const name = await until('the delivery file on the SFTP server', () => readdirSync(remoteIn).find((f) => f.endsWith('.csv')), 10_000);
  t.match(name, /^\d{8}-4711-1\.csv$/, 'named YYYYMMDD-<client>-<n>.csv');
  t.same(readdirSync(remoteIn), [name], 'no temporary upload name left behind');
  const rows = readCsv(readFileSync(join(remoteIn, name)));
  const header = rows[0]!.cells.map((c) => c.value);
  const record = rows[1]!.cells.map((c) => c.value);
  const identifier = record[header.indexOf('IDENTIFICATION_IDENTIFIER')]!;
  t.equal(record[header.indexOf('INVOICE_REFERENCE')], p.transId, 'the record carries the TransID');
  // The rename on the server comes first, the local move right after it.
  t.ok(await until('the local copy in sent/', () => existsSync(join(outbox, 'sent', name)), 5000), 'the local copy moved to sent/ after the upload');
  t.notOk(existsSync(join(outbox, name)), 'and is no longer waiting in the outbox');

  // Alphacomm's daily result file, reporting the PayLink of that record as paid (v2 status name).
  const result = `${['IDENTIFICATION_IDENTIFIER', 'SMSRESULTS_PAYLINK_1_RESULT', 'SMSRESULTS_PAYLINK_1_TIME'].map(q).join(';')}\n${[identifier, 'paid', '2026-01-14T10:00:00+00:00'].map(q).join(';')}\n`;
  writeFileSync(join(remoteOut, 'result_20260114-acos1001.csv'), result);
  // The next SFTP cycle (the poll at the latest: 10 s, the shortest the config allows) fetches it; the inbox imports it.
  await rx.waitFor((r) => r.some((x) => x.event.type === 'paylink.paid'), 25_000);
  const paid = rx.received.find((x) => x.event.type === 'paylink.paid')!;
  t.ok(paid.verified, 'signed like every webhook');
  t.match(paid.event, { source: 'collectmaxx', merchantId: 'ShopTest', data: { identifier, transId: p.transId, origin: { merchantId: 'ShopTest', transId: p.transId } } });
  await until('the result file processed', () => existsSync(join(inbox, 'processed', 'result_20260114-acos1001.csv')), 5000);
  t.ok(existsSync(join(remoteOut, 'result_20260114-acos1001.csv')), 'the remote result file stays (deleteRemote is off)');
  t.ok(((await metric(h.url, 'paygate_relay_collectmaxx_sftp_files_total', { direction: 'upload' })) ?? 0) >= 1, 'uploads counted');
  t.ok(((await metric(h.url, 'paygate_relay_collectmaxx_sftp_files_total', { direction: 'download' })) ?? 0) >= 1, 'downloads counted');
});
