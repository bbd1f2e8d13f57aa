// Erasure of one person's data (GDPR art. 17), found by the identifier accounting knows
// them by: the core tables in one commit, then each feature's tables, then the archive
// files, then one audit row; last, the freed space is purged from the database files.
// Every step only changes what still holds personal data, so a crash half way is repaired
// by running the request again, and a repeat changes nothing (it is still recorded).
// What a row keeps and loses: personal-fields.ts. Design: docs/erasure.md.
import { RelayError } from '../errors.js';
import type { Hub } from '../observe.js';
import type { ErasureMatch } from '../store/extension.js';
import type { ErasureRecord, ErasureSelector, Page, Store } from '../store/types.js';
import { listArchives, readArchive, rewriteArchives, type ArchiveLine } from './archive.js';
import { callbackMatches, eraseAttemptRow, eraseCallbackRow, eraseEventRow, EVENT_COLUMN, selectorOf } from './personal-fields.js';

/** A feature's erase hook, bound to its storage (StoreExtension.erase). */
export interface FeatureEraser {
  readonly name: string;
  erase(match: ErasureMatch): Promise<Record<string, number>>;
}

export interface ErasureDeps {
  readonly store: Store;
  readonly features: readonly FeatureEraser[];
  /** Where retention archives rows (null: no archive). */
  readonly archiveDir: string | null;
  readonly hub: Hub;
  now(): number;
}

export interface ErasureRequest {
  readonly selector: ErasureSelector;
  readonly reason: string;
  /** Who asked: `token:<id>`, `console:<id>`, `cli`. */
  readonly actor: string;
}

export interface ErasureOutcome extends ErasureRecord {
  /** The freed space was purged from the database files now (false: it will be at the next checkpoint / VACUUM; see docs/erasure.md). */
  purged: boolean;
}

export const MAX_REASON = 500;

export class Erasure {
  constructor(private readonly d: ErasureDeps) {}

  async erase(req: ErasureRequest): Promise<ErasureOutcome> {
    const { kind, value } = selectorOf(req.selector);
    if (value.trim() === '' || value.length > 200) throw new RelayError('bad_request', `${kind} must be 1..200 characters`);
    const reason = req.reason.trim();
    if (reason === '' || reason.length > MAX_REASON) throw new RelayError('bad_request', `reason must be 1..${MAX_REASON} characters`);

    const core = await this.d.store.eraseSubject(req.selector);
    const rows: Record<string, number> = { ...core.rows };
    const eventIds = new Set(core.eventIds);
    const transIds = new Set(core.transIds);
    // Events retention already moved to the archive are the subject's too: their ids reach their callbacks and the features' records.
    if (this.d.archiveDir !== null) {
      for (const { file } of await listArchives(this.d.archiveDir)) {
        for await (const l of readArchive(file)) {
          // The event's id is its column (an archive line's own id is whatever key retention chose).
          if (l.table === 'events' && l.row[EVENT_COLUMN[kind]] === value && typeof l.row.id === 'string') {
            eventIds.add(l.row.id);
            if (typeof l.row.trans_id === 'string') transIds.add(l.row.trans_id);
          }
        }
      }
    }
    const match: ErasureMatch = { eventIds: [...eventIds], transIds: [...transIds] };
    for (const f of this.d.features) Object.assign(rows, await f.erase(match));
    if (this.d.archiveDir !== null) rows.archive = await rewriteArchives(this.d.archiveDir, (l) => eraseArchiveLine(l, req.selector, eventIds));

    const total = Object.values(rows).reduce((a, b) => a + b, 0);
    const record = await this.d.store.recordErasure({ erasedAt: this.d.now(), actor: req.actor, reason, selector: { kind, value }, rows, total });
    // Last, after the audit row: the WAL is emptied of every older page version.
    const purged = total === 0 ? true : await this.d.store.purgeErased(Object.keys(rows).filter((t) => t !== 'archive' && rows[t]! > 0));
    this.d.hub.emit('erasure', { seq: record.seq, actor: record.actor, rows, purged });
    return { ...record, purged };
  }

  list(limit: number, cursor?: string): Promise<Page<ErasureRecord>> {
    return this.d.store.listErasures(limit, cursor);
  }
}

/** One archived row after erasing the subject: events by the selector or id, their callbacks and attempts. */
export function eraseArchiveLine(l: ArchiveLine, selector: ErasureSelector, eventIds: ReadonlySet<string>): ArchiveLine {
  const r = l.row;
  const { kind, value } = selectorOf(selector);
  switch (l.table) {
    case 'events': {
      if (r[EVENT_COLUMN[kind]] !== value && !(typeof r.id === 'string' && eventIds.has(r.id))) return l;
      const p = eraseEventRow(r);
      return p ? { ...l, row: { ...r, ...p } } : l;
    }
    case 'callbacks': {
      const mine = typeof r.event_id === 'string' ? eventIds.has(r.event_id) : callbackMatches(r, selector);
      if (!mine) return l;
      const p = eraseCallbackRow(r);
      return p ? { ...l, row: { ...r, ...p } } : l;
    }
    case 'attempts': {
      if (typeof r.event_id !== 'string' || !eventIds.has(r.event_id)) return l;
      const p = eraseAttemptRow(r);
      return p ? { ...l, row: { ...r, ...p } } : l;
    }
    default:
      return l;
  }
}
