// The PostgreSQL store's outbox: leasing, completing and failing deliveries, and endpoint bookkeeping (see PostgresStore).
import { ENDPOINT_STATE_KIND, NOTIFY_CHANNEL } from './postgres-notify.js';
import { txt, type PgSession } from './postgres-session.js';
import { mapClaimed, mapEndpointState } from './rows.js';
import { OPEN } from './stats.js';
import type { AttemptRecord, ClaimedDelivery, EndpointState } from './types.js';

/**
 * Lease due deliveries of one endpoint, oldest first, at most one per ordering key.
 *
 * Why two instances can never hold two deliveries of one key at once:
 * - the candidate row itself is locked FOR UPDATE SKIP LOCKED. A row another
 *   claimer (or a complete/fail) holds is skipped, not waited for; a row changed
 *   and committed since our snapshot is re-read and the conditions re-checked on
 *   the new version (EvalPlanQual), so a delivery just leased by someone else is
 *   not due any more and drops out. Two claimers never lease the same row.
 * - the guard: a delivery is only a candidate if, in this statement's snapshot,
 *   no earlier (lower event_seq) delivery of its key is open (pending/in_flight).
 *   The snapshot may be stale, but only in the safe direction: an earlier
 *   delivery that we still see open may meanwhile be done (we skip a delivery we
 *   could have taken; the next wake-up takes it). It cannot be the other way
 *   round: "done" is final (only an operator's redeliver reopens one), so if we
 *   see it done it is done. And the earlier delivery cannot be missing from the
 *   snapshot while the later one is in it, because intake serializes per key
 *   (see `lockOrderKeys` in postgres-locks.ts): the later event was inserted after the earlier one
 *   committed. While instance A has the earlier one leased (in_flight, or being
 *   leased: row locked, we skip it), B's guard sees it open and leaves the later
 *   one alone; SKIP LOCKED on the earlier row never makes the later one eligible.
 * - within one statement, two deliveries of one key cannot both pass the guard
 *   (the later one sees the earlier one open).
 * An endpoint disabled in endpoint_state (by any instance) gets no claims at all, whatever
 * the claiming process believes: storage is the one truth of endpoint state.
 * The guard is SQLite's NOT EXISTS (no open delivery of the key with a lower
 * seq) written as "not after the key's oldest open seq": with ORDER BY … LIMIT 1
 * the planner takes deliveries_order even when the statistics are stale (a
 * fresh table after a burst), where NOT EXISTS could pick deliveries_open and
 * scan the whole backlog once per candidate.
 */
export async function claim(db: PgSession, endpointId: string, owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
  const rows = await db.q(
    `WITH c AS (
       SELECT d.id FROM deliveries d
       WHERE d.endpoint_id = $1 AND d.${OPEN}
         AND NOT EXISTS (SELECT 1 FROM endpoint_state s WHERE s.endpoint_id = $1 AND s.disabled)
         AND ((d.state = 'pending' AND d.next_attempt_at <= $2) OR (d.state = 'in_flight' AND d.lease_expires_at < $2))
         AND (d.order_key IS NULL OR d.event_seq <= COALESCE((
           SELECT p.event_seq FROM deliveries p
           WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key AND p.${OPEN}
           ORDER BY p.event_seq LIMIT 1), d.event_seq))
       ORDER BY d.next_attempt_at, d.event_seq
       LIMIT $3
       FOR UPDATE OF d SKIP LOCKED)
     UPDATE deliveries u SET state = 'in_flight', lease_owner = $4, lease_expires_at = $5, updated_at = $2
     FROM c, events e
     WHERE u.id = c.id AND e.seq = u.event_seq
     RETURNING u.id, u.event_id, u.endpoint_id, u.attempts, u.created_at, u.event_seq, e.payload`,
    [endpointId, now, limit, owner, now + leaseMs],
  );
  return mapClaimed(rows);
}

function attemptParams(a: AttemptRecord): unknown[] {
  return [a.deliveryId, a.eventId, a.endpointId, a.startedAt, a.durationMs, a.statusCode, a.errorClass, txt(a.responseBody)];
}

// A data-modifying CTE: the guarded update and the attempt row commit together in one statement.
// A late answer from a lost lease is still a real attempt: it is recorded either way.
const INSERT_ATTEMPT = `ins AS (
    INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code, error_class, response_body)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8))`;

