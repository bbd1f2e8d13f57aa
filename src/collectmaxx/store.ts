// Collectmaxx state: its own small contract next to the relay's Store, kept in
// the same database (SQLite file or PostgreSQL schema) through the store's
// extension point (storage.ts), tables prefixed `cmx_`. Two adapters implement it
// (store-sqlite.ts, store-postgres.ts); test/collectmaxx/store.test.ts runs the
// same cases against both. Times are epoch ms passed in by the caller.

import type { DeliveryFormat } from './core/filename.js';
import type { EventOrigin } from './core/result-events.js';
import type { DeliveryRecord, RejectReason } from './core/validate.js';

/** Which event and rule a record (exported or rejected) came from. */
export interface RecordSource {
  /** IDENTIFICATION_IDENTIFIER: primary key over the whole history. */
  readonly identifier: string;
  readonly eventId: string;
  readonly merchantId: string;
  readonly transId: string;
  readonly flowId: string;
  /** Index of the export rule in the config that made it. */
  readonly ruleIndex: number;
}

/** A validated record waiting for (or written into) a delivery file. */
export interface ExportRecord extends RecordSource {
  /** The configured format when it was queued (the file uses the format configured when it is cut). */
  readonly format: DeliveryFormat;
  readonly record: DeliveryRecord;
  readonly queuedAt: number;
}

export interface RejectDraft extends RecordSource {
  readonly reasons: readonly RejectReason[];
  /** What the rule produced (normalised), so an operator sees the bad values. */
  readonly record: DeliveryRecord;
  readonly createdAt: number;
}

export interface RejectRow extends RejectDraft {
  readonly seq: number;
  /** A record with this identifier was exported later (the rule or data was fixed and the event redelivered). */
  readonly resolved: boolean;
}

export interface PendingSummary {
  readonly count: number;
  readonly oldestQueuedAt: number | null;
}

/** A delivery file name allocated to a set of records; written to disk after the allocation commits. */
export interface AllocatedFile {
  readonly name: string;
  readonly format: DeliveryFormat;
  /** In file order: queued_at, then identifier (the same order on every read, so a rewrite is byte-identical). */
  readonly records: readonly ExportRecord[];
}

export interface AllocateRequest {
  /** UTC day of the file name, YYYY-MM-DD. */
  readonly day: string;
  readonly clientNumber: string;
  readonly format: DeliveryFormat;
  /** The N oldest pending records. */
  readonly limit: number;
  readonly owner: string;
  readonly now: number;
  readonly leaseMs: number;
}

export interface DeliveryFileRow {
  readonly name: string;
  readonly day: string;
  readonly clientNumber: string;
  readonly sequence: number;
  readonly format: DeliveryFormat;
  readonly recordCount: number;
  readonly createdAt: number;
  /** null while allocated but not yet on disk. */
  readonly writtenAt: number | null;
}

export type ImportStatus = 'imported' | 'failed';

export interface ImportedFileRow {
  readonly name: string;
  readonly sha256: string;
  readonly status: ImportStatus;
  readonly reason: string | null;
  readonly events: number;
  readonly importedAt: number;
}

export interface SeenState {
  readonly stateKey: string;
  readonly subjectKey: string;
  readonly identifier: string | null;
  readonly firstSeenAt: number;
}

export interface Page<T> {
  readonly items: T[];
  readonly next: string | null;
}

export interface CollectmaxxStore {
  readonly kind: 'sqlite' | 'postgres';

  // ---- export
  /** false when the identifier exists already (a redelivered event): nothing changes. */
  addExport(r: ExportRecord): Promise<boolean>;
  /** false when a reject with this identifier exists already. */
  addReject(r: RejectDraft): Promise<boolean>;
  pendingSummary(): Promise<PendingSummary>;
  /**
   * One commit: the next free name for (day, client) — never reused, also across formats and restarts —
   * and the `limit` oldest pending records assigned to it, leased to `owner` until written. null when none pend.
   * Concurrent callers (several processes) never get the same record.
   */
  allocateFile(req: AllocateRequest): Promise<AllocatedFile | null>;
  /**
   * Allocated files not yet written whose lease expired (or is `owner`'s, or any with `takeAll`), now leased to `owner`:
   * what a crash left between allocation and the written mark.
   */
  takeUnwritten(owner: string, now: number, leaseMs: number, takeAll: boolean): Promise<AllocatedFile[]>;
  /** Mark a file written; false when the lease was lost to another process. */
  markWritten(name: string, owner: string, now: number): Promise<boolean>;
  listRejects(limit: number, cursor?: string): Promise<Page<RejectRow>>;
  listDeliveryFiles(limit: number): Promise<DeliveryFileRow[]>;

