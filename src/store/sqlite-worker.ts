// The embedded store's writer thread. better-sqlite3 commits synchronously, so
// on the main thread every fsync (synchronous=FULL) stalled HTTP parsing,
// decryption and deliveries. Here the fsync blocks only this thread: writes
// that arrive while a commit runs queue on the port and all go into the next
// transaction (batchWrites), i.e. the commit queue flushes when the previous
// fsync returns, and each caller still hears back only after the commit that
// holds its write. The Collectmaxx tables live in the same file, so their
// writes come here too and join the same commits.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteCollectmaxxStore } from '../collectmaxx/store-sqlite.js';
import { SqliteStore } from './sqlite.js';
import { CMX_WRITES, SQLITE_WRITES, type WriteTarget, type WriterRequest, type WriterResponse } from './sqlite-writes.js';
import { batchWrites } from './write-batch.js';

const port = parentPort!;
const store = new SqliteStore((workerData as { file: string }).file, { writer: 'inline' });
const cmx = new SqliteCollectmaxxStore(store.db);
batchWrites(cmx, store.db, CMX_WRITES);

const targets: Record<WriteTarget, { obj: object; writes: Set<string> }> = {
  store: { obj: store, writes: new Set(SQLITE_WRITES) },
  cmx: { obj: cmx, writes: new Set(CMX_WRITES) },
};

// Structured clone turns Buffers into plain Uint8Arrays; better-sqlite3 binds only Buffers.
function revive(method: string, args: unknown[]): unknown[] {
  if (method === 'ingest') {
    for (const item of args[0] as { callback: { body: Uint8Array } }[]) {
      const b = item.callback.body;
      if (!Buffer.isBuffer(b)) item.callback.body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    }
  }
  return args;
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
  const t = targets[msg.target];
  if (!t || !t.writes.has(msg.method)) {
    reply({ id: msg.id, error: { name: 'Error', message: `not a write: ${msg.target}.${msg.method}` } });
    return;
  }
  const fn = (t.obj as Record<string, (...a: unknown[]) => Promise<unknown>>)[msg.method]!;
  fn.apply(t.obj, revive(msg.method, msg.args)).then(
    (value) => reply({ id: msg.id, value }),
    (err: { name?: string; message?: string; code?: string }) => reply({ id: msg.id, error: { name: err.name ?? 'Error', message: err.message ?? String(err), code: err.code } }),
  );
}

port.on('message', (msg: WriterRequest[] | { close: true }) => {
  if (!Array.isArray(msg)) {
    void store.close().then(() => port.postMessage({ closed: true }));
    return;
  }
  // All of them join one transaction (batchWrites flushes on setImmediate).
  for (const m of msg) run(m);
});
