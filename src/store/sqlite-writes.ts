// Which SqliteStore methods write, and the messages that carry them to the
// writer thread (sqlite-worker.ts). Every write goes through one place so
// they share group commits; reads stay on the caller's own connection (WAL
// readers never wait for the writer).
import { Worker } from 'node:worker_threads';

export const SQLITE_WRITES = [
  'ingest', 'claim', 'complete', 'fail', 'release', 'releaseAllLeases', 'recordEndpointSuccess', 'recordEndpointFailure',
  'setEndpointDisabled', 'resolveQuarantine', 'redeliverDeadLetters', 'redeliver', 'addEvent',
] as const;

export interface WriterRequest {
  id: number;
  method: string;
  args: unknown[];
}

export type WriterResponse = { id: number; value: unknown } | { id: number; error: { name: string; message: string; code?: string } };

/** Replace the write methods of `store` with calls into a writer thread on the same database file. */
export function offloadWrites(store: object, file: string): { close(): Promise<void> } {
  const self = new URL(import.meta.url);
  const fromSource = self.pathname.endsWith('.ts');
  const entry = new URL(fromSource ? './sqlite-worker.ts' : './sqlite-worker.js', self);
  // Run from sources (tests under tsx), the thread needs tsx's loader registered first:
  // `--import tsx` in execArgv does not reach worker threads.
  const worker = fromSource
    ? new Worker(
      `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
      { eval: true, workerData: { file } },
    )
    : new Worker(entry, { workerData: { file } });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const inflight = new Set<Promise<unknown>>();
  let next = 1;
  let broken: Error | null = null;
  let closed: (() => void) | null = null;

  worker.on('message', (msg: WriterResponse[] | { closed: true }) => {
    if (!Array.isArray(msg)) return closed?.();
    for (const r of msg) {
      const p = pending.get(r.id);
      if (!p) continue;
      pending.delete(r.id);
      if ('error' in r) p.reject(Object.assign(new Error(r.error.message), { name: r.error.name, code: r.error.code }));
      else p.resolve(r.value);
    }
    if (pending.size === 0) worker.unref();
  });
  // A message crossing threads has a fixed cost: writes issued in one event-loop turn travel together.
  let outbox: WriterRequest[] = [];
  const send = () => {
    const batch = outbox;
    outbox = [];
    worker.postMessage(batch);
  };
  const fail = (err: Error) => {
    // Nothing is lost: callers see the rejection (intake answers 5xx, Paygate retries).
    broken = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    closed?.();
  };
  worker.on('error', (err) => fail(err));
  worker.on('exit', (code) => fail(new Error(`sqlite writer thread exited (${code})`)));
  // An idle writer must not keep the process alive on its own.
  worker.unref();

  for (const method of SQLITE_WRITES) {
    (store as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const p = new Promise((resolve, reject) => {
        if (broken) return reject(broken);
        const id = next++;
        pending.set(id, { resolve, reject });
        // Awaited writes keep the process alive; an idle writer does not.
        if (pending.size === 1) worker.ref();
        if (outbox.push({ id, method, args: method === 'ingest' ? flattenIngest(args) : args }) === 1) setImmediate(send);
      });
      inflight.add(p);
      const done = () => inflight.delete(p);
      p.then(done, done);
      return p;
    };
  }

  return {
    async close() {
      if (broken) return;
      // Let writes already sent commit, then close the writer's connection.
      await Promise.allSettled([...inflight]);
      worker.ref();
      await new Promise<void>((r) => {
        closed = r;
        worker.postMessage({ close: true });
      });
      await worker.terminate();
    },
  };
}

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
