// The PostgreSQL store's admin side: the console's and API's queries, quarantine, dead letters, redelivery (see PostgresStore).
import { lockOrderKeys } from './postgres-locks.js';
import { notify } from './postgres-notify.js';
import type { PgSession } from './postgres-session.js';
import {
  conflictWhere, DEAD_LETTER_ORDER, deadLetterPageWhere, deadLetterWhere, decodeCursor, eventWhere, globToSql, pageOf, positionalBind, quarantineWhere, timePageOf, type Bind,
} from './query.js';
import { mapAttempt, mapCallback, mapConflict, mapDelivery, mapDeliveryCounts, mapEvent, type Row } from './rows.js';
import { activityBuckets, fillActivity } from './stats.js';
import type {
  ActivityBucket, AttemptRecord, AttemptSummary, CallbackRecord, ConflictFilter, ConflictRecord, DeadLetterFilter, DeliveryCounts, DeliveryRecord, EventFilter, Page,
  QuarantineFilter, StoredEvent,
} from './types.js';

export async function listEvents(db: PgSession, f: EventFilter, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
  const p: unknown[] = [];
  const bind = positionalBind(p);
  const where = eventWhere(f, bind, typeLike);
  const c = decodeCursor(cursor);
  if (c !== null) where.push(`seq < ${bind('cursor', c)}`);
  const rows = await db.q(`SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${bind('limit', limit + 1)}`, p);
  return pageOf(rows, limit, mapEvent, (r) => Number(r.seq));
}

/** The event-type glob as LIKE (`*` → `%`, `_` literal) plus the same dot count, like SQLite's GLOB. */
function typeLike(glob: string, bind: Bind): string {
  const g = globToSql(glob);
  const like = g.glob.replaceAll('_', '\\_').replaceAll('*', '%');
  return `type LIKE ${bind('typeLike', like)} AND (length(type) - length(replace(type, '.', ''))) = ${bind('typeDots', g.dots)}`;
}

export async function getEvent(db: PgSession, id: string): Promise<StoredEvent | null> {
  const [r] = await db.q('SELECT * FROM events WHERE id = $1', [id]);
  return r ? mapEvent(r) : null;
}

export async function getCallback(db: PgSession, id: string): Promise<CallbackRecord | null> {
  const [r] = await db.q('SELECT * FROM callbacks WHERE id = $1', [id]);
  return r ? mapCallback(r) : null;
}

export async function deliveriesOf(db: PgSession, eventId: string): Promise<DeliveryRecord[]> {
  return (await db.q('SELECT * FROM deliveries WHERE event_id = $1 ORDER BY endpoint_id', [eventId])).map(mapDelivery);
}

export async function attemptsOf(db: PgSession, eventId: string): Promise<AttemptRecord[]> {
  return (await db.q('SELECT * FROM attempts WHERE event_id = $1 ORDER BY id', [eventId])).map(mapAttempt);
}

export async function deliveryCounts(db: PgSession, eventIds: readonly string[]): Promise<DeliveryCounts[]> {
  if (eventIds.length === 0) return [];
  // On the (event_id, endpoint_id) unique index: a page's ids, not the table.
  const rows = await db.q(
    `SELECT event_id, COUNT(*) FILTER (WHERE state = 'succeeded') AS delivered,
       COUNT(*) FILTER (WHERE state IN ('pending','in_flight') AND attempts = 0) AS pending,
       COUNT(*) FILTER (WHERE state IN ('pending','in_flight') AND attempts > 0) AS retrying,
       COUNT(*) FILTER (WHERE state = 'dead') AS dead
     FROM deliveries WHERE event_id = ANY($1::text[]) GROUP BY event_id`,
    [eventIds],
  );
  return rows.map(mapDeliveryCounts);
}

export async function listQuarantine(db: PgSession, f: QuarantineFilter, limit: number, cursor?: string): Promise<Page<CallbackRecord>> {
  const p: unknown[] = [];
  const bind = positionalBind(p);
  const where = quarantineWhere(f, bind);
  const c = decodeCursor(cursor);
  if (c !== null) where.push(`rid < ${bind('cursor', c)}`);
  const rows = await db.q(`SELECT * FROM callbacks WHERE ${where.join(' AND ')} ORDER BY rid DESC LIMIT ${bind('limit', limit + 1)}`, p);
  return pageOf(rows, limit, mapCallback, (r) => Number(r.rid));
}

export async function quarantineStats(db: PgSession): Promise<{ size: number; oldestAt: number | null }> {
  const [r] = await db.q(`SELECT COUNT(*) AS n, MIN(received_at) AS oldest FROM callbacks WHERE state = 'quarantined'`);
  return { size: Number(r!.n), oldestAt: r!.oldest === null ? null : Number(r!.oldest) };
}

export async function listConflicts(db: PgSession, f: ConflictFilter, limit: number, cursor?: string): Promise<Page<ConflictRecord>> {
  const p: unknown[] = [];
  const bind = positionalBind(p);
  const where = conflictWhere(f, bind);
  const c = decodeCursor(cursor);
  if (c !== null) where.push(`seq < ${bind('cursor', c)}`);
  const rows = await db.q(`SELECT * FROM conflicts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${bind('limit', limit + 1)}`, p);
  return pageOf(rows, limit, mapConflict, (r) => Number(r.seq));
}

export async function getConflict(db: PgSession, callbackId: string): Promise<ConflictRecord | null> {
  const [r] = await db.q('SELECT * FROM conflicts WHERE callback_id = $1', [callbackId]);
  return r ? mapConflict(r) : null;
}

