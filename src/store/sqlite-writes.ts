// Which SQLite methods write, and the thread that runs them (sqlite-worker.ts).
// Every write of the relay's file goes through one place so they share group
// commits and no fsync ever runs on the event loop; reads stay on the caller's
// own connection (WAL readers never wait for the writer).
import { Worker } from 'node:worker_threads';

export const SQLITE_WRITES = [
  'ingest', 'claim', 'complete', 'fail', 'release', 'releaseAllLeases', 'recordEndpointSuccess', 'recordEndpointFailure',
  'setEndpointDisabled', 'resolveQuarantine', 'redeliverDeadLetters', 'redeliver', 'addEvent', 'setEventFingerprints',
] as const;

/** The Collectmaxx store's writes (src/collectmaxx/store-sqlite.ts), on the same file and thread. */
export const CMX_WRITES = ['addExport', 'addReject', 'allocateFile', 'takeUnwritten', 'markWritten', 'recordImport', 'addSeenStates'] as const;

export type WriteTarget = 'store' | 'cmx';

export interface WriterRequest {
  id: number;
  target: WriteTarget;
  method: string;
  args: unknown[];
}

export type WriterResponse = { id: number; value: unknown } | { id: number; error: { name: string; message: string; code?: string } };

/**
 * Structured clone walks every nested object; the callback's headers and decoded fields are
 * stored as JSON text anyway, so they cross as strings (the writer thread has the busier core).
 */
function flattenIngest(args: unknown[]): unknown[] {
  const items = args[0] as { callback: { headers: unknown; decoded: unknown } }[];
  return [items.map((it) => ({
    ...it,
    callback: { ...it.callback, headers: JSON.stringify(it.callback.headers), decoded: it.callback.decoded ? JSON.stringify(it.callback.decoded) : null },
  }))];
}

/** A writer thread with its own connection to `file`, restarted if it dies. */
export class WriterThread {
  private worker!: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
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

  constructor(private readonly file: string) {
    this.spawn();
  }

  /** False after repeated crashes: writes fail and the store's ping says so (readiness goes 503). */
  get healthy(): boolean {
    return this.broken === null;
  }

  private spawn(): void {
    const self = new URL(import.meta.url);
    const fromSource = self.pathname.endsWith('.ts');
    const entry = new URL(fromSource ? './sqlite-worker.ts' : './sqlite-worker.js', self);
    // Run from sources (tests under tsx), the thread needs tsx's loader registered first:
    // `--import tsx` in execArgv does not reach worker threads.
    const w = fromSource
      ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
        { eval: true, workerData: { file: this.file } },
      )
      : new Worker(entry, { workerData: { file: this.file } });
    this.worker = w;
    w.on('message', (msg: WriterResponse[] | { closed: true }) => {
      if (!Array.isArray(msg)) return this.closed?.();
      for (const r of msg) {
        const p = this.pending.get(r.id);
        if (!p) continue;
        this.pending.delete(r.id);
        if ('error' in r) p.reject(Object.assign(new Error(r.error.message), { name: r.error.name, code: r.error.code }));
        else p.resolve(r.value);
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

  call(target: WriteTarget, method: string, args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      // Awaited writes keep the process alive; an idle writer does not.
      if (this.pending.size === 1) this.worker.ref();
      const req = { id, target, method, args: method === 'ingest' ? flattenIngest(args) : args };
      if (this.outbox.push(req) === 1) {
        setImmediate(() => {
          const batch = this.outbox;
          this.outbox = [];
          this.worker.postMessage(batch);
        });
      }
    });
  }

  /** Replace `methods` of `obj` with calls into this thread. */
  route(obj: object, target: WriteTarget, methods: readonly string[]): void {
    for (const method of methods) (obj as Record<string, unknown>)[method] = (...args: unknown[]) => this.call(target, method, args);
  }

  async close(): Promise<void> {
    if (this.broken) return;
    // Let writes already sent commit, then close the writer's connection.
    if (this.pending.size > 0) await new Promise<void>((r) => (this.drained = r));
    this.closing = true;
    this.worker.ref();
    await new Promise<void>((r) => {
      this.closed = r;
      this.worker.postMessage({ close: true });
    });
    await this.worker.terminate();
  }
}