export async function complete(db: PgSession, deliveryId: number, owner: string, attempt: AttemptRecord, now: number): Promise<boolean> {
  const rows = await db.durable(() => db.q(
    `WITH ${INSERT_ATTEMPT},
     upd AS (
       UPDATE deliveries SET state = 'succeeded', attempts = attempts + 1, completed_at = $10, updated_at = $10,
         lease_owner = NULL, lease_expires_at = NULL, last_status = $6, last_error = NULL
       WHERE id = $11 AND lease_owner = $9 AND state = 'in_flight'
       RETURNING 1)
     SELECT count(*) AS n FROM upd`,
    [...attemptParams(attempt), owner, now, deliveryId],
  ));
  return Number(rows[0]!.n) === 1;
}

export async function fail(db: PgSession, deliveryId: number, owner: string, attempt: AttemptRecord, next: { retryAt: number } | { dead: true }, now: number): Promise<boolean> {
  const dead = 'dead' in next;
  const rows = await db.durable(() => db.q(
    `WITH ${INSERT_ATTEMPT},
     upd AS (
       UPDATE deliveries SET state = $11, attempts = attempts + 1, next_attempt_at = $12, updated_at = $10,
         completed_at = $13, lease_owner = NULL, lease_expires_at = NULL, last_status = $6, last_error = $7
       WHERE id = $14 AND lease_owner = $9 AND state = 'in_flight'
       RETURNING 1)
     SELECT count(*) AS n FROM upd`,
    [...attemptParams(attempt), owner, now, dead ? 'dead' : 'pending', dead ? now : next.retryAt, dead ? now : null, deliveryId],
  ));
  return Number(rows[0]!.n) === 1;
}

export async function release(db: PgSession, deliveryId: number, owner: string, now: number): Promise<boolean> {
  const rows = await db.durable(() => db.q(
    `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
     WHERE id = $2 AND lease_owner = $3 AND state = 'in_flight' RETURNING id`,
    [now, deliveryId, owner],
  ), 5000);
  return rows.length === 1;
}

/** Part of the contract for single-process adapters; the Relay never calls it for PostgreSQL (other processes hold leases). */
export async function releaseAllLeases(db: PgSession, now: number): Promise<number> {
  const rows = await db.q(
    `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 WHERE state = 'in_flight' RETURNING id`,
    [now],
  );
  return rows.length;
}

export async function nextDueAt(db: PgSession, endpointId: string, now: number): Promise<number | null> {
  // Only future times: a delivery already due but held back by ordering is woken by its predecessor.
  const [row] = await db.q(`SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE endpoint_id = $1 AND state = 'pending' AND next_attempt_at > $2`, [endpointId, now]);
  return row?.t === null || row?.t === undefined ? null : Number(row.t);
}

// ---------------------------------------------------------------- endpoints

export async function endpointStates(db: PgSession): Promise<EndpointState[]> {
  return (await db.q('SELECT * FROM endpoint_state ORDER BY endpoint_id')).map(mapEndpointState);
}

export async function recordEndpointSuccess(db: PgSession, endpointId: string, now: number): Promise<void> {
  await db.q(
    `INSERT INTO endpoint_state (endpoint_id, last_success_at) VALUES ($1, $2)
     ON CONFLICT (endpoint_id) DO UPDATE SET last_success_at = excluded.last_success_at, failing_since = NULL`,
    [endpointId, now],
  );
}

export async function recordEndpointFailure(db: PgSession, endpointId: string, now: number, error: string): Promise<number> {
  const [row] = await db.q(
    `INSERT INTO endpoint_state (endpoint_id, failing_since, last_failure_at, last_error) VALUES ($1, $2, $2, $3)
     ON CONFLICT (endpoint_id) DO UPDATE SET failing_since = COALESCE(endpoint_state.failing_since, excluded.failing_since),
       last_failure_at = excluded.last_failure_at, last_error = excluded.last_error
     RETURNING failing_since`,
    [endpointId, now, txt(error)],
  );
  return Number(row!.failing_since);
}

/** The change and its NOTIFY in one statement: every instance hears of it once it is committed. */
export async function setEndpointDisabled(db: PgSession, endpointId: string, disabled: boolean, reason: string | null, now: number): Promise<void> {
  await db.q(
    `WITH u AS (
       INSERT INTO endpoint_state (endpoint_id, disabled, disabled_reason, disabled_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (endpoint_id) DO UPDATE SET disabled = excluded.disabled, disabled_reason = excluded.disabled_reason,
         disabled_at = excluded.disabled_at, failing_since = CASE WHEN excluded.disabled THEN endpoint_state.failing_since ELSE NULL END
       RETURNING endpoint_id)
     SELECT pg_notify($5, $6) FROM u`,
    [endpointId, disabled, disabled ? reason : null, disabled ? now : null, NOTIFY_CHANNEL, JSON.stringify({ s: db.schema, k: ENDPOINT_STATE_KIND, e: [endpointId] })],
  );
}
