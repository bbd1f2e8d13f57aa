// The embedded store's intake: callbacks and events (see SqliteStore).
import { conflictEvent, differingFields } from './conflict.js';
import type { Row } from './rows.js';
import type { SqliteStatements } from './sqlite-statements.js';
import type { ConflictDraft, EventDraft, IngestItem, IngestResult } from './types.js';

const INSERT_CALLBACK = `INSERT INTO callbacks (id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body,
    merchant_id, state, reason, detail, event_id, decoded, claimed_merchant_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

// Positional parameters: better-sqlite3 binds an array without looking up a name per column.
function insertCallback(s: SqliteStatements, c: IngestItem['callback'], state: string, eventId: string | null): void {
  s.st(INSERT_CALLBACK).run(
    c.id, c.receivedAt, c.channel, c.method, c.path, c.kind, c.contentType, c.remoteIp,
    // Strings when they came through the writer thread (serialised on the caller's thread).
    typeof c.headers === 'string' ? c.headers : JSON.stringify(c.headers), c.body, c.merchantId, state, c.reason, c.detail, eventId,
    typeof c.decoded === 'string' ? c.decoded : c.decoded ? JSON.stringify(c.decoded) : null, c.claimedMerchantId ?? null,
  );
}

const INSERT_EVENT = `INSERT INTO events (id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id,
    received_at, callback_id, payload, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`;

/** Insert the event unless its dedupe key exists; schedule deliveries only for a new event. */
export function insertEvent(s: SqliteStatements, e: EventDraft, callbackId: string | null, now: number): { eventId: string; duplicate: boolean } {
  const first = storeEvent(s, e, callbackId, now);
  return { eventId: first.eventId, duplicate: first.existing !== null };
}

type Stored = { eventId: string; existing: null } | { eventId: string; existing: { fingerprint: string | null; payload: string } };

function storeEvent(s: SqliteStatements, e: EventDraft, callbackId: string | null, now: number): Stored {
  const info = s.st(INSERT_EVENT).run(
    e.id, e.dedupeKey, e.type, e.source, e.merchantId, e.operation, e.outcome, e.transId, e.payId, e.mandateId, e.receivedAt, callbackId, e.payload,
    e.fingerprint ?? null,
  );
  if (info.changes === 0) {
    const row = s.st('SELECT id, fingerprint, payload FROM events WHERE dedupe_key = ?').get(e.dedupeKey) as Row;
    return { eventId: String(row.id), existing: { fingerprint: (row.fingerprint as string | null) ?? null, payload: String(row.payload) } };
  }
  const seq = Number(info.lastInsertRowid);
  const ins = s.st(
    `INSERT INTO deliveries (event_seq, event_id, endpoint_id, order_key, state, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
  );
  for (const d of e.deliveries) ins.run(seq, e.id, d.endpointId, d.orderKey, now, now, now);
  return { eventId: e.id, existing: null };
}

/**
 * Store the event or, when its identity is stored already, decide duplicate or conflict against
 * that event's fingerprint, inside the caller's transaction (the single writer makes the
 * decision race-free). A conflict stores its `callback.conflict` event and its conflicts row.
 */
function settle(s: SqliteStatements, e: EventDraft, callbackId: string, now: number, conflictOf: () => ConflictDraft | undefined): IngestResult {
  const stored = storeEvent(s, e, callbackId, now);
  if (stored.existing === null) return { callbackId, eventId: stored.eventId, duplicate: false };
  // Read only now: off the writer thread's wire the draft is parsed on first use (ingest-wire.ts).
  const conflict = conflictOf();
  const fields = conflict ? differingFields(stored.existing.fingerprint, e.fingerprint) : [];
  if (fields.length === 0) return { callbackId, eventId: stored.eventId, duplicate: true };
  const ce = insertEvent(s, conflictEvent(conflict!, { eventId: stored.eventId, payload: stored.existing.payload }, fields), callbackId, now);
  s.st(
    `INSERT INTO conflicts (callback_id, event_id, conflict_event_id, merchant_id, trans_id, pay_id, fields, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(callbackId, stored.eventId, ce.eventId, conflict!.merchantId, conflict!.transId, conflict!.payId, JSON.stringify(fields), conflict!.receivedAt);
  return { callbackId, eventId: stored.eventId, duplicate: true, conflict: { conflictEventId: ce.eventId, fields, created: !ce.duplicate } };
}

const stateOf = (r: IngestResult) => (r.conflict ? 'conflict' : r.duplicate ? 'duplicate' : 'accepted');

export function ingest(s: SqliteStatements, items: IngestItem[]): IngestResult[] {
  return s.db.transaction(() =>
    items.map((item): IngestResult => {
      const c = item.callback;
      if (!item.event) {
        insertCallback(s, c, c.state, null);
        return { callbackId: c.id, eventId: null, duplicate: false };
      }
      // Event first (no foreign key between the two), so the callback row is written once,
      // already knowing whether it was a duplicate: one statement less per callback.
      const r = settle(s, item.event, c.id, c.receivedAt, () => item.conflict);
      insertCallback(s, c, stateOf(r), r.eventId);
      return r;
    }),
  ).immediate();
}

export function addEvent(s: SqliteStatements, event: EventDraft, now: number): { eventId: string; duplicate: boolean } {
  return s.db.transaction(() => insertEvent(s, event, null, now)).immediate();
}

export function resolveQuarantine(
  s: SqliteStatements, callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number, conflict?: ConflictDraft,
): IngestResult | null {
  return s.db.transaction(() => {
    const row = s.st(`SELECT state FROM callbacks WHERE id = ?`).get(callbackId) as Row | undefined;
    if (!row || row.state !== 'quarantined') return null;
    const r = settle(s, event, callbackId, now, () => conflict);
    s.st(`UPDATE callbacks SET state = ?, event_id = ?, merchant_id = ?, decoded = ? WHERE id = ?`)
      .run(r.conflict ? 'conflict' : 'reprocessed', r.eventId, merchantId, JSON.stringify(decoded), callbackId);
    return r;
  }).immediate();
}

/** Paygate events without a fingerprint (stored before version 3), oldest first. */
export function eventsWithoutFingerprint(s: SqliteStatements, afterSeq: number, limit: number): { seq: number; payload: string }[] {
  return (s.st(`SELECT seq, payload FROM events WHERE seq > ? AND fingerprint IS NULL AND source = 'paygate' ORDER BY seq LIMIT ?`)
    .all(afterSeq, limit) as Row[]).map((r) => ({ seq: Number(r.seq), payload: String(r.payload) }));
}

export function setEventFingerprints(s: SqliteStatements, rows: { seq: number; dedupeKey: string; fingerprint: string }[]): number {
  return s.db.transaction(() => {
    let rekeyed = 0;
    for (const r of rows) {
      // OR IGNORE: the key belongs to another old event of the same identity; keep this one's.
      rekeyed += s.st(`UPDATE OR IGNORE events SET dedupe_key = ?, fingerprint = ? WHERE seq = ?`).run(r.dedupeKey, r.fingerprint, r.seq).changes;
      s.st(`UPDATE events SET fingerprint = ? WHERE seq = ? AND fingerprint IS NULL`).run(r.fingerprint, r.seq);
    }
    return rekeyed;
  }).immediate();
}
