// Retention's long reads run on the embedded store's reader thread: what comes
// back must be what the main connection would read (bodies as Buffers, so the
// archive holds the same base64), errors keep their SQLite code, and a reader
// killed mid-flight fails its query and is replaced by the next one.
import t from 'tap';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { ReaderThread } from '../../src/store/reader-thread.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tmpDir } from '../helpers/relay.js';

t.test('reader thread: rows, blobs and errors as on the main connection', async (t) => {
  const file = join(tmpDir(t), 'r.db');
  const s = new SqliteStore(file, { writer: 'thread' });
  await s.migrate();
  t.teardown(() => s.close());
  s.db.exec(`CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB, n INTEGER, x TEXT)`);
  const blob = Buffer.from([0, 1, 2, 250, 255]);
  s.db.prepare(`INSERT INTO blobs VALUES (1, ?, 42, 'x'), (2, NULL, NULL, NULL)`).run(blob);

  const r = new ReaderThread(file);
  t.teardown(() => r.close());
  const rows = await r.query('SELECT * FROM blobs ORDER BY id', []);
  t.same(rows, s.db.prepare('SELECT * FROM blobs ORDER BY id').all(), 'the same rows as the main connection reads');
  t.ok(Buffer.isBuffer(rows[0]!.b), 'a blob is a Buffer again');
  t.equal((rows[0]!.b as Buffer).toString('base64'), blob.toString('base64'));

  const err = await r.query('SELECT * FROM no_such_table', []).catch((e: Error & { code?: string }) => e);
  t.match(err, { message: /no such table/ }, 'a bad statement fails its query');
  const ro = await r.query(`DELETE FROM blobs RETURNING id`, []).catch((e: Error & { code?: string }) => e);
  t.match(ro, { code: 'SQLITE_READONLY' }, 'the reader cannot write');
  t.equal((s.db.prepare('SELECT COUNT(*) AS n FROM blobs').get() as { n: number }).n, 2, 'nothing deleted');
  s.db.prepare(`INSERT INTO blobs VALUES (3, NULL, 7, 'later')`).run();
  t.same(await r.query('SELECT x FROM blobs WHERE id = 3', []), [{ x: 'later' }], 'a row committed after the thread started is read');

  await (r as unknown as { worker: Worker }).worker.terminate();
  t.same(await r.query('SELECT n FROM blobs WHERE id = 1', []), [{ n: 42 }], 'a new thread answers after one died');
  await r.close();
  await t.rejects(r.query('SELECT 1', []), /closed/, 'closed is closed');
});
