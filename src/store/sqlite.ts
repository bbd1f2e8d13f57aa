import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SQLITE_MIGRATIONS } from './sqlite-schema.js';
import { batchWrites } from './write-batch.js';
import { SQLITE_WRITES, WriterThread } from './sqlite-writes.js';
import { decodeCursor, encodeCursor, globToSql } from './query.js';
import { mapAttempt, mapCallback, mapDelivery, mapEvent, type Row } from './rows.js';
import type {
  ActivityBucket, AttemptRecord, AttemptSummary, CallbackRecord, ClaimedDelivery, DeadLetterFilter, DeliveryRecord, EndpointState, EndpointStats,
  EventDraft, EventFilter, IngestItem, IngestResult, Page, QuarantineFilter, Store, StoredEvent,
} from './types.js';

const OPEN = `state IN ('pending','in_flight')`;

/** Only the oldest open delivery of an order key (one transaction, one endpoint) may go out. */
const ORDER_GUARD = `(d.order_key IS NULL OR NOT EXISTS (
  SELECT 1 FROM deliveries p
  WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key AND p.event_seq < d.event_seq AND p.${OPEN}))`;

/**
 * The embedded store. better-sqlite3 is synchronous, so every method commits
 * before it returns; the async signatures exist for the shared contract.
 * One process per database file: leases are released on start.
 */
export class SqliteStore implements Store {
  /** Newest rows listEvents walks by primary key before a broad filter uses its index. */
  static readonly PROBE_ROWS = 4000;
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();

  /** Set when writes commit on a writer thread; other stores on this file (Collectmaxx) route theirs through it. */
  writer: WriterThread | null = null;

  /**
   * `writer: 'thread'` (what the relay uses) commits on a writer thread so fsyncs never stall
   * the event loop; 'inline' commits on the caller's thread (the writer thread itself, tools, tests).
   */
  constructor(file: string, opts: { writer?: 'inline' | 'thread' } = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before we answer 200 to Paygate.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    if (opts.writer === 'thread' && file !== ':memory:') {
      this.writer = new WriterThread(file);
      this.writer.route(this, 'store', SQLITE_WRITES);
    }
    else batchWrites(this, this.db, SQLITE_WRITES);
  }

