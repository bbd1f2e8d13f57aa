import { createHash } from 'node:crypto';
import pg from 'pg';
import { ConfigError } from '../config/load.js';
import { POSTGRES_MIGRATIONS } from './postgres-schema.js';
import { decodeCursor, encodeCursor, globToSql } from './query.js';
import { mapAttempt, mapCallback, mapDelivery, mapEvent, type Row } from './rows.js';
import type {
  ActivityBucket, AttemptRecord, AttemptSummary, CallbackRecord, ClaimedDelivery, DeadLetterFilter, DeliveryRecord, EndpointState, EndpointStats,
  EventDraft, EventFilter, IngestItem, IngestResult, Page, QuarantineFilter, Store, StoredEvent,
} from './types.js';

const OPEN = `state IN ('pending','in_flight')`;

/** The NOTIFY channel; the payload names the schema so several relays can share one database. */
export const NOTIFY_CHANNEL = 'paygate_relay_events';
const NOTIFY_MAX_BYTES = 7900; // PostgreSQL's limit is 8000 bytes per payload

export interface PostgresOptions {
  /** libpq-style URL without our own parameters. */
  connectionString: string;
  schema: string;
  poolMax: number;
}

/**
 * `postgres://user@host:5432/db?schema=relay&pool=10`: `schema` (default public)
 * and `pool` (connections per process, default 10) are ours, the rest goes to pg.
 */
export function parsePostgresUrl(url: string): PostgresOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError('config storage: not a valid postgres:// URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new ConfigError('config storage: a PostgreSQL URL starts with postgres:// or postgresql://');
  const schema = u.searchParams.get('schema') ?? 'public';
  // Lower case only: the name is used unquoted, so what you write is what PostgreSQL stores.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema) || schema.startsWith('pg_')) {
    throw new ConfigError(`config storage: schema must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63, not pg_*), got ${JSON.stringify(schema)}`);
  }
  const pool = Number(u.searchParams.get('pool') ?? '10');
  if (!Number.isInteger(pool) || pool < 1 || pool > 200) throw new ConfigError('config storage: pool must be an integer 1..200');
  u.searchParams.delete('schema');
  u.searchParams.delete('pool');
  return { connectionString: u.toString(), schema, poolMax: pool };
}

