// The PostgreSQL store's intake: callbacks and events, set-wise per batch (see PostgresStore).
import type pg from 'pg';
import { lockOrderKeys } from './postgres-locks.js';
import { notify } from './postgres-notify.js';
import { txt, type PgSession } from './postgres-session.js';
import type { Row } from './rows.js';
import type { EventDraft, IngestItem, IngestResult } from './types.js';

/**
 * Insert events unless their dedupe key exists and schedule deliveries for the new ones.
 * The unique index decides, not a read: a concurrent insert of the same key waits for
 * the other transaction and then does nothing; the following SELECT (a new statement,
 * so a new snapshot under READ COMMITTED) then sees the winner's row.
 * Drafts must have distinct dedupe keys; returns per draft.
 */
async function insertEvents(c: pg.PoolClient, drafts: { e: EventDraft; callbackId: string | null; now: number }[]): Promise<{ eventId: string; duplicate: boolean }[]> {
  if (drafts.length === 0) return [];
  const col = <K extends keyof EventDraft>(k: K) => drafts.map((d) => d.e[k]);
  const txtCol = <K extends keyof EventDraft>(k: K) => drafts.map((d) => txt(d.e[k] as string | null));
  const inserted = await c.query(
    `INSERT INTO events (id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id, received_at, callback_id, payload)
     SELECT id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id, received_at, callback_id, payload
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                 $11::bigint[], $12::text[], $13::text[])
       WITH ORDINALITY AS u(id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id, received_at, callback_id, payload, ord)
     ORDER BY ord
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING seq, dedupe_key`,
    [
      col('id'), col('dedupeKey'), txtCol('type'), txtCol('source'), txtCol('merchantId'), txtCol('operation'), txtCol('outcome'),
      txtCol('transId'), txtCol('payId'), txtCol('mandateId'), col('receivedAt'), drafts.map((d) => d.callbackId), col('payload'),
    ],
  );
  const seqOf = new Map((inserted.rows as Row[]).map((r) => [String(r.dedupe_key), String(r.seq)]));
  const lost = drafts.filter((d) => !seqOf.has(d.e.dedupeKey)).map((d) => d.e.dedupeKey);
  const existing = new Map<string, string>();
  if (lost.length > 0) {
    for (const r of (await c.query('SELECT id, dedupe_key FROM events WHERE dedupe_key = ANY($1::text[])', [lost])).rows as Row[]) {
      existing.set(String(r.dedupe_key), String(r.id));
    }
  }
  const dSeq: string[] = [], dEvent: string[] = [], dEndpoint: string[] = [], dKey: (Buffer | null)[] = [], dNow: number[] = [];
  for (const d of drafts) {
    const seq = seqOf.get(d.e.dedupeKey);
    if (seq === undefined) continue;
    for (const x of d.e.deliveries) {
      dSeq.push(seq);
      dEvent.push(d.e.id);
      dEndpoint.push(x.endpointId);
      dKey.push(x.orderKey === null ? null : Buffer.from(x.orderKey, 'utf8'));
      dNow.push(d.now);
    }
  }
  if (dSeq.length > 0) {
    await c.query(
      `INSERT INTO deliveries (event_seq, event_id, endpoint_id, order_key, state, next_attempt_at, created_at, updated_at)
       SELECT s, e, p, k, 'pending', n, n, n FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::bigint[]) WITH ORDINALITY AS u(s, e, p, k, n, ord)
       ORDER BY ord`,
      [dSeq, dEvent, dEndpoint, dKey, dNow],
    );
  }
  return drafts.map((d) => {
    if (seqOf.has(d.e.dedupeKey)) return { eventId: d.e.id, duplicate: false };
    const id = existing.get(d.e.dedupeKey);
    // Cannot happen: the conflicting row is committed (ON CONFLICT waited for it) and events are never deleted.
    if (id === undefined) throw new Error(`dedupe key ${d.e.dedupeKey} conflicted but no event has it`);
    return { eventId: id, duplicate: true };
  });
}

