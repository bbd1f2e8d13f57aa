// Erasure rows shared by both adapters: mapping the audit table, and the rows of
// one subject as the adapters find them (dialect-neutral decisions, pure).
import { callbackMatches, eraseAttemptRow, eraseCallbackRow, eraseEventRow, EVENT_COLUMN, selectorOf } from '../lifecycle/personal-fields.js';
import type { Row } from './rows.js';
import type { ErasureRecord } from './types.js';

export function mapErasure(r: Row): ErasureRecord {
  return {
    seq: Number(r.seq), erasedAt: Number(r.erased_at), actor: String(r.actor), reason: String(r.reason),
    selector: { kind: r.selector_kind as ErasureRecord['selector']['kind'], value: String(r.selector_value) },
    rows: JSON.parse(String(r.rows)) as Record<string, number>, total: Number(r.total),
  };
}

/** Ids per chunk of an `IN (...)` list: well under SQLite's and PostgreSQL's parameter limits. */
export const CHUNK = 500;

export function chunks<T>(xs: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

export { callbackMatches, eraseAttemptRow, eraseCallbackRow, eraseEventRow, EVENT_COLUMN, selectorOf };
