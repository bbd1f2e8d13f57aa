// Archive files: what retention purges, kept outside the database. One file per
// UTC day and data class, `<class>-<YYYY-MM-DD>.jsonl.gz`, one JSON object per
// line. A sweep appends one gzip member (a gzip file may hold several; every
// gzip reader reads them as one stream), so an append never recompresses or
// copies the day so far. Every change is atomic:
// - a new file, and a rewrite (erasure), is written beside the old one, fsynced,
//   renamed over it, and the directory fsynced;
// - an append first makes a recovery point durable (`<file>.append`, the file's
//   length before it), then writes and fsyncs the member in place, then removes
//   the recovery point. A crash in between leaves a torn tail: the next append or
//   rewrite cuts it back to the recorded length; a reader (`archive read`, maybe
//   while the relay appends) reads only up to that length and changes nothing.
//   The rows of a torn member were not deleted yet (archive, then delete), so the
//   next sweep archives them again. A complete append may turn its recovery
//   point into `<file>.last` (below).
//
// A line is keyed by (table, id). Appending skips keys the file's window holds:
// the members from `<file>.last` (the whole file without one) to the end. A
// sweep archives a chunk, then deletes it, then goes on, so rows still stored
// after a crash were archived in the window: after one crash, the last member;
// when a crash comes again before those rows are deleted, the members since.
// So an append that skipped keys (rows archived earlier are still stored)
// keeps the window's start, and one that skipped none starts the window at its
// own member. Only the window's keys are read and kept in memory (a whole day
// at 1000 callbacks/s would be millions of keys).
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createGunzip, gzip as gzipCb } from 'node:zlib';

const gzip = promisify(gzipCb);

export const ARCHIVE_CLASSES = ['delivered', 'callbacks', 'quarantine', 'deadLetters'] as const;
export type ArchiveClass = (typeof ARCHIVE_CLASSES)[number];

/** One archived row: the table it came from, its primary key, and its columns as JSON (Buffers as base64). */
export interface ArchiveLine {
  table: string;
  id: string;
  row: Record<string, unknown>;
}

const NAME = /^(delivered|callbacks|quarantine|deadLetters)-(\d{4}-\d{2}-\d{2})\.jsonl\.gz$/;

/** The UTC day of an epoch-ms time, as `YYYY-MM-DD`. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function archiveFileName(cls: ArchiveClass, day: string): string {
  return `${cls}-${day}.jsonl.gz`;
}

/** The archive files in `dir`, oldest day first (none when the directory does not exist). */
export async function listArchives(dir: string): Promise<{ file: string; cls: ArchiveClass; day: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .map((n) => ({ n, m: NAME.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .map(({ n, m }) => ({ file: join(dir, n), cls: m[1] as ArchiveClass, day: m[2]! }))
    .sort((a, b) => a.day.localeCompare(b.day) || a.cls.localeCompare(b.cls));
}

/**
 * Every line of an archive file, in order, without holding the file in memory. A reader never
 * changes the file (the relay may be appending to it right now): behind a recovery point it reads
 * only the length recorded there, the file as it was before the append in progress.
 */
export async function* readArchive(file: string, start = 0): AsyncGenerator<ArchiveLine> {
  const before = await recordedLength(file);
  const input = createReadStream(file, before == null || before === 0 ? { start } : { start, end: before - 1 });
  const gunzip = createGunzip();
  // pipe() does not forward a read error (a missing file): the reader below must see it.
  input.on('error', (err) => gunzip.destroy(err));
  const lines = createInterface({ input: input.pipe(gunzip), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length > 0) yield JSON.parse(line) as ArchiveLine;
  }
}

const keyOf = (l: Pick<ArchiveLine, 'table' | 'id'>) => `${l.table}\u0000${l.id}`;

/** The keys of each file's window, while its size and mtime stay the same. */
const lastKeys = new Map<string, { size: number; mtimeMs: number; keys: Set<string> }>();

const lastMark = (file: string) => `${file}.last`;

async function keysOfWindow(file: string): Promise<Set<string>> {
  await recover(file);
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw err;
  }
  const hit = lastKeys.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.keys;
  // No mark: the file is one member (written whole).
  const start = Number(await readFile(lastMark(file), 'utf8').catch(() => '0')) || 0;
  const keys = new Set<string>();
  for await (const l of readArchive(file, start)) keys.add(keyOf(l));
  lastKeys.set(file, { size: st.size, mtimeMs: st.mtimeMs, keys });
  return keys;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replace `file` with `parts` (concatenated) atomically. */
async function writeAtomically(file: string, dir: string, parts: Buffer[]): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    for (const p of parts) await fh.write(p);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await fsyncDir(dir);
}

const encode = (lines: ArchiveLine[]) => Buffer.from(lines.map((l) => JSON.stringify(l) + '\n').join(''));

/** encode() in slices, giving the event loop back between them: a sweep's chunk is megabytes of JSON. */
async function encodeInSlices(lines: ArchiveLine[], slice = 500): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < lines.length; i += slice) {
    parts.push(encode(lines.slice(i, i + slice)));
    await new Promise((r) => setImmediate(r));
  }
  return Buffer.concat(parts);
}

