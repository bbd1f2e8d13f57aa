// The embedded store's retention: reads on the caller's connection (bounded steps,
// see retention-scan.ts), the purge as a write op (CORE_WRITES.purge) so it runs in
// the writer's group commits like every write and never holds the lock longer than
// one small batch takes.
import type { Row } from './rows.js';
import { dueRows, eventSizes, isEventClass, listParam, type PurgeResult, type RetentionClass, type UnitSizes } from './retention.js';
import type { SqliteStatements } from './sqlite-statements.js';

export const sqliteQuery = (s: SqliteStatements) => async (sql: string, params: unknown[]): Promise<Row[]> => s.st(sql).all(...params) as Row[];

/**
 * Delete the units of `sizes` that are still due at `cutoff` and still have the rows the
 * scan archived (a unit that changed since is kept for the next sweep, which archives it again).
 */
export function purge(s: SqliteStatements, cls: RetentionClass, cutoff: number, sizes: UnitSizes, holds: string[]): PurgeResult {
  const keys = Object.keys(sizes);
  if (keys.length === 0) return { keys: [], rows: 0 };
  const t0 = performance.now();
  const due = (s.st(dueRows('sqlite', cls, holds, isEventClass(cls) ? 'e.id' : 'c.id')).pluck().all(cutoff, listParam('sqlite', keys)) as string[]);
  if (!isEventClass(cls)) {
    const list = listParam('sqlite', due);
    const rows = s.st(`DELETE FROM callbacks WHERE id IN (SELECT value FROM json_each(?))`).run(list).changes;
    return { keys: due, rows, busyMs: performance.now() - t0 };
  }
  const now = new Map((s.st(eventSizes('sqlite')).all(listParam('sqlite', due)) as { id: string; n: number }[]).map((r) => [r.id, Number(r.n)]));
  const gone = due.filter((id) => now.get(id) === sizes[id]);
  const list = listParam('sqlite', gone);
  let rows = 0;
  rows += s.st(`DELETE FROM attempts WHERE event_id IN (SELECT value FROM json_each(?))`).run(list).changes;
  rows += s.st(`DELETE FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?))`).run(list).changes;
  rows += s.st(`DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))`).run(list).changes;
  return { keys: gone, rows, busyMs: performance.now() - t0 };
}

/** The file's size: pages in use and free (reused by later writes) plus the WAL. */
export function databaseSize(s: SqliteStatements, walBytes: number): { bytes: number; freeBytes: number } {
  const pageSize = Number(s.st('PRAGMA page_size').pluck().get());
  const pages = Number(s.st('PRAGMA page_count').pluck().get());
  const free = Number(s.st('PRAGMA freelist_count').pluck().get());
  return { bytes: pages * pageSize + walBytes, freeBytes: free * pageSize };
}
