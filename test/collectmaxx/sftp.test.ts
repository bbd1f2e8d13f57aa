// The SFTP transport against a real OpenSSH server (test/helpers/sshd.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { sftpConfigSchema, type SftpConfig } from '../../src/collectmaxx/core/config.js';
import { nextDelayMs, SftpSync, type SftpSyncOptions, type SyncReport } from '../../src/collectmaxx/sftp.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const started = await startSshd(t);
const sshd = started as Sshd; // undefined only when sshd is missing: every test below is then skipped
const local = mkdtempSync(join(tmpdir(), 'relay-sftp-local-'));
t.teardown(() => execFileSync('rm', ['-rf', local]));

let caseNo = 0;

interface Case {
  outbox: string;
  upload: string;
  results: string;
  config: SftpConfig;
  logs: string[];
  delivered: Map<string, Buffer>;
  sync(extra?: Partial<SftpSyncOptions>): SftpSync;
}

/** Fresh local outbox and remote directories, config parsed by the real schema. */
function setup(overrides: Record<string, unknown> = {}): Case {
  caseNo += 1;
  const outbox = join(local, `outbox-${caseNo}`);
  const upload = join(sshd.dir, `upload-${caseNo}`);
  const results = join(sshd.dir, `results-${caseNo}`);
  for (const d of [outbox, upload, results]) mkdirSync(d, { recursive: true });
  const config = sftpConfigSchema.parse({
    host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKey: sshd.privateKey,
    hostKeySha256: sshd.hostKeySha256, uploadDir: upload, resultsDir: results, ...overrides,
  });
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } }));
  const delivered = new Map<string, Buffer>();
  const sync = (extra: Partial<SftpSyncOptions> = {}) => new SftpSync({
    config, outboxDir: outbox, logger, maxResultFileBytes: 16 * 1024 * 1024,
    isKnown: async (name) => delivered.has(name),
    deliver: async (name, content) => { delivered.set(name, content); },
    ...extra,
  });
  return { outbox, upload, results, config, logs, delivered, sync };
}

const ls = (dir: string) => readdirSync(dir).sort();

t.test('uploads finished files under their final names, oldest first, and moves them to sent/', async (t) => {
  const c = setup();
  const a = Buffer.from('"IDENTIFICATION_IDENTIFIER";"CONTROL_FLOWID"\n"x-1";"F1"\n');
  const b = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<records>\u00e4</records>\n');
  writeFileSync(join(c.outbox, '20260115-4711-10.xml'), b);
  writeFileSync(join(c.outbox, '20260115-4711-2.csv'), a);
  writeFileSync(join(c.outbox, '.20260115-4711-11.csv.tmp'), 'half written');
  writeFileSync(join(c.outbox, 'notes.txt'), 'not a delivery');
  mkdirSync(join(c.outbox, 'old.csv'));
  const r = await c.sync().runOnce();
  t.same(r, { uploaded: ['20260115-4711-2.csv', '20260115-4711-10.xml'], downloaded: [], error: null }, 'sequence 2 before 10');
  t.same(ls(c.upload), ['20260115-4711-10.xml', '20260115-4711-2.csv'], 'only final names on the server, no temp files');
  t.ok(readFileSync(join(c.upload, '20260115-4711-2.csv')).equals(a), 'csv bytes identical');
  t.ok(readFileSync(join(c.upload, '20260115-4711-10.xml')).equals(b), 'xml bytes identical');
  t.same(ls(join(c.outbox, 'sent')), ['20260115-4711-10.xml', '20260115-4711-2.csv']);
  t.same(ls(c.outbox), ['.20260115-4711-11.csv.tmp', 'notes.txt', 'old.csv', 'sent'], 'temp file, other files and dirs untouched');
  const again = await c.sync().runOnce();
  t.same(again, { uploaded: [], downloaded: [], error: null }, 'nothing left to send');
});

t.test('fetches new result files, ignores other names, skips known ones, keeps remote files by default', async (t) => {
  const c = setup();
  const files: Record<string, string> = {
    'result_20260114-acos1001.csv': 'IDENTIFIER;STATUS\nx-1;5\n',
    'result_20251201_20251231-acos1001.csv': 'IDENTIFIER;STATUS\nx-2;6\n',
    'result_20260113_20260114_paylink.csv': 'id;url\nu;v\n',
    'result_20260112-acos1001.csv': '',
    'readme.txt': 'hello',
    'result_garbage.csv': 'x',
    '.result_20260110-acos1001.csv.part': 'y',
  };
  for (const [n, body] of Object.entries(files)) writeFileSync(join(c.results, n), body);
  mkdirSync(join(c.results, 'result_20260111-acos1001.csv'));
  c.delivered.set('result_20260113_20260114_paylink.csv', Buffer.from('imported earlier'));
  const r = await c.sync().runOnce();
  t.equal(r.error, null);
  t.same([...r.downloaded].sort(), ['result_20251201_20251231-acos1001.csv', 'result_20260112-acos1001.csv', 'result_20260114-acos1001.csv']);
  for (const n of r.downloaded) t.equal(c.delivered.get(n)?.toString('utf8'), files[n], `${n} content`);
  t.equal(c.delivered.get('result_20260113_20260114_paylink.csv')?.toString(), 'imported earlier', 'known file not fetched again');
  t.same(ls(c.results), [...Object.keys(files), 'result_20260111-acos1001.csv'].sort(), 'deleteRemote false: server untouched');
  const again = await c.sync().runOnce();
  t.same(again.downloaded, [], 'second cycle: all known');
});

