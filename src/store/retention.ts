// Retention's questions to storage, shared by both dialects: which rows of a
// class are due (old enough and held by nothing), every row that goes with them
// as stored, and the delete that asks the same question again inside its own
// transaction. The sweeper (src/lifecycle/sweeper.ts) drives them in bounded
// steps: a step walks at most `limit` candidates of one index from a cursor, so
// no read and no delete ever grows with the size of the database.
import type { Row } from './rows.js';

export const RETENTION_CLASSES = ['delivered', 'callbacks', 'quarantine', 'deadLetters'] as const;
/**
 * delivered: events none of whose deliveries is open or dead (all succeeded, or none), with deliveries and attempts;
 * callbacks: raw callbacks (not quarantined); quarantine: quarantined callbacks;
 * deadLetters: events with a dead delivery and none open, aged by their newest death ("dead since").
 */
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

/** Where a class's scan continues: the last (time, key) of the index it walks; null = from the start. */
export type ScanCursor = { at: number; key: string | number } | null;

/** One row as stored, keyed for the archive. */
export interface KeptRow {
  table: 'events' | 'deliveries' | 'attempts' | 'callbacks';
  id: string;
  row: Row;
}

/** What is purged together: an event with its deliveries and attempts, or one callback. */
export interface DueUnit {
  /** The event's or callback's id. */
  key: string;
  /** Its age's origin: received (delivered, callbacks, quarantine) or dead since (deadLetters). */
  at: number;
  /** Every row of it, as stored; empty when the scan was asked for keys only. */
  rows: KeptRow[];
}

export interface ScanStep {
  /** Due units among the candidates walked, oldest first. */
  units: DueUnit[];
  /** Candidates walked (held ones included). */
  walked: number;
  /** Where the next step starts; null when the class has no candidate older than the cutoff left. */
  next: ScanCursor;
}

/** What a purge deleted: the units' keys and the rows per table. */
export interface PurgeResult {
  keys: string[];
  rows: number;
  /** Milliseconds the delete's statements held the writer (SQLite), without its wait for a turn or the commit. */
  busyMs?: number;
}

/** Rows of each class and the oldest time among those not held (null: none found). */
export type RetentionStats = Record<RetentionClass, { rows: number; oldestAt: number | null }>;

/**
 * A feature's hold: SQL true for an event (alias `e`, a row of events) that it still needs, e.g.
 * a record not yet written to a file. Per dialect, no parameters (see StoreExtension.retentionHold).
 */
export interface RetentionHold {
  readonly sqlite: string;
  readonly postgres: string;
}

export type Dialect = 'sqlite' | 'postgres';