/** A 64-bit advisory lock id for a name (signed, as pg_advisory_xact_lock wants it). */
function lockId(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/** The advisory lock intake holds per ordering key until commit (see PostgresStore.lockOrderKeys). */
export function orderKeyLockId(schema: string, orderKey: string): string {
  return lockId(`paygate-relay:order:${schema}:${orderKey}`);
}

/** PostgreSQL text cannot hold NUL; the raw bytes are always kept in callbacks.body. */
const txt = (s: string | null | undefined): string | null => (s === null || s === undefined ? null : s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s);

const SQLSTATE_RETRY = new Set(['40001', '40P01']); // serialization failure, deadlock: the transaction can run again
const NODE_CONN = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The server or the connection went away (restart, network): nothing wrong with the statement. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  const code = e.code ?? '';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || NODE_CONN.has(code)) return true;
  return /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection ended/i.test(e.message ?? '');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The shared store for several relay processes on one PostgreSQL database.
 * Mirrors SqliteStore statement for statement; what differs is concurrency:
 * dedupe is the unique index (ON CONFLICT), claims use FOR UPDATE SKIP LOCKED
 * with a lease, intake serializes per ordering key (see `ingest`), and a
 * commit wakes idle workers in every process through LISTEN/NOTIFY.
 * Leases are never released wholesale: another process may be working on them.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  readonly pool: pg.Pool;
  private readonly opts: PostgresOptions;
  private readonly listeners = new Set<() => Promise<void>>();
  private closed = false;

  constructor(url: string | PostgresOptions) {
    this.opts = typeof url === 'string' ? parsePostgresUrl(url) : url;
    this.schema = this.opts.schema;
    this.pool = new pg.Pool({ ...this.clientConfig(), max: this.opts.poolMax, idleTimeoutMillis: 30_000 });
    // An idle client whose server went away emits here; the pool drops it. Without a listener it would crash the process.
    this.pool.on('error', () => {});
  }

  private clientConfig(): pg.ClientConfig {
    return {
      connectionString: this.opts.connectionString,
      // Every statement runs in our schema (tables are written unqualified), and under READ COMMITTED whatever
      // the server default: dedupe and the claim guard rely on its per-statement snapshots (see ingest, claim).
      options: `-c search_path=${this.schema} -c default_transaction_isolation=read\\ committed`,
      // Shows in pg_stat_activity which relay (schema) a connection belongs to.
      application_name: `paygate-relay:${this.schema}`.slice(0, 63),
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    };
  }

  private async q(sql: string, params: unknown[] = []): Promise<Row[]> {
    // pool.query hands a client that failed back with the error, so the pool destroys it.
    return (await this.pool.query(sql, params)).rows as Row[];
  }

  /** One transaction on one client; a deadlock or serialization failure runs it again. A broken client is destroyed, never reused. */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let round = 1; ; round++) {
      const c = await this.pool.connect();
      // A checked-out client has no pool listener: an 'error' between statements would otherwise be uncaught.
      const onError = () => {};
      c.on('error', onError);
      let destroy: Error | undefined;
      let begun = false;
      try {
        await c.query('BEGIN');
        begun = true;
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await c.query('ROLLBACK');
        } catch {
          destroy = err as Error;
        }
        if (isConnectionError(err)) destroy = err as Error;
        const code = (err as { code?: string }).code ?? '';
        // A pooled connection that died while idle (server restart) fails at BEGIN, before anything was done: take another.
        const staleClient = !begun && isConnectionError(err);
        if ((SQLSTATE_RETRY.has(code) || staleClient) && round < 5) {
          await sleep(5 * round + Math.random() * 20);
          continue;
        }
        throw err;
      } finally {
        c.off('error', onError);
        c.release(destroy);
      }
    }
  }

  /**
   * Writes that record what already happened (a receiver's answer) should not be
   * lost to a short database outage: retry connection errors for a while. Safe
   * because they are guarded by the lease owner.
   */
  private async durable<T>(fn: () => Promise<T>, budgetMs = 20_000): Promise<T> {
    const end = Date.now() + budgetMs;
    for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await fn();
      } catch (err) {
        if (!isConnectionError(err) || this.closed || Date.now() + delay > end) throw err;
        await sleep(delay);
      }
    }
  }

  async migrate(): Promise<void> {
    await this.tx(async (c) => {
      // Two instances starting together: the second waits here until the first committed, then finds nothing to do.
      await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockId(`paygate-relay:migrate:${this.schema}`)]);
      // Only when missing: CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT EXISTS.
      const exists = (await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema])).rowCount === 1;
      if (!exists) await c.query(`CREATE SCHEMA ${this.schema}`);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const done = new Set((await c.query('SELECT version FROM schema_migrations')).rows.map((r: Row) => Number(r.version)));
      for (const m of POSTGRES_MIGRATIONS) {
        if (done.has(m.version)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
      }
    });
  }

  async ping(): Promise<void> {
    await this.q('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.listeners].map((stop) => stop()));
    await this.pool.end();
  }

  // ---------------------------------------------------------------- wake-ups

  /** NOTIFY inside the caller's transaction: PostgreSQL delivers it on commit, never for a rollback. */
  private async notify(c: pg.PoolClient, endpointIds: Iterable<string>): Promise<void> {
    const ids = [...new Set(endpointIds)];
    while (ids.length > 0) {
      const chunk: string[] = [];
      let size = 40 + this.schema.length;
      while (ids.length > 0 && size + ids[0]!.length + 3 < NOTIFY_MAX_BYTES) {
        const id = ids.shift()!;
        size += id.length + 3;
        chunk.push(id);
      }
      if (chunk.length === 0) chunk.push(ids.shift()!); // an id alone over the limit cannot exist (ids are <= 64 chars)
      await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, JSON.stringify({ s: this.schema, e: chunk })]);
    }
  }

  /**
   * Wake-ups from every process sharing this schema: `onEvent` gets the endpoint
   * ids of each committed event. Uses its own connection (not the pool) and
   * reconnects with backoff after an error, e.g. a PostgreSQL restart;
   * notifications sent while disconnected are lost, which the dispatcher's
   * poll covers. Resolves once the first connection attempt settled.
   */
  async listen(onEvent: (endpointIds: string[]) => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | null = null;
    let timer: NodeJS.Timeout | null = null;
    let delay = 200;
    const schedule = () => {
      if (stopped || timer) return;
      timer = setTimeout(() => {
        timer = null;
        void connect();
      }, delay);
      timer.unref();
      delay = Math.min(delay * 2, 5000);
    };
    const connect = async (): Promise<void> => {
      if (stopped) return;
      const c = new pg.Client(this.clientConfig());
      let up = false;
      c.on('error', () => {}); // followed by 'end'
      c.on('end', () => {
        if (client === c) client = null;
        if (up) schedule();
      });
      c.on('notification', (m) => {
        if (m.channel !== NOTIFY_CHANNEL || !m.payload) return;
        try {
          const p = JSON.parse(m.payload) as { s?: unknown; e?: unknown };
          if (p.s === this.schema && Array.isArray(p.e)) onEvent(p.e.filter((x): x is string => typeof x === 'string'));
        } catch {
          // not ours
        }
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${NOTIFY_CHANNEL}`);
      } catch {
        void c.end().catch(() => {});
        schedule();
        return;
      }
      if (stopped) {
        await c.end().catch(() => {});
        return;
      }
      up = true;
      client = c;
      delay = 200;
    };
    const stop = async () => {
      stopped = true;
      this.listeners.delete(stop);
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      if (c) await c.end().catch(() => {});
    };
    this.listeners.add(stop);
    await connect();
    return stop;
  }

  // ---------------------------------------------------------------- intake

  /**
   * Per ordering key, event seq order must equal commit order: the claim guard
   * (see `claim`) assumes that a snapshot which sees a delivery also sees every
   * earlier delivery of its key. A sequence value is taken at INSERT and becomes
   * visible at COMMIT, so two instances storing events of one TransID at once
   * could commit seq 11 before seq 10; a claim in between would send 11 and then
   * 10 would pass the guard while 11 is still in flight. Holding a transaction
   * advisory lock per key from before the INSERT until COMMIT makes the second
   * writer take its seq only after the first committed. Locks are taken in one
   * global order (sorted ids) so batches cannot deadlock on each other.
   */
  private async lockOrderKeys(c: pg.PoolClient, keys: Iterable<string | null>): Promise<void> {
    const ids = [...new Set([...keys].filter((k): k is string => k !== null).map((k) => orderKeyLockId(this.schema, k)))];
    if (ids.length === 0) return;
    ids.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    await c.query('SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, o) ORDER BY o', [ids]);
  }

  /**
   * Insert events unless their dedupe key exists and schedule deliveries for the new ones.
   * The unique index decides, not a read: a concurrent insert of the same key waits for
   * the other transaction and then does nothing; the following SELECT (a new statement,
   * so a new snapshot under READ COMMITTED) then sees the winner's row.
   * Drafts must have distinct dedupe keys; returns per draft.
   */
  private async insertEvents(c: pg.PoolClient, drafts: { e: EventDraft; callbackId: string | null; now: number }[]): Promise<{ eventId: string; duplicate: boolean }[]> {
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

  private async insertCallbacks(c: pg.PoolClient, rows: { cb: IngestItem['callback']; state: string; eventId: string | null }[]): Promise<void> {
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
  async ingest(items: IngestItem[]): Promise<IngestResult[]> {
    return this.tx(async (c) => {
      await this.lockOrderKeys(c, items.flatMap((i) => i.event?.deliveries.map((d) => d.orderKey) ?? []));
      const first = new Map<string, number>(); // dedupe key → index into drafts
      const drafts: { e: EventDraft; callbackId: string; now: number }[] = [];
      for (const i of items) {
        if (!i.event || first.has(i.event.dedupeKey)) continue;
        first.set(i.event.dedupeKey, drafts.length);
        drafts.push({ e: i.event, callbackId: i.callback.id, now: i.callback.receivedAt });
      }
      const stored = await this.insertEvents(c, drafts);
      const results = items.map((i): IngestResult => {
        if (!i.event) return { callbackId: i.callback.id, eventId: null, duplicate: false };
        const k = first.get(i.event.dedupeKey)!;
        const s = stored[k]!;
        const mine = drafts[k]!.callbackId === i.callback.id;
        return { callbackId: i.callback.id, eventId: s.eventId, duplicate: s.duplicate || !mine };
      });
      await this.insertCallbacks(c, items.map((i, n) => ({
        cb: i.callback,
        state: !i.event ? i.callback.state : results[n]!.duplicate ? 'duplicate' : 'accepted',
        eventId: results[n]!.eventId,
      })));
      const woken = drafts.filter((_d, k) => !stored[k]!.duplicate).flatMap((d) => d.e.deliveries.map((x) => x.endpointId));
      if (woken.length > 0) await this.notify(c, woken);
      return results;
    });
  }

  // ---------------------------------------------------------------- outbox

  /**
   * Lease due deliveries of one endpoint, oldest first, at most one per ordering key.
   *
   * Why two instances can never hold two deliveries of one key at once:
   * - the candidate row itself is locked FOR UPDATE SKIP LOCKED. A row another
   *   claimer (or a complete/fail) holds is skipped, not waited for; a row changed
   *   and committed since our snapshot is re-read and the conditions re-checked on
   *   the new version (EvalPlanQual), so a delivery just leased by someone else is
   *   not due any more and drops out. Two claimers never lease the same row.
   * - the guard: a delivery is only a candidate if, in this statement's snapshot,
   *   no earlier (lower event_seq) delivery of its key is open (pending/in_flight).
   *   The snapshot may be stale, but only in the safe direction: an earlier
   *   delivery that we still see open may meanwhile be done (we skip a delivery we
   *   could have taken; the next wake-up takes it). It cannot be the other way
   *   round: "done" is final (only an operator's redeliver reopens one), so if we
   *   see it done it is done. And the earlier delivery cannot be missing from the
   *   snapshot while the later one is in it, because intake serializes per key
   *   (see `lockOrderKeys`): the later event was inserted after the earlier one
   *   committed. While instance A has the earlier one leased (in_flight, or being
   *   leased: row locked, we skip it), B's guard sees it open and leaves the later
   *   one alone; SKIP LOCKED on the earlier row never makes the later one eligible.
   * - within one statement, two deliveries of one key cannot both pass the guard
   *   (the later one sees the earlier one open).
   * The guard is SQLite's NOT EXISTS (no open delivery of the key with a lower
   * seq) written as "not after the key's oldest open seq": with ORDER BY … LIMIT 1
   * the planner takes deliveries_order even when the statistics are stale (a
   * fresh table after a burst), where NOT EXISTS could pick deliveries_open and
   * scan the whole backlog once per candidate.
   */
  async claim(endpointId: string, owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    const rows = await this.q(
      `WITH c AS (
         SELECT d.id FROM deliveries d
         WHERE d.endpoint_id = $1 AND d.${OPEN}
           AND ((d.state = 'pending' AND d.next_attempt_at <= $2) OR (d.state = 'in_flight' AND d.lease_expires_at < $2))
           AND (d.order_key IS NULL OR d.event_seq <= COALESCE((
             SELECT p.event_seq FROM deliveries p
             WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key AND p.${OPEN}
             ORDER BY p.event_seq LIMIT 1), d.event_seq))
         ORDER BY d.next_attempt_at, d.event_seq
         LIMIT $3
         FOR UPDATE OF d SKIP LOCKED)
       UPDATE deliveries u SET state = 'in_flight', lease_owner = $4, lease_expires_at = $5, updated_at = $2
       FROM c, events e
       WHERE u.id = c.id AND e.seq = u.event_seq
       RETURNING u.id, u.event_id, u.endpoint_id, u.attempts, u.created_at, u.event_seq, e.payload`,
      [endpointId, now, limit, owner, now + leaseMs],
    );
    rows.sort((a, b) => Number(a.event_seq) - Number(b.event_seq));
    return rows.map((r) => ({
      id: Number(r.id),
      eventId: String(r.event_id),
      endpointId: String(r.endpoint_id),
      attempts: Number(r.attempts),
      createdAt: Number(r.created_at),
      payload: String(r.payload),
    }));
  }

  private attemptParams(a: AttemptRecord): unknown[] {
    return [a.deliveryId, a.eventId, a.endpointId, a.startedAt, a.durationMs, a.statusCode, a.errorClass, txt(a.responseBody)];
  }

  // A data-modifying CTE: the guarded update and the attempt row commit together in one statement.
  // A late answer from a lost lease is still a real attempt: it is recorded either way.
  private static readonly INSERT_ATTEMPT = `ins AS (
      INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code, error_class, response_body)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8))`;

  async complete(deliveryId: number, owner: string, attempt: AttemptRecord, now: number): Promise<boolean> {
    const rows = await this.durable(() => this.q(
      `WITH ${PostgresStore.INSERT_ATTEMPT},
       upd AS (
         UPDATE deliveries SET state = 'succeeded', attempts = attempts + 1, completed_at = $10, updated_at = $10,
           lease_owner = NULL, lease_expires_at = NULL, last_status = $6, last_error = NULL
         WHERE id = $11 AND lease_owner = $9 AND state = 'in_flight'
         RETURNING 1)
       SELECT count(*) AS n FROM upd`,
      [...this.attemptParams(attempt), owner, now, deliveryId],
    ));
    return Number(rows[0]!.n) === 1;
  }

  async fail(deliveryId: number, owner: string, attempt: AttemptRecord, next: { retryAt: number } | { dead: true }, now: number): Promise<boolean> {
    const dead = 'dead' in next;
    const rows = await this.durable(() => this.q(
      `WITH ${PostgresStore.INSERT_ATTEMPT},
       upd AS (
         UPDATE deliveries SET state = $11, attempts = attempts + 1, next_attempt_at = $12, updated_at = $10,
           completed_at = $13, lease_owner = NULL, lease_expires_at = NULL, last_status = $6, last_error = $7
         WHERE id = $14 AND lease_owner = $9 AND state = 'in_flight'
         RETURNING 1)
       SELECT count(*) AS n FROM upd`,
      [...this.attemptParams(attempt), owner, now, dead ? 'dead' : 'pending', dead ? now : next.retryAt, dead ? now : null, deliveryId],
    ));
    return Number(rows[0]!.n) === 1;
  }

  async release(deliveryId: number, owner: string, now: number): Promise<boolean> {
    const rows = await this.durable(() => this.q(
      `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
       WHERE id = $2 AND lease_owner = $3 AND state = 'in_flight' RETURNING id`,
      [now, deliveryId, owner],
    ), 5000);
    return rows.length === 1;
  }

  /** Part of the contract for single-process adapters; the Relay never calls it for PostgreSQL (other processes hold leases). */
  async releaseAllLeases(now: number): Promise<number> {
    const rows = await this.q(
      `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 WHERE state = 'in_flight' RETURNING id`,
      [now],
    );
    return rows.length;
  }

  async nextDueAt(endpointId: string, now: number): Promise<number | null> {
    // Only future times: a delivery already due but held back by ordering is woken by its predecessor.
    const [row] = await this.q(`SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE endpoint_id = $1 AND state = 'pending' AND next_attempt_at > $2`, [endpointId, now]);
    return row?.t === null || row?.t === undefined ? null : Number(row.t);
  }

  // ---------------------------------------------------------------- endpoints

  async endpointStates(): Promise<EndpointState[]> {
    const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return (await this.q('SELECT * FROM endpoint_state ORDER BY endpoint_id')).map((r) => ({
      endpointId: String(r.endpoint_id),
      disabled: r.disabled === true,
      disabledReason: (r.disabled_reason as string | null) ?? null,
      disabledAt: n(r.disabled_at),
      failingSince: n(r.failing_since),
      lastSuccessAt: n(r.last_success_at),
      lastFailureAt: n(r.last_failure_at),
      lastError: (r.last_error as string | null) ?? null,
    }));
  }

  async recordEndpointSuccess(endpointId: string, now: number): Promise<void> {
    await this.q(
      `INSERT INTO endpoint_state (endpoint_id, last_success_at) VALUES ($1, $2)
       ON CONFLICT (endpoint_id) DO UPDATE SET last_success_at = excluded.last_success_at, failing_since = NULL`,
      [endpointId, now],
    );
  }

  async recordEndpointFailure(endpointId: string, now: number, error: string): Promise<number> {
    const [row] = await this.q(
      `INSERT INTO endpoint_state (endpoint_id, failing_since, last_failure_at, last_error) VALUES ($1, $2, $2, $3)
       ON CONFLICT (endpoint_id) DO UPDATE SET failing_since = COALESCE(endpoint_state.failing_since, excluded.failing_since),
         last_failure_at = excluded.last_failure_at, last_error = excluded.last_error
       RETURNING failing_since`,
      [endpointId, now, txt(error)],
    );
    return Number(row!.failing_since);
  }

  async setEndpointDisabled(endpointId: string, disabled: boolean, reason: string | null, now: number): Promise<void> {
    await this.q(
      `INSERT INTO endpoint_state (endpoint_id, disabled, disabled_reason, disabled_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (endpoint_id) DO UPDATE SET disabled = excluded.disabled, disabled_reason = excluded.disabled_reason,
         disabled_at = excluded.disabled_at, failing_since = CASE WHEN excluded.disabled THEN endpoint_state.failing_since ELSE NULL END`,
      [endpointId, disabled, disabled ? reason : null, disabled ? now : null],
    );
  }

  async endpointStats(now: number): Promise<EndpointStats[]> {
    const stats = new Map<string, EndpointStats>();
    const get = (id: string) => {
      let s = stats.get(id);
      if (!s) stats.set(id, (s = { endpointId: id, queueDepth: 0, oldestPendingAt: null, deadLetters: 0, attempts24h: 0, successes24h: 0 }));
      return s;
    };
    const [open, dead, attempts] = await Promise.all([
      this.q(`SELECT endpoint_id, COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries WHERE ${OPEN} GROUP BY endpoint_id`),
      this.q(`SELECT endpoint_id, COUNT(*) AS n FROM deliveries WHERE state = 'dead' GROUP BY endpoint_id`),
      this.q(
        `SELECT endpoint_id, COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok
         FROM attempts WHERE started_at >= $1 GROUP BY endpoint_id`,
        [now - 24 * 3600_000],
      ),
    ]);
    for (const r of open) {
      const s = get(String(r.endpoint_id));
      s.queueDepth = Number(r.n);
      s.oldestPendingAt = Number(r.oldest);
    }
    for (const r of dead) get(String(r.endpoint_id)).deadLetters = Number(r.n);
    for (const r of attempts) {
      const s = get(String(r.endpoint_id));
      s.attempts24h = Number(r.n);
      s.successes24h = Number(r.ok);
    }
    return [...stats.values()];
  }

  // ---------------------------------------------------------------- admin queries

  async listEvents(f: EventFilter, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
    const p: unknown[] = [];
    const $ = (v: unknown) => (p.push(v), `$${p.length}`);
    const where: string[] = [];
    if (f.type) where.push(this.typeWhere('type', f.type, $));
    for (const [key, col] of [['transId', 'trans_id'], ['payId', 'pay_id'], ['mandateId', 'mandate_id'], ['merchantId', 'merchant_id'], ['outcome', 'outcome']] as const) {
      if (f[key] !== undefined) where.push(`${col} = ${$(f[key])}`);
    }
    if (f.since !== undefined) where.push(`received_at >= ${$(f.since)}`);
    if (f.until !== undefined) where.push(`received_at < ${$(f.until)}`);
    const c = decodeCursor(cursor);
    if (c !== null) where.push(`seq < ${$(c)}`);
    const rows = (await this.q(`SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${$(limit + 1)}`, p)).map(mapEvent);
    const more = rows.length > limit;
    const items = rows.slice(0, limit);
    return { items, next: more ? encodeCursor(items[items.length - 1]!.seq) : null };
  }

  /** The event-type glob as LIKE (`*` → `%`, `_` literal) plus the same dot count, like SQLite's GLOB. */
  private typeWhere(col: string, glob: string, $: (v: unknown) => string): string {
    const g = globToSql(glob);
    const like = g.glob.replaceAll('_', '\\_').replaceAll('*', '%');
    return `${col} LIKE ${$(like)} AND (length(${col}) - length(replace(${col}, '.', ''))) = ${$(g.dots)}`;
  }

  async getEvent(id: string): Promise<StoredEvent | null> {
    const [r] = await this.q('SELECT * FROM events WHERE id = $1', [id]);
    return r ? mapEvent(r) : null;
  }

  async getCallback(id: string): Promise<CallbackRecord | null> {
    const [r] = await this.q('SELECT * FROM callbacks WHERE id = $1', [id]);
    return r ? mapCallback(r) : null;
  }

  async deliveriesOf(eventId: string): Promise<DeliveryRecord[]> {
    return (await this.q('SELECT * FROM deliveries WHERE event_id = $1 ORDER BY endpoint_id', [eventId])).map(mapDelivery);
  }

  async attemptsOf(eventId: string): Promise<AttemptRecord[]> {
    return (await this.q('SELECT * FROM attempts WHERE event_id = $1 ORDER BY id', [eventId])).map(mapAttempt);
  }

  async listQuarantine(f: QuarantineFilter, limit: number, cursor?: string): Promise<Page<CallbackRecord>> {
    const p: unknown[] = [];
    const $ = (v: unknown) => (p.push(v), `$${p.length}`);
    const where = [`state = 'quarantined'`];
    if (f.merchantId !== undefined) where.push(`merchant_id = ${$(f.merchantId)}`);
    if (f.reason !== undefined) where.push(`reason = ${$(f.reason)}`);
    if (f.since !== undefined) where.push(`received_at >= ${$(f.since)}`);
    if (f.until !== undefined) where.push(`received_at < ${$(f.until)}`);
    const c = decodeCursor(cursor);
    if (c !== null) where.push(`rid < ${$(c)}`);
    const rows = await this.q(`SELECT * FROM callbacks WHERE ${where.join(' AND ')} ORDER BY rid DESC LIMIT ${$(limit + 1)}`, p);
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return { items: page.map(mapCallback), next: more ? encodeCursor(Number(page[page.length - 1]!.rid)) : null };
  }

  async quarantineSize(): Promise<number> {
    const [r] = await this.q(`SELECT COUNT(*) AS n FROM callbacks WHERE state = 'quarantined'`);
    return Number(r!.n);
  }

  async resolveQuarantine(callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number): Promise<IngestResult | null> {
    return this.tx(async (c) => {
      // FOR UPDATE: two instances resolving the same callback at once — the second waits, then sees it reprocessed.
      const [row] = (await c.query(`SELECT state FROM callbacks WHERE id = $1 FOR UPDATE`, [callbackId])).rows as Row[];
      if (!row || row.state !== 'quarantined') return null;
      await this.lockOrderKeys(c, event.deliveries.map((d) => d.orderKey));
      const [stored] = await this.insertEvents(c, [{ e: event, callbackId, now }]);
      const { eventId, duplicate } = stored!;
      await c.query(`UPDATE callbacks SET state = 'reprocessed', event_id = $1, merchant_id = $2, decoded = $3 WHERE id = $4`, [
        eventId, txt(merchantId), JSON.stringify(decoded), callbackId,
      ]);
      if (!duplicate) await this.notify(c, event.deliveries.map((d) => d.endpointId));
      return { callbackId, eventId, duplicate };
    });
  }

  private deadWhere(f: DeadLetterFilter, $: (v: unknown) => string): string {
    const where = [`d.state = 'dead'`];
    if (f.endpointId !== undefined) where.push(`d.endpoint_id = ${$(f.endpointId)}`);
    if (f.since !== undefined) where.push(`d.updated_at >= ${$(f.since)}`);
    if (f.until !== undefined) where.push(`d.updated_at < ${$(f.until)}`);
    if (f.type !== undefined) where.push(`d.event_id IN (SELECT id FROM events WHERE ${this.typeWhere('type', f.type, $)})`);
    return where.join(' AND ');
  }

  async listDeadLetters(f: DeadLetterFilter, limit: number, cursor?: string): Promise<Page<DeliveryRecord & { type: string }>> {
    const p: unknown[] = [];
    const $ = (v: unknown) => (p.push(v), `$${p.length}`);
    let where = this.deadWhere(f, $);
    const c = decodeCursor(cursor);
    if (c !== null) where += ` AND d.id < ${$(c)}`;
    const rows = await this.q(
      `SELECT d.*, e.type AS type FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${where} ORDER BY d.id DESC LIMIT ${$(limit + 1)}`,
      p,
    );
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map((r) => ({ ...mapDelivery(r), type: String(r.type) }));
    return { items, next: more ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  async countDeadLetters(f: DeadLetterFilter): Promise<number> {
    const p: unknown[] = [];
    const $ = (v: unknown) => (p.push(v), `$${p.length}`);
    const [r] = await this.q(`SELECT COUNT(*) AS n FROM deliveries d WHERE ${this.deadWhere(f, $)}`, p);
    return Number(r!.n);
  }

  async redeliverDeadLetters(f: DeadLetterFilter, now: number): Promise<number> {
    return this.tx(async (c) => {
      const p: unknown[] = [now];
      const $ = (v: unknown) => (p.push(v), `$${p.length}`);
      const rows = (await c.query(
        `UPDATE deliveries AS d SET state = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1, completed_at = NULL
         WHERE ${this.deadWhere(f, $)} RETURNING d.endpoint_id`,
        p,
      )).rows as Row[];
      if (rows.length > 0) await this.notify(c, rows.map((r) => String(r.endpoint_id)));
      return rows.length;
    });
  }

  async redeliver(eventId: string, endpointIds: string[], orderKeys: Record<string, string | null>, now: number): Promise<string[]> {
    return this.tx(async (c) => {
      const [ev] = (await c.query('SELECT seq FROM events WHERE id = $1', [eventId])).rows as Row[];
      if (!ev) return [];
      await this.lockOrderKeys(c, endpointIds.map((e) => orderKeys[e] ?? null));
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
      if (scheduled.length > 0) await this.notify(c, scheduled);
      return scheduled;
    });
  }

  async addEvent(event: EventDraft, now: number): Promise<{ eventId: string; duplicate: boolean }> {
    return this.tx(async (c) => {
      await this.lockOrderKeys(c, event.deliveries.map((d) => d.orderKey));
      const [stored] = await this.insertEvents(c, [{ e: event, callbackId: null, now }]);
      if (!stored!.duplicate) await this.notify(c, event.deliveries.map((d) => d.endpointId));
      return stored!;
    });
  }

  async activity(since: number, until: number, bucketMs: number): Promise<ActivityBucket[]> {
    if (!(bucketMs > 0) || !(until > since)) return [];
    const n = Math.ceil((until - since) / bucketMs);
    const buckets: ActivityBucket[] = Array.from({ length: n }, (_, i) => ({
      start: since + i * bucketMs, callbacks: 0, quarantined: 0, events: 0, attempts: 0, attemptsOk: 0,
    }));
    const p = [since, until, bucketMs];
    const b = (col: string) => `((${col} - $1::bigint) / $3::bigint) AS b`; // bigint division truncates, like SQLite's CAST
    const fill = (rows: Row[], set: (x: ActivityBucket, r: Row) => void) => {
      for (const r of rows) {
        const x = buckets[Number(r.b)];
        if (x) set(x, r);
      }
    };
    const [cbs, quarantined, events, attempts] = await Promise.all([
      this.q(`SELECT ${b('received_at')}, COUNT(*) AS n FROM callbacks WHERE received_at >= $1 AND received_at < $2 GROUP BY 1`, p),
      this.q(`SELECT ${b('received_at')}, COUNT(*) AS n FROM callbacks WHERE state = 'quarantined' AND received_at >= $1 AND received_at < $2 GROUP BY 1`, p),
      this.q(`SELECT ${b('received_at')}, COUNT(*) AS n FROM events WHERE received_at >= $1 AND received_at < $2 GROUP BY 1`, p),
      this.q(
        `SELECT ${b('started_at')}, COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok
         FROM attempts WHERE started_at >= $1 AND started_at < $2 GROUP BY 1`,
        p,
      ),
    ]);
    fill(cbs, (x, r) => (x.callbacks = Number(r.n)));
    fill(quarantined, (x, r) => (x.quarantined = Number(r.n)));
    fill(events, (x, r) => (x.events = Number(r.n)));
    fill(attempts, (x, r) => ((x.attempts = Number(r.n)), (x.attemptsOk = Number(r.ok))));
    return buckets;
  }

  async attemptSummary(since: number, until: number): Promise<AttemptSummary> {
    // One statement, so counts and percentiles come from one snapshot. percentile_disc is the nearest rank:
    // PostgreSQL takes the value at 1-based row ceil(p * n) of the ascending durations.
    const [row] = await this.q(
      `SELECT COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok,
         percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50, percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99
       FROM attempts WHERE started_at >= $1 AND started_at < $2`,
      [since, until],
    );
    const n = Number(row!.n);
    if (n === 0) return { attempts: 0, successes: 0, p50Ms: null, p99Ms: null };
    return { attempts: n, successes: Number(row!.ok), p50Ms: Number(row!.p50), p99Ms: Number(row!.p99) };
  }

  async *exportCallbacks(since: number | null): AsyncIterable<CallbackRecord> {
    // Keyset pages in arrival order: no transaction or cursor held open while the consumer is slow.
    let after = 0;
    for (;;) {
      const rows = await this.q(`SELECT * FROM callbacks WHERE rid > $1 AND received_at >= $2 ORDER BY rid LIMIT 500`, [after, since ?? 0]);
      if (rows.length === 0) return;
      for (const r of rows) yield mapCallback(r);
      after = Number(rows[rows.length - 1]!.rid);
    }
  }
}
