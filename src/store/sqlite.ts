import type Database from 'better-sqlite3';
import * as admin from './sqlite-admin.js';
import * as auth from './sqlite-auth.js';
import * as erase from './sqlite-erase.js';
import * as intake from './sqlite-intake.js';
import type { StoreExtension } from './extension.js';
import { GroupCommit } from './group-commit.js';
import { CORE_MIGRATIONS, runMigrations, type MigrationConnection } from './migrate.js';
import * as outbox from './sqlite-outbox.js';
import { BUSY_TIMEOUT_MS, openSqlite } from './sqlite-open.js';
import * as retention from './sqlite-retention.js';
import { retentionStats, scanStep } from './retention-scan.js';
import { ReaderThread } from './reader-thread.js';
import { CheckpointThread, WRITER_AUTOCHECKPOINT_PAGES } from './checkpoint-thread.js';
import type { PurgeResult, RetentionClass, RetentionStats, ScanCursor, ScanStep, UnitSizes } from './retention.js';
import { SqliteStatements } from './sqlite-statements.js';
import { CORE_WRITES } from './sqlite-writes.js';
import { readEndpointStats, readQueueStats } from './stats.js';
import type { Row } from './rows.js';
import type {
  ActivityBucket, AttemptRecord, AttemptSummary, CallbackRecord, ClaimedDelivery, ConflictDraft, ConflictFilter, ConflictRecord, DeadLetterFilter, DeliveryCounts, DeliveryRecord, EndpointState, EndpointStats, QueueStats,
  AuthFailures, CoreErasure, ErasureRecord, ErasureSelector, EventDraft, EventFilter, IngestItem, IngestResult, Page, QuarantineFilter, SessionRecord, Store, StoredEvent,
} from './types.js';
import type { WriteChannel, WriteOps, Writer } from './write-ops.js';
import { WriterThread } from './writer-thread.js';
import { statSync } from 'node:fs';

const PURGE_TRIES = 20;
const PURGE_WAIT_MS = 100;
const PURGE_PAUSE_MS = 100;

/**
 * The embedded store. One process per database file: leases are released on start.
 *
 * Reads run here, on this connection (statements in sqlite-admin.ts and sqlite-outbox.ts).
 * Writes are the named operations of CORE_WRITES (sqlite-writes.ts), run through the
 * store's WriteChannel: group commit on this connection, or the writer thread.
 */
export class SqliteStore implements Store {
  /** Newest rows listEvents walks by primary key before a broad filter uses its index. */
  static readonly PROBE_ROWS = 4000;
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;
  private readonly sql: SqliteStatements;
  /** Where writes commit: `writer: 'thread'` (what the relay uses) so fsyncs never stall the event loop. */
  readonly writer: WriteChannel;
  private readonly write: Writer<typeof CORE_WRITES.ops>;
  private readonly extensions: StoreExtension<unknown>[] = [];
  /** Where retention's long reads run when writes have their thread (the relay); else on this connection. */
  private readonly reader: ReaderThread | null;
  /** Copies the WAL into the file off the writer thread (with the writer thread only). */
  readonly checkpointer: CheckpointThread | null;
  private readonly longReads: (sql: string, params: unknown[]) => Promise<Row[]>;

  /**
   * `writer: 'thread'` commits on a writer thread; 'inline' (default) commits on this thread,
   * in the same group commits (tools, tests).
   */
  constructor(private readonly file: string, opts: { writer?: 'inline' | 'thread' } = {}) {
    this.db = openSqlite(file);
    this.sql = new SqliteStatements(this.db);
    const threads = opts.writer === 'thread' && file !== ':memory:';
    this.writer = threads ? new WriterThread(file, { autocheckpointPages: WRITER_AUTOCHECKPOINT_PAGES }) : new GroupCommit(this.sql);
    this.write = this.writer.writer(CORE_WRITES);
    this.reader = threads ? new ReaderThread(file) : null;
    this.checkpointer = threads ? new CheckpointThread(file) : null;
    this.longReads = this.reader?.query ?? retention.sqliteQuery(this.sql);
  }

  extend<S, Ops extends WriteOps>(ext: StoreExtension<S, Ops>): S {
    this.extensions.push(ext as unknown as StoreExtension<unknown>);
    return ext.sqlite.open({ sql: this.sql, write: this.writer.writer(ext.sqlite.writes) });
  }