  // ---- import
  findImport(name: string, sha256: string): Promise<ImportedFileRow | null>;
  /** Any import (imported or failed) under this name: the SFTP poll fetches a remote file once. */
  hasImport(name: string): Promise<boolean>;
  /** Upsert on (name, sha256): a failed attempt may later succeed. */
  recordImport(r: ImportedFileRow): Promise<void>;
  listImports(limit: number): Promise<ImportedFileRow[]>;
  /** Which of these state keys were seen before. */
  seenStates(stateKeys: readonly string[]): Promise<Set<string>>;
  /** Insert; keys already present are left as they are. */
  addSeenStates(rows: readonly SeenState[]): Promise<void>;
  /** Origins of our own export records, by identifier (for identifiers that do not parse as ours). */
  exportOrigins(identifiers: readonly string[]): Promise<Map<string, EventOrigin>>;

  // ---- erasure (docs/erasure.md)
  /**
   * One commit: records of these events or TransIDs not yet in a delivery file are deleted (they
   * must not go out), those in one keep their row with the person erased (core/erase.ts), rejects
   * likewise; the result states seen for their identifiers are deleted. Rows changed per table.
   */
  erase(match: { readonly eventIds: readonly string[]; readonly transIds: readonly string[] }): Promise<Record<string, number>>;
  /** The delivery files holding records of these events or TransIDs, with all their records as stored now (file order). */
  filesOf(match: { readonly eventIds: readonly string[]; readonly transIds: readonly string[] }): Promise<AllocatedFile[]>;
}


// ---- row mapping shared by both adapters (same column names, numbers may arrive as strings from pg BIGINT)

type Row = Record<string, unknown>;

export function exportRecordFrom(r: Row): ExportRecord {
  return {
    identifier: String(r.identifier), eventId: String(r.event_id), merchantId: String(r.merchant_id), transId: String(r.trans_id),
    flowId: String(r.flow_id), ruleIndex: Number(r.rule_index), format: r.format as DeliveryFormat,
    record: JSON.parse(String(r.record)) as Record<string, string>, queuedAt: Number(r.queued_at),
  };
}

export function rejectFrom(r: Row): RejectRow {
  return {
    seq: Number(r.seq), identifier: String(r.identifier), eventId: String(r.event_id), merchantId: String(r.merchant_id), transId: String(r.trans_id),
    flowId: String(r.flow_id), ruleIndex: Number(r.rule_index), reasons: JSON.parse(String(r.reasons)) as RejectRow['reasons'],
    record: JSON.parse(String(r.record)) as Record<string, string>, createdAt: Number(r.created_at),
    resolved: r.resolved === true || Number(r.resolved) === 1,
  };
}

/** Rejects newest first, each with whether its identifier was exported since (dialect-neutral SQL). */
export const REJECTS_SELECT = `SELECT r.*, EXISTS (SELECT 1 FROM cmx_export_records e WHERE e.identifier = r.identifier) AS resolved FROM cmx_rejects r`;

export function deliveryFileFrom(r: Row): DeliveryFileRow {
  return {
    name: String(r.name), day: String(r.day), clientNumber: String(r.client), sequence: Number(r.sequence), format: r.format as DeliveryFormat,
    recordCount: Number(r.record_count), createdAt: Number(r.created_at), writtenAt: r.written_at === null ? null : Number(r.written_at),
  };
}

export function importFrom(r: Row): ImportedFileRow {
  return {
    name: String(r.name), sha256: String(r.sha256), status: r.status as ImportedFileRow['status'], reason: r.reason === null ? null : String(r.reason),
    events: Number(r.events), importedAt: Number(r.imported_at),
  };
}

