import type Database from 'better-sqlite3';

/**
 * Group commit for every write of the embedded store, not only intake:
 * writes issued in the same event-loop turn (claims, completions, failures,
 * endpoint bookkeeping, intake batches) run in ONE transaction, so they share
 * one fsync under synchronous=FULL. Each write still runs in its own
 * savepoint or single statement (better-sqlite3 nests transactions as
 * savepoints), so one failing write does not undo its neighbours, and every caller's promise settles
 * only after the shared commit is on disk.
 */
export function batchWrites<S extends object>(store: S, db: Database.Database, methods: readonly (keyof S & string)[]): void {
  type Op = { run: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };
  let queue: Op[] = [];
  let scheduled = false;

  const flush = async () => {
    scheduled = false;
    const ops = queue;
    queue = [];
    const results: Promise<unknown>[] = [];
    try {
      db.transaction(() => {
        // The adapter's methods are synchronous inside (their own transactions become savepoints here),
        // so each runs now, within the shared transaction; a failure surfaces as that op's rejection.
        for (const op of ops) results.push(op.run());
      }).immediate();
    } catch (err) {
      ops.forEach((op) => op.reject(err));
      return;
    }
    ops.forEach((op, i) => results[i]!.then(op.resolve, op.reject));
  };

  for (const name of methods) {
    const original = (store[name] as (...a: unknown[]) => Promise<unknown>).bind(store);
    (store as Record<string, unknown>)[name] = (...args: unknown[]) =>
      new Promise((resolve, reject) => {
        queue.push({ run: () => original(...args), resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
  }
}
