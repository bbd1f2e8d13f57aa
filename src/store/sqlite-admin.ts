// The embedded store's admin side: the console's and API's queries, quarantine, dead letters, redelivery (see SqliteStore).
import {
  conflictWhere, DEAD_LETTER_ORDER, deadLetterPageWhere, deadLetterWhere, decodeCursor, encodeCursor, eventWhere, globToSql, namedBind, pageOf, quarantineWhere, timePageOf, type Bind,
} from './query.js';
import { mapAttempt, mapCallback, mapConflict, mapDelivery, mapDeliveryCounts, mapEvent, type Row } from './rows.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { activityBuckets, fillActivity } from './stats.js';
import type {
  ActivityBucket, AttemptRecord, AttemptSummary, CallbackRecord, ConflictFilter, ConflictRecord, DeadLetterFilter, DeliveryCounts, DeliveryRecord, EventFilter, Page, QuarantineFilter, StoredEvent,
} from './types.js';

/** The event-type glob as GLOB plus the dot count, so a `*` stays within one segment. */
function typeGlob(type: string, bind: Bind): string {
  const g = globToSql(type);
  return `type GLOB ${bind('typeGlob', g.glob)} AND (length(type) - length(replace(type, '.', ''))) = ${bind('typeDots', g.dots)}`;
}

/**
 * Newest first, at any size: ids are looked up on their own indexes; broad filters (type,
 * merchant, outcome, time) first walk the newest `probeRows` rows by primary key (they
 * usually fill a page there) and only then ask their index, which is sorted as bare seqs
 * (never as whole rows, payload included). The rows themselves are read last, by seq.
 * bench/console-events.ts measures it at 1,000,000 events.
 */
export function listEvents(s: SqliteStatements, probeRows: number, f: EventFilter, limit: number, cursor?: string): Page<StoredEvent> {
  const p: Record<string, unknown> = {};
  const where = eventWhere(f, namedBind(p), (type, bind) => {
    globToSql(type); // refuses a malformed filter, exact or not
    // An exact type is an equality, so its index (type, seq) is already in page order.
    return type.includes('*') ? typeGlob(type, bind) : `type = ${bind('type', type)}`;
  });
  const idLookup = f.transId !== undefined || f.payId !== undefined || f.mandateId !== undefined;
  const hint = idLookup ? '' : eventIndexFor(s, f, p);
  const want = limit + 1;
  let upper = decodeCursor(cursor); // exclusive
  const seqs: number[] = [];
  if (where.length > 0 && !idLookup) {
    const top = upper ?? Number((s.st('SELECT COALESCE(MAX(seq), 0) + 1 AS top FROM events').get() as Row).top);
    const floor = Math.max(0, top - probeRows);
    const probe = s.db
      .prepare(`SELECT seq FROM events NOT INDEXED WHERE seq < @top AND seq >= @floor AND ${where.join(' AND ')} ORDER BY seq DESC LIMIT @want`)
      .all({ ...p, top, floor, want }) as Row[];
    for (const r of probe) seqs.push(Number(r.seq));
    upper = floor;
  }
  if (seqs.length < want && upper !== 0) {
    const w = upper === null ? where : [...where, 'seq < @upper'];
    const rest = s.db
      .prepare(`SELECT seq FROM events ${hint} ${w.length ? `WHERE ${w.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @n`)
      .all({ ...p, upper, n: want - seqs.length }) as Row[];
    for (const r of rest) seqs.push(Number(r.seq));
  }
  const page = seqs.slice(0, limit);
  const rows = page.length
    ? (s.db.prepare(`SELECT * FROM events WHERE seq IN (${page.map(() => '?').join(',')}) ORDER BY seq DESC`).all(...page) as Row[]).map(mapEvent)
    : [];
  return { items: rows, next: seqs.length > limit ? encodeCursor(page[page.length - 1]!) : null };
}

/**
 * SQLite cannot tell how many rows a GLOB or time range covers, and picked the type index
 * for `mandate.*` within one day (300,000 rows read for 30,000 candidates). When a time range
 * meets a type or merchant filter, count each candidate index's matches (bounded, index only)
 * and name the smallest.
 */
function eventIndexFor(s: SqliteStatements, f: EventFilter, p: Record<string, unknown>): string {
  const time = [f.since !== undefined && 'received_at >= @since', f.until !== undefined && 'received_at < @until'].filter(Boolean).join(' AND ');
  if (!time || (!f.type && f.merchantId === undefined)) return '';
  const candidates: [string, string][] = [['events_received', time]];
  if (f.type) candidates.push(['events_type', f.type.includes('*') ? 'type GLOB @typeGlob' : 'type = @type']);
  if (f.merchantId !== undefined) candidates.push(['events_merchant', 'merchant_id = @merchantId']);
  let best = candidates[0]!;
  let bestN = Infinity;
  for (const c of candidates) {
    const params = Object.fromEntries(Object.entries(p).filter(([k]) => c[1].includes(`@${k}`)));
    const n = Number((s.db.prepare(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM events INDEXED BY ${c[0]} WHERE ${c[1]} LIMIT 20000)`).get(params) as Row).n);
    if (n < bestN) (best = c), (bestN = n);
  }
  return `INDEXED BY ${best[0]}`;
}