export async function quarantineSize(db: PgSession): Promise<number> {
  const [r] = await db.q(`SELECT COUNT(*) AS n FROM callbacks WHERE state = 'quarantined'`);
  return Number(r!.n);
}

const deadWhere = (f: DeadLetterFilter, bind: Bind) => deadLetterWhere(f, bind, typeLike);

export async function listDeadLetters(db: PgSession, f: DeadLetterFilter, limit: number, cursor?: string): Promise<Page<DeliveryRecord & { type: string }>> {
  const p: unknown[] = [];
  const bind = positionalBind(p);
  const where = deadLetterPageWhere(f, bind, typeLike, cursor);
  const rows = await db.q(
    `SELECT d.*, e.type AS type FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${where} ${DEAD_LETTER_ORDER} LIMIT ${bind('limit', limit + 1)}`,
    p,
  );
  return timePageOf(rows, limit, (r) => ({ ...mapDelivery(r), type: String(r.type) }), (r) => [Number(r.updated_at), Number(r.id)]);
}

export async function countDeadLetters(db: PgSession, f: DeadLetterFilter): Promise<number> {
  const p: unknown[] = [];
  const [r] = await db.q(`SELECT COUNT(*) AS n FROM deliveries d WHERE ${deadWhere(f, positionalBind(p))}`, p);
  return Number(r!.n);
}

export async function redeliverDeadLetters(db: PgSession, f: DeadLetterFilter, now: number): Promise<number> {
  return db.tx(async (c) => {
    const p: unknown[] = [now];
    const rows = (await c.query(
      `UPDATE deliveries AS d SET state = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1, completed_at = NULL
       WHERE ${deadWhere(f, positionalBind(p))} RETURNING d.endpoint_id`,
      p,
    )).rows as Row[];
    if (rows.length > 0) await notify(c, db.schema, rows.map((r) => String(r.endpoint_id)));
    return rows.length;
  });
}

export async function redeliver(db: PgSession, eventId: string, endpointIds: string[], orderKeys: Record<string, string | null>, now: number): Promise<string[]> {
  return db.tx(async (c) => {
    const [ev] = (await c.query('SELECT seq FROM events WHERE id = $1', [eventId])).rows as Row[];
    if (!ev) return [];
    await lockOrderKeys(c, db.schema, endpointIds.map((e) => orderKeys[e] ?? null));
    const scheduled: string[] = [];
    for (const endpointId of endpointIds) {
      const reset = await c.query(
        `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1, completed_at = NULL
         WHERE event_id = $2 AND endpoint_id = $3 AND state != 'in_flight'`,
        [now, eventId, endpointId],
      );
      if (reset.rowCount === 1) {
        scheduled.push(endpointId);
        continue;
      }
      const key = orderKeys[endpointId] ?? null;
      const created = await c.query(
        `INSERT INTO deliveries (event_seq, event_id, endpoint_id, order_key, state, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5) ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
        [ev.seq, eventId, endpointId, key === null ? null : Buffer.from(key, 'utf8'), now],
      );
      if (created.rowCount === 1) scheduled.push(endpointId);
    }
    if (scheduled.length > 0) await notify(c, db.schema, scheduled);
    return scheduled;
  });
}

export async function activity(db: PgSession, since: number, until: number, bucketMs: number): Promise<ActivityBucket[]> {
  const buckets = activityBuckets(since, until, bucketMs);
  if (!buckets) return [];
  const p = [since, until, bucketMs];
  const b = (col: string) => `((${col} - $1::bigint) / $3::bigint) AS b`; // bigint division truncates, like SQLite's CAST
  const [callbacks, quarantined, events, attempts] = await Promise.all([
    db.q(`SELECT ${b('received_at')}, COUNT(*) AS n FROM callbacks WHERE received_at >= $1 AND received_at < $2 GROUP BY 1`, p),
    db.q(`SELECT ${b('received_at')}, COUNT(*) AS n FROM callbacks WHERE state = 'quarantined' AND received_at >= $1 AND received_at < $2 GROUP BY 1`, p),
    db.q(`SELECT ${b('received_at')}, COUNT(*) AS n FROM events WHERE received_at >= $1 AND received_at < $2 GROUP BY 1`, p),
    db.q(
      `SELECT ${b('started_at')}, COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok
       FROM attempts WHERE started_at >= $1 AND started_at < $2 GROUP BY 1`,
      p,
    ),
  ]);
  return fillActivity(buckets, { callbacks, quarantined, events, attempts });
}

export async function attemptSummary(db: PgSession, since: number, until: number): Promise<AttemptSummary> {
  // One statement, so counts and percentiles come from one snapshot. percentile_disc is the nearest rank:
  // PostgreSQL takes the value at 1-based row ceil(p * n) of the ascending durations.
  const [row] = await db.q(
    `SELECT COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50, percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99
     FROM attempts WHERE started_at >= $1 AND started_at < $2`,
    [since, until],
  );
  const n = Number(row!.n);
  if (n === 0) return { attempts: 0, successes: 0, p50Ms: null, p99Ms: null };
  return { attempts: n, successes: Number(row!.ok), p50Ms: Number(row!.p50), p99Ms: Number(row!.p99) };
}

export async function* exportCallbacks(db: PgSession, since: number | null): AsyncIterable<CallbackRecord> {
  // Keyset pages in arrival order: no transaction or cursor held open while the consumer is slow.
  let after = 0;
  for (;;) {
    const rows = await db.q(`SELECT * FROM callbacks WHERE rid > $1 AND received_at >= $2 ORDER BY rid LIMIT 500`, [after, since ?? 0]);
    if (rows.length === 0) return;
    for (const r of rows) yield mapCallback(r);
    after = Number(rows[rows.length - 1]!.rid);
  }
}
