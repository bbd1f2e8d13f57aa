// The PostgreSQL store's erasure: the same steps as sqlite-erase.ts in one transaction,
// then VACUUM of the touched tables (dead row versions keep the old values until then).
import type pg from 'pg';
import { chunks, callbackMatches, EVENT_COLUMN, eraseAttemptRow, eraseCallbackRow, eraseEventRow, mapErasure, selectorOf } from './erasure-rows.js';
import type { PgSession } from './postgres-session.js';
import { decodeCursor, encodeCursor } from './query.js';
import type { Row } from './rows.js';
import type { CoreErasure, ErasureRecord, ErasureSelector, Page } from './types.js';
const rowsOf = async (c: pg.PoolClient, sql: string, params: unknown[]) => (await c.query(sql, params)).rows as Row[];

export async function eraseSubject(db: PgSession, selector: ErasureSelector): Promise<CoreErasure> {
  return db.tx(async (c) => {
    const { kind, value } = selectorOf(selector);
    const rows = { events: 0, callbacks: 0, attempts: 0 };
    const events = await rowsOf(c, `SELECT seq, id, trans_id, payload, fingerprint FROM events WHERE ${EVENT_COLUMN[kind]} = $1 ORDER BY seq FOR UPDATE`, [value]);
    for (const e of events) {
      const patch = eraseEventRow(e);
      if (patch) rows.events += (await c.query('UPDATE events SET payload = $1, fingerprint = $2 WHERE seq = $3', [patch.payload, patch.fingerprint, e.seq])).rowCount ?? 0;
    }
    const eventIds = events.map((e) => String(e.id));

    const callbacks = new Map<string, Row>();
    for (const ids of chunks(eventIds)) {
      const found = await rowsOf(c,
        `SELECT * FROM callbacks WHERE event_id = ANY($1::text[])
         OR id IN (SELECT callback_id FROM conflicts WHERE event_id = ANY($1::text[]) OR conflict_event_id = ANY($1::text[])) FOR UPDATE`, [ids]);
      for (const r of found) callbacks.set(String(r.id), r);
    }
    const eventless = await rowsOf(c,
      `SELECT * FROM callbacks WHERE event_id IS NULL
       AND ((decoded IS NOT NULL AND (decoded::jsonb ->> '${kind}') = $1) OR (decoded IS NULL AND position(convert_to($1, 'UTF8') IN body) > 0)) FOR UPDATE`, [value]);
    for (const r of eventless) if (callbackMatches(r, selector)) callbacks.set(String(r.id), r);
    for (const r of callbacks.values()) {
      const p = eraseCallbackRow(r);
      if (p) {
        rows.callbacks += (await c.query('UPDATE callbacks SET body = $1, headers = $2, decoded = $3, remote_ip = $4 WHERE id = $5',
          [p.body, p.headers, p.decoded, p.remote_ip, r.id])).rowCount ?? 0;
      }
    }

    for (const ids of chunks(eventIds)) {
      const found = await rowsOf(c, 'SELECT id, response_body FROM attempts WHERE event_id = ANY($1::text[]) AND response_body IS NOT NULL FOR UPDATE', [ids]);
      const clear = found.filter((a) => eraseAttemptRow(a) !== null).map((a) => a.id);
      if (clear.length) rows.attempts += (await c.query('UPDATE attempts SET response_body = NULL WHERE id = ANY($1::bigint[])', [clear])).rowCount ?? 0;
    }
    const transIds = [...new Set(events.map((e) => e.trans_id).filter((t): t is string => typeof t === 'string'))];
    if (kind === 'transId' && !transIds.includes(value)) transIds.push(value);
    return { eventIds, transIds, rows };
  });
}

const TABLE = /^[a-z_][a-z0-9_]*$/;

/**
 * VACUUM each table (outside any transaction): dead row versions holding the old values are
 * pruned and their space freed for reuse. Names come from the store and the features' erase
 * hooks, never from a request; anything else is refused.
 */
export async function vacuum(db: PgSession, tables: readonly string[]): Promise<boolean> {
  let ok = true;
  for (const t of new Set(tables)) {
    if (!TABLE.test(t)) throw new Error(`vacuum: not a table name: ${t}`);
    try {
      await db.q(`VACUUM ${t}`);
    } catch {
      ok = false;
    }
  }
  return ok;
}

export async function recordErasure(db: PgSession, r: Omit<ErasureRecord, 'seq'>): Promise<ErasureRecord> {
  const [row] = await db.q(
    'INSERT INTO erasures (erased_at, actor, reason, selector_kind, selector_value, rows, total) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq',
    [r.erasedAt, r.actor, r.reason, r.selector.kind, r.selector.value, JSON.stringify(r.rows), r.total],
  );
  return { ...r, seq: Number(row!.seq) };
}

export async function listErasures(db: PgSession, limit: number, cursor?: string): Promise<Page<ErasureRecord>> {
  const before = decodeCursor(cursor);
  const rows = before === null
    ? await db.q('SELECT * FROM erasures ORDER BY seq DESC LIMIT $1', [limit + 1])
    : await db.q('SELECT * FROM erasures WHERE seq < $1 ORDER BY seq DESC LIMIT $2', [before, limit + 1]);
  const items = rows.slice(0, limit).map(mapErasure);
  return { items, next: rows.length > limit ? encodeCursor(items[items.length - 1]!.seq) : null };
}
