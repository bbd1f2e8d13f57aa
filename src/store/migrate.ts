// The one migration runner. Schemas are plain SQL files, one folder per
// dialect (`<dir>/sqlite/0001_init.sql`, `<dir>/postgres/0001_init.sql`), and
// one ledger table records what ran: (scope, version). The core store is scope
// `core`; a feature brings its own folder under its own scope (see
// extension.ts). Append only: a released file is never edited, a change is a
// new file with the next number.
//
// Before the ledger, each scope kept its versions in a table of its own
// (`schema_migrations`, `cmx_schema_migrations`). The first run copies those
// versions into the ledger, so nothing runs twice; the old table is left as it
// was, so a previous release still starts on the database during a rolling upgrade.

import { readdirSync, readFileSync } from 'node:fs';
import type { Row } from './rows.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  readonly version: number;
  /** The file name without number and extension: `init`, `delivery_claim_indexes`. */
  readonly name: string;
  readonly sql: string;
}

export interface MigrationSet {
  /** Ledger scope: `core`, or the feature's name. */
  readonly scope: string;
  /** Folder holding `sqlite/` and `postgres/` with `NNNN_name.sql` files. */
  readonly dir: URL;
  /** The table this scope's versions were kept in before the ledger (adopted on the first run). */
  readonly legacyLedger?: string;
}

/** How the runner reaches the database: inside one transaction the adapter holds exclusively. */
export interface MigrationConnection {
  /** Several statements, no parameters. */
  exec(sql: string): Promise<void>;
  /** One statement with positional parameters (`?` for SQLite, `$n` for PostgreSQL, see DIALECT). */
  all(sql: string, params?: unknown[]): Promise<Row[]>;
}

export const LEDGER = 'migrations';

const DIALECT: Record<Dialect, { ledger: string; tableExists: string; insert: string; versions: string }> = {
  sqlite: {
    ledger: `CREATE TABLE IF NOT EXISTS ${LEDGER} (scope TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (scope, version))`,
    tableExists: `SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?`,
    insert: `INSERT INTO ${LEDGER} (scope, version, name, applied_at) VALUES (?, ?, ?, ?)`,
    versions: `SELECT version FROM ${LEDGER} WHERE scope = ?`,
  },
  postgres: {
    ledger: `CREATE TABLE IF NOT EXISTS ${LEDGER} (scope TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (scope, version))`,
    // Resolved through search_path: the configured schema.
    tableExists: `SELECT 1 AS found WHERE to_regclass($1) IS NOT NULL`,
    insert: `INSERT INTO ${LEDGER} (scope, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
    versions: `SELECT version FROM ${LEDGER} WHERE scope = $1`,
  },
};

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The set's files for one dialect, in version order. */
export function loadMigrations(set: MigrationSet, dialect: Dialect): Migration[] {
  const dir = new URL(`${dialect}/`, set.dir);
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = FILE.exec(file);
    if (!m) throw new Error(`migrations ${set.scope}/${dialect}: ${file} is not named NNNN_name.sql`);
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) throw new Error(`migrations ${set.scope}/${dialect}: version ${version} twice`);
    out.push({ version, name: m[2]!, sql: readFileSync(new URL(file, dir), 'utf8') });
  }
  return out;
}

/** What a run did, per scope: versions adopted from a legacy ledger and versions applied now. */
export interface MigrationReport {
  readonly scope: string;
  readonly adopted: number[];
  readonly applied: number[];
}

/**
 * Bring every set up to date, in order (core first: features may refer to its tables).
 * The caller holds the transaction, so a failing file leaves nothing half done.
 */
export async function runMigrations(c: MigrationConnection, dialect: Dialect, sets: readonly MigrationSet[], now: number): Promise<MigrationReport[]> {
  const d = DIALECT[dialect];
  await c.exec(d.ledger);
  const reports: MigrationReport[] = [];
  for (const set of sets) {
    const files = loadMigrations(set, dialect);
    let done = new Set((await c.all(d.versions, [set.scope])).map((r) => Number(r.version)));
    const adopted: number[] = [];
    if (done.size === 0 && set.legacyLedger && (await c.all(d.tableExists, [set.legacyLedger])).length > 0) {
      for (const r of await c.all(`SELECT version, applied_at FROM ${set.legacyLedger} ORDER BY version`)) {
        const version = Number(r.version);
        const name = files.find((f) => f.version === version)?.name ?? 'adopted';
        await c.all(d.insert, [set.scope, version, name, Number(r.applied_at)]);
        adopted.push(version);
      }
      done = new Set(adopted);
    }
    const applied: number[] = [];
    for (const m of files) {
      if (done.has(m.version)) continue;
      await c.exec(m.sql);
      await c.all(d.insert, [set.scope, m.version, m.name, now]);
      applied.push(m.version);
    }
    reports.push({ scope: set.scope, adopted, applied });
  }
  return reports;
}

/** The relay's own tables (src/store/migrations/). */
export const CORE_MIGRATIONS: MigrationSet = {
  scope: 'core',
  dir: new URL('./migrations/', import.meta.url),
  legacyLedger: 'schema_migrations',
};
