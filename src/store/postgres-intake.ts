// The PostgreSQL store's intake: callbacks and events, set-wise per batch (see PostgresStore).
import type pg from 'pg';
import { conflictEvent, differingFields } from './conflict.js';
import { lockId, lockOrderKeys } from './postgres-locks.js';
import { notify } from './postgres-notify.js';
import { txt, type PgSession } from './postgres-session.js';
import type { Row } from './rows.js';
import type { ConflictDraft, EventDraft, IngestItem, IngestResult } from './types.js';

/**
 * Insert events unless their dedupe key exists and schedule deliveries for the new ones.
 * The unique index decides, not a read: a concurrent insert of the same key waits for
 * the other transaction and then does nothing; the following SELECT (a new statement,
 * so a new snapshot under READ COMMITTED) then sees the winner's row.
 * Drafts must have distinct dedupe keys; returns per draft.
 */
type Inserted = { eventId: string; duplicate: false } | { eventId: string; duplicate: true; fingerprint: string | null; payload: string };

async function insertEvents(c: pg.PoolClient, drafts: { e: EventDraft; callbackId: string | null; now: number }[]): Promise<Inserted[]> {
  if (drafts.length === 0) return [];
  const col = <K extends keyof EventDraft>(k: K) => drafts.map((d) => d.e[k]);
  const txtCol = <K extends keyof EventDraft>(k: K) => drafts.map((d) => txt(d.e[k] as string | null));
  const inserted = await c.query(
    `INSERT INTO events (id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id, received_at, callback_id, payload, fingerprint)
     SELECT id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id, received_at, callback_id, payload, fingerprint
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                 $11::bigint[], $12::text[], $13::text[], $14::text[])
       WITH ORDINALITY AS u(id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id, received_at, callback_id, payload, fingerprint, ord)
     ORDER BY ord
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING seq, dedupe_key`,
    [
      col('id'), col('dedupeKey'), txtCol('type'), txtCol('source'), txtCol('merchantId'), txtCol('operation'), txtCol('outcome'),
      txtCol('transId'), txtCol('payId'), txtCol('mandateId'), col('receivedAt'), drafts.map((d) => d.callbackId), col('payload'),
      drafts.map((d) => d.e.fingerprint ?? null),
    ],
  );
  const seqOf = new Map((inserted.rows as Row[]).map((r) => [String(r.dedupe_key), String(r.seq)]));
  const lost = drafts.filter((d) => !seqOf.has(d.e.dedupeKey)).map((d) => d.e.dedupeKey);
  const existing = new Map<string, { id: string; fingerprint: string | null; payload: string }>();
  if (lost.length > 0) {
    for (const r of (await c.query('SELECT id, dedupe_key, fingerprint, payload FROM events WHERE dedupe_key = ANY($1::text[])', [lost])).rows as Row[]) {
      existing.set(String(r.dedupe_key), { id: String(r.id), fingerprint: (r.fingerprint as string | null) ?? null, payload: String(r.payload) });
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
  return drafts.map((d): Inserted => {
    if (seqOf.has(d.e.dedupeKey)) return { eventId: d.e.id, duplicate: false };
    const x = existing.get(d.e.dedupeKey);
    // Cannot happen: the conflicting row is committed (ON CONFLICT waited for it) and events are never deleted.
    if (x === undefined) throw new Error(`dedupe key ${d.e.dedupeKey} conflicted but no event has it`);
    return { eventId: x.id, duplicate: true, fingerprint: x.fingerprint, payload: x.payload };
  });
}

async function insertCallbacks(c: pg.PoolClient, rows: { cb: IngestItem['callback']; state: string; eventId: string | null }[]): Promise<void> {
  if (rows.length === 0) return;
  const f = <T>(g: (r: (typeof rows)[number]) => T) => rows.map(g);
  await c.query(
    `INSERT INTO callbacks (id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body, merchant_id, state, reason, detail, event_id, decoded,
       claimed_merchant_id)
     SELECT id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body, merchant_id, state, reason, detail, event_id, decoded,
       claimed_merchant_id
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bytea[],
                 $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[])
       WITH ORDINALITY AS u(id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body, merchant_id, state, reason, detail, event_id, decoded,
         claimed_merchant_id, ord)
     ORDER BY ord`,
    [
      f((r) => r.cb.id), f((r) => r.cb.receivedAt), f((r) => r.cb.channel), f((r) => txt(r.cb.method)), f((r) => txt(r.cb.path)),
      f((r) => txt(r.cb.kind)), f((r) => txt(r.cb.contentType)), f((r) => txt(r.cb.remoteIp)),
      // Text already when the rows came from a callback worker (src/cluster/, store/ingest-wire.ts).
      f((r) => (typeof r.cb.headers === 'string' ? r.cb.headers : JSON.stringify(r.cb.headers))),
      f((r) => r.cb.body), f((r) => txt(r.cb.merchantId)), f((r) => r.state), f((r) => txt(r.cb.reason)), f((r) => txt(r.cb.detail)),
      f((r) => r.eventId), f((r) => (typeof r.cb.decoded === 'string' ? r.cb.decoded : r.cb.decoded ? JSON.stringify(r.cb.decoded) : null)), f((r) => txt(r.cb.claimedMerchantId ?? null)),
    ],
  );
}

/** What a duplicate draft is compared with: the stored event of its identity, or the batch's first draft of it. */
type Winner = { eventId: string; fingerprint: string | null; payload: string };

/**
 * Conflict or duplicate for each item that did not store its own event, decided here inside
 * the transaction: ON CONFLICT waited for any concurrent writer of the same identity, so the
 * winner's fingerprint is committed and final. Conflict events of the batch are stored
 * (one per dedupe key) with their conflicts rows. Returns the woken endpoints.
 */
async function settleConflicts(
  c: pg.PoolClient, pending: { i: Pick<IngestItem, 'event' | 'conflict'> & { callbackId: string }; winner: Winner; result: IngestResult }[], now: number,
): Promise<string[]> {
  const found: { p: (typeof pending)[number]; fields: string[]; draft: EventDraft }[] = [];
  for (const p of pending) {
    const fields = p.i.conflict ? differingFields(p.winner.fingerprint, p.i.event!.fingerprint) : [];
    if (fields.length > 0) found.push({ p, fields, draft: conflictEvent(p.i.conflict!, p.winner, fields) });
  }
  if (found.length === 0) return [];
  const firstOf = new Map<string, number>();
  const drafts: { e: EventDraft; callbackId: string; now: number }[] = [];
  for (const f of found) {
    if (firstOf.has(f.draft.dedupeKey)) continue;
    firstOf.set(f.draft.dedupeKey, drafts.length);
    drafts.push({ e: f.draft, callbackId: f.p.i.callbackId, now });
  }
  const stored = await insertEvents(c, drafts);
  for (const f of found) {
    const k = firstOf.get(f.draft.dedupeKey)!;
    const created = !stored[k]!.duplicate && drafts[k]!.callbackId === f.p.i.callbackId;
    f.p.result.conflict = { conflictEventId: stored[k]!.eventId, fields: f.fields, created };
  }
  const col = <T>(g: (f: (typeof found)[number]) => T) => found.map(g);
  await c.query(
    `INSERT INTO conflicts (callback_id, event_id, conflict_event_id, merchant_id, trans_id, pay_id, fields, received_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[])`,
    [
      col((f) => f.p.i.callbackId), col((f) => f.p.winner.eventId), col((f) => f.p.result.conflict!.conflictEventId), col((f) => txt(f.p.i.conflict!.merchantId)),
      col((f) => txt(f.p.i.conflict!.transId)), col((f) => txt(f.p.i.conflict!.payId)), col((f) => JSON.stringify(f.fields)), col((f) => f.p.i.conflict!.receivedAt),
    ],
  );
  return drafts.filter((_d, k) => !stored[k]!.duplicate).flatMap((d) => d.e.deliveries.map((x) => x.endpointId));
}

const orderKeysOf = (i: Pick<IngestItem, 'event' | 'conflict'>) => [...(i.event?.deliveries ?? []), ...(i.conflict?.deliveries ?? [])].map((d) => d.orderKey);

/**
 * One transaction for the batch, set-wise (a few statements whatever the batch
 * size): order-key locks, events (first of each dedupe key in the batch; later
 * ones are duplicates or conflicts of it, as when SQLite inserts them one by one),
 * deliveries, conflicts, callbacks with their final state, and one NOTIFY.
 */
export async function ingest(db: PgSession, items: IngestItem[]): Promise<IngestResult[]> {
  return db.tx(async (c) => {
    await lockOrderKeys(c, db.schema, items.flatMap(orderKeysOf));
    const first = new Map<string, number>(); // dedupe key → index into drafts
    const drafts: { e: EventDraft; callbackId: string; now: number }[] = [];
    for (const i of items) {
      if (!i.event || first.has(i.event.dedupeKey)) continue;
      first.set(i.event.dedupeKey, drafts.length);
      drafts.push({ e: i.event, callbackId: i.callback.id, now: i.callback.receivedAt });
    }
    const stored = await insertEvents(c, drafts);
    const pending: Parameters<typeof settleConflicts>[1] = [];
    const results = items.map((i): IngestResult => {
      if (!i.event) return { callbackId: i.callback.id, eventId: null, duplicate: false };
      const k = first.get(i.event.dedupeKey)!;
      const s = stored[k]!;
      const mine = drafts[k]!.callbackId === i.callback.id;
      if (!s.duplicate && mine) return { callbackId: i.callback.id, eventId: s.eventId, duplicate: false };
      const result: IngestResult = { callbackId: i.callback.id, eventId: s.eventId, duplicate: true };
      const winner = s.duplicate ? { eventId: s.eventId, fingerprint: s.fingerprint, payload: s.payload }
        : { eventId: s.eventId, fingerprint: drafts[k]!.e.fingerprint ?? null, payload: drafts[k]!.e.payload };
      pending.push({ i: { event: i.event, conflict: i.conflict, callbackId: i.callback.id }, winner, result });
      return result;
    });
    const wokenByConflicts = await settleConflicts(c, pending, Math.max(0, ...items.map((i) => i.callback.receivedAt)));
    await insertCallbacks(c, items.map((i, n) => ({
      cb: i.callback,
      state: !i.event ? i.callback.state : results[n]!.conflict ? 'conflict' : results[n]!.duplicate ? 'duplicate' : 'accepted',
      eventId: results[n]!.eventId,
    })));
    const woken = [...drafts.filter((_d, k) => !stored[k]!.duplicate).flatMap((d) => d.e.deliveries.map((x) => x.endpointId)), ...wokenByConflicts];
    if (woken.length > 0) await notify(c, db.schema, woken);
    return results;
  });
}

export async function addEvent(db: PgSession, event: EventDraft, now: number): Promise<{ eventId: string; duplicate: boolean }> {
  return db.tx(async (c) => {
    await lockOrderKeys(c, db.schema, event.deliveries.map((d) => d.orderKey));
    const [stored] = await insertEvents(c, [{ e: event, callbackId: null, now }]);
    if (!stored!.duplicate) await notify(c, db.schema, event.deliveries.map((d) => d.endpointId));
    return { eventId: stored!.eventId, duplicate: stored!.duplicate };
  });
}

export async function resolveQuarantine(
  db: PgSession, callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number, conflict?: ConflictDraft,
): Promise<IngestResult | null> {
  return db.tx(async (c) => {
    // FOR UPDATE: two instances resolving the same callback at once — the second waits, then sees it reprocessed.
    const [row] = (await c.query(`SELECT state FROM callbacks WHERE id = $1 FOR UPDATE`, [callbackId])).rows as Row[];
    if (!row || row.state !== 'quarantined') return null;
    await lockOrderKeys(c, db.schema, orderKeysOf({ event, conflict }));
    const [stored] = await insertEvents(c, [{ e: event, callbackId, now }]);
    const result: IngestResult = { callbackId, eventId: stored!.eventId, duplicate: stored!.duplicate };
    const woken = stored!.duplicate
      ? await settleConflicts(c, [{ i: { event, conflict, callbackId }, winner: { eventId: stored!.eventId, fingerprint: stored!.fingerprint, payload: stored!.payload }, result }], now)
      : event.deliveries.map((d) => d.endpointId);
    await c.query(`UPDATE callbacks SET state = $1, event_id = $2, merchant_id = $3, decoded = $4 WHERE id = $5`, [
      result.conflict ? 'conflict' : 'reprocessed', result.eventId, txt(merchantId), JSON.stringify(decoded), callbackId,
    ]);
    if (woken.length > 0) await notify(c, db.schema, woken);
    return result;
  });
}

/** Paygate events without a fingerprint (stored before version 3), oldest first. */
export async function eventsWithoutFingerprint(db: PgSession, afterSeq: number, limit: number): Promise<{ seq: number; payload: string }[]> {
  const rows = await db.q(`SELECT seq, payload FROM events WHERE seq > $1 AND fingerprint IS NULL AND source = 'paygate' ORDER BY seq LIMIT $2`, [afterSeq, limit]);
  return rows.map((x) => ({ seq: Number(x.seq), payload: String(x.payload) }));
}

export async function setEventFingerprints(db: PgSession, rows: { seq: number; dedupeKey: string; fingerprint: string }[]): Promise<number> {
  if (rows.length === 0) return 0;
  return db.tx(async (c) => {
    // Instances upgrading at once take turns; a key another event holds is left as it was.
    await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockId(`paygate-relay:fingerprints:${db.schema}`)]);
    const seqs = rows.map((r) => r.seq), keys = rows.map((r) => r.dedupeKey), fps = rows.map((r) => r.fingerprint);
    const rekeyed = await c.query(
      `UPDATE events e SET dedupe_key = u.k, fingerprint = u.f
       FROM (SELECT DISTINCT ON (k) s, k, f FROM unnest($1::bigint[], $2::text[], $3::text[]) AS x(s, k, f) ORDER BY k, s) u
       WHERE e.seq = u.s AND NOT EXISTS (SELECT 1 FROM events o WHERE o.dedupe_key = u.k)`,
      [seqs, keys, fps],
    );
    await c.query(
      `UPDATE events e SET fingerprint = u.f FROM unnest($1::bigint[], $2::text[]) AS u(s, f) WHERE e.seq = u.s AND e.fingerprint IS NULL`,
      [seqs, fps],
    );
    return rekeyed.rowCount ?? 0;
  });
}