/** `?` placeholders, numbered for PostgreSQL. The SQL here has no `?` inside literals. */
export function placeholders(d: Dialect, sql: string): string {
  if (d === 'sqlite') return sql;
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** `col` is one of a list bound as one parameter (see listParam). */
export function inList(d: Dialect, col: string, type: 'text' | 'bigint'): string {
  return d === 'sqlite' ? `${col} IN (SELECT value FROM json_each(?))` : `${col} = ANY(?::${type}[])`;
}

export function listParam(d: Dialect, values: readonly (string | number)[]): unknown {
  return d === 'sqlite' ? JSON.stringify(values) : values;
}

/** True for an event (alias e) that must stay whatever its age: an open delivery, a conflict naming it, a feature's hold. */
export function eventHeld(holds: readonly string[]): string {
  return [
    `EXISTS (SELECT 1 FROM deliveries o WHERE o.event_id = e.id AND o.state IN ('pending','in_flight'))`,
    `EXISTS (SELECT 1 FROM conflicts k WHERE k.event_id = e.id)`,
    `EXISTS (SELECT 1 FROM conflicts k WHERE k.conflict_event_id = e.id)`,
    ...holds.map((h) => `(${h})`),
  ].join(' OR ');
}

/**
 * The due condition of a class for the row alias of its table (events e / callbacks c), with one
 * parameter: the cutoff (rows strictly older go). Held events never match.
 */
export function dueWhere(cls: RetentionClass, holds: readonly string[]): string {
  switch (cls) {
    case 'delivered':
      return `e.received_at < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.state <> 'succeeded') AND NOT (${eventHeld(holds)})`;
    case 'deadLetters':
      // The newest death counts: an event with a dead delivery younger than the cutoff stays whole.
      return `NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.state = 'dead' AND d.updated_at >= ?)
        AND EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.state = 'dead') AND NOT (${eventHeld(holds)})`;
    case 'quarantine':
      return `c.state = 'quarantined' AND c.received_at < ?`;
    case 'callbacks':
      // A callback stays while a conflict names it or its event is held.
      return `c.state <> 'quarantined' AND c.received_at < ?
        AND NOT EXISTS (SELECT 1 FROM conflicts k WHERE k.callback_id = c.id)
        AND NOT (c.event_id IS NOT NULL AND EXISTS (SELECT 1 FROM events e WHERE e.id = c.event_id AND (${eventHeld(holds)})))`;
  }
}

export const isEventClass = (cls: RetentionClass) => cls === 'delivered' || cls === 'deadLetters';

/**
 * One page of candidates of a class, oldest first, from the cursor: columns k (the cursor key),
 * at (the cursor time) and id (the unit key). Parameters: cutoff, cursor at, cursor key, limit.
 * Each walks one index: events_received, deliveries_dead_since, callbacks_received / callbacks_quarantined.
 */
export function candidatePage(d: Dialect, cls: RetentionClass): string {
  const cbKey = d === 'sqlite' ? 'id' : 'rid';
  switch (cls) {
    case 'delivered':
      return `SELECT seq AS k, received_at AS at, id FROM events WHERE received_at < ? AND (received_at, seq) > (?, ?) ORDER BY received_at, seq LIMIT ?`;
    case 'deadLetters':
      return `SELECT id AS k, updated_at AS at, event_id AS id FROM deliveries WHERE state = 'dead' AND updated_at < ? AND (updated_at, id) > (?, ?) ORDER BY updated_at, id LIMIT ?`;
    case 'callbacks':
      return `SELECT ${cbKey} AS k, received_at AS at, id FROM callbacks WHERE received_at < ? AND (received_at, ${cbKey}) > (?, ?) ORDER BY received_at, ${cbKey} LIMIT ?`;
    case 'quarantine':
      return `SELECT ${cbKey} AS k, received_at AS at, id FROM callbacks WHERE state = 'quarantined' AND received_at < ? AND (received_at, ${cbKey}) > (?, ?) ORDER BY received_at, ${cbKey} LIMIT ?`;
  }
}

/** The cursor a scan starts from: below every (time, key) of the class's index. */
export function firstCursor(d: Dialect, cls: RetentionClass): { at: number; key: string | number } {
  return { at: -1, key: d === 'sqlite' && !isEventClass(cls) ? '' : -1 };
}

/** The due rows among candidate unit keys (parameters: cutoff, the key list). */
export function dueRows(d: Dialect, cls: RetentionClass, holds: readonly string[], columns = '*'): string {
  return isEventClass(cls)
    ? `SELECT ${columns === '*' ? 'e.*' : columns} FROM events e WHERE ${dueWhere(cls, holds)} AND ${inList(d, 'e.id', 'text')}`
    : `SELECT ${columns === '*' ? 'c.*' : columns} FROM callbacks c WHERE ${dueWhere(cls, holds)} AND ${inList(d, 'c.id', 'text')}`;
}

/**
 * Group the rows of due events into units: each event with its deliveries and attempts.
 * deadLetters units are aged by their newest death.
 */
export function eventUnits(cls: RetentionClass, events: Row[], deliveries: Row[], attempts: Row[]): DueUnit[] {
  const units = new Map<string, DueUnit>();
  for (const e of events) units.set(String(e.id), { key: String(e.id), at: Number(e.received_at), rows: [{ table: 'events', id: String(e.id), row: e }] });
  if (cls === 'deadLetters') for (const u of units.values()) u.at = -1;
  for (const d of deliveries) {
    const u = units.get(String(d.event_id));
    if (!u) continue;
    u.rows.push({ table: 'deliveries', id: String(d.id), row: d });
    if (cls === 'deadLetters' && d.state === 'dead') u.at = Math.max(u.at, Number(d.updated_at));
  }
  for (const a of attempts) units.get(String(a.event_id))?.rows.push({ table: 'attempts', id: String(a.id), row: a });
  return [...units.values()].sort((a, b) => a.at - b.at || a.key.localeCompare(b.key));
}

/** Rows per unit as the scan saw them: a purge skips a unit whose count changed since (it was archived as it was then). */
export type UnitSizes = Record<string, number>;

export const unitSizes = (units: readonly DueUnit[]): UnitSizes => Object.fromEntries(units.map((u) => [u.key, u.rows.length]));

/** Rows of each due event now (1 + deliveries + attempts), keyed by event id; parameter: the id list. */
export function eventSizes(d: Dialect): string {
  return `SELECT e.id, 1 + (SELECT COUNT(*) FROM deliveries x WHERE x.event_id = e.id) + (SELECT COUNT(*) FROM attempts a WHERE a.event_id = e.id) AS n
    FROM events e WHERE ${inList(d, 'e.id', 'text')}`;
}

/** Rows of each class (cheap counts: indexes and partial indexes), for the metrics. */
export const COUNT_SQL: Record<RetentionClass, string> = {
  delivered: `SELECT COUNT(*) AS n FROM events`,
  // All minus the quarantined: a count of the whole table walks its smallest index, and the
  // quarantined ones have a partial index; `state <> 'quarantined'` read every row (seconds on the
  // event loop, once a sweep, with a few hundred thousand callbacks and their bodies).
  callbacks: `SELECT (SELECT COUNT(*) FROM callbacks) - (SELECT COUNT(*) FROM callbacks WHERE state = 'quarantined') AS n`,
  quarantine: `SELECT COUNT(*) AS n FROM callbacks WHERE state = 'quarantined'`,
  deadLetters: `SELECT COUNT(DISTINCT event_id) AS n FROM deliveries WHERE state = 'dead'`,
};
