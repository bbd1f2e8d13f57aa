import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as admin from './sqlite-admin.js';
import * as intake from './sqlite-intake.js';
import * as outbox from './sqlite-outbox.js';
import { SQLITE_MIGRATIONS } from './sqlite-schema.js';
import { SqliteStatements } from './sqlite-statements.js';
import { batchWrites } from './write-batch.js';
import { SQLITE_WRITES, WriterThread } from './sqlite-writes.js';
import type { Row } from './rows.js';
import type {
  ActivityBucket, AttemptRecord, AttemptSummary, CallbackRecord, ClaimedDelivery, ConflictDraft, ConflictFilter, ConflictRecord, DeadLetterFilter, DeliveryRecord, EndpointState, EndpointStats,
  EventDraft, EventFilter, IngestItem, IngestResult, Page, QuarantineFilter, Store, StoredEvent,
} from './types.js';

/**
 * The embedded store. better-sqlite3 is synchronous, so every method commits
 * before it returns; the async signatures exist for the shared contract.
 * One process per database file: leases are released on start.
 *
 * The statements live in sqlite-intake.ts, sqlite-outbox.ts and sqlite-admin.ts; the methods
 * here stay (prototype methods named as in SQLITE_WRITES) because the constructor replaces
 * the writes with batched or writer-thread calls.
 */
export class SqliteStore implements Store {
  /** Newest rows listEvents walks by primary key before a broad filter uses its index. */
  static readonly PROBE_ROWS = 4000;
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;
  private readonly sql: SqliteStatements;

  /** Set when writes commit on a writer thread; other stores on this file (Collectmaxx) route theirs through it. */
  writer: WriterThread | null = null;

  /**
   * `writer: 'thread'` (what the relay uses) commits on a writer thread so fsyncs never stall
   * the event loop; 'inline' commits on the caller's thread (the writer thread itself, tools, tests).
   */
  constructor(file: string, opts: { writer?: 'inline' | 'thread' } = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.sql = new SqliteStatements(this.db);
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
    this.sql.st('SELECT 1').get();
  }

  async close(): Promise<void> {
    const writer = this.writer;
    this.writer = null;
    await writer?.close();
    if (this.db.open) this.db.close();
  }

  // ---------------------------------------------------------------- intake

  async ingest(items: IngestItem[]): Promise<IngestResult[]> {
    return intake.ingest(this.sql, items);
  }

  async addEvent(event: EventDraft, now: number): Promise<{ eventId: string; duplicate: boolean }> {
    return intake.addEvent(this.sql, event, now);
  }

  async resolveQuarantine(
    callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number, conflict?: ConflictDraft,
  ): Promise<IngestResult | null> {
    return intake.resolveQuarantine(this.sql, callbackId, event, merchantId, decoded, now, conflict);
  }

  async eventsWithoutFingerprint(afterSeq: number, limit: number): Promise<{ seq: number; payload: string }[]> {
    return intake.eventsWithoutFingerprint(this.sql, afterSeq, limit);
  }

  async setEventFingerprints(rows: { seq: number; dedupeKey: string; fingerprint: string }[]): Promise<number> {
    return intake.setEventFingerprints(this.sql, rows);
  }

  // ---------------------------------------------------------------- outbox

  async claim(endpointId: string, owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    return outbox.claim(this.sql, endpointId, owner, now, leaseMs, limit);
  }

  async complete(deliveryId: number, owner: string, attempt: AttemptRecord, now: number): Promise<boolean> {
    return outbox.complete(this.sql, deliveryId, owner, attempt, now);
  }

  async fail(deliveryId: number, owner: string, attempt: AttemptRecord, next: { retryAt: number } | { dead: true }, now: number): Promise<boolean> {
    return outbox.fail(this.sql, deliveryId, owner, attempt, next, now);
  }

  async release(deliveryId: number, owner: string, now: number): Promise<boolean> {
    return outbox.release(this.sql, deliveryId, owner, now);
  }

  async releaseAllLeases(now: number): Promise<number> {
    return outbox.releaseAllLeases(this.sql, now);
  }

  async nextDueAt(endpointId: string, now: number): Promise<number | null> {
    return outbox.nextDueAt(this.sql, endpointId, now);
  }

  // ---------------------------------------------------------------- endpoints

  async endpointStates(): Promise<EndpointState[]> {
    return outbox.endpointStates(this.sql);
  }

  async recordEndpointSuccess(endpointId: string, now: number): Promise<void> {
    outbox.recordEndpointSuccess(this.sql, endpointId, now);
  }

  async recordEndpointFailure(endpointId: string, now: number, error: string): Promise<number> {
    return outbox.recordEndpointFailure(this.sql, endpointId, now, error);
  }

  async setEndpointDisabled(endpointId: string, disabled: boolean, reason: string | null, now: number): Promise<void> {
    outbox.setEndpointDisabled(this.sql, endpointId, disabled, reason, now);
  }

  async endpointStats(now: number): Promise<EndpointStats[]> {
    return outbox.endpointStats(this.sql, now);
  }

  // ---------------------------------------------------------------- admin queries

  async listEvents(f: EventFilter, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
    return admin.listEvents(this.sql, SqliteStore.PROBE_ROWS, f, limit, cursor);
  }

  async getEvent(id: string): Promise<StoredEvent | null> {
    return admin.getEvent(this.sql, id);
  }

  async getCallback(id: string): Promise<CallbackRecord | null> {
    return admin.getCallback(this.sql, id);
  }

  async deliveriesOf(eventId: string): Promise<DeliveryRecord[]> {
    return admin.deliveriesOf(this.sql, eventId);
  }

  async attemptsOf(eventId: string): Promise<AttemptRecord[]> {
    return admin.attemptsOf(this.sql, eventId);
  }

  async listQuarantine(f: QuarantineFilter, limit: number, cursor?: string): Promise<Page<CallbackRecord>> {
    return admin.listQuarantine(this.sql, f, limit, cursor);
  }

  async listConflicts(f: ConflictFilter, limit: number, cursor?: string): Promise<Page<ConflictRecord>> {
    return admin.listConflicts(this.sql, f, limit, cursor);
  }

  async getConflict(callbackId: string): Promise<ConflictRecord | null> {
    return admin.getConflict(this.sql, callbackId);
  }

  async quarantineSize(): Promise<number> {
    return admin.quarantineSize(this.sql);
  }

  async listDeadLetters(f: DeadLetterFilter, limit: number, cursor?: string): Promise<Page<DeliveryRecord & { type: string }>> {
    return admin.listDeadLetters(this.sql, f, limit, cursor);
  }

  async countDeadLetters(f: DeadLetterFilter): Promise<number> {
    return admin.countDeadLetters(this.sql, f);
  }

  async redeliverDeadLetters(f: DeadLetterFilter, now: number): Promise<number> {
    return admin.redeliverDeadLetters(this.sql, f, now);
  }

  async redeliver(eventId: string, endpointIds: string[], orderKeys: Record<string, string | null>, now: number): Promise<string[]> {
    return admin.redeliver(this.sql, eventId, endpointIds, orderKeys, now);
  }

  async activity(since: number, until: number, bucketMs: number): Promise<ActivityBucket[]> {
    return admin.activity(this.sql, since, until, bucketMs);
  }

  async attemptSummary(since: number, until: number): Promise<AttemptSummary> {
    return admin.attemptSummary(this.sql, since, until);
  }

  async *exportCallbacks(since: number | null): AsyncIterable<CallbackRecord> {
    yield* admin.exportCallbacks(this.sql, since);
  }
}
