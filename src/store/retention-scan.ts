// The read side of retention for both adapters: one bounded step of a class's
// scan, and the numbers behind the metrics. Statements come from retention.ts;
// `q` runs one on the adapter's read connection.
import type { Row } from './rows.js';
import {
  candidatePage, COUNT_SQL, dueRows, eventUnits, firstCursor, inList, isEventClass, listParam, placeholders, RETENTION_CLASSES,
  type Dialect, type DueUnit, type RetentionClass, type RetentionStats, type ScanCursor, type ScanStep,
} from './retention.js';

export type Query = (sql: string, params: unknown[]) => Promise<Row[]>;

/**
 * Walk at most `limit` candidates of `cls` older than `cutoff` after `after`; return the due ones
 * (with every row of theirs unless `keysOnly`) and where to go on.
 */
export async function scanStep(
  q: Query, d: Dialect, holds: readonly string[], cls: RetentionClass, cutoff: number, after: ScanCursor, limit: number, keysOnly = false,
): Promise<ScanStep> {
  const from = after ?? firstCursor(d, cls);
  const page = await q(placeholders(d, candidatePage(d, cls)), [cutoff, from.at, from.key, limit]);
  const last = page[page.length - 1];
  const next: ScanCursor = page.length < limit || !last ? null : { at: Number(last.at), key: typeof from.key === 'number' ? Number(last.k) : String(last.k) };
  const ids = [...new Set(page.map((r) => String(r.id)))];
  if (ids.length === 0) return { units: [], walked: 0, next };
  const columns = keysOnly ? (isEventClass(cls) ? 'e.id, e.received_at' : 'c.id, c.received_at') : '*';
  const due = await q(placeholders(d, dueRows(d, cls, holds, columns)), [cutoff, listParam(d, ids)]);
  let units: DueUnit[];
  if (!isEventClass(cls)) {
    units = due.map((c) => ({ key: String(c.id), at: Number(c.received_at), rows: keysOnly ? [] : [{ table: 'callbacks' as const, id: String(c.id), row: c }] }));
    units.sort((a, b) => a.at - b.at || a.key.localeCompare(b.key));
  } else if (keysOnly && cls === 'delivered') {
    units = due.map((e) => ({ key: String(e.id), at: Number(e.received_at), rows: [] }));
  } else {
    const dueIds = listParam(d, due.map((e) => String(e.id)));
    const deliveries = await q(placeholders(d, `SELECT * FROM deliveries WHERE ${inList(d, 'event_id', 'text')} ORDER BY id`), [dueIds]);
    const attempts = keysOnly ? [] : await q(placeholders(d, `SELECT * FROM attempts WHERE ${inList(d, 'event_id', 'text')} ORDER BY id`), [dueIds]);
    units = eventUnits(cls, keysOnly ? due.map((e) => ({ id: e.id, received_at: e.received_at })) : due, deliveries, attempts);
    if (keysOnly) for (const u of units) u.rows = [];
  }
  return { units, walked: page.length, next };
}

/** How far a stats pass looks for the oldest row not held, per class. */
export const OLDEST_PROBE = 2000;

/**
 * Rows per class and, per class, the oldest time among rows not held. Only the OLDEST_PROBE
 * oldest candidates are looked at: behind a longer backlog of held rows (a receiver down for
 * weeks) the answer is null (age 0), never too old. Held rows have their own metrics (queue age).
 */
export async function retentionStats(q: Query, d: Dialect, holds: readonly string[]): Promise<RetentionStats> {
  const out = {} as RetentionStats;
  for (const cls of RETENTION_CLASSES) {
    const [c] = await q(COUNT_SQL[cls], []);
    const step = await scanStep(q, d, holds, cls, Number.MAX_SAFE_INTEGER, null, OLDEST_PROBE, true);
    out[cls] = { rows: Number(c?.n ?? 0), oldestAt: step.units[0]?.at ?? null };
  }
  return out;
}
