import pg from 'pg';
import type { StoreExtension } from './extension.js';
import { CORE_MIGRATIONS, runMigrations } from './migrate.js';
import * as admin from './postgres-admin.js';
import * as auth from './postgres-auth.js';
import * as erase from './postgres-erase.js';
import * as intake from './postgres-intake.js';
import { lockId } from './postgres-locks.js';
import { listenForEvents, type StoreChanges } from './postgres-notify.js';
import * as outbox from './postgres-outbox.js';
import { PgSession } from './postgres-session.js';
import * as retention from './postgres-retention.js';
import { retentionStats, scanStep } from './retention-scan.js';
import type { PurgeResult, RetentionClass, RetentionStats, ScanCursor, ScanStep, UnitSizes } from './retention.js';
import { parsePostgresUrl, type PostgresOptions } from './postgres-url.js';
import { readEndpointStats, readQueueStats } from './stats.js';
import type { Row } from './rows.js';
import type {
  ActivityBucket, AttemptRecord, AttemptSummary, CallbackRecord, ClaimedDelivery, ConflictDraft, ConflictFilter, ConflictRecord, DeadLetterFilter, DeliveryCounts, DeliveryRecord, EndpointState, EndpointStats, QueueStats,
  AuthFailures, CoreErasure, ErasureRecord, ErasureSelector, EventDraft, EventFilter, IngestItem, IngestResult, Page, QuarantineFilter, SessionRecord, Store, StoredEvent,
} from './types.js';

export { orderKeyLockId } from './postgres-locks.js';
export { NOTIFY_CHANNEL, type StoreChanges } from './postgres-notify.js';
export { isConnectionError } from './postgres-session.js';
export { parsePostgresUrl, type PostgresOptions } from './postgres-url.js';

