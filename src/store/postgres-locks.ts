import { createHash } from 'node:crypto';
import type pg from 'pg';

/** A 64-bit advisory lock id for a name (signed, as pg_advisory_xact_lock wants it). */
export function lockId(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/** The advisory lock intake holds per ordering key until commit (see lockOrderKeys). */
export function orderKeyLockId(schema: string, orderKey: string): string {
  return lockId(`paygate-relay:order:${schema}:${orderKey}`);
}

/**
 * Per ordering key, event seq order must equal commit order: the claim guard
 * (see `claim` in postgres-outbox.ts) assumes that a snapshot which sees a delivery also sees every
 * earlier delivery of its key. A sequence value is taken at INSERT and becomes
 * visible at COMMIT, so two instances storing events of one TransID at once
 * could commit seq 11 before seq 10; a claim in between would send 11 and then
 * 10 would pass the guard while 11 is still in flight. Holding a transaction
 * advisory lock per key from before the INSERT until COMMIT makes the second
 * writer take its seq only after the first committed. Locks are taken in one
 * global order (sorted ids) so batches cannot deadlock on each other.
 */
export async function lockOrderKeys(c: pg.PoolClient, schema: string, keys: Iterable<string | null>): Promise<void> {
  const ids = [...new Set([...keys].filter((k): k is string => k !== null).map((k) => orderKeyLockId(schema, k)))];
  if (ids.length === 0) return;
  ids.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  await c.query('SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, o) ORDER BY o', [ids]);
}
