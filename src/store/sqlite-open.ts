import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** How long a statement waits for another connection's lock. */
export const BUSY_TIMEOUT_MS = 5000;

/** A connection to the relay's SQLite file as every user of it needs it (the store's reads, the writer thread). */
export function openSqlite(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before we answer 200 to Paygate.
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = ON');
  // Deleted and overwritten content is zeroed in the file, not left in free space: an erased
  // name must not be readable from the bytes (docs/erasure.md). Costs writes only when pages are freed.
  db.pragma('secure_delete = ON');
  return db;
}
