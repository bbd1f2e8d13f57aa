// The embedded store's intake: callbacks and events (see SqliteStore).
import type { Row } from './rows.js';
import type { SqliteStatements } from './sqlite-statements.js';
import type { EventDraft, IngestItem, IngestResult } from './types.js';

function insertCallback(s: SqliteStatements, c: IngestItem['callback'], state: string, eventId: string | null): void {
  s.st(
    `INSERT INTO callbacks (id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body,
       merchant_id, state, reason, detail, event_id, decoded)
     VALUES (@id, @receivedAt, @channel, @method, @path, @kind, @contentType, @remoteIp, @headers, @body,
       @merchantId, @state, @reason, @detail, @eventId, @decoded)`,
  ).run({
    ...c, state, eventId,
    // Strings when they came through the writer thread (serialised on the caller's thread).
    headers: typeof c.headers === 'string' ? c.headers : JSON.stringify(c.headers),
    decoded: typeof c.decoded === 'string' ? c.decoded : c.decoded ? JSON.stringify(c.decoded) : null,
  });
}

/** Insert the event unless its dedupe key exists; schedule deliveries only for a new event. */
export function insertEvent(s: SqliteStatements, e: EventDraft, callbackId: string | null, now: number): { eventId: string; duplicate: boolean } {
  const info = s.st(
    `INSERT INTO events (id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id,
       received_at, callback_id, payload)
     VALUES (@id, @dedupeKey, @type, @source, @merchantId, @operation, @outcome, @transId, @payId, @mandateId,
       @receivedAt, @callbackId, @payload)
     ON CONFLICT (dedupe_key) DO NOTHING`,
  ).run({
    id: e.id, dedupeKey: e.dedupeKey, type: e.type, source: e.source, merchantId: e.merchantId, operation: e.operation,
    outcome: e.outcome, transId: e.transId, payId: e.payId, mandateId: e.mandateId, receivedAt: e.receivedAt, callbackId, payload: e.payload,
  });
  if (info.changes === 0) {
    const row = s.st('SELECT id FROM events WHERE dedupe_key = ?').get(e.dedupeKey) as Row;
    return { eventId: String(row.id), duplicate: true };
  }
  const seq = Number(info.lastInsertRowid);
  const ins = s.st(
    `INSERT INTO deliveries (event_seq, event_id, endpoint_id, order_key, state, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
  );
  for (const d of e.deliveries) ins.run(seq, e.id, d.endpointId, d.orderKey, now, now, now);
  return { eventId: e.id, duplicate: false };
}

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
      const { eventId, duplicate } = insertEvent(s, item.event, c.id, c.receivedAt);
      insertCallback(s, c, duplicate ? 'duplicate' : 'accepted', eventId);
      return { callbackId: c.id, eventId, duplicate };
    }),
  ).immediate();
}

export function addEvent(s: SqliteStatements, event: EventDraft, now: number): { eventId: string; duplicate: boolean } {
  return s.db.transaction(() => insertEvent(s, event, null, now)).immediate();
}

export function resolveQuarantine(s: SqliteStatements, callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number): IngestResult | null {
  return s.db.transaction(() => {
    const row = s.st(`SELECT state FROM callbacks WHERE id = ?`).get(callbackId) as Row | undefined;
    if (!row || row.state !== 'quarantined') return null;
    const { eventId, duplicate } = insertEvent(s, event, callbackId, now);
    s.st(`UPDATE callbacks SET state = 'reprocessed', event_id = ?, merchant_id = ?, decoded = ? WHERE id = ?`)
      .run(eventId, merchantId, JSON.stringify(decoded), callbackId);
    return { callbackId, eventId, duplicate };
  }).immediate();
}
