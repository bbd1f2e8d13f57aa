// Archive files on a real directory: appends are gzip members any gzip reader reads
// as one stream, a key already in the day's file is never written again, and what
// a crash can leave behind (a temporary file) is not taken for an archive.
import t from 'tap';
import { appendFileSync, existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { appendToArchive, archiveFileName, dayOf, listArchives, readArchive, type ArchiveLine } from '../../src/lifecycle/archive.js';
import { tmpDir } from '../helpers/relay.js';

const line = (id: number, extra = ''): ArchiveLine => ({ table: 'events', id: `evt_${id}`, row: { id: `evt_${id}`, payload: `p${id}${extra}` } });
const zlibLines = (file: string) => gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ArchiveLine);

t.test('appends: one file per class and UTC day, each key once, readable by zlib and by readArchive', async (t) => {
  const dir = join(tmpDir(t), 'archive');
  t.equal(dayOf(Date.UTC(2026, 10, 2, 23, 59, 59)), '2026-11-02', 'the UTC day');
  t.equal(await appendToArchive(dir, 'delivered', '2026-11-02', [line(1), line(2)]), 2);
  const file = join(dir, archiveFileName('delivered', '2026-11-02'));
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by the relay\'s user only');
  // A crash after archiving, before deleting: the same rows come again, with one new.
  t.equal(await appendToArchive(dir, 'delivered', '2026-11-02', [line(1, 'changed'), line(2), line(3)]), 1, 'only the new key is written');
  t.equal(await appendToArchive(dir, 'delivered', '2026-11-02', [line(3)]), 0);
  const expected = [line(1), line(2), line(3)];
  t.same(zlibLines(file), expected, 'two gzip members read as one stream; the first version of a key stays');
  const read: ArchiveLine[] = [];
  for await (const l of readArchive(file)) read.push(l);
  t.same(read, expected);
  await appendToArchive(dir, 'callbacks', '2026-11-01', [{ table: 'callbacks', id: 'cb_1', row: { body: Buffer.from('Data=1').toString('base64') } }]);
  writeFileSync(join(dir, `${archiveFileName('delivered', '2026-11-03')}.123.tmp`), 'half');
  t.same((await listArchives(dir)).map((a) => `${a.cls}/${a.day}`), ['callbacks/2026-11-01', 'delivered/2026-11-02'], 'oldest day first; a leftover temporary file is not an archive');
  t.same(await listArchives(join(dir, 'missing')), [], 'no directory, no files');
});

t.test('a torn append (a crash while writing a member in place) is cut back before the file is used again', async (t) => {
  const dir = join(tmpDir(t), 'archive');
  await appendToArchive(dir, 'delivered', '2026-11-02', [line(1), line(2)]);
  const file = join(dir, archiveFileName('delivered', '2026-11-02'));
  const before = readFileSync(file);
  // What a crash mid-append leaves: the recovery point (the length before) and half a gzip member.
  writeFileSync(`${file}.append`, String(before.length));
  appendFileSync(file, gzipSync(Buffer.from(`${JSON.stringify(line(3))}\n`)).subarray(0, 12));
  t.throws(() => gunzipSync(readFileSync(file)), 'the torn file is not readable as it is (the check can fail)');
  const read: ArchiveLine[] = [];
  for await (const l of readArchive(file)) read.push(l);
  t.same(read, [line(1), line(2)], 'a reader sees the file as it was before the torn append');
  t.ok(readFileSync(file).length > before.length && existsSync(`${file}.append`), 'and changes nothing (the relay may be appending right now)');
  // The sweep after the restart cuts the tail off and archives the torn member's rows again: once.
  t.equal(await appendToArchive(dir, 'delivered', '2026-11-02', [line(2), line(3)]), 1, 'the key of the torn member is written again, the others not');
  t.same(readFileSync(file).subarray(0, before.length), before, 'cut back to the recorded length, the new member after it');
  t.same(zlibLines(file), [line(1), line(2), line(3)]);
  t.notOk(existsSync(`${file}.append`), 'the recovery point is gone: an append leaves none behind');
});

t.test('two crashes before a chunk is deleted: rows archived in either member are not archived again, also after a restart', async (t) => {
  for (const restarted of [false, true]) {
    const dir = join(tmpDir(t), `archive-${restarted}`);
    const file = join(dir, archiveFileName('delivered', '2026-11-02'));
    const sweep = async (ids: number[]) => {
      // A new process has no keys in memory: a changed mtime makes it read them from the file.
      if (restarted && existsSync(file)) utimesSync(file, new Date(), new Date(Date.now() + 5000 + Math.random() * 1000));
      return appendToArchive(dir, 'delivered', '2026-11-02', ids.map((i) => line(i)));
    };
    t.equal(await sweep([1, 2, 3, 4]), 4);
    // Killed after deleting 1 and 2: the next sweep finds 3 and 4 again, with new rows.
    t.equal(await sweep([3, 4, 5, 6]), 2, 'the last member\'s rows are skipped');
    // Killed again before deleting any: 3 and 4 (first member) and 5, 6 (second) are still stored.
    t.equal(await sweep([3, 4, 5, 6, 7]), 1, 'rows of both members are skipped');
    t.same(zlibLines(file).map((l) => l.id), [1, 2, 3, 4, 5, 6, 7].map((i) => `evt_${i}`), `each row once (${restarted ? 'after a restart' : 'same process'})`);
    // A sweep that finds nothing archived still stored starts the window again at its member.
    t.equal(await sweep([8, 9]), 2);
    t.equal(await sweep([8, 10]), 1);
    t.equal(Number(readFileSync(`${file}.last`, 'utf8')) > 0, true, 'the window starts past the first member');
  }
});
