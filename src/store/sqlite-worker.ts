// The embedded store's writer thread. better-sqlite3 commits synchronously, so
// on the main thread every fsync (synchronous=FULL) stalled HTTP parsing,
// decryption and deliveries. Here the fsync blocks only this thread: writes
// that arrive while a commit runs queue on the port and all go into the next
// transaction (batchWrites in SqliteStore), i.e. the commit queue flushes when
// the previous fsync returns, and each caller still hears back only after
// the commit that holds its write.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite.js';
import { SQLITE_WRITES, type WriterRequest, type WriterResponse } from './sqlite-writes.js';

const port = parentPort!;
const store = new SqliteStore((workerData as { file: string }).file, { writer: 'inline' });

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

const writes = new Set<string>(SQLITE_WRITES);

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
  if (!writes.has(msg.method)) {
    reply({ id: msg.id, error: { name: 'Error', message: `not a write: ${msg.method}` } });
    return;
  }
  const fn = (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[msg.method]!;
  fn.apply(store, revive(msg.method, msg.args)).then(
    (value) => reply({ id: msg.id, value }),
    (err: { name?: string; message?: string; code?: string }) => reply({ id: msg.id, error: { name: err.name ?? 'Error', message: err.message ?? String(err), code: err.code } }),
  );
}

port.on('message', (msg: WriterRequest[] | { close: true }) => {
  if (!Array.isArray(msg)) {
    void store.close().then(() => port.postMessage({ closed: true }));
    return;
  }
  // All of them join one transaction (SqliteStore's batchWrites flushes on setImmediate).
  for (const m of msg) run(m);
});
