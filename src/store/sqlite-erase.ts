// The embedded store's erasure: the write (one savepoint in the group commit) and
// the audit reads. What a row becomes is decided in src/lifecycle/personal-fields.ts.
import { chunks, callbackMatches, EVENT_COLUMN, eraseAttemptRow, eraseCallbackRow, eraseEventRow, mapErasure, selectorOf } from './erasure-rows.js';
import { decodeCursor, encodeCursor } from './query.js';
import type { Row } from './rows.js';
import type { SqliteStatements } from './sqlite-statements.js';
import type { CoreErasure, ErasureRecord, ErasureSelector, Page } from './types.js';

/** Writer op: erase one subject from the core tables (see Store.eraseSubject). */
export function eraseSubject(s: SqliteStatements, selector: ErasureSelector): CoreErasure {
  return s.db.transaction((): CoreErasure => {
    const { kind, value } = selectorOf(selector);
    const rows = { events: 0, callbacks: 0, attempts: 0 };
    const events = s.db.prepare(`SELECT seq, id, trans_id, payload, fingerprint FROM events WHERE ${EVENT_COLUMN[kind]} = ?`).all(value) as Row[];
    const setEvent = s.st('UPDATE events SET payload = ?, fingerprint = ? WHERE seq = ?');
    for (const e of events) {
      const patch = eraseEventRow(e);
      if (patch && setEvent.run(patch.payload, patch.fingerprint, e.seq).changes === 1) rows.events++;
    }
    const eventIds = events.map((e) => String(e.id));

    const callbacks = new Map<string, Row>();
    for (const ids of chunks(eventIds)) {
      const marks = ids.map(() => '?').join(',');
      const found = s.db.prepare(
        `SELECT * FROM callbacks WHERE event_id IN (${marks})
         OR id IN (SELECT callback_id FROM conflicts WHERE event_id IN (${marks}) OR conflict_event_id IN (${marks}))`,
      ).all(...ids, ...ids, ...ids) as Row[];
      for (const c of found) callbacks.set(String(c.id), c);
    }
    // Without an event (quarantined, browser returns of redirect-only merchants): by the decoded
    // fields, or for one that never decoded by the identifier it names in plain (instr narrows, JS decides).
    const eventless = s.db.prepare(
      `SELECT * FROM callbacks WHERE event_id IS NULL
       AND ((decoded IS NOT NULL AND json_extract(decoded, '$.${kind}') = ?) OR (decoded IS NULL AND instr(body, CAST(? AS BLOB)) > 0))`,
    ).all(value, value) as Row[];
    for (const c of eventless) if (callbackMatches(c, selector)) callbacks.set(String(c.id), c);
    const setCallback = s.st('UPDATE callbacks SET body = ?, headers = ?, decoded = ?, remote_ip = ? WHERE id = ?');
    for (const c of callbacks.values()) {
      const p = eraseCallbackRow(c);
      if (p && setCallback.run(p.body, p.headers, p.decoded, p.remote_ip, c.id).changes === 1) rows.callbacks++;
    }

    const clearAnswer = s.st('UPDATE attempts SET response_body = NULL WHERE id = ?');
    for (const ids of chunks(eventIds)) {
      const found = s.db.prepare(`SELECT id, response_body FROM attempts WHERE event_id IN (${ids.map(() => '?').join(',')}) AND response_body IS NOT NULL`).all(...ids) as Row[];
      for (const a of found) if (eraseAttemptRow(a)) rows.attempts += clearAnswer.run(a.id).changes;
    }
    const transIds = [...new Set(events.map((e) => e.trans_id).filter((t): t is string => typeof t === 'string'))];
    if (kind === 'transId' && !transIds.includes(value)) transIds.push(value);
    return { eventIds, transIds, rows };
  }).immediate();
}

/** Writer op: the audit row. */
export function recordErasure(s: SqliteStatements, r: Omit<ErasureRecord, 'seq'>): ErasureRecord {
  const info = s.st(
    'INSERT INTO erasures (erased_at, actor, reason, selector_kind, selector_value, rows, total) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ).run(r.erasedAt, r.actor, r.reason, r.selector.kind, r.selector.value, JSON.stringify(r.rows), r.total);
  return { ...r, seq: Number(info.lastInsertRowid) };
}

export function listErasures(s: SqliteStatements, limit: number, cursor?: string): Page<ErasureRecord> {
  const before = decodeCursor(cursor);
  const rows = (before === null
    ? s.st('SELECT * FROM erasures ORDER BY seq DESC LIMIT ?').all(limit + 1)
    : s.st('SELECT * FROM erasures WHERE seq < ? ORDER BY seq DESC LIMIT ?').all(before, limit + 1)) as Row[];
  const items = rows.slice(0, limit).map(mapErasure);
  return { items, next: rows.length > limit ? encodeCursor(items[items.length - 1]!.seq) : null };
}
