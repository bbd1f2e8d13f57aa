// The embedded store's writer thread, seen from the caller: write requests of
// one event-loop turn travel as one message, answers come back the same way,
// and the thread is restarted when it dies. What runs there: sqlite-worker.ts.
import { Worker } from 'node:worker_threads';
import { fromThreadError, type ThreadError } from './thread-error.js';
import type { WireCodec, WriteChannel, WriteOps, WriteTable, Writer } from './write-ops.js';

/** Where the thread imports a table from (see WriteTable.module). */
export interface TableRef {
  scope: string;
  module: string;
  exportName: string;
}

export interface WriterRequest {
  id: number;
  scope: string;
  op: string;
  args: unknown[];
}

export type WriterResponse = { id: number; value: unknown } | { id: number; error: ThreadError };

export interface WorkerData {
  file: string;
  tables: TableRef[];
  /** The writer connection's wal_autocheckpoint (pages); SQLite's default when absent. */
  autocheckpointPages?: number;
}

/** A writer thread with its own connection to `file`, started by start() or the first write, and restarted if it dies. */
export class WriterThread implements WriteChannel {
  private worker: Worker | null = null;
  private readonly tables = new Map<string, WriteTable>();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; args: unknown[]; wire: WireCodec | undefined }>();
  /** close() waits here until every write sent has been answered. */
  private drained: (() => void) | null = null;
  private next = 1;
  private broken: Error | null = null;
  private closing = false;
  private closed: (() => void) | null = null;
  private readonly crashes: number[] = [];
  // A message crossing threads has a fixed cost: writes issued in one event-loop turn travel together.
  private outbox: WriterRequest[] = [];
  /** Told about every crash; `restarted` is false once it crashed too often to keep trying. */
  onCrash: ((err: Error, restarted: boolean) => void) | null = null;

  static readonly MAX_CRASHES_PER_MINUTE = 5;

  constructor(private readonly file: string, private readonly opts: { autocheckpointPages?: number } = {}) {}

  get healthy(): boolean {
    return this.broken === null;
  }

  writer<Ops extends WriteOps>(table: WriteTable<Ops>): Writer<Ops> {
    const known = this.tables.get(table.scope);
    if (known !== table) {
      if (known) throw new Error(`writer thread: two write tables for scope ${table.scope}`);
      // The thread imports its tables when it starts; one learnt later would be missing there.
      if (this.worker) throw new Error(`writer thread: write table ${table.scope} registered after the thread started`);
      this.tables.set(table.scope, table as unknown as WriteTable);
    }
    return { run: (op, ...args) => this.call(table as unknown as WriteTable, op, args) } as Writer<Ops>;
  }

  start(): void {
    if (!this.worker && !this.broken) this.spawn();
  }

  private spawn(): Worker {
    const tables = [...this.tables.values()].map(({ scope, module, exportName }) => ({ scope, module, exportName }));
    // The same line from dist/ and from sources: a TypeScript loader that reaches worker
    // threads (test/helpers/tsx-workers.mjs under tsx) resolves ./sqlite-worker.js to the .ts file.
    const w = new Worker(new URL('./sqlite-worker.js', import.meta.url), { workerData: { file: this.file, tables, ...this.opts } satisfies WorkerData });
    this.worker = w;
    w.on('message', (msg: WriterResponse[] | { closed: true }) => {
      if (!Array.isArray(msg)) return this.closed?.();
      for (const r of msg) {
        const p = this.pending.get(r.id);
        if (!p) continue;
        this.pending.delete(r.id);
        if ('error' in r) p.reject(fromThreadError(r.error));
        else p.resolve(p.wire?.result ? p.wire.result.decode(r.value, p.args) : r.value);
      }
      if (this.pending.size === 0) {
        w.unref();
        this.drained?.();
      }
    });
    let error: Error | null = null;
    w.on('error', (err) => (error = err));
    w.on('exit', (code) => this.exited(w, error ?? new Error(`sqlite writer thread exited (${code})`)));
    // An idle writer must not keep the process alive on its own.
    w.unref();
    return w;
  }

  private exited(w: Worker, err: Error): void {
    if (w !== this.worker) return;
    // What was sent and not answered may or may not have committed; callers see a failure and
    // retry (intake answers 5xx, Paygate sends again and dedupe catches a committed one;
    // a lost completion leaves a lease that expires and the delivery goes out again).
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.drained?.();
    this.outbox = [];
    if (this.closing) {
      this.broken = err;
      this.closed?.();
      return;
    }
    const now = Date.now();
    while (this.crashes.length > 0 && now - this.crashes[0]! > 60_000) this.crashes.shift();
    this.crashes.push(now);
    const restart = this.crashes.length <= WriterThread.MAX_CRASHES_PER_MINUTE;
    if (restart) this.spawn();
    else this.broken = err;
    this.onCrash?.(err, restart);
  }

  private call(table: WriteTable, op: string, args: unknown[]): Promise<never> {
    return new Promise((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      if (!(op in table.ops)) return reject(new Error(`not a write: ${table.scope}.${op}`));
      const worker = this.worker ?? this.spawn();
      const id = this.next++;
      const wire = table.wire[op];
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, args, wire });
      // Awaited writes keep the process alive; an idle writer does not.
      if (this.pending.size === 1) worker.ref();
      if (this.outbox.push({ id, scope: table.scope, op, args: wire ? wire.encode(args) : args }) === 1) {
        setImmediate(() => {
          const batch = this.outbox;
          this.outbox = [];
          if (batch.length > 0) this.worker!.postMessage(batch);
        });
      }
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    if (this.broken || !w) return;
    // Let writes already sent commit, then close the writer's connection.
    if (this.pending.size > 0) await new Promise<void>((r) => (this.drained = r));
    this.closing = true;
    w.ref();
    await new Promise<void>((r) => {
      this.closed = r;
      w.postMessage({ close: true });
    });
    await w.terminate();
  }
}
