// Every write of the Collectmaxx tables on SQLite, as a write table: the relay
// store runs them through its channel (the writer thread in a serving relay),
// in the same group commits as its own writes. Reads: store-sqlite.ts.
import type { SqliteStatements } from '../store/sqlite-statements.js';
import { defineWrites } from '../store/write-ops.js';
import { eraseRecord } from './core/erase.js';
import { deliveryFileName, nextDeliverySequence, type DeliveryFormat } from './core/filename.js';
import {
  exportRecordFrom,
  type AllocateRequest, type AllocatedFile, type ExportRecord, type ImportedFileRow, type RejectDraft, type SeenState,
} from './store.js';

type Row = Record<string, unknown>;

function recordsOf(s: SqliteStatements, name: string): ExportRecord[] {
  return (s.st('SELECT * FROM cmx_export_records WHERE file_name = ? ORDER BY queued_at, identifier').all(name) as Row[]).map(exportRecordFrom);
}

export const CMX_WRITES = defineWrites({ scope: 'collectmaxx', module: import.meta.url, exportName: 'CMX_WRITES' }, {
  addExport(s: SqliteStatements, r: ExportRecord): boolean {
    const info = s.st(
      `INSERT INTO cmx_export_records (identifier, event_id, merchant_id, trans_id, flow_id, rule_index, format, record, queued_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identifier) DO NOTHING`,
    ).run(r.identifier, r.eventId, r.merchantId, r.transId, r.flowId, r.ruleIndex, r.format, JSON.stringify(r.record), r.queuedAt);
    return info.changes === 1;
  },

  addReject(s: SqliteStatements, r: RejectDraft): boolean {
    const info = s.st(
      `INSERT INTO cmx_rejects (identifier, event_id, merchant_id, trans_id, flow_id, rule_index, reasons, record, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identifier) DO NOTHING`,
    ).run(r.identifier, r.eventId, r.merchantId, r.transId, r.flowId, r.ruleIndex, JSON.stringify(r.reasons), JSON.stringify(r.record), r.createdAt);
    return info.changes === 1;
  },

  allocateFile(s: SqliteStatements, req: AllocateRequest): AllocatedFile | null {
    return s.db.transaction((): AllocatedFile | null => {
      const rows = s.st('SELECT identifier FROM cmx_export_records WHERE file_name IS NULL ORDER BY queued_at, identifier LIMIT ?').all(req.limit) as Row[];
      if (rows.length === 0) return null;
      const used = (s.st('SELECT name FROM cmx_delivery_files WHERE day = ? AND client = ?').all(req.day, req.clientNumber) as Row[]).map((r) => String(r.name));
      const sequence = nextDeliverySequence(used, req.day, req.clientNumber);
      const name = deliveryFileName({ date: req.day, clientNumber: req.clientNumber, sequence, format: req.format });
      s.st(
        `INSERT INTO cmx_delivery_files (name, day, client, sequence, format, record_count, created_at, lease_owner, lease_until)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(name, req.day, req.clientNumber, sequence, req.format, rows.length, req.now, req.owner, req.now + req.leaseMs);
      const mark = s.st('UPDATE cmx_export_records SET file_name = ? WHERE identifier = ?');
      for (const r of rows) mark.run(name, r.identifier);
      return { name, format: req.format, records: recordsOf(s, name) };
    }).immediate();
  },

  takeUnwritten(s: SqliteStatements, owner: string, now: number, leaseMs: number, takeAll: boolean): AllocatedFile[] {
    return s.db.transaction(() => {
      const rows = s.st(
        `SELECT name, format FROM cmx_delivery_files WHERE written_at IS NULL AND (? OR lease_owner = ? OR lease_until IS NULL OR lease_until <= ?) ORDER BY created_at, name`,
      ).all(takeAll ? 1 : 0, owner, now) as Row[];
      const lease = s.st('UPDATE cmx_delivery_files SET lease_owner = ?, lease_until = ? WHERE name = ?');
      return rows.map((r) => {
        lease.run(owner, now + leaseMs, r.name);
        return { name: String(r.name), format: r.format as DeliveryFormat, records: recordsOf(s, String(r.name)) };
      });
    }).immediate();
  },

  markWritten(s: SqliteStatements, name: string, owner: string, now: number): boolean {
    const info = s.st(
      'UPDATE cmx_delivery_files SET written_at = ?, lease_owner = NULL, lease_until = NULL WHERE name = ? AND written_at IS NULL AND lease_owner = ?',
    ).run(now, name, owner);
    return info.changes === 1;
  },

  recordImport(s: SqliteStatements, r: ImportedFileRow): void {
    s.st(
      `INSERT INTO cmx_result_files (name, sha256, status, reason, events, imported_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (name, sha256) DO UPDATE SET status = excluded.status, reason = excluded.reason, events = excluded.events, imported_at = excluded.imported_at`,
    ).run(r.name, r.sha256, r.status, r.reason, r.events, r.importedAt);
  },

  erase(s: SqliteStatements, match: { eventIds: readonly string[]; transIds: readonly string[] }): Record<string, number> {
    return s.db.transaction(() => {
      const rows: Record<string, number> = { cmx_export_records: 0, cmx_rejects: 0, cmx_seen_states: 0 };
      const keys = [...match.eventIds, ...match.transIds];
      if (keys.length === 0) return rows;
      const where = `event_id IN (${match.eventIds.map(() => '?').join(',') || 'NULL'}) OR trans_id IN (${match.transIds.map(() => '?').join(',') || 'NULL'})`;
      const identifiers: string[] = [];
      for (const r of s.db.prepare(`SELECT identifier, record, file_name FROM cmx_export_records WHERE ${where}`).all(...keys) as Row[]) {
        identifiers.push(String(r.identifier));
        if (r.file_name === null) {
          rows.cmx_export_records! += s.st('DELETE FROM cmx_export_records WHERE identifier = ?').run(r.identifier).changes;
          continue;
        }
        const erased = eraseRecord(JSON.parse(String(r.record)) as Record<string, string>);
        if (erased) rows.cmx_export_records! += s.st('UPDATE cmx_export_records SET record = ? WHERE identifier = ?').run(JSON.stringify(erased), r.identifier).changes;
      }
      for (const r of s.db.prepare(`SELECT seq, identifier, record FROM cmx_rejects WHERE ${where}`).all(...keys) as Row[]) {
        identifiers.push(String(r.identifier));
        const erased = eraseRecord(JSON.parse(String(r.record)) as Record<string, string>);
        if (erased) rows.cmx_rejects! += s.st('UPDATE cmx_rejects SET record = ? WHERE seq = ?').run(JSON.stringify(erased), r.seq).changes;
      }
      const del = s.st('DELETE FROM cmx_seen_states WHERE identifier = ?');
      for (const id of new Set(identifiers)) rows.cmx_seen_states! += del.run(id).changes;
      return rows;
    }).immediate();
  },

  addSeenStates(s: SqliteStatements, rows: readonly SeenState[]): void {
    const ins = s.st('INSERT INTO cmx_seen_states (state_key, subject_key, identifier, first_seen_at) VALUES (?, ?, ?, ?) ON CONFLICT (state_key) DO NOTHING');
    s.db.transaction(() => {
      for (const r of rows) ins.run(r.stateKey, r.subjectKey, r.identifier, r.firstSeenAt);
    }).immediate();
  },
});