t.test('deleteRemote removes a result file only after deliver succeeded', async (t) => {
  const c = setup({ deleteRemote: true });
  writeFileSync(join(c.results, 'result_20260114-acos1001.csv'), 'a\n');
  writeFileSync(join(c.results, 'result_20260115-acos1001.csv'), 'b\n');
  writeFileSync(join(c.results, 'other.csv'), 'c\n');
  let refuse = true;
  const sync = c.sync({
    deliver: async (name, content) => {
      if (refuse && name === 'result_20260115-acos1001.csv') throw new Error('inbox disk full');
      c.delivered.set(name, content);
    },
  });
  const r1 = await sync.runOnce();
  t.same(r1.downloaded, ['result_20260114-acos1001.csv']);
  t.equal(r1.error, 'deliver_failed');
  t.same(ls(c.results), ['other.csv', 'result_20260115-acos1001.csv'], 'delivered file deleted, refused one kept');
  refuse = false;
  const r2 = await sync.runOnce();
  t.same(r2, { uploaded: [], downloaded: ['result_20260115-acos1001.csv'], error: null }, 'retried next cycle');
  t.same(ls(c.results), ['other.csv'], 'non-result file never deleted');
});

t.test('a result file over collectmaxx.maxResultFileBytes is not downloaded: the cycle says so and the file stays on the server', async (t) => {
  const c = setup({ deleteRemote: true });
  writeFileSync(join(c.results, 'result_20260114-acos1001.csv'), 'a\n'.repeat(100));
  writeFileSync(join(c.results, 'result_20260115-acos1001.csv'), 'b\n');
  const r = await c.sync({ maxResultFileBytes: 100 }).runOnce();
  t.same(r, { uploaded: [], downloaded: ['result_20260115-acos1001.csv'], error: 'result_too_large' });
  t.same([...c.delivered.keys()], ['result_20260115-acos1001.csv'], 'only the small one was handed over');
  t.same(ls(c.results), ['result_20260114-acos1001.csv'], 'the big one is left on the server, not deleted');
  t.match(c.logs.join(''), /result_20260114-acos1001\.csv has 200 bytes, over collectmaxx\.maxResultFileBytes \(100\)/);
});

t.test('a wrong host key fingerprint refuses the server: nothing sent, the file stays', async (t) => {
  const other = 'SHA256:' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '');
  const c = setup({ hostKeySha256: other });
  writeFileSync(join(c.outbox, '20260115-4711-1.csv'), 'x\n');
  writeFileSync(join(c.results, 'result_20260114-acos1001.csv'), 'a\n');
  const r = await c.sync().runOnce();
  t.same(r, { uploaded: [], downloaded: [], error: 'host_key_mismatch' });
  t.same(ls(c.upload), [], 'nothing uploaded');
  t.equal(c.delivered.size, 0, 'nothing downloaded');
  t.ok(existsSync(join(c.outbox, '20260115-4711-1.csv')), 'local file still in the outbox');
  const line = c.logs.find((l) => l.includes('host key'));
  t.ok(line?.includes(other) && line.includes(sshd.hostKeySha256), 'log names the expected and the presented fingerprint');
  t.notOk(c.logs.join('').includes(sshd.privateKey.split('\n')[1] as string), 'private key never logged');
});

