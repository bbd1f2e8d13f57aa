// The embedded store's writer thread. better-sqlite3 commits synchronously, so
// on the main thread every fsync (synchronous=FULL) stalled HTTP parsing,
// decryption and deliveries. Here the fsync blocks only this thread: writes
// that arrive while a commit runs queue on the port and all go into the next
// transaction (GroupCommit), i.e. the commit queue flushes when the previous
// fsync returns, and each caller still hears back only after the commit that
// holds its write. Features' tables live in the same file, so their write
// tables are loaded here too (by module URL) and join the same commits.
import { parentPort, workerData } from 'node:worker_threads';
import { GroupCommit } from './group-commit.js';
import { openSqlite } from './sqlite-open.js';
import { SqliteStatements } from './sqlite-statements.js';
import { toThreadError } from './thread-error.js';
import type { WorkerData, WriterRequest, WriterResponse } from './writer-thread.js';
import type { WriteTable } from './write-ops.js';

/** The writer connection's page cache. */
const WRITER_CACHE_KIB = 64 * 1024;

const port = parentPort!;
const data = workerData as WorkerData;
const db = openSqlite(data.file);
if (data.autocheckpointPages !== undefined) db.pragma(`wal_autocheckpoint = ${data.autocheckpointPages}`);
// The pages every write touches (the tables' last pages, the indexes keyed by TransID, PayID and the
// dedupe key) stay in this connection's cache: with SQLite's default 2 MiB most index pages of a
// database of a few hundred thousand callbacks are read again from the file on every commit. Only
// here: this connection is the only writer, so its cache stays valid, whereas a reader's cache is
// dropped whenever the WAL changed.
db.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
const commits = new GroupCommit(new SqliteStatements(db));

// Messages posted before the listener below is attached wait on the port.
const tables = new Map<string, WriteTable>();
for (const ref of data.tables) {
  const table = (await import(ref.module) as Record<string, WriteTable>)[ref.exportName];
  if (!table || table.scope !== ref.scope) throw new Error(`writer thread: ${ref.module} does not export the ${ref.scope} write table as ${ref.exportName}`);
  tables.set(ref.scope, table);
}

let replies: WriterResponse[] = [];
const reply = (r: WriterResponse) => {
  if (replies.push(r) === 1) {
    setImmediate(() => {
      const batch = replies;
      replies = [];
      port.postMessage(batch);
    });
  }
};

function run(msg: WriterRequest): void {
  const table = tables.get(msg.scope);
  const op = table?.ops[msg.op];
  if (!table || !op) {
    reply({ id: msg.id, error: { name: 'Error', message: `not a write: ${msg.scope}.${msg.op}` } });
    return;
  }
  const wire = table.wire[msg.op];
  const args = wire ? wire.decode(msg.args) : msg.args;
  commits.enqueue(() => op(commits.statements, ...args)).then(
    (value) => reply({ id: msg.id, value: wire?.result ? wire.result.encode(value, args) : value }),
    (err: unknown) => reply({ id: msg.id, error: toThreadError(err) }),
  );
}

port.on('message', (msg: WriterRequest[] | { close: true }) => {
  if (!Array.isArray(msg)) {
    db.close();
    port.postMessage({ closed: true });
    return;
  }
  // All of them join one transaction (GroupCommit flushes on setImmediate).
  for (const m of msg) run(m);
});
