// The embedded store's writes as data: a table of named operations per scope
// (the core's in sqlite-writes.ts, a feature's next to its statements). A
// WriteChannel runs them, inline on the caller's connection or on the writer
// thread, always through group commit (group-commit.ts). Reads never come here.
import type { SqliteStatements } from './sqlite-statements.js';

/**
 * One write: synchronous SQL on a connection, run inside the shared group-commit
 * transaction (its own db.transaction() becomes a savepoint there).
 */
export type WriteOp = (s: SqliteStatements, ...args: any[]) => unknown;
export type WriteOps = Record<string, WriteOp>;

/** How one operation's arguments cross to the writer thread when structured clone alone is wrong or slow. */
export interface WireCodec {
  /** On the caller's thread, before posting. */
  encode(args: unknown[]): unknown[];
  /** On the writer thread, before running. */
  decode(args: unknown[]): unknown[];
  /** The answer's way back: encoded on the writer thread, decoded on the caller's; both see the arguments (decoded / as given). */
  result?: { encode(value: unknown, args: unknown[]): unknown; decode(wire: unknown, args: unknown[]): unknown };
}

export interface WriteTable<Ops extends WriteOps = WriteOps> {
  /** `core`, or the feature's name (as its migrations' ledger scope). */
  readonly scope: string;
  /** The module that exports this table as `exportName`: the writer thread imports it from there. */
  readonly module: string;
  readonly exportName: string;
  readonly ops: Ops;
  readonly wire: { readonly [K in keyof Ops]?: WireCodec };
}

/** Declare a table; `module` is the declaring file's `import.meta.url`. */
export function defineWrites<Ops extends WriteOps>(
  where: { scope: string; module: string; exportName: string },
  ops: Ops,
  wire: WriteTable<Ops>['wire'] = {},
): WriteTable<Ops> {
  return { ...where, ops, wire };
}

export type OpArgs<F> = F extends (s: SqliteStatements, ...args: infer A) => unknown ? A : never;
export type OpResult<F> = F extends (...args: never[]) => infer R ? R : never;

/** One table's operations, typed: `writer.run('ingest', items)`. */
export interface Writer<Ops extends WriteOps> {
  run<K extends keyof Ops & string>(op: K, ...args: OpArgs<Ops[K]>): Promise<OpResult<Ops[K]>>;
}

/** Where writes commit: one per store connection (inline) or per writer thread. */
export interface WriteChannel {
  /** False once the writer thread crashed too often: writes fail and the store's ping says so. */
  readonly healthy: boolean;
  /** The table's typed runner. Every table must be known before the channel starts (the thread imports them then). */
  writer<Ops extends WriteOps>(table: WriteTable<Ops>): Writer<Ops>;
  /** Start now instead of at the first write, e.g. while migrations run (the tables known so far are all there will be). */
  start(): void;
  /** Let writes already issued commit, then stop. */
  close(): Promise<void>;
}