  private st(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)));
    for (const m of SQLITE_MIGRATIONS) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
      }).immediate();
    }
  }

  async ping(): Promise<void> {
    if (this.writer && !this.writer.healthy) throw new Error('sqlite writer thread is down');
    this.st('SELECT 1').get();
  }

  async close(): Promise<void> {
    const writer = this.writer;
    this.writer = null;
    await writer?.close();
    if (this.db.open) this.db.close();
  }

  // ---------------------------------------------------------------- intake

  private insertCallback(c: IngestItem['callback'], state: string, eventId: string | null): void {
    this.st(
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
  private insertEvent(e: EventDraft, callbackId: string | null, now: number): { eventId: string; duplicate: boolean } {
    const info = this.st(
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
      const row = this.st('SELECT id FROM events WHERE dedupe_key = ?').get(e.dedupeKey) as Row;
      return { eventId: String(row.id), duplicate: true };
    }
    const seq = Number(info.lastInsertRowid);
    const ins = this.st(
      `INSERT INTO deliveries (event_seq, event_id, endpoint_id, order_key, state, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
    );
    for (const d of e.deliveries) ins.run(seq, e.id, d.endpointId, d.orderKey, now, now, now);
    return { eventId: e.id, duplicate: false };
  }

  async ingest(items: IngestItem[]): Promise<IngestResult[]> {
    return this.db.transaction(() =>
      items.map((item): IngestResult => {
        const c = item.callback;
        if (!item.event) {
          this.insertCallback(c, c.state, null);
          return { callbackId: c.id, eventId: null, duplicate: false };
        }
        // Event first (no foreign key between the two), so the callback row is written once,
        // already knowing whether it was a duplicate: one statement less per callback.
        const { eventId, duplicate } = this.insertEvent(item.event, c.id, c.receivedAt);
        this.insertCallback(c, duplicate ? 'duplicate' : 'accepted', eventId);
        return { callbackId: c.id, eventId, duplicate };
      }),
    ).immediate();
  }

  // ---------------------------------------------------------------- outbox

  async claim(endpointId: string, owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    return this.db.transaction(() => {
      const rows = this.st(
        `UPDATE deliveries SET state = 'in_flight', lease_owner = @owner, lease_expires_at = @leaseUntil, updated_at = @now
         WHERE id IN (
           SELECT id FROM (
             SELECT d.id, d.next_attempt_at AS due, d.event_seq FROM deliveries d
             WHERE d.endpoint_id = @endpointId AND d.state = 'pending' AND d.next_attempt_at <= @now AND ${ORDER_GUARD}
             ORDER BY d.next_attempt_at, d.event_seq LIMIT @limit)
           UNION ALL
           SELECT id FROM (
             SELECT d.id, d.lease_expires_at AS due, d.event_seq FROM deliveries d
             WHERE d.endpoint_id = @endpointId AND d.state = 'in_flight' AND d.lease_expires_at < @now AND ${ORDER_GUARD}
             LIMIT @limit)
           LIMIT @limit)
         RETURNING id, event_id, endpoint_id, attempts, created_at, event_seq`,
      ).all({ owner, leaseUntil: now + leaseMs, now, endpointId, limit }) as Row[];
      rows.sort((a, b) => Number(a.event_seq) - Number(b.event_seq));
      const payload = this.st('SELECT payload FROM events WHERE seq = ?');
      return rows.map((r) => ({
        id: Number(r.id),
        eventId: String(r.event_id),
        endpointId: String(r.endpoint_id),
        attempts: Number(r.attempts),
        createdAt: Number(r.created_at),
        payload: String((payload.get(r.event_seq) as Row).payload),
      }));
    }).immediate();
  }

  private insertAttempt(a: AttemptRecord): void {
    this.st(
      `INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code, error_class, response_body)
       VALUES (@deliveryId, @eventId, @endpointId, @startedAt, @durationMs, @statusCode, @errorClass, @responseBody)`,
    ).run(a);
  }

  async complete(deliveryId: number, owner: string, attempt: AttemptRecord, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      const info = this.st(
        `UPDATE deliveries SET state = 'succeeded', attempts = attempts + 1, completed_at = @now, updated_at = @now,
           lease_owner = NULL, lease_expires_at = NULL, last_status = @status, last_error = NULL
         WHERE id = @id AND lease_owner = @owner AND state = 'in_flight'`,
      ).run({ id: deliveryId, owner, now, status: attempt.statusCode });
      // A late answer from a lost lease is still a real attempt: record it either way.
      this.insertAttempt(attempt);
      return info.changes === 1;
    }).immediate();
  }

  async fail(deliveryId: number, owner: string, attempt: AttemptRecord, next: { retryAt: number } | { dead: true }, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      const dead = 'dead' in next;
      const info = this.st(
        `UPDATE deliveries SET state = @state, attempts = attempts + 1, next_attempt_at = @nextAt, updated_at = @now,
           completed_at = @completedAt, lease_owner = NULL, lease_expires_at = NULL, last_status = @status, last_error = @error
         WHERE id = @id AND lease_owner = @owner AND state = 'in_flight'`,
      ).run({
        id: deliveryId, owner, now,
        state: dead ? 'dead' : 'pending',
        nextAt: dead ? now : next.retryAt,
        completedAt: dead ? now : null,
        status: attempt.statusCode,
        error: attempt.errorClass,
      });
      this.insertAttempt(attempt);
      return info.changes === 1;
    }).immediate();
  }

  async release(deliveryId: number, owner: string, now: number): Promise<boolean> {
    const info = this.st(
      `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
       WHERE id = ? AND lease_owner = ? AND state = 'in_flight'`,
    ).run(now, deliveryId, owner);
    return info.changes === 1;
  }

  async releaseAllLeases(now: number): Promise<number> {
    return this.st(
      `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE state = 'in_flight'`,
    ).run(now).changes;
  }

  async nextDueAt(endpointId: string, now: number): Promise<number | null> {
    // Only future times: a delivery already due but held back by ordering is woken by its predecessor.
    const row = this.st(`SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE endpoint_id = ? AND state = 'pending' AND next_attempt_at > ?`).get(endpointId, now) as Row;
    return row.t === null ? null : Number(row.t);
  }

  // ---------------------------------------------------------------- endpoints

  async endpointStates(): Promise<EndpointState[]> {
    return (this.st('SELECT * FROM endpoint_state').all() as Row[]).map((r) => ({
      endpointId: String(r.endpoint_id),
      disabled: Number(r.disabled) === 1,
      disabledReason: (r.disabled_reason as string | null) ?? null,
      disabledAt: r.disabled_at === null ? null : Number(r.disabled_at),
      failingSince: r.failing_since === null ? null : Number(r.failing_since),
      lastSuccessAt: r.last_success_at === null ? null : Number(r.last_success_at),
      lastFailureAt: r.last_failure_at === null ? null : Number(r.last_failure_at),
      lastError: (r.last_error as string | null) ?? null,
    }));
  }

  async recordEndpointSuccess(endpointId: string, now: number): Promise<void> {
    this.st(
      `INSERT INTO endpoint_state (endpoint_id, last_success_at) VALUES (?, ?)
       ON CONFLICT (endpoint_id) DO UPDATE SET last_success_at = excluded.last_success_at, failing_since = NULL`,
    ).run(endpointId, now);
  }

  async recordEndpointFailure(endpointId: string, now: number, error: string): Promise<number> {
    const row = this.st(
      `INSERT INTO endpoint_state (endpoint_id, failing_since, last_failure_at, last_error) VALUES (@id, @now, @now, @error)
       ON CONFLICT (endpoint_id) DO UPDATE SET failing_since = COALESCE(endpoint_state.failing_since, excluded.failing_since),
         last_failure_at = excluded.last_failure_at, last_error = excluded.last_error
       RETURNING failing_since`,
    ).get({ id: endpointId, now, error }) as Row;
    return Number(row.failing_since);
  }

  async setEndpointDisabled(endpointId: string, disabled: boolean, reason: string | null, now: number): Promise<void> {
    this.st(
      `INSERT INTO endpoint_state (endpoint_id, disabled, disabled_reason, disabled_at) VALUES (@id, @d, @reason, @at)
       ON CONFLICT (endpoint_id) DO UPDATE SET disabled = excluded.disabled, disabled_reason = excluded.disabled_reason,
         disabled_at = excluded.disabled_at, failing_since = CASE WHEN excluded.disabled = 0 THEN NULL ELSE endpoint_state.failing_since END`,
    ).run({ id: endpointId, d: disabled ? 1 : 0, reason: disabled ? reason : null, at: disabled ? now : null });
  }

  async endpointStats(now: number): Promise<EndpointStats[]> {
    const stats = new Map<string, EndpointStats>();
    const get = (id: string) => {
      let s = stats.get(id);
      if (!s) stats.set(id, (s = { endpointId: id, queueDepth: 0, oldestPendingAt: null, deadLetters: 0, attempts24h: 0, successes24h: 0 }));
      return s;
    };
    for (const r of this.st(`SELECT endpoint_id, COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries WHERE ${OPEN} GROUP BY endpoint_id`).all() as Row[]) {
      const s = get(String(r.endpoint_id));
      s.queueDepth = Number(r.n);
      s.oldestPendingAt = Number(r.oldest);
    }
    for (const r of this.st(`SELECT endpoint_id, COUNT(*) AS n FROM deliveries WHERE state = 'dead' GROUP BY endpoint_id`).all() as Row[]) {
      get(String(r.endpoint_id)).deadLetters = Number(r.n);
    }
    for (const r of this.st(
      `SELECT endpoint_id, COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok
       FROM attempts WHERE started_at >= ? GROUP BY endpoint_id`,
    ).all(now - 24 * 3600_000) as Row[]) {
      const s = get(String(r.endpoint_id));
      s.attempts24h = Number(r.n);
      s.successes24h = Number(r.ok);
    }
    return [...stats.values()];
  }

  // ---------------------------------------------------------------- admin queries

  /**
   * Newest first, at any size: ids are looked up on their own indexes; broad filters (type,
   * merchant, outcome, time) first walk the newest PROBE_ROWS rows by primary key (they
   * usually fill a page there) and only then ask their index, which is sorted as bare seqs
   * (never as whole rows, payload included). The rows themselves are read last, by seq.
   * bench/console-events.ts measures it at 1,000,000 events.
   */
  async listEvents(f: EventFilter, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
    const where: string[] = [];
    const p: Record<string, unknown> = {};
    if (f.type) {
      const g = globToSql(f.type);
      if (f.type.includes('*')) {
        where.push('type GLOB @typeGlob', `(length(type) - length(replace(type, '.', ''))) = @typeDots`);
        p.typeGlob = g.glob;
        p.typeDots = g.dots;
      } else {
        // An exact type is an equality, so its index (type, seq) is already in page order.
        where.push('type = @type');
        p.type = f.type;
      }
    }
    for (const [key, col] of [['transId', 'trans_id'], ['payId', 'pay_id'], ['mandateId', 'mandate_id'], ['merchantId', 'merchant_id'], ['outcome', 'outcome']] as const) {
      if (f[key] !== undefined) {
        where.push(`${col} = @${key}`);
        p[key] = f[key];
      }
    }
    if (f.since !== undefined) (where.push('received_at >= @since'), (p.since = f.since));
    if (f.until !== undefined) (where.push('received_at < @until'), (p.until = f.until));
    const idLookup = f.transId !== undefined || f.payId !== undefined || f.mandateId !== undefined;
    const hint = idLookup ? '' : this.eventIndexFor(f, p);
    const want = limit + 1;
    let upper = decodeCursor(cursor); // exclusive
    const seqs: number[] = [];
    if (where.length > 0 && !idLookup) {
      const top = upper ?? Number((this.st('SELECT COALESCE(MAX(seq), 0) + 1 AS top FROM events').get() as Row).top);
      const floor = Math.max(0, top - SqliteStore.PROBE_ROWS);
      const probe = this.db
        .prepare(`SELECT seq FROM events NOT INDEXED WHERE seq < @top AND seq >= @floor AND ${where.join(' AND ')} ORDER BY seq DESC LIMIT @want`)
        .all({ ...p, top, floor, want }) as Row[];
      for (const r of probe) seqs.push(Number(r.seq));
      upper = floor;
    }
    if (seqs.length < want && upper !== 0) {
      const w = upper === null ? where : [...where, 'seq < @upper'];
      const rest = this.db
        .prepare(`SELECT seq FROM events ${hint} ${w.length ? `WHERE ${w.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @n`)
        .all({ ...p, upper, n: want - seqs.length }) as Row[];
      for (const r of rest) seqs.push(Number(r.seq));
    }
    const page = seqs.slice(0, limit);
    const rows = page.length
      ? (this.db.prepare(`SELECT * FROM events WHERE seq IN (${page.map(() => '?').join(',')}) ORDER BY seq DESC`).all(...page) as Row[]).map(mapEvent)
      : [];
    return { items: rows, next: seqs.length > limit ? encodeCursor(page[page.length - 1]!) : null };
  }

  /**
   * SQLite cannot tell how many rows a GLOB or time range covers, and picked the type index
   * for `mandate.*` within one day (300,000 rows read for 30,000 candidates). When a time range
   * meets a type or merchant filter, count each candidate index's matches (bounded, index only)
   * and name the smallest.
   */
  private eventIndexFor(f: EventFilter, p: Record<string, unknown>): string {
    const time = [f.since !== undefined && 'received_at >= @since', f.until !== undefined && 'received_at < @until'].filter(Boolean).join(' AND ');
    if (!time || (!f.type && f.merchantId === undefined)) return '';
    const candidates: [string, string][] = [['events_received', time]];
    if (f.type) candidates.push(['events_type', f.type.includes('*') ? 'type GLOB @typeGlob' : 'type = @type']);
    if (f.merchantId !== undefined) candidates.push(['events_merchant', 'merchant_id = @merchantId']);
    let best = candidates[0]!;
    let bestN = Infinity;
    for (const c of candidates) {
      const params = Object.fromEntries(Object.entries(p).filter(([k]) => c[1].includes(`@${k}`)));
      const n = Number((this.db.prepare(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM events INDEXED BY ${c[0]} WHERE ${c[1]} LIMIT 20000)`).get(params) as Row).n);
      if (n < bestN) (best = c), (bestN = n);
    }
    return `INDEXED BY ${best[0]}`;
  }

  async getEvent(id: string): Promise<StoredEvent | null> {
    const r = this.st('SELECT * FROM events WHERE id = ?').get(id) as Row | undefined;
    return r ? mapEvent(r) : null;
  }

  async getCallback(id: string): Promise<CallbackRecord | null> {
    const r = this.st('SELECT * FROM callbacks WHERE id = ?').get(id) as Row | undefined;
    return r ? mapCallback(r) : null;
  }

  async deliveriesOf(eventId: string): Promise<DeliveryRecord[]> {
    return (this.st('SELECT * FROM deliveries WHERE event_id = ? ORDER BY endpoint_id').all(eventId) as Row[]).map(mapDelivery);
  }

  async attemptsOf(eventId: string): Promise<AttemptRecord[]> {
    return (this.st('SELECT * FROM attempts WHERE event_id = ? ORDER BY id').all(eventId) as Row[]).map(mapAttempt);
  }

  async listQuarantine(f: QuarantineFilter, limit: number, cursor?: string): Promise<Page<CallbackRecord>> {
    const where = [`state = 'quarantined'`];
    const p: Record<string, unknown> = { limit: limit + 1 };
    if (f.merchantId !== undefined) (where.push('merchant_id = @merchantId'), (p.merchantId = f.merchantId));
    if (f.reason !== undefined) (where.push('reason = @reason'), (p.reason = f.reason));
    if (f.since !== undefined) (where.push('received_at >= @since'), (p.since = f.since));
    if (f.until !== undefined) (where.push('received_at < @until'), (p.until = f.until));
    const c = decodeCursor(cursor);
    if (c !== null) (where.push('rowid < @cursor'), (p.cursor = c));
    const rows = this.db.prepare(`SELECT rowid AS _rowid, * FROM callbacks WHERE ${where.join(' AND ')} ORDER BY rowid DESC LIMIT @limit`).all(p) as Row[];
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return { items: page.map(mapCallback), next: more ? encodeCursor(Number(page[page.length - 1]!._rowid)) : null };
  }

  async quarantineSize(): Promise<number> {
    return Number((this.st(`SELECT COUNT(*) AS n FROM callbacks WHERE state = 'quarantined'`).get() as Row).n);
  }

  async resolveQuarantine(callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number): Promise<IngestResult | null> {
    return this.db.transaction(() => {
      const row = this.st(`SELECT state FROM callbacks WHERE id = ?`).get(callbackId) as Row | undefined;
      if (!row || row.state !== 'quarantined') return null;
      const { eventId, duplicate } = this.insertEvent(event, callbackId, now);
      this.st(`UPDATE callbacks SET state = 'reprocessed', event_id = ?, merchant_id = ?, decoded = ? WHERE id = ?`)
        .run(eventId, merchantId, JSON.stringify(decoded), callbackId);
      return { callbackId, eventId, duplicate };
    }).immediate();
  }

  private deadWhere(f: DeadLetterFilter, p: Record<string, unknown>): string {
    const where = [`d.state = 'dead'`];
    if (f.endpointId !== undefined) (where.push('d.endpoint_id = @endpointId'), (p.endpointId = f.endpointId));
    if (f.since !== undefined) (where.push('d.updated_at >= @since'), (p.since = f.since));
    if (f.until !== undefined) (where.push('d.updated_at < @until'), (p.until = f.until));
    if (f.type !== undefined) {
      const g = globToSql(f.type);
      where.push(`d.event_id IN (SELECT id FROM events WHERE type GLOB @typeGlob AND (length(type) - length(replace(type, '.', ''))) = @typeDots)`);
      p.typeGlob = g.glob;
      p.typeDots = g.dots;
    }
    return where.join(' AND ');
  }

  async listDeadLetters(f: DeadLetterFilter, limit: number, cursor?: string): Promise<Page<DeliveryRecord & { type: string }>> {
    const p: Record<string, unknown> = { limit: limit + 1 };
    let where = this.deadWhere(f, p);
    const c = decodeCursor(cursor);
    if (c !== null) (where += ' AND d.id < @cursor'), (p.cursor = c);
    const rows = this.db.prepare(
      `SELECT d.*, e.type AS type FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${where} ORDER BY d.id DESC LIMIT @limit`,
    ).all(p) as Row[];
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map((r) => ({ ...mapDelivery(r), type: String(r.type) }));
    return { items, next: more ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  async countDeadLetters(f: DeadLetterFilter): Promise<number> {
    const p: Record<string, unknown> = {};
    return Number((this.db.prepare(`SELECT COUNT(*) AS n FROM deliveries d WHERE ${this.deadWhere(f, p)}`).get(p) as Row).n);
  }

  async redeliverDeadLetters(f: DeadLetterFilter, now: number): Promise<number> {
    const p: Record<string, unknown> = { now };
    const where = this.deadWhere(f, p);
    return this.db.prepare(
      `UPDATE deliveries AS d SET state = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now, completed_at = NULL WHERE ${where}`,
    ).run(p).changes;
  }

  async redeliver(eventId: string, endpointIds: string[], orderKeys: Record<string, string | null>, now: number): Promise<string[]> {
    return this.db.transaction(() => {
      const ev = this.st('SELECT seq FROM events WHERE id = ?').get(eventId) as Row | undefined;
      if (!ev) return [];
      const scheduled: string[] = [];
      for (const endpointId of endpointIds) {
        const reset = this.st(
          `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now, completed_at = NULL
           WHERE event_id = @eventId AND endpoint_id = @endpointId AND state != 'in_flight'`,
        ).run({ now, eventId, endpointId });
        if (reset.changes === 1) {
          scheduled.push(endpointId);
          continue;
        }
        const created = this.st(
          `INSERT INTO deliveries (event_seq, event_id, endpoint_id, order_key, state, next_attempt_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
        ).run(ev.seq, eventId, endpointId, orderKeys[endpointId] ?? null, now, now, now);
        if (created.changes === 1) scheduled.push(endpointId);
      }
      return scheduled;
    }).immediate();
  }

  async addEvent(event: EventDraft, now: number): Promise<{ eventId: string; duplicate: boolean }> {
    return this.db.transaction(() => this.insertEvent(event, null, now)).immediate();
  }

  async activity(since: number, until: number, bucketMs: number): Promise<ActivityBucket[]> {
    if (!(bucketMs > 0) || !(until > since)) return [];
    const n = Math.ceil((until - since) / bucketMs);
    const buckets: ActivityBucket[] = Array.from({ length: n }, (_, i) => ({
      start: since + i * bucketMs, callbacks: 0, quarantined: 0, events: 0, attempts: 0, attemptsOk: 0,
    }));
    const p = { since, until, bucket: bucketMs };
    const fill = (sql: string, set: (b: ActivityBucket, r: Row) => void) => {
      for (const r of this.st(sql).all(p) as Row[]) {
        const b = buckets[Number(r.b)];
        if (b) set(b, r);
      }
    };
    const b = (col: string) => `CAST((${col} - @since) / @bucket AS INTEGER) AS b`;
    // Each count reads one index (received_at / started_at), never the wide rows, except the attempt status.
    fill(`SELECT ${b('received_at')}, COUNT(*) AS n FROM callbacks WHERE received_at >= @since AND received_at < @until GROUP BY 1`, (x, r) => (x.callbacks = Number(r.n)));
    fill(
      `SELECT ${b('received_at')}, COUNT(*) AS n FROM callbacks WHERE state = 'quarantined' AND received_at >= @since AND received_at < @until GROUP BY 1`,
      (x, r) => (x.quarantined = Number(r.n)),
    );
    fill(`SELECT ${b('received_at')}, COUNT(*) AS n FROM events WHERE received_at >= @since AND received_at < @until GROUP BY 1`, (x, r) => (x.events = Number(r.n)));
    fill(
      `SELECT ${b('started_at')}, COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok
       FROM attempts WHERE started_at >= @since AND started_at < @until GROUP BY 1`,
      (x, r) => ((x.attempts = Number(r.n)), (x.attemptsOk = Number(r.ok))),
    );
    return buckets;
  }

  async attemptSummary(since: number, until: number): Promise<AttemptSummary> {
    const row = this.st(
      `SELECT COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok
       FROM attempts WHERE started_at >= ? AND started_at < ?`,
    ).get(since, until) as Row;
    const n = Number(row.n);
    if (n === 0) return { attempts: 0, successes: 0, p50Ms: null, p99Ms: null };
    // Nearest rank: the value at 1-based rank ceil(p * n) of the ascending durations.
    const at = (p: number) =>
      Number((this.st(`SELECT duration_ms AS d FROM attempts WHERE started_at >= ? AND started_at < ? ORDER BY duration_ms LIMIT 1 OFFSET ?`)
        .get(since, until, Math.ceil(p * n) - 1) as Row).d);
    return { attempts: n, successes: Number(row.ok), p50Ms: at(0.5), p99Ms: at(0.99) };
  }

  async *exportCallbacks(since: number | null): AsyncIterable<CallbackRecord> {
    // Pages instead of one open iterator: better-sqlite3 forbids other statements while iterating.
    let after = -1;
    for (;;) {
      const rows = this.st(`SELECT rowid AS _rowid, * FROM callbacks WHERE rowid > ? AND received_at >= ? ORDER BY rowid LIMIT 500`)
        .all(after, since ?? 0) as Row[];
      if (rows.length === 0) return;
      for (const r of rows) yield mapCallback(r);
      after = Number(rows[rows.length - 1]!._rowid);
    }
  }
}
