// CollectmaxxStore on the relay's SQLite file, plugged in through the store's
// extension point (storage.ts): reads on the relay store's connection, writes
// as the named operations of CMX_WRITES (store-sqlite-writes.ts) through the
// store's write channel, so in a serving relay they commit on the writer thread,
// in the same group commits as the relay's own writes (no fsync on the event
// loop, no second writer waiting on SQLite's lock).

import type { SqliteHandle } from '../store/extension.js';
import { decodeCursor, encodeCursor } from '../store/query.js';
import type { SqliteStatements } from '../store/sqlite-statements.js';
import type { Writer } from '../store/write-ops.js';
import type { EventOrigin } from './core/result-events.js';
import type { DeliveryFormat } from './core/filename.js';
import {
  deliveryFileFrom, exportRecordFrom, importFrom, rejectFrom, REJECTS_SELECT,
  type AllocateRequest, type AllocatedFile, type CollectmaxxStore, type DeliveryFileRow, type ExportRecord, type ImportedFileRow, type Page,
  type PendingSummary, type RejectDraft, type RejectRow, type SeenState,
} from './store.js';
import type { CMX_WRITES } from './store-sqlite-writes.js';

type Row = Record<string, unknown>;

export class SqliteCollectmaxxStore implements CollectmaxxStore {
  readonly kind = 'sqlite' as const;
  private readonly sql: SqliteStatements;
  private readonly write: Writer<typeof CMX_WRITES.ops>;

  constructor(h: SqliteHandle<typeof CMX_WRITES.ops>) {
    this.sql = h.sql;
    this.write = h.write;
  }

  erase(match: { readonly eventIds: readonly string[]; readonly transIds: readonly string[] }): Promise<Record<string, number>> {
    return this.write.run('erase', match);
  }

  async filesOf(match: { readonly eventIds: readonly string[]; readonly transIds: readonly string[] }): Promise<AllocatedFile[]> {
    const marks = (xs: readonly string[]) => xs.map(() => '?').join(',') || 'NULL';
    const files = this.sql.db.prepare(
      `SELECT f.name, f.format FROM cmx_delivery_files f WHERE f.name IN (SELECT file_name FROM cmx_export_records
         WHERE file_name IS NOT NULL AND (event_id IN (${marks(match.eventIds)}) OR trans_id IN (${marks(match.transIds)}))) ORDER BY f.name`,
    ).all(...match.eventIds, ...match.transIds) as Row[];
    const records = this.sql.st('SELECT * FROM cmx_export_records WHERE file_name = ? ORDER BY queued_at, identifier');
    return files.map((f) => ({ name: String(f.name), format: f.format as DeliveryFormat, records: (records.all(f.name) as Row[]).map(exportRecordFrom) }));
  }

  addExport(r: ExportRecord): Promise<boolean> {
    return this.write.run('addExport', r);
  }

  addReject(r: RejectDraft): Promise<boolean> {
    return this.write.run('addReject', r);
  }

  allocateFile(req: AllocateRequest): Promise<AllocatedFile | null> {
    return this.write.run('allocateFile', req);
  }

  takeUnwritten(owner: string, now: number, leaseMs: number, takeAll: boolean): Promise<AllocatedFile[]> {
    return this.write.run('takeUnwritten', owner, now, leaseMs, takeAll);
  }

  markWritten(name: string, owner: string, now: number): Promise<boolean> {
    return this.write.run('markWritten', name, owner, now);
  }

  recordImport(r: ImportedFileRow): Promise<void> {
    return this.write.run('recordImport', r);
  }

  addSeenStates(rows: readonly SeenState[]): Promise<void> {
    return this.write.run('addSeenStates', rows);
  }

  async pendingSummary(): Promise<PendingSummary> {
    const r = this.sql.st('SELECT COUNT(*) AS n, MIN(queued_at) AS oldest FROM cmx_export_records WHERE file_name IS NULL').get() as Row;
    return { count: Number(r.n), oldestQueuedAt: r.oldest === null ? null : Number(r.oldest) };
  }

  async listRejects(limit: number, cursor?: string): Promise<Page<RejectRow>> {
    const c = decodeCursor(cursor);
    const rows = (c === null
      ? this.sql.st(`${REJECTS_SELECT} ORDER BY r.seq DESC LIMIT ?`).all(limit + 1)
      : this.sql.st(`${REJECTS_SELECT} WHERE r.seq < ? ORDER BY r.seq DESC LIMIT ?`).all(c, limit + 1)) as Row[];
    const items = rows.slice(0, limit).map(rejectFrom);
    return { items, next: rows.length > limit ? encodeCursor(items[items.length - 1]!.seq) : null };
  }

  async listDeliveryFiles(limit: number): Promise<DeliveryFileRow[]> {
    return (this.sql.st('SELECT * FROM cmx_delivery_files ORDER BY created_at DESC, day DESC, sequence DESC LIMIT ?').all(limit) as Row[]).map(deliveryFileFrom);
  }

  async findImport(name: string, sha256: string): Promise<ImportedFileRow | null> {
    const r = this.sql.st('SELECT * FROM cmx_result_files WHERE name = ? AND sha256 = ?').get(name, sha256) as Row | undefined;
    return r ? importFrom(r) : null;
  }

  async hasImport(name: string): Promise<boolean> {
    return this.sql.st('SELECT 1 FROM cmx_result_files WHERE name = ? LIMIT 1').get(name) !== undefined;
  }

  async listImports(limit: number): Promise<ImportedFileRow[]> {
    return (this.sql.st('SELECT * FROM cmx_result_files ORDER BY imported_at DESC, name DESC LIMIT ?').all(limit) as Row[]).map(importFrom);
  }

  async seenStates(stateKeys: readonly string[]): Promise<Set<string>> {
    const seen = new Set<string>();
    const q = this.sql.st('SELECT 1 FROM cmx_seen_states WHERE state_key = ?').pluck();
    for (const k of stateKeys) if (q.get(k) !== undefined) seen.add(k);
    return seen;
  }

  async exportOrigins(identifiers: readonly string[]): Promise<Map<string, EventOrigin>> {
    const out = new Map<string, EventOrigin>();
    const q = this.sql.st('SELECT merchant_id, trans_id, event_id, flow_id FROM cmx_export_records WHERE identifier = ?');
    for (const id of new Set(identifiers)) {
      const r = q.get(id) as Row | undefined;
      if (r) out.set(id, { merchantId: String(r.merchant_id), transId: String(r.trans_id), eventId: String(r.event_id), flowId: String(r.flow_id) });
    }
    return out;
  }
}