  async migrate(): Promise<void> {
    const c: MigrationConnection = {
      exec: async (sql) => void this.db.exec(sql),
      all: async (sql, params = []) => {
        const st = this.db.prepare(sql);
        return st.reader ? (st.all(...params) as Row[]) : (st.run(...params), []);
      },
    };
    // Every extension is registered by now: the writer thread starts while the migrations run.
    this.writer.start();
    // One transaction for the whole run: a failing file leaves the database as it was.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      await runMigrations(c, 'sqlite', [CORE_MIGRATIONS, ...this.extensions.map((e) => e.migrations)], Date.now());
      this.db.exec('COMMIT');
      this.checkpointer?.start();
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async ping(): Promise<void> {
    if (!this.writer.healthy) throw new Error('sqlite writer thread is down');
    this.sql.st('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.reader?.close();
    await this.checkpointer?.close();
    await this.writer.close();
    if (this.db.open) this.db.close();
  }

  // ---------------------------------------------------------------- intake

  async ingest(items: IngestItem[]): Promise<IngestResult[]> {
    return this.write.run('ingest', items);
  }

  async addEvent(event: EventDraft, now: number): Promise<{ eventId: string; duplicate: boolean }> {
    return this.write.run('addEvent', event, now);
  }

  async resolveQuarantine(
    callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number, conflict?: ConflictDraft,
  ): Promise<IngestResult | null> {
    return this.write.run('resolveQuarantine', callbackId, event, merchantId, decoded, now, conflict);
  }

  async eventsWithoutFingerprint(afterSeq: number, limit: number): Promise<{ seq: number; payload: string }[]> {
    return intake.eventsWithoutFingerprint(this.sql, afterSeq, limit);
  }

  async setEventFingerprints(rows: { seq: number; dedupeKey: string; fingerprint: string }[]): Promise<number> {
    return this.write.run('setEventFingerprints', rows);
  }

  // ---------------------------------------------------------------- outbox

  async claim(endpointId: string, owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    return this.write.run('claim', endpointId, owner, now, leaseMs, limit);
  }

  async complete(deliveryId: number, owner: string, attempt: AttemptRecord, now: number): Promise<boolean> {
    return this.write.run('complete', deliveryId, owner, attempt, now);
  }

  async fail(deliveryId: number, owner: string, attempt: AttemptRecord, next: { retryAt: number } | { dead: true }, now: number): Promise<boolean> {
    return this.write.run('fail', deliveryId, owner, attempt, next, now);
  }

  async release(deliveryId: number, owner: string, now: number): Promise<boolean> {
    return this.write.run('release', deliveryId, owner, now);
  }

  async releaseAllLeases(now: number): Promise<number> {
    return this.write.run('releaseAllLeases', now);
  }

  async nextDueAt(endpointId: string, now: number): Promise<number | null> {
    return outbox.nextDueAt(this.sql, endpointId, now);
  }

  // ---------------------------------------------------------------- endpoints

  async endpointStates(): Promise<EndpointState[]> {
    return outbox.endpointStates(this.sql);
  }

  async recordEndpointSuccess(endpointId: string, now: number): Promise<void> {
    return this.write.run('recordEndpointSuccess', endpointId, now);
  }

  async recordEndpointFailure(endpointId: string, now: number, error: string): Promise<number> {
    return this.write.run('recordEndpointFailure', endpointId, now, error);
  }

  async setEndpointDisabled(endpointId: string, disabled: boolean, reason: string | null, now: number): Promise<void> {
    return this.write.run('setEndpointDisabled', endpointId, disabled, reason, now);
  }

  async endpointStats(now: number): Promise<EndpointStats[]> {
    return readEndpointStats(retention.sqliteQuery(this.sql), 'sqlite', now);
  }

  async queueStats(): Promise<QueueStats[]> {
    return readQueueStats(retention.sqliteQuery(this.sql));
  }

  // ---------------------------------------------------------------- console sessions, failed authentications

  async createSession(session: SessionRecord, now: number): Promise<void> {
    return this.write.run('createSession', session, now);
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    return auth.getSession(this.sql, id);
  }

  async deleteSession(id: string): Promise<void> {
    return this.write.run('deleteSession', id);
  }

  async authFailures(scope: string, client: string): Promise<AuthFailures | null> {
    return auth.authFailures(this.sql, scope, client);
  }

  async recordAuthFailure(scope: string, client: string, now: number, windowMs: number): Promise<AuthFailures> {
    return this.write.run('recordAuthFailure', scope, client, now, windowMs);
  }

  async clearAuthFailures(scope: string, client: string): Promise<void> {
    return this.write.run('clearAuthFailures', scope, client);
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

  async deliveryCounts(eventIds: readonly string[]): Promise<DeliveryCounts[]> {
    return admin.deliveryCounts(this.sql, eventIds);
  }

  async listQuarantine(f: QuarantineFilter, limit: number, cursor?: string): Promise<Page<CallbackRecord>> {
    return admin.listQuarantine(this.sql, f, limit, cursor);
  }

  async quarantineStats(): Promise<{ size: number; oldestAt: number | null }> {
    return admin.quarantineStats(this.sql);
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
    return this.write.run('redeliverDeadLetters', f, now);
  }

  async redeliver(eventId: string, endpointIds: string[], orderKeys: Record<string, string | null>, now: number): Promise<string[]> {
    return this.write.run('redeliver', eventId, endpointIds, orderKeys, now);
  }

  async activity(since: number, until: number, bucketMs: number): Promise<ActivityBucket[]> {
    return admin.activity(this.sql, since, until, bucketMs);
  }

  async attemptSummary(since: number, until: number): Promise<AttemptSummary> {
    return admin.attemptSummary(this.sql, since, until);
  }

  // ---------------------------------------------------------------- erasure

  async eraseSubject(selector: ErasureSelector): Promise<CoreErasure> {
    return this.write.run('eraseSubject', selector);
  }

  async purgeErased(_tables: readonly string[]): Promise<boolean> {
    // The erase committed with secure_delete: its pages hold zeros where the data was. Older
    // versions of those pages still sit in the WAL until a checkpoint copies the new ones into
    // the database file; TRUNCATE then empties the WAL file. It waits for the writer and for
    // readers on older snapshots: short waits here (this connection blocks the event loop while
    // it waits), a few tries apart, then "not now" (the next automatic checkpoint completes it).
    for (let attempt = 0; attempt < PURGE_TRIES; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, PURGE_PAUSE_MS));
      this.db.pragma(`busy_timeout = ${PURGE_WAIT_MS}`);
      try {
        const [r] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        if (r !== undefined && r.busy === 0) return true;
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
      } finally {
        this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
    }
    return false;
  }

  async recordErasure(r: Omit<ErasureRecord, 'seq'>): Promise<ErasureRecord> {
    return this.write.run('recordErasure', r);
  }

  async listErasures(limit: number, cursor?: string): Promise<Page<ErasureRecord>> {
    return erase.listErasures(this.sql, limit, cursor);
  }

  async *exportCallbacks(since: number | null): AsyncIterable<CallbackRecord> {
    yield* admin.exportCallbacks(this.sql, since);
  }

  // ---------------------------------------------------------------- retention

  private holds(): string[] {
    return this.extensions.flatMap((e) => (e.retentionHold ? [e.retentionHold.sqlite] : []));
  }

  async retentionScan(cls: RetentionClass, cutoff: number, after: ScanCursor, limit: number): Promise<ScanStep> {
    return scanStep(this.longReads, 'sqlite', this.holds(), cls, cutoff, after, limit);
  }

  async retentionPurge(cls: RetentionClass, cutoff: number, sizes: UnitSizes): Promise<PurgeResult> {
    return this.write.run('purge', cls, cutoff, sizes, this.holds());
  }

  async retentionStats(): Promise<RetentionStats> {
    return retentionStats(this.longReads, 'sqlite', this.holds());
  }

  /** Freed pages go to the free list and the next inserts take them: nothing to do. */
  async retentionReclaim(): Promise<void> {}

  /** One process owns a SQLite file: its sweeper always has the turn. */
  async retentionLock(): Promise<{ release(): Promise<void> } | null> {
    return { release: async () => {} };
  }

  async databaseSize(): Promise<{ bytes: number; freeBytes: number | null }> {
    let wal = 0;
    try {
      if (this.file !== ':memory:') wal = statSync(`${this.file}-wal`).size;
    } catch {
      // no WAL file (yet): nothing to add
    }
    return retention.databaseSize(this.sql, wal);
  }
}
