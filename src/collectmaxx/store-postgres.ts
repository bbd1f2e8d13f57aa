// CollectmaxxStore on the relay's PostgreSQL schema, through PostgresStore's
// session (its pool, whose connections already run in the schema, and its
// transaction retries). Several relay processes
// share it: export identifiers are the primary key (a second insert is a
// no-op), file cutting is serialised by a transaction-scoped advisory lock so
// two exporters can never pick the same record or the same sequence, and an
// allocated file is leased so only a dead owner's file is taken over.

import type pg from 'pg';
import { txt, type PgSession } from '../store/postgres-session.js';
import { decodeCursor, encodeCursor } from '../store/query.js';
import { eraseRecord } from './core/erase.js';
import { deliveryFileName, nextDeliverySequence, type DeliveryFormat } from './core/filename.js';
import type { EventOrigin } from './core/result-events.js';
import {
  deliveryFileFrom, exportRecordFrom, importFrom, rejectFrom, REJECTS_SELECT,
  type AllocateRequest, type AllocatedFile, type CollectmaxxStore, type DeliveryFileRow, type ExportRecord, type ImportedFileRow, type Page,
  type PendingSummary, type RejectDraft, type RejectRow, type SeenState,
} from './store.js';

type Row = Record<string, unknown>;

export class PostgresCollectmaxxStore implements CollectmaxxStore {
  readonly kind = 'postgres' as const;
  /** The relay store's session: its pool, schema, transaction retries and NUL-safe text. */
  constructor(private readonly session: PgSession) {}

