// How a feature keeps its own tables in the relay's database without the
// adapters knowing it: it hands the store its migrations (run by the same
// runner, under its own ledger scope), a write table (run through the same
// group commits and writer thread as the core's) and, per dialect, a function
// that builds its storage object from the connection it is given.
import type { MigrationSet } from './migrate.js';
import type { PgSession } from './postgres-session.js';
import type { RetentionHold } from './retention.js';
import type { SqliteStatements } from './sqlite-statements.js';
import type { WriteOps, WriteTable, Writer } from './write-ops.js';

/** What a feature's SQLite storage gets: reads on the store's connection, writes through its channel. */
export interface SqliteHandle<Ops extends WriteOps> {
  readonly sql: SqliteStatements;
  readonly write: Writer<Ops>;
}

/** What erasure hands a feature once the core's rows are done: the subject's events and TransIDs. */
export interface ErasureMatch {
  readonly eventIds: readonly string[];
  readonly transIds: readonly string[];
}

export interface StoreExtension<S, Ops extends WriteOps = WriteOps> {
  /** Its scope is the feature's name; files under `<dir>/sqlite/` and `<dir>/postgres/`. */
  readonly migrations: MigrationSet;
  readonly sqlite: {
    /** Every write of its tables (scope = the migrations' scope). */
    readonly writes: WriteTable<Ops>;
    open(h: SqliteHandle<Ops>): S;
  };
  readonly postgres: {
    /** The store's session: its pool (connections already in the schema) and transaction retries. */
    open(session: PgSession): S;
  };
  /**
   * Erase the subject from the feature's tables (personal data only; what accounting needs stays):
   * rows changed per table (table names, VACUUMed afterwards on PostgreSQL). Run again, it changes nothing.
   */
  erase?(storage: S, match: ErasureMatch): Promise<Record<string, number>>;
  /**
   * Events retention must keep while the feature still needs them (e.g. a record not yet in a
   * file): SQL per dialect, true for an event row `e`, without parameters (see store/retention.ts).
   */
  readonly retentionHold?: RetentionHold;
}
