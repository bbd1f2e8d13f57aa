import type { SqliteStatements } from './sqlite-statements.js';
import type { WriteChannel, WriteOps, WriteTable, Writer } from './write-ops.js';

/**
 * Group commit for every write of the embedded store, not only intake:
 * writes issued in the same event-loop turn (claims, completions, failures,
 * endpoint bookkeeping, intake batches) run in ONE transaction, so they share
 * one fsync under synchronous=FULL. Each write still runs in its own
 * savepoint or single statement (better-sqlite3 nests transactions as
 * savepoints), so one failing write does not undo its neighbours, and every caller's promise settles
 * only after the shared commit is on disk.
 *
 * This is the inline channel (tools, tests, `:memory:`), and what the writer thread runs on its own connection.
 */
export class GroupCommit implements WriteChannel {
  private queue: { run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  readonly healthy = true;

  constructor(readonly statements: SqliteStatements) {}

  writer<Ops extends WriteOps>(table: WriteTable<Ops>): Writer<Ops> {
    const ops: WriteOps = table.ops;
    return { run: (op, ...args) => this.enqueue(() => ops[op]!(this.statements, ...args)) } as Writer<Ops>;
  }

  /** Queue one write for the next shared transaction. */
  enqueue(run: () => unknown): Promise<never> {
    return new Promise((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // Everything issued in this turn joins; what arrives while the commit runs joins the next one.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const ops = this.queue;
    this.queue = [];
    const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.statements.db.transaction(() => {
        // A failure is that op's rejection; its neighbours commit.
        for (const op of ops) {
          try {
            results.push({ ok: true, value: op.run() });
          } catch (error) {
            results.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (err) {
      ops.forEach((op) => op.reject(err));
      return;
    }
    ops.forEach((op, i) => {
      const r = results[i]!;
      if (r.ok) op.resolve(r.value);
      else op.reject(r.error);
    });
  }

  start(): void {}

  async close(): Promise<void> {}
}