export function getEvent(s: SqliteStatements, id: string): StoredEvent | null {
  const r = s.st('SELECT * FROM events WHERE id = ?').get(id) as Row | undefined;
  return r ? mapEvent(r) : null;
}

export function getCallback(s: SqliteStatements, id: string): CallbackRecord | null {
  const r = s.st('SELECT * FROM callbacks WHERE id = ?').get(id) as Row | undefined;
  return r ? mapCallback(r) : null;
}

export function deliveriesOf(s: SqliteStatements, eventId: string): DeliveryRecord[] {
  return (s.st('SELECT * FROM deliveries WHERE event_id = ? ORDER BY endpoint_id').all(eventId) as Row[]).map(mapDelivery);
}

export function attemptsOf(s: SqliteStatements, eventId: string): AttemptRecord[] {
  return (s.st('SELECT * FROM attempts WHERE event_id = ? ORDER BY id').all(eventId) as Row[]).map(mapAttempt);
}

export function deliveryCounts(s: SqliteStatements, eventIds: readonly string[]): DeliveryCounts[] {
  if (eventIds.length === 0) return [];
  // On the (event_id, endpoint_id) unique index: a page's ids, not the table.
  const rows = s.db.prepare(
    `SELECT event_id, SUM(state = 'succeeded') AS delivered, SUM(state IN ('pending','in_flight') AND attempts = 0) AS pending,
       SUM(state IN ('pending','in_flight') AND attempts > 0) AS retrying, SUM(state = 'dead') AS dead
     FROM deliveries WHERE event_id IN (${eventIds.map(() => '?').join(',')}) GROUP BY event_id`,
  ).all(...eventIds) as Row[];
  return rows.map(mapDeliveryCounts);
}

export function listQuarantine(s: SqliteStatements, f: QuarantineFilter, limit: number, cursor?: string): Page<CallbackRecord> {
  const p: Record<string, unknown> = { limit: limit + 1 };
  const bind = namedBind(p);
  const where = quarantineWhere(f, bind);
  const c = decodeCursor(cursor);
  if (c !== null) where.push(`rowid < ${bind('cursor', c)}`);
  const rows = s.db.prepare(`SELECT rowid AS _rowid, * FROM callbacks WHERE ${where.join(' AND ')} ORDER BY rowid DESC LIMIT @limit`).all(p) as Row[];
  return pageOf(rows, limit, mapCallback, (r) => Number(r._rowid));
}

export function quarantineStats(s: SqliteStatements): { size: number; oldestAt: number | null } {
  const r = s.st(`SELECT COUNT(*) AS n, MIN(received_at) AS oldest FROM callbacks WHERE state = 'quarantined'`).get() as Row;
  return { size: Number(r.n), oldestAt: r.oldest === null ? null : Number(r.oldest) };
}

export function listConflicts(s: SqliteStatements, f: ConflictFilter, limit: number, cursor?: string): Page<ConflictRecord> {
  const p: Record<string, unknown> = { limit: limit + 1 };
  const bind = namedBind(p);
  const where = conflictWhere(f, bind);
  const c = decodeCursor(cursor);
  if (c !== null) where.push(`seq < ${bind('cursor', c)}`);
  const rows = s.db.prepare(`SELECT * FROM conflicts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`).all(p) as Row[];
  return pageOf(rows, limit, mapConflict, (r) => Number(r.seq));
}

export function getConflict(s: SqliteStatements, callbackId: string): ConflictRecord | null {
  const r = s.st('SELECT * FROM conflicts WHERE callback_id = ?').get(callbackId) as Row | undefined;
  return r ? mapConflict(r) : null;
}

export function quarantineSize(s: SqliteStatements): number {
  return Number((s.st(`SELECT COUNT(*) AS n FROM callbacks WHERE state = 'quarantined'`).get() as Row).n);
}

const deadWhere = (f: DeadLetterFilter, bind: Bind) => deadLetterWhere(f, bind, typeGlob);

export function listDeadLetters(s: SqliteStatements, f: DeadLetterFilter, limit: number, cursor?: string): Page<DeliveryRecord & { type: string }> {
  const p: Record<string, unknown> = { limit: limit + 1 };
  const where = deadLetterPageWhere(f, namedBind(p), typeGlob, cursor);
  const rows = s.db.prepare(
    `SELECT d.*, e.type AS type FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${where} ${DEAD_LETTER_ORDER} LIMIT @limit`,
  ).all(p) as Row[];
  return timePageOf(rows, limit, (r) => ({ ...mapDelivery(r), type: String(r.type) }), (r) => [Number(r.updated_at), Number(r.id)]);
}

