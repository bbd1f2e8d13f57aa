// A reader thread for the embedded store's long reads (retention scans and the
// storage statistics): better-sqlite3 runs a query synchronously, and a scan
// that reads a few hundred events with their bodies, or a count over a table of
// a million rows, would stop intake and deliveries for as long. Here it stops
// only this thread; WAL lets it read while the writer thread commits. What runs
// there: sqlite-reader.ts.
import { Worker } from 'node:worker_threads';
import type { Row } from './rows.js';
import { fromThreadError, type ThreadError } from './thread-error.js';

export interface ReadRequest {
  id: number;
  sql: string;
  params: unknown[];
}

export type ReadResponse = { id: number; rows: Row[] } | { id: number; error: ThreadError };

/** Rows cross threads by structured clone, which turns a Buffer into a plain Uint8Array: make it a Buffer again. */
function revive(rows: Row[]): Row[] {
  for (const r of rows) {
    for (const k in r) {
      const v = r[k];
      if (v instanceof Uint8Array && !Buffer.isBuffer(v)) r[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
  }
  return rows;
}

/** Started by the first query, idle threads never keep the process alive, restarted by the next query after a crash. */
export class ReaderThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (rows: Row[]) => void; reject: (e: unknown) => void }>();
  private next = 1;
  private closed = false;

  constructor(private readonly file: string) {}

  /** Run one read-only statement there; its rows come back. */
  query = (sql: string, params: unknown[]): Promise<Row[]> =>
    new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('sqlite reader thread is closed'));
      const w = this.worker ?? this.spawn();
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) w.ref();
      w.postMessage({ id, sql, params } satisfies ReadRequest);
    });

  private spawn(): Worker {
    // As for the writer thread: the same line from dist/ and from sources.
    const w = new Worker(new URL('./sqlite-reader.js', import.meta.url), { workerData: { file: this.file } });
    this.worker = w;
    w.on('message', (r: ReadResponse) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if ('error' in r) p.reject(fromThreadError(r.error));
      else p.resolve(revive(r.rows));
      if (this.pending.size === 0) w.unref();
    });
    let error: Error | null = null;
    w.on('error', (err) => (error = err));
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = null;
      const err = error ?? new Error(`sqlite reader thread exited (${code})`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
    w.unref();
    return w;
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