t.test('authentication failures are reported without the secrets', async (t) => {
  const keyDir = mkdtempSync(join(local, 'key-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'k')]);
  const wrongKey = readFileSync(join(keyDir, 'k'), 'utf8');
  const c = setup({ privateKey: wrongKey, password: 'hunter2-very-secret' });
  writeFileSync(join(c.outbox, '20260115-4711-1.csv'), 'x\n');
  const r = await c.sync().runOnce();
  t.equal(r.error, 'connect_failed: auth_failed');
  t.ok(existsSync(join(c.outbox, '20260115-4711-1.csv')), 'file kept');
  const text = c.logs.join('');
  t.notOk(text.includes('hunter2'), 'password never logged');
  t.notOk(text.includes(wrongKey.split('\n')[1] as string), 'key never logged');
});

t.test('server down: error reported, file kept; server back: next cycle uploads it', async (t) => {
  const c = setup();
  writeFileSync(join(c.outbox, '20260115-4711-1.csv'), 'x\n');
  const sync = c.sync();
  await sshd.stop();
  try {
    const r = await sync.runOnce();
    t.same(r, { uploaded: [], downloaded: [], error: 'connect_failed: ECONNREFUSED' });
    t.ok(existsSync(join(c.outbox, '20260115-4711-1.csv')), 'file kept');
  } finally {
    await sshd.start();
  }
  const r = await sync.runOnce();
  t.same(r, { uploaded: ['20260115-4711-1.csv'], downloaded: [], error: null });
  t.equal(readFileSync(join(c.upload, '20260115-4711-1.csv'), 'utf8'), 'x\n');
});

t.test('renamed on the server but not moved locally (crash): counted as sent, not uploaded twice', async (t) => {
  const c = setup();
  const name = '20260115-4711-1.csv';
  writeFileSync(join(c.outbox, name), 'same bytes\n');
  writeFileSync(join(c.upload, name), 'same bytes\n');
  const old = new Date('2026-01-01T00:00:00Z');
  utimesSync(join(c.upload, name), old, old);
  // A different file under a name the server already has must not be overwritten.
  writeFileSync(join(c.outbox, '20260115-4711-2.csv'), 'new content\n');
  writeFileSync(join(c.upload, '20260115-4711-2.csv'), 'someone else\'s file\n');
  const r = await c.sync().runOnce();
  t.same(r.uploaded, [name]);
  t.equal(r.error, 'remote_name_conflict');
  t.equal(statSync(join(c.upload, name)).mtimeMs, old.getTime(), 'remote file not written again');
  t.same(ls(join(c.outbox, 'sent')), [name]);
  t.equal(readFileSync(join(c.upload, '20260115-4711-2.csv'), 'utf8'), 'someone else\'s file\n', 'conflicting remote file untouched');
  t.ok(existsSync(join(c.outbox, '20260115-4711-2.csv')), 'conflicting local file kept for a human');
  t.same(ls(c.upload), [name, '20260115-4711-2.csv'].sort(), 'no temp files left');
});

t.test('start() retries failed cycles with doubling delays, then polls; stop() ends it', async (t) => {
  const c = setup();
  // The schema's floor is 10 s; a direct options object keeps this test fast.
  const config = { ...c.config, pollIntervalMs: 1000 };
  const cycles: { at: number; r: SyncReport }[] = [];
  const sync = c.sync({ config, firstRetryMs: 60, onCycle: (r) => cycles.push({ at: performance.now(), r }) });
  const waitFor = async (pred: () => boolean, ms = 5000) => {
    const end = performance.now() + ms;
    while (!pred()) {
      if (performance.now() > end) throw new Error(`timed out; cycles: ${JSON.stringify(cycles)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await sshd.stop();
  try {
    sync.start();
    await waitFor(() => cycles.length >= 3);
  } finally {
    await sshd.start();
  }
  writeFileSync(join(c.outbox, '20260115-4711-1.csv'), 'x\n');
  const [f1, f2, f3] = cycles as [typeof cycles[0], typeof cycles[0], typeof cycles[0]];
  t.equal(f1.r.error, 'connect_failed: ECONNREFUSED');
  const g1 = f2.at - f1.at;
  const g2 = f3.at - f2.at;
  t.ok(g1 >= 55 && g1 < 450, `first retry after ~60 ms (${g1.toFixed(0)})`);
  t.ok(g2 >= 115 && g2 < 450, `second retry after ~120 ms (${g2.toFixed(0)})`);
  await waitFor(() => cycles.some((x) => x.r.uploaded.length > 0));
  const okAt = cycles.findIndex((x) => x.r.uploaded.length > 0);
  await waitFor(() => cycles.length > okAt + 1);
  const after = (cycles[okAt + 1]?.at ?? 0) - (cycles[okAt]?.at ?? 0);
  // Without the reset after a success the delay would be 60 * 2^3 = 480 ms.
  t.ok(after >= 990, `after a success the next cycle waits the poll interval (${after.toFixed(0)} ms)`);
  t.equal(cycles[okAt + 1]?.r.error, null);
  await sync.stop();
  const n = cycles.length;
  await new Promise((r) => setTimeout(r, 700));
  t.equal(cycles.length, n, 'no cycle after stop()');
});

t.test('retry delays double from the first retry up to the poll interval', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 6, 50].map((n) => nextDelayMs(n, 300_000, 5000)), [300_000, 5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000]);
});

t.test('stop() waits for the running cycle', async (t) => {
  const c = setup();
  writeFileSync(join(c.results, 'result_20260114-acos1001.csv'), 'a\n');
  const reports: SyncReport[] = [];
  const sync = c.sync({
    deliver: async (name, content) => {
      await new Promise((r) => setTimeout(r, 300));
      c.delivered.set(name, content);
    },
    onCycle: (r) => reports.push(r),
  });
  sync.start();
  await new Promise((r) => setTimeout(r, 20));
  await sync.stop();
  t.same(reports.map((r) => r.downloaded), [['result_20260114-acos1001.csv']], 'the cycle finished before stop() resolved');
  t.ok(c.delivered.has('result_20260114-acos1001.csv'));
});