/**
 * Append `lines` to the day's file of `cls`, skipping keys it already holds.
 * Resolves once the file is durable; returns how many lines were written.
 */
export async function appendToArchive(dir: string, cls: ArchiveClass, day: string, lines: ArchiveLine[]): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, archiveFileName(cls, day));
  const keys = await keysOfWindow(file);
  const fresh = lines.filter((l) => !keys.has(keyOf(l)));
  if (fresh.length === 0) return 0;
  const overlap = fresh.length < lines.length;
  const member = await gzip(await encodeInSlices(fresh));
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await writeAtomically(file, dir, [member]);
    return remember(file, fresh, null);
  }
  const point = recoveryPoint(file);
  await writeAtomically(point, dir, [Buffer.from(String(size))]);
  const fh = await open(file, 'a');
  try {
    await fh.write(member);
    await fh.sync();
  } finally {
    await fh.close();
  }
  // Durably the window's mark before the caller deletes the rows: a recovery point left
  // behind would cut them off.
  if (overlap) await rm(point);
  else await rename(point, lastMark(file));
  await fsyncDir(dir);
  return remember(file, fresh, overlap ? keys : null);
}

const recoveryPoint = (file: string) => `${file}.append`;

/**
 * The file's length before an append in progress or torn (its recovery point), or null when there
 * is none; undefined when the point is empty or unreadable (a crash while writing it, before the
 * append began: the file is whole).
 */
async function recordedLength(file: string): Promise<number | null | undefined> {
  let text: string;
  try {
    text = await readFile(recoveryPoint(file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const length = Number(text);
  return text.length > 0 && Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** Cut a torn append back to the length recorded before it (see the header); only the appender calls this. */
async function recover(file: string): Promise<void> {
  const length = await recordedLength(file);
  if (length === null) return;
  if (length !== undefined) {
    const size = await stat(file).then((st) => st.size, () => 0);
    if (size > length) {
      await truncate(file, length);
      const fh = await open(file, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  lastKeys.delete(file);
  await rm(recoveryPoint(file));
  await fsyncDir(dirname(file));
}

/** The window's keys after an append: the member just written, added to `kept` when the window kept its start. */
async function remember(file: string, fresh: ArchiveLine[], kept: Set<string> | null): Promise<number> {
  const st = await stat(file);
  const keys = kept ?? new Set<string>();
  for (const l of fresh) keys.add(keyOf(l));
  lastKeys.set(file, { size: st.size, mtimeMs: st.mtimeMs, keys });
  return fresh.length;
}

/**
 * Rewrite every archive file in `dir` through `change`: it returns the line to keep
 * (changed or not), or null to drop it. Files where nothing changed are left alone.
 * Returns how many lines changed or were dropped.
 */
export async function rewriteArchives(dir: string, change: (line: ArchiveLine, cls: ArchiveClass) => ArchiveLine | null): Promise<number> {
  let changed = 0;
  for (const { file, cls } of await listArchives(dir)) {
    await recover(file);
    const out: ArchiveLine[] = [];
    let here = 0;
    for await (const l of readArchive(file)) {
      const before = JSON.stringify(l);
      const after = change(l, cls);
      if (after === null || JSON.stringify(after) !== before) here++;
      if (after !== null) out.push(after);
    }
    if (here === 0) continue;
    changed += here;
    lastKeys.delete(file);
    // Written whole below: one member, no mark (a mark would point into the old file).
    await rm(lastMark(file), { force: true });
    if (out.length === 0) {
      await rm(file);
      await fsyncDir(dir);
    } else {
      await writeAtomically(file, dir, [await gzip(encode(out))]);
    }
  }
  return changed;
}