export function countDeadLetters(s: SqliteStatements, f: DeadLetterFilter): number {
  const p: Record<string, unknown> = {};
  return Number((s.db.prepare(`SELECT COUNT(*) AS n FROM deliveries d WHERE ${deadWhere(f, namedBind(p))}`).get(p) as Row).n);
}

export function redeliverDeadLetters(s: SqliteStatements, f: DeadLetterFilter, now: number): number {
  const p: Record<string, unknown> = { now };
  const where = deadWhere(f, namedBind(p));
  return s.db.prepare(
    `UPDATE deliveries AS d SET state = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now, completed_at = NULL WHERE ${where}`,
  ).run(p).changes;
}

export function redeliver(s: SqliteStatements, eventId: string, endpointIds: string[], orderKeys: Record<string, string | null>, now: number): string[] {
  return s.db.transaction(() => {
    const ev = s.st('SELECT seq FROM events WHERE id = ?').get(eventId) as Row | undefined;
    if (!ev) return [];
    const scheduled: string[] = [];
    for (const endpointId of endpointIds) {
      const reset = s.st(
        `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now, completed_at = NULL
         WHERE event_id = @eventId AND endpoint_id = @endpointId AND state != 'in_flight'`,
      ).run({ now, eventId, endpointId });
      if (reset.changes === 1) {
        scheduled.push(endpointId);
        continue;
      }
      const created = s.st(
        `INSERT INTO deliveries (event_seq, event_id, endpoint_id, order_key, state, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
      ).run(ev.seq, eventId, endpointId, orderKeys[endpointId] ?? null, now, now, now);
      if (created.changes === 1) scheduled.push(endpointId);
    }
    return scheduled;
  }).immediate();
}

export function activity(s: SqliteStatements, since: number, until: number, bucketMs: number): ActivityBucket[] {
  const buckets = activityBuckets(since, until, bucketMs);
  if (!buckets) return [];
  const p = { since, until, bucket: bucketMs };
  const all = (sql: string) => s.st(sql).all(p) as Row[];
  const b = (col: string) => `CAST((${col} - @since) / @bucket AS INTEGER) AS b`;
  // Each count reads one index (received_at / started_at), never the wide rows, except the attempt status.
  return fillActivity(buckets, {
    callbacks: all(`SELECT ${b('received_at')}, COUNT(*) AS n FROM callbacks WHERE received_at >= @since AND received_at < @until GROUP BY 1`),
    quarantined: all(`SELECT ${b('received_at')}, COUNT(*) AS n FROM callbacks WHERE state = 'quarantined' AND received_at >= @since AND received_at < @until GROUP BY 1`),
    events: all(`SELECT ${b('received_at')}, COUNT(*) AS n FROM events WHERE received_at >= @since AND received_at < @until GROUP BY 1`),
    attempts: all(
      `SELECT ${b('started_at')}, COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok
       FROM attempts WHERE started_at >= @since AND started_at < @until GROUP BY 1`,
    ),
  });
}

export function attemptSummary(s: SqliteStatements, since: number, until: number): AttemptSummary {
  const row = s.st(
    `SELECT COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok
     FROM attempts WHERE started_at >= ? AND started_at < ?`,
  ).get(since, until) as Row;
  const n = Number(row.n);
  if (n === 0) return { attempts: 0, successes: 0, p50Ms: null, p99Ms: null };
  // Nearest rank: the value at 1-based rank ceil(p * n) of the ascending durations.
  const at = (p: number) =>
    Number((s.st(`SELECT duration_ms AS d FROM attempts WHERE started_at >= ? AND started_at < ? ORDER BY duration_ms LIMIT 1 OFFSET ?`)
      .get(since, until, Math.ceil(p * n) - 1) as Row).d);
  return { attempts: n, successes: Number(row.ok), p50Ms: at(0.5), p99Ms: at(0.99) };
}

export function* exportCallbacks(s: SqliteStatements, since: number | null): Generator<CallbackRecord> {
  // Pages instead of one open iterator: better-sqlite3 forbids other statements while iterating.
  let after = -1;
  for (;;) {
    const rows = s.st(`SELECT rowid AS _rowid, * FROM callbacks WHERE rowid > ? AND received_at >= ? ORDER BY rowid LIMIT 500`)
      .all(after, since ?? 0) as Row[];
    if (rows.length === 0) return;
    for (const r of rows) yield mapCallback(r);
    after = Number(rows[rows.length - 1]!._rowid);
  }
}