  private q(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.session.q(sql, params);
  }

  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.session.tx(fn);
  }

  /** Serialises one kind of work across every process on this schema until the transaction ends. */
  private lock(c: pg.PoolClient, what: string): Promise<unknown> {
    return c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`paygate-relay:${what}:${this.session.schema}`]);
  }

  async erase(match: { readonly eventIds: readonly string[]; readonly transIds: readonly string[] }): Promise<Record<string, number>> {
    return this.tx(async (c) => {
      const rows: Record<string, number> = { cmx_export_records: 0, cmx_rejects: 0, cmx_seen_states: 0 };
      const where = 'event_id = ANY($1::text[]) OR trans_id = ANY($2::text[])';
      const params = [[...match.eventIds], [...match.transIds]];
      const identifiers: string[] = [];
      for (const r of (await c.query(`SELECT identifier, record, file_name FROM cmx_export_records WHERE ${where} FOR UPDATE`, params)).rows as Row[]) {
        identifiers.push(String(r.identifier));
        if (r.file_name === null) {
          rows.cmx_export_records! += (await c.query('DELETE FROM cmx_export_records WHERE identifier = $1', [r.identifier])).rowCount ?? 0;
          continue;
        }
        const erased = eraseRecord(JSON.parse(String(r.record)) as Record<string, string>);
        if (erased) rows.cmx_export_records! += (await c.query('UPDATE cmx_export_records SET record = $1 WHERE identifier = $2', [txt(JSON.stringify(erased)), r.identifier])).rowCount ?? 0;
      }
      for (const r of (await c.query(`SELECT seq, identifier, record FROM cmx_rejects WHERE ${where} FOR UPDATE`, params)).rows as Row[]) {
        identifiers.push(String(r.identifier));
        const erased = eraseRecord(JSON.parse(String(r.record)) as Record<string, string>);
        if (erased) rows.cmx_rejects! += (await c.query('UPDATE cmx_rejects SET record = $1 WHERE seq = $2', [txt(JSON.stringify(erased)), r.seq])).rowCount ?? 0;
      }
      if (identifiers.length) rows.cmx_seen_states! += (await c.query('DELETE FROM cmx_seen_states WHERE identifier = ANY($1::text[])', [[...new Set(identifiers)]])).rowCount ?? 0;
      return rows;
    });
  }

  async filesOf(match: { readonly eventIds: readonly string[]; readonly transIds: readonly string[] }): Promise<AllocatedFile[]> {
    const files = await this.q(
      `SELECT f.name, f.format FROM cmx_delivery_files f WHERE f.name IN (SELECT file_name FROM cmx_export_records
         WHERE file_name IS NOT NULL AND (event_id = ANY($1::text[]) OR trans_id = ANY($2::text[]))) ORDER BY f.name`,
      [[...match.eventIds], [...match.transIds]],
    );
    const out: AllocatedFile[] = [];
    for (const f of files) {
      const records = (await this.q('SELECT * FROM cmx_export_records WHERE file_name = $1 ORDER BY queued_at, identifier', [f.name])).map(exportRecordFrom);
      out.push({ name: String(f.name), format: f.format as DeliveryFormat, records });
    }
    return out;
  }

  async addExport(r: ExportRecord): Promise<boolean> {
    const rows = await this.q(
      `INSERT INTO cmx_export_records (identifier, event_id, merchant_id, trans_id, flow_id, rule_index, format, record, queued_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (identifier) DO NOTHING RETURNING 1`,
      [r.identifier, r.eventId, txt(r.merchantId), txt(r.transId), r.flowId, r.ruleIndex, r.format, txt(JSON.stringify(r.record)), r.queuedAt],
    );
    return rows.length === 1;
  }

  async addReject(r: RejectDraft): Promise<boolean> {
    const rows = await this.q(
      `INSERT INTO cmx_rejects (identifier, event_id, merchant_id, trans_id, flow_id, rule_index, reasons, record, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (identifier) DO NOTHING RETURNING 1`,
      [r.identifier, r.eventId, txt(r.merchantId), txt(r.transId), r.flowId, r.ruleIndex, txt(JSON.stringify(r.reasons)), txt(JSON.stringify(r.record)), r.createdAt],
    );
    return rows.length === 1;
  }

  async pendingSummary(): Promise<PendingSummary> {
    const [r] = await this.q('SELECT COUNT(*) AS n, MIN(queued_at) AS oldest FROM cmx_export_records WHERE file_name IS NULL');
    return { count: Number(r!.n), oldestQueuedAt: r!.oldest === null ? null : Number(r!.oldest) };
  }

  private async recordsOf(c: pg.PoolClient, name: string): Promise<ExportRecord[]> {
    return (await c.query('SELECT * FROM cmx_export_records WHERE file_name = $1 ORDER BY queued_at, identifier', [name])).rows.map(exportRecordFrom);
  }

  async allocateFile(req: AllocateRequest): Promise<AllocatedFile | null> {
    return this.tx(async (c) => {
      // One cutter at a time per schema: the pending set and the day's sequence are read and changed together.
      await this.lock(c, 'cmx-cut');
      const rows = (await c.query('SELECT identifier FROM cmx_export_records WHERE file_name IS NULL ORDER BY queued_at, identifier LIMIT $1', [req.limit])).rows as Row[];
      if (rows.length === 0) return null;
      const used = (await c.query('SELECT name FROM cmx_delivery_files WHERE day = $1 AND client = $2', [req.day, req.clientNumber])).rows.map((r: Row) => String(r.name));
      const sequence = nextDeliverySequence(used, req.day, req.clientNumber);
      const name = deliveryFileName({ date: req.day, clientNumber: req.clientNumber, sequence, format: req.format });
      await c.query(
        `INSERT INTO cmx_delivery_files (name, day, client, sequence, format, record_count, created_at, lease_owner, lease_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [name, req.day, req.clientNumber, sequence, req.format, rows.length, req.now, req.owner, req.now + req.leaseMs],
      );
      await c.query('UPDATE cmx_export_records SET file_name = $1 WHERE identifier = ANY($2::text[])', [name, rows.map((r) => String(r.identifier))]);
      return { name, format: req.format, records: await this.recordsOf(c, name) };
    });
  }

  async takeUnwritten(owner: string, now: number, leaseMs: number, takeAll: boolean): Promise<AllocatedFile[]> {
    return this.tx(async (c) => {
      const rows = (await c.query(
        `SELECT name, format FROM cmx_delivery_files
          WHERE written_at IS NULL AND ($1 OR lease_owner = $2 OR lease_until IS NULL OR lease_until <= $3)
          ORDER BY created_at, name FOR UPDATE SKIP LOCKED`,
        [takeAll, owner, now],
      )).rows as Row[];
      const out: AllocatedFile[] = [];
      for (const r of rows) {
        await c.query('UPDATE cmx_delivery_files SET lease_owner = $1, lease_until = $2 WHERE name = $3', [owner, now + leaseMs, r.name]);
        out.push({ name: String(r.name), format: r.format as DeliveryFormat, records: await this.recordsOf(c, String(r.name)) });
      }
      return out;
    });
  }

  async markWritten(name: string, owner: string, now: number): Promise<boolean> {
    const rows = await this.q(
      'UPDATE cmx_delivery_files SET written_at = $1, lease_owner = NULL, lease_until = NULL WHERE name = $2 AND written_at IS NULL AND lease_owner = $3 RETURNING 1',
      [now, name, owner],
    );
    return rows.length === 1;
  }

  async listRejects(limit: number, cursor?: string): Promise<Page<RejectRow>> {
    const c = decodeCursor(cursor);
    const rows = c === null
      ? await this.q(`${REJECTS_SELECT} ORDER BY r.seq DESC LIMIT $1`, [limit + 1])
      : await this.q(`${REJECTS_SELECT} WHERE r.seq < $1 ORDER BY r.seq DESC LIMIT $2`, [c, limit + 1]);
    const items = rows.slice(0, limit).map(rejectFrom);
    return { items, next: rows.length > limit ? encodeCursor(items[items.length - 1]!.seq) : null };
  }

  async listDeliveryFiles(limit: number): Promise<DeliveryFileRow[]> {
    return (await this.q('SELECT * FROM cmx_delivery_files ORDER BY created_at DESC, day DESC, sequence DESC LIMIT $1', [limit])).map(deliveryFileFrom);
  }

  async findImport(name: string, sha256: string): Promise<ImportedFileRow | null> {
    const [r] = await this.q('SELECT * FROM cmx_result_files WHERE name = $1 AND sha256 = $2', [name, sha256]);
    return r ? importFrom(r) : null;
  }

  async hasImport(name: string): Promise<boolean> {
    return (await this.q('SELECT 1 FROM cmx_result_files WHERE name = $1 LIMIT 1', [name])).length > 0;
  }

  async recordImport(r: ImportedFileRow): Promise<void> {
    await this.q(
      `INSERT INTO cmx_result_files (name, sha256, status, reason, events, imported_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name, sha256) DO UPDATE SET status = excluded.status, reason = excluded.reason, events = excluded.events, imported_at = excluded.imported_at`,
      [txt(r.name), r.sha256, r.status, txt(r.reason), r.events, r.importedAt],
    );
  }

  async listImports(limit: number): Promise<ImportedFileRow[]> {
    return (await this.q('SELECT * FROM cmx_result_files ORDER BY imported_at DESC, name DESC LIMIT $1', [limit])).map(importFrom);
  }

  async seenStates(stateKeys: readonly string[]): Promise<Set<string>> {
    if (stateKeys.length === 0) return new Set();
    const rows = await this.q('SELECT state_key FROM cmx_seen_states WHERE state_key = ANY($1::text[])', [[...stateKeys]]);
    return new Set(rows.map((r) => String(r.state_key)));
  }

  async addSeenStates(rows: readonly SeenState[]): Promise<void> {
    if (rows.length === 0) return;
    await this.q(
      `INSERT INTO cmx_seen_states (state_key, subject_key, identifier, first_seen_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) ON CONFLICT (state_key) DO NOTHING`,
      [rows.map((r) => r.stateKey), rows.map((r) => r.subjectKey), rows.map((r) => txt(r.identifier)), rows.map((r) => r.firstSeenAt)],
    );
  }

  async exportOrigins(identifiers: readonly string[]): Promise<Map<string, EventOrigin>> {
    const out = new Map<string, EventOrigin>();
    if (identifiers.length === 0) return out;
    const rows = await this.q('SELECT identifier, merchant_id, trans_id, event_id, flow_id FROM cmx_export_records WHERE identifier = ANY($1::text[])', [[...new Set(identifiers)]]);
    for (const r of rows) out.set(String(r.identifier), { merchantId: String(r.merchant_id), transId: String(r.trans_id), eventId: String(r.event_id), flowId: String(r.flow_id) });
    return out;
  }
}
