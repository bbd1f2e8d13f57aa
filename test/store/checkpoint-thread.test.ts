// The embedded store copies its WAL into the database file on a thread of its
// own, so the writer thread (intake, claims, completions) never waits for a
// checkpoint. What a user would notice if it did not work: data that stays in
// the WAL only (a WAL that grows until the writer copies it itself, stalling
// every write behind it). Writes here come from the test's own connection with
// autocheckpoint off, so only the checkpointer can copy them.
import t, { type Test } from 'tap';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { SqliteStore } from '../../src/store/sqlite.js';
import { baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { until } from '../delivery/_lib.js';

const size = (f: string) => {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
};

async function openStore(t: Test) {
  const file = join(tmpDir(t), 'c.db');
  const s = new SqliteStore(file, { writer: 'thread' });
  await s.migrate();
  t.teardown(() => s.close());
  s.db.pragma('wal_autocheckpoint = 0');
  s.db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB NOT NULL)');
  return { file, insert: s.db.prepare('INSERT INTO filler (b) VALUES (?)') };
}

t.test('checkpointer: what is committed reaches the database file without the writer checkpointing', async (t) => {
  const { file, insert } = await openStore(t);
  const before = size(file);
  const blob = Buffer.alloc(64 * 1024, 7);
  for (let i = 0; i < 128; i++) insert.run(blob); // 8 MiB, all in the WAL at first
  await until('the 8 MiB copied into the database file', () => size(file) - before >= 8 * 1024 * 1024, 5000);
  t.pass(`database file grew by ${Math.round((size(file) - before) / 1048576)} MiB`);
});

t.test('relay: a checkpointer thread that dies is logged and started again', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)));
  const store = h.relay.store as SqliteStore;
  const thread = store.checkpointer as unknown as { worker: Worker | null };
  await thread.worker!.terminate();
  await until('the crash logged', () => h.logs.find((l) => l.includes('sqlite checkpointer thread crashed')), 5000);
  await until('a new thread', () => thread.worker !== null, 5000);
  const file = store.db.name;
  store.db.pragma('wal_autocheckpoint = 0');
  store.db.exec('CREATE TABLE filler (b BLOB)');
  const before = size(file);
  store.db.prepare('INSERT INTO filler VALUES (?)').run(Buffer.alloc(4 * 1024 * 1024, 1));
  await until('the new thread copies the WAL', () => size(file) - before >= 4 * 1024 * 1024, 5000);
  t.pass('copied by the restarted thread');
});
