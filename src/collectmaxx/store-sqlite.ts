// CollectmaxxStore on the relay's SQLite file. Reads use SqliteStore's `db`
// handle (the main thread's connection); when the relay commits on its writer
// thread, the cmx_ writes go there too (same commits, no fsync on the event
// loop, no second writer waiting on SQLite's lock). Without a writer thread
// (tools, tests) everything runs on `db`.

import type Database from 'better-sqlite3';
import { SqliteStatements } from '../store/sqlite-statements.js';
import { CMX_WRITES, type WriterThread } from '../store/sqlite-writes.js';
import { decodeCursor, encodeCursor } from '../store/query.js';
import { nextDeliverySequence, deliveryFileName, type DeliveryFormat } from './filename.js';
import type { EventOrigin } from './result-events.js';
import {
  deliveryFileFrom, exportRecordFrom, importFrom, rejectFrom, REJECTS_SELECT,
  type AllocateRequest, type AllocatedFile, type CollectmaxxStore, type DeliveryFileRow, type ExportRecord, type ImportedFileRow, type Page,
  type PendingSummary, type RejectDraft, type RejectRow, type SeenState,
} from './store.js';

type Row = Record<string, unknown>;

const MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE cmx_export_records (
  identifier TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  trans_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  rule_index INTEGER NOT NULL,
  format TEXT NOT NULL,
  record TEXT NOT NULL,
  queued_at INTEGER NOT NULL,
  file_name TEXT
);
CREATE INDEX cmx_export_records_pending ON cmx_export_records (queued_at, identifier) WHERE file_name IS NULL;
CREATE INDEX cmx_export_records_file ON cmx_export_records (file_name) WHERE file_name IS NOT NULL;
CREATE TABLE cmx_rejects (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  identifier TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  trans_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  rule_index INTEGER NOT NULL,
  reasons TEXT NOT NULL,
  record TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE cmx_delivery_files (
  name TEXT PRIMARY KEY,
  day TEXT NOT NULL,
  client TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  format TEXT NOT NULL,
  record_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  written_at INTEGER,
  lease_owner TEXT,
  lease_until INTEGER,
  UNIQUE (day, client, sequence)
);
CREATE INDEX cmx_delivery_files_unwritten ON cmx_delivery_files (lease_until) WHERE written_at IS NULL;
CREATE TABLE cmx_result_files (
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('imported', 'failed')),
  reason TEXT,
  events INTEGER NOT NULL,
  imported_at INTEGER NOT NULL,
  PRIMARY KEY (name, sha256)
);
CREATE TABLE cmx_seen_states (
  state_key TEXT PRIMARY KEY,
  subject_key TEXT NOT NULL,
  identifier TEXT,
  first_seen_at INTEGER NOT NULL
);
CREATE INDEX cmx_seen_states_subject ON cmx_seen_states (subject_key);
`,
  },
];

export class SqliteCollectmaxxStore implements CollectmaxxStore {
  readonly kind = 'sqlite' as const;
  private readonly sql: SqliteStatements;

  constructor(private readonly db: Database.Database, writer?: WriterThread | null) {
    this.sql = new SqliteStatements(db);
    writer?.route(this, 'cmx', CMX_WRITES);
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS cmx_schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    this.db.transaction(() => {
      const done = new Set((this.sql.st('SELECT version FROM cmx_schema_migrations').all() as Row[]).map((r) => Number(r.version)));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        this.db.exec(m.sql);
        this.sql.st('INSERT INTO cmx_schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
      }
    }).immediate();
  }

  async addExport(r: ExportRecord): Promise<boolean> {
    const info = this.sql.st(
      `INSERT INTO cmx_export_records (identifier, event_id, merchant_id, trans_id, flow_id, rule_index, format, record, queued_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identifier) DO NOTHING`,
    ).run(r.identifier, r.eventId, r.merchantId, r.transId, r.flowId, r.ruleIndex, r.format, JSON.stringify(r.record), r.queuedAt);
    return info.changes === 1;
  }

  async addReject(r: RejectDraft): Promise<boolean> {
    const info = this.sql.st(
      `INSERT INTO cmx_rejects (identifier, event_id, merchant_id, trans_id, flow_id, rule_index, reasons, record, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identifier) DO NOTHING`,
    ).run(r.identifier, r.eventId, r.merchantId, r.transId, r.flowId, r.ruleIndex, JSON.stringify(r.reasons), JSON.stringify(r.record), r.createdAt);
    return info.changes === 1;
  }

  async pendingSummary(): Promise<PendingSummary> {
    const r = this.sql.st('SELECT COUNT(*) AS n, MIN(queued_at) AS oldest FROM cmx_export_records WHERE file_name IS NULL').get() as Row;
    return { count: Number(r.n), oldestQueuedAt: r.oldest === null ? null : Number(r.oldest) };
  }

  private recordsOf(name: string): ExportRecord[] {
    return (this.sql.st('SELECT * FROM cmx_export_records WHERE file_name = ? ORDER BY queued_at, identifier').all(name) as Row[]).map(exportRecordFrom);
  }

  async allocateFile(req: AllocateRequest): Promise<AllocatedFile | null> {
    return this.db.transaction((): AllocatedFile | null => {
      const rows = this.sql.st('SELECT identifier FROM cmx_export_records WHERE file_name IS NULL ORDER BY queued_at, identifier LIMIT ?').all(req.limit) as Row[];
      if (rows.length === 0) return null;
      const used = (this.sql.st('SELECT name FROM cmx_delivery_files WHERE day = ? AND client = ?').all(req.day, req.clientNumber) as Row[]).map((r) => String(r.name));
      const sequence = nextDeliverySequence(used, req.day, req.clientNumber);
      const name = deliveryFileName({ date: req.day, clientNumber: req.clientNumber, sequence, format: req.format });
      this.sql.st(
        `INSERT INTO cmx_delivery_files (name, day, client, sequence, format, record_count, created_at, lease_owner, lease_until)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(name, req.day, req.clientNumber, sequence, req.format, rows.length, req.now, req.owner, req.now + req.leaseMs);
      const mark = this.sql.st('UPDATE cmx_export_records SET file_name = ? WHERE identifier = ?');
      for (const r of rows) mark.run(name, r.identifier);
      return { name, format: req.format, records: this.recordsOf(name) };
    }).immediate();
  }

  async takeUnwritten(owner: string, now: number, leaseMs: number, takeAll: boolean): Promise<AllocatedFile[]> {
    return this.db.transaction(() => {
      const rows = this.sql.st(
        `SELECT name, format FROM cmx_delivery_files WHERE written_at IS NULL AND (? OR lease_owner = ? OR lease_until IS NULL OR lease_until <= ?) ORDER BY created_at, name`,
      ).all(takeAll ? 1 : 0, owner, now) as Row[];
      const lease = this.sql.st('UPDATE cmx_delivery_files SET lease_owner = ?, lease_until = ? WHERE name = ?');
      return rows.map((r) => {
        lease.run(owner, now + leaseMs, r.name);
        return { name: String(r.name), format: r.format as DeliveryFormat, records: this.recordsOf(String(r.name)) };
      });
    }).immediate();
  }

  async markWritten(name: string, owner: string, now: number): Promise<boolean> {
    const info = this.sql.st(
      'UPDATE cmx_delivery_files SET written_at = ?, lease_owner = NULL, lease_until = NULL WHERE name = ? AND written_at IS NULL AND lease_owner = ?',
    ).run(now, name, owner);
    return info.changes === 1;
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

  async recordImport(r: ImportedFileRow): Promise<void> {
    this.sql.st(
      `INSERT INTO cmx_result_files (name, sha256, status, reason, events, imported_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (name, sha256) DO UPDATE SET status = excluded.status, reason = excluded.reason, events = excluded.events, imported_at = excluded.imported_at`,
    ).run(r.name, r.sha256, r.status, r.reason, r.events, r.importedAt);
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

  async addSeenStates(rows: readonly SeenState[]): Promise<void> {
    const ins = this.sql.st('INSERT INTO cmx_seen_states (state_key, subject_key, identifier, first_seen_at) VALUES (?, ?, ?, ?) ON CONFLICT (state_key) DO NOTHING');
    this.db.transaction(() => {
      for (const r of rows) ins.run(r.stateKey, r.subjectKey, r.identifier, r.firstSeenAt);
    }).immediate();
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