/**
 * The shared store for several relay processes on one PostgreSQL database.
 * Mirrors SqliteStore statement for statement; what differs is concurrency:
 * dedupe is the unique index (ON CONFLICT), claims use FOR UPDATE SKIP LOCKED
 * with a lease, intake serializes per ordering key (see `ingest`), and a
 * commit wakes idle workers in every process through LISTEN/NOTIFY.
 * Leases are never released wholesale: another process may be working on them.
 *
 * The statements live in postgres-intake.ts, postgres-outbox.ts and postgres-admin.ts.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  readonly pool: pg.Pool;
  private readonly opts: PostgresOptions;
  private readonly listeners = new Set<() => Promise<void>>();
  private closed = false;
  private readonly session: PgSession;
  private readonly extensions: StoreExtension<unknown>[] = [];

  constructor(url: string | PostgresOptions) {
    this.opts = typeof url === 'string' ? parsePostgresUrl(url) : url;
    this.schema = this.opts.schema;
    this.pool = new pg.Pool({ ...this.clientConfig(), max: this.opts.poolMax, idleTimeoutMillis: 30_000 });
    // An idle client whose server went away emits here; the pool drops it. Without a listener it would crash the process.
    this.pool.on('error', () => {});
    this.session = new PgSession(this.pool, this.schema, () => this.closed);
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

  extend<S>(ext: StoreExtension<S>): S {
    this.extensions.push(ext as StoreExtension<unknown>);
    return ext.postgres.open(this.session);
  }

  async migrate(): Promise<void> {
    await this.session.tx(async (c) => {
      // Two instances starting together: the second waits here until the first committed, then finds nothing to do.
      await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockId(`paygate-relay:migrate:${this.schema}`)]);
      // Only when missing: CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT EXISTS.
      const exists = (await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema])).rowCount === 1;
      if (!exists) await c.query(`CREATE SCHEMA ${this.schema}`);
      await runMigrations(
        { exec: async (sql) => void (await c.query(sql)), all: async (sql, params = []) => (await c.query(sql, params)).rows as Row[] },
        'postgres', [CORE_MIGRATIONS, ...this.extensions.map((e) => e.migrations)], Date.now(),
      );
    });
  }

  async ping(): Promise<void> {
    await this.session.q('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.listeners].map((stop) => stop()));
    await this.pool.end();
  }

  /** Wake-ups from every process sharing this schema, on a connection of its own (see listenForEvents). */
  async listen(on: StoreChanges): Promise<() => Promise<void>> {
    return listenForEvents(() => this.clientConfig(), this.schema, this.listeners, on);
  }

  // ---------------------------------------------------------------- intake

  /** One transaction for the batch, set-wise, serialized per ordering key (see postgres-intake.ts). */
  async ingest(items: IngestItem[]): Promise<IngestResult[]> {
    return intake.ingest(this.session, items);
  }

  async addEvent(event: EventDraft, now: number): Promise<{ eventId: string; duplicate: boolean }> {
    return intake.addEvent(this.session, event, now);
  }

  async resolveQuarantine(
    callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number, conflict?: ConflictDraft,
  ): Promise<IngestResult | null> {
    return intake.resolveQuarantine(this.session, callbackId, event, merchantId, decoded, now, conflict);
  }

  async eventsWithoutFingerprint(afterSeq: number, limit: number): Promise<{ seq: number; payload: string }[]> {
    return intake.eventsWithoutFingerprint(this.session, afterSeq, limit);
  }

  async setEventFingerprints(rows: { seq: number; dedupeKey: string; fingerprint: string }[]): Promise<number> {
    return intake.setEventFingerprints(this.session, rows);
  }

  // ---------------------------------------------------------------- outbox

  /** Lease due deliveries of one endpoint, oldest first, at most one per ordering key (why it is safe: postgres-outbox.ts). */
  async claim(endpointId: string, owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    return outbox.claim(this.session, endpointId, owner, now, leaseMs, limit);
  }

  async complete(deliveryId: number, owner: string, attempt: AttemptRecord, now: number): Promise<boolean> {
    return outbox.complete(this.session, deliveryId, owner, attempt, now);
  }

  async fail(deliveryId: number, owner: string, attempt: AttemptRecord, next: { retryAt: number } | { dead: true }, now: number): Promise<boolean> {
    return outbox.fail(this.session, deliveryId, owner, attempt, next, now);
  }

  async release(deliveryId: number, owner: string, now: number): Promise<boolean> {
    return outbox.release(this.session, deliveryId, owner, now);
  }

  /** Part of the contract for single-process adapters; the Relay never calls it for PostgreSQL (other processes hold leases). */
  async releaseAllLeases(now: number): Promise<number> {
    return outbox.releaseAllLeases(this.session, now);
  }

  async nextDueAt(endpointId: string, now: number): Promise<number | null> {
    return outbox.nextDueAt(this.session, endpointId, now);
  }

  // ---------------------------------------------------------------- endpoints

  async endpointStates(): Promise<EndpointState[]> {
    return outbox.endpointStates(this.session);
  }

  async recordEndpointSuccess(endpointId: string, now: number): Promise<void> {
    return outbox.recordEndpointSuccess(this.session, endpointId, now);
  }

  async recordEndpointFailure(endpointId: string, now: number, error: string): Promise<number> {
    return outbox.recordEndpointFailure(this.session, endpointId, now, error);
  }

  async setEndpointDisabled(endpointId: string, disabled: boolean, reason: string | null, now: number): Promise<void> {
    return outbox.setEndpointDisabled(this.session, endpointId, disabled, reason, now);
  }

  async endpointStats(now: number): Promise<EndpointStats[]> {
    return readEndpointStats(retention.pgQuery(this.session), 'postgres', now);
  }

  async queueStats(): Promise<QueueStats[]> {
    return readQueueStats(retention.pgQuery(this.session));
  }

  // ---------------------------------------------------------------- console sessions, failed authentications

  async createSession(session: SessionRecord, now: number): Promise<void> {
    return auth.createSession(this.session, session, now);
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    return auth.getSession(this.session, id);
  }

  async deleteSession(id: string): Promise<void> {
    return auth.deleteSession(this.session, id);
  }

  async authFailures(scope: string, client: string): Promise<AuthFailures | null> {
    return auth.authFailures(this.session, scope, client);
  }

  async recordAuthFailure(scope: string, client: string, now: number, windowMs: number): Promise<AuthFailures> {
    return auth.recordAuthFailure(this.session, scope, client, now, windowMs);
  }

  async clearAuthFailures(scope: string, client: string): Promise<void> {
    return auth.clearAuthFailures(this.session, scope, client);
  }

  // ---------------------------------------------------------------- admin queries

  async listEvents(f: EventFilter, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
    return admin.listEvents(this.session, f, limit, cursor);
  }

  async getEvent(id: string): Promise<StoredEvent | null> {
    return admin.getEvent(this.session, id);
  }

  async getCallback(id: string): Promise<CallbackRecord | null> {
    return admin.getCallback(this.session, id);
  }

  async deliveriesOf(eventId: string): Promise<DeliveryRecord[]> {
    return admin.deliveriesOf(this.session, eventId);
  }

  async attemptsOf(eventId: string): Promise<AttemptRecord[]> {
    return admin.attemptsOf(this.session, eventId);
  }

  async deliveryCounts(eventIds: readonly string[]): Promise<DeliveryCounts[]> {
    return admin.deliveryCounts(this.session, eventIds);
  }

  async listQuarantine(f: QuarantineFilter, limit: number, cursor?: string): Promise<Page<CallbackRecord>> {
    return admin.listQuarantine(this.session, f, limit, cursor);
  }

  async quarantineStats(): Promise<{ size: number; oldestAt: number | null }> {
    return admin.quarantineStats(this.session);
  }

  async listConflicts(f: ConflictFilter, limit: number, cursor?: string): Promise<Page<ConflictRecord>> {
    return admin.listConflicts(this.session, f, limit, cursor);
  }

  async getConflict(callbackId: string): Promise<ConflictRecord | null> {
    return admin.getConflict(this.session, callbackId);
  }

  async quarantineSize(): Promise<number> {
    return admin.quarantineSize(this.session);
  }

  async listDeadLetters(f: DeadLetterFilter, limit: number, cursor?: string): Promise<Page<DeliveryRecord & { type: string }>> {
    return admin.listDeadLetters(this.session, f, limit, cursor);
  }

  async countDeadLetters(f: DeadLetterFilter): Promise<number> {
    return admin.countDeadLetters(this.session, f);
  }

  async redeliverDeadLetters(f: DeadLetterFilter, now: number): Promise<number> {
    return admin.redeliverDeadLetters(this.session, f, now);
  }

  async redeliver(eventId: string, endpointIds: string[], orderKeys: Record<string, string | null>, now: number): Promise<string[]> {
    return admin.redeliver(this.session, eventId, endpointIds, orderKeys, now);
  }

  async activity(since: number, until: number, bucketMs: number): Promise<ActivityBucket[]> {
    return admin.activity(this.session, since, until, bucketMs);
  }

  async attemptSummary(since: number, until: number): Promise<AttemptSummary> {
    return admin.attemptSummary(this.session, since, until);
  }

  // ---------------------------------------------------------------- erasure

  async eraseSubject(selector: ErasureSelector): Promise<CoreErasure> {
    return erase.eraseSubject(this.session, selector);
  }

  async purgeErased(tables: readonly string[]): Promise<boolean> {
    return erase.vacuum(this.session, tables);
  }

  async recordErasure(r: Omit<ErasureRecord, 'seq'>): Promise<ErasureRecord> {
    return erase.recordErasure(this.session, r);
  }

  async listErasures(limit: number, cursor?: string): Promise<Page<ErasureRecord>> {
    return erase.listErasures(this.session, limit, cursor);
  }

  async *exportCallbacks(since: number | null): AsyncIterable<CallbackRecord> {
    yield* admin.exportCallbacks(this.session, since);
  }

  // ---------------------------------------------------------------- retention

  private holds(): string[] {
    return this.extensions.flatMap((e) => (e.retentionHold ? [e.retentionHold.postgres] : []));
  }

  async retentionScan(cls: RetentionClass, cutoff: number, after: ScanCursor, limit: number): Promise<ScanStep> {
    return scanStep(retention.pgQuery(this.session), 'postgres', this.holds(), cls, cutoff, after, limit);
  }

  async retentionPurge(cls: RetentionClass, cutoff: number, sizes: UnitSizes): Promise<PurgeResult> {
    return retention.purge(this.session, cls, cutoff, sizes, this.holds());
  }

  async retentionStats(): Promise<RetentionStats> {
    return retentionStats(retention.pgQuery(this.session), 'postgres', this.holds());
  }

  async retentionReclaim(): Promise<void> {
    return retention.reclaim(this.session);
  }

  /** Instances sharing the schema take turns: a session advisory lock, held while one sweeps. */
  async retentionLock(): Promise<{ release(): Promise<void> } | null> {
    return retention.sweepLock(this.pool, this.schema);
  }

  async databaseSize(): Promise<{ bytes: number; freeBytes: number | null }> {
    return retention.databaseSize(this.session);
  }
}
