// The shared store's retention: reads through the pool (bounded steps, see
// retention-scan.ts), a purge per batch in its own transaction, and a session
// advisory lock so one instance sweeps at a time.
import type pg from 'pg';
import { lockId } from './postgres-locks.js';
import type { PgSession } from './postgres-session.js';
import type { Row } from './rows.js';
import { dueRows, eventSizes, isEventClass, listParam, placeholders, type PurgeResult, type RetentionClass, type UnitSizes } from './retention.js';

export const pgQuery = (db: PgSession) => (sql: string, params: unknown[]): Promise<Row[]> => db.q(sql, params);

/** See sqlite-retention.ts `purge`. A delivery created meanwhile by a redelivery makes the event's delete fail its foreign key: the batch rolls back and the next sweep sees the event held. */
export async function purge(db: PgSession, cls: RetentionClass, cutoff: number, sizes: UnitSizes, holds: string[]): Promise<PurgeResult> {
  const keys = Object.keys(sizes);
  if (keys.length === 0) return { keys: [], rows: 0 };
  return db.tx(async (c) => {
    const col = isEventClass(cls) ? 'e.id' : 'c.id';
    const due = (await c.query(placeholders('postgres', `${dueRows('postgres', cls, holds, col)} FOR UPDATE`), [cutoff, keys])).rows.map((r: Row) => String(r.id));
    if (!isEventClass(cls)) {
      const r = await c.query('DELETE FROM callbacks WHERE id = ANY($1::text[])', [due]);
      return { keys: due, rows: r.rowCount ?? 0 };
    }
    const now = new Map((await c.query(placeholders('postgres', eventSizes('postgres')), [listParam('postgres', due)])).rows.map((r: Row) => [String(r.id), Number(r.n)]));
    const gone = due.filter((id) => now.get(id) === sizes[id]);
    let rows = 0;
    rows += (await c.query('DELETE FROM attempts WHERE event_id = ANY($1::text[])', [gone])).rowCount ?? 0;
    rows += (await c.query('DELETE FROM deliveries WHERE event_id = ANY($1::text[])', [gone])).rowCount ?? 0;
    rows += (await c.query('DELETE FROM events WHERE id = ANY($1::text[])', [gone])).rowCount ?? 0;
    return { keys: gone, rows };
  });
}

/**
 * One instance sweeps at a time: a session advisory lock on a connection held for the sweep.
 * Null when another instance holds it.
 */
export async function sweepLock(pool: pg.Pool, schema: string): Promise<{ release(): Promise<void> } | null> {
  const c = await pool.connect();
  const onError = () => {};
  c.on('error', onError);
  const id = lockId(`paygate-relay:retention:${schema}`);
  try {
    const got = (await c.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [id])).rows[0]?.ok === true;
    if (!got) {
      c.off('error', onError);
      c.release();
      return null;
    }
  } catch (err) {
    c.off('error', onError);
    c.release(err as Error);
    throw err;
  }
  return {
    async release() {
      try {
        await c.query('SELECT pg_advisory_unlock($1::bigint)', [id]);
        c.off('error', onError);
        c.release();
      } catch (err) {
        // A connection that cannot unlock is destroyed: its session, and so the lock, ends with it.
        c.off('error', onError);
        c.release(err as Error);
      }
    },
  };
}

export async function databaseSize(db: PgSession): Promise<{ bytes: number; freeBytes: null }> {
  const [r] = await db.q('SELECT pg_database_size(current_database()) AS n');
  return { bytes: Number(r!.n), freeBytes: null };
}

/**
 * Dead row versions become free space only when vacuumed. Autovacuum gets there, but on its
 * own schedule (a table past 20 % dead rows, checked every minute); right after a sweep the
 * purged tables are vacuumed so the next inserts reuse the space and the database levels off.
 * VACUUM takes no lock that blocks reads or writes.
 */
export async function reclaim(db: PgSession): Promise<void> {
  await db.q('VACUUM (ANALYZE) events, deliveries, attempts, callbacks');
}
