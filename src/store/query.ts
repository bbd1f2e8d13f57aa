// Small helpers shared by the storage adapters.
import { isEventGlob } from '../events/glob.js';
import type { ConflictFilter, DeadLetterFilter, EventFilter, Page, QuarantineFilter } from './types.js';

/** Event-type glob (`*` within one dot segment) → SQL GLOB pattern plus the dot count it must have. */
export function globToSql(glob: string): { glob: string; dots: number } {
  if (!isEventGlob(glob)) throw new Error(`invalid event type filter: ${glob}`);
  // Requiring the same number of dots stops a GLOB `*` from spanning segments.
  return { glob, dots: glob.split('.').length - 1 };
}

export function encodeCursor(n: number): string {
  return Buffer.from(String(n)).toString('base64url');
}

/** A page cursor the store did not make (edited, or from another list): the caller's mistake, not the store's. */
export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

export function decodeCursor(cursor: string | undefined): number | null {
  if (!cursor) return null;
  const n = Number(Buffer.from(cursor, 'base64url').toString());
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidCursorError();
  return n;
}

/** A cursor of two keys (a time and the row id that breaks its ties), for lists sorted by a time. */
export function encodeTimeCursor(at: number, id: number): string {
  return Buffer.from(`${at}.${id}`).toString('base64url');
}

export function decodeTimeCursor(cursor: string | undefined): { at: number; id: number } | null {
  if (!cursor) return null;
  const m = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString());
  const at = Number(m?.[1]);
  const id = Number(m?.[2]);
  if (!m || !Number.isSafeInteger(at) || !Number.isSafeInteger(id)) throw new InvalidCursorError();
  return { at, id };
}

/**
 * Binds a filter value and returns its placeholder: SQLite names them (`@since`), PostgreSQL
 * numbers them in the order they are bound (`$3`), so the where-clause builders below serve both.
 */
export type Bind = (name: string, value: unknown) => string;

/** The adapter's event-type match (`type GLOB …` or `type LIKE …`, plus the dot count). */
export type TypeMatch = (type: string, bind: Bind) => string;

export const namedBind = (p: Record<string, unknown>): Bind => (name, value) => ((p[name] = value), `@${name}`);

export const positionalBind = (p: unknown[]): Bind => (_name, value) => (p.push(value), `$${p.length}`);

/** The conditions of an event filter, in binding order: type, ids, merchant, outcome, time range. */
export function eventWhere(f: EventFilter, bind: Bind, typeMatch: TypeMatch): string[] {
  const where: string[] = [];
  if (f.type) where.push(typeMatch(f.type, bind));
  for (const [key, col] of [['transId', 'trans_id'], ['payId', 'pay_id'], ['mandateId', 'mandate_id'], ['merchantId', 'merchant_id'], ['outcome', 'outcome']] as const) {
    if (f[key] !== undefined) where.push(`${col} = ${bind(key, f[key])}`);
  }
  if (f.since !== undefined) where.push(`received_at >= ${bind('since', f.since)}`);
  if (f.until !== undefined) where.push(`received_at < ${bind('until', f.until)}`);
  return where;
}

/** The conditions of a quarantine filter; the caller adds its own cursor column. */
export function quarantineWhere(f: QuarantineFilter, bind: Bind): string[] {
  const where = [`state = 'quarantined'`];
  if (f.merchantId !== undefined) where.push(`merchant_id = ${bind('merchantId', f.merchantId)}`);
  if (f.claimedMerchantId !== undefined) where.push(`claimed_merchant_id = ${bind('claimedMerchantId', f.claimedMerchantId)}`);
  if (f.reason !== undefined) where.push(`reason = ${bind('reason', f.reason)}`);
  if (f.since !== undefined) where.push(`received_at >= ${bind('since', f.since)}`);
  if (f.until !== undefined) where.push(`received_at < ${bind('until', f.until)}`);
  return where;
}

/** The conditions of a conflict filter; the caller adds its own cursor (seq). */
export function conflictWhere(f: ConflictFilter, bind: Bind): string[] {
  const where: string[] = [];
  if (f.merchantId !== undefined) where.push(`merchant_id = ${bind('merchantId', f.merchantId)}`);
  if (f.transId !== undefined) where.push(`trans_id = ${bind('transId', f.transId)}`);
  if (f.since !== undefined) where.push(`received_at >= ${bind('since', f.since)}`);
  if (f.until !== undefined) where.push(`received_at < ${bind('until', f.until)}`);
  return where;
}

/** The dead letters a filter selects, as a condition on `deliveries d`. */
export function deadLetterWhere(f: DeadLetterFilter, bind: Bind, typeMatch: TypeMatch): string {
  const where = [`d.state = 'dead'`];
  if (f.endpointId !== undefined) where.push(`d.endpoint_id = ${bind('endpointId', f.endpointId)}`);
  if (f.since !== undefined) where.push(`d.updated_at >= ${bind('since', f.since)}`);
  if (f.until !== undefined) where.push(`d.updated_at < ${bind('until', f.until)}`);
  if (f.type !== undefined) where.push(`d.event_id IN (SELECT id FROM events WHERE ${typeMatch(f.type, bind)})`);
  return where.join(' AND ');
}

/**
 * Dead letters newest death first: by `updated_at` (when the last try failed, "dead since"),
 * ties by id, resumed after the cursor's pair. Both dialects compare row values; the partial
 * indexes `deliveries_dead_since(updated_at, id)` and `deliveries_dead(endpoint_id, updated_at, id)` serve it in order.
 */
export function deadLetterPageWhere(f: DeadLetterFilter, bind: Bind, typeMatch: TypeMatch, cursor: string | undefined): string {
  const where = deadLetterWhere(f, bind, typeMatch);
  const c = decodeTimeCursor(cursor);
  return c === null ? where : `${where} AND (d.updated_at, d.id) < (${bind('cursorAt', c.at)}, ${bind('cursorId', c.id)})`;
}

export const DEAD_LETTER_ORDER = 'ORDER BY d.updated_at DESC, d.id DESC';

/** One page from `limit + 1` rows: the extra row only says there is a next page, which starts after the last item's key. */
export function pageOf<R, T>(rows: R[], limit: number, map: (r: R) => T, keyOf: (r: R) => number): Page<T> {
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  return { items: page.map(map), next: more ? encodeCursor(keyOf(page[page.length - 1]!)) : null };
}

/** `pageOf` for lists sorted by (time, id): the next page starts after the last item's pair. */
export function timePageOf<R, T>(rows: R[], limit: number, map: (r: R) => T, keyOf: (r: R) => [number, number]): Page<T> {
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  return { items: page.map(map), next: more ? encodeTimeCursor(...keyOf(page[page.length - 1]!)) : null };
}