async function insertCallbacks(c: pg.PoolClient, rows: { cb: IngestItem['callback']; state: string; eventId: string | null }[]): Promise<void> {
  if (rows.length === 0) return;
  const f = <T>(g: (r: (typeof rows)[number]) => T) => rows.map(g);
  await c.query(
    `INSERT INTO callbacks (id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body, merchant_id, state, reason, detail, event_id, decoded)
     SELECT id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body, merchant_id, state, reason, detail, event_id, decoded
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bytea[],
                 $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
       WITH ORDINALITY AS u(id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body, merchant_id, state, reason, detail, event_id, decoded, ord)
     ORDER BY ord`,
    [
      f((r) => r.cb.id), f((r) => r.cb.receivedAt), f((r) => r.cb.channel), f((r) => txt(r.cb.method)), f((r) => txt(r.cb.path)),
      f((r) => txt(r.cb.kind)), f((r) => txt(r.cb.contentType)), f((r) => txt(r.cb.remoteIp)), f((r) => JSON.stringify(r.cb.headers)),
      f((r) => r.cb.body), f((r) => txt(r.cb.merchantId)), f((r) => r.state), f((r) => txt(r.cb.reason)), f((r) => txt(r.cb.detail)),
      f((r) => r.eventId), f((r) => (r.cb.decoded ? JSON.stringify(r.cb.decoded) : null)),
    ],
  );
}

/**
 * One transaction for the batch, set-wise (a few statements whatever the batch
 * size): order-key locks, events (first of each dedupe key in the batch; later
 * ones are duplicates of it, as when SQLite inserts them one by one),
 * deliveries, callbacks with their final state, and one NOTIFY.
 */
export async function ingest(db: PgSession, items: IngestItem[]): Promise<IngestResult[]> {
  return db.tx(async (c) => {
    await lockOrderKeys(c, db.schema, items.flatMap((i) => i.event?.deliveries.map((d) => d.orderKey) ?? []));
    const first = new Map<string, number>(); // dedupe key → index into drafts
    const drafts: { e: EventDraft; callbackId: string; now: number }[] = [];
    for (const i of items) {
      if (!i.event || first.has(i.event.dedupeKey)) continue;
      first.set(i.event.dedupeKey, drafts.length);
      drafts.push({ e: i.event, callbackId: i.callback.id, now: i.callback.receivedAt });
    }
    const stored = await insertEvents(c, drafts);
    const results = items.map((i): IngestResult => {
      if (!i.event) return { callbackId: i.callback.id, eventId: null, duplicate: false };
      const k = first.get(i.event.dedupeKey)!;
      const s = stored[k]!;
      const mine = drafts[k]!.callbackId === i.callback.id;
      return { callbackId: i.callback.id, eventId: s.eventId, duplicate: s.duplicate || !mine };
    });
    await insertCallbacks(c, items.map((i, n) => ({
      cb: i.callback,
      state: !i.event ? i.callback.state : results[n]!.duplicate ? 'duplicate' : 'accepted',
      eventId: results[n]!.eventId,
    })));
    const woken = drafts.filter((_d, k) => !stored[k]!.duplicate).flatMap((d) => d.e.deliveries.map((x) => x.endpointId));
    if (woken.length > 0) await notify(c, db.schema, woken);
    return results;
  });
}

export async function addEvent(db: PgSession, event: EventDraft, now: number): Promise<{ eventId: string; duplicate: boolean }> {
  return db.tx(async (c) => {
    await lockOrderKeys(c, db.schema, event.deliveries.map((d) => d.orderKey));
    const [stored] = await insertEvents(c, [{ e: event, callbackId: null, now }]);
    if (!stored!.duplicate) await notify(c, db.schema, event.deliveries.map((d) => d.endpointId));
    return stored!;
  });
}

export async function resolveQuarantine(db: PgSession, callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number): Promise<IngestResult | null> {
  return db.tx(async (c) => {
    // FOR UPDATE: two instances resolving the same callback at once — the second waits, then sees it reprocessed.
    const [row] = (await c.query(`SELECT state FROM callbacks WHERE id = $1 FOR UPDATE`, [callbackId])).rows as Row[];
    if (!row || row.state !== 'quarantined') return null;
    await lockOrderKeys(c, db.schema, event.deliveries.map((d) => d.orderKey));
    const [stored] = await insertEvents(c, [{ e: event, callbackId, now }]);
    const { eventId, duplicate } = stored!;
    await c.query(`UPDATE callbacks SET state = 'reprocessed', event_id = $1, merchant_id = $2, decoded = $3 WHERE id = $4`, [
      eventId, txt(merchantId), JSON.stringify(decoded), callbackId,
    ]);
    if (!duplicate) await notify(c, db.schema, event.deliveries.map((d) => d.endpointId));
    return { callbackId, eventId, duplicate };
  });
}
