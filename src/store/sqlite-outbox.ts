// The embedded store's outbox: leasing, completing and failing deliveries, and endpoint bookkeeping (see SqliteStore).
import { mapClaimed, mapEndpointState, type Row } from './rows.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { OPEN } from './stats.js';
import type { AttemptRecord, ClaimedDelivery, EndpointState } from './types.js';

/** Only the oldest open delivery of an order key (one transaction, one endpoint) may go out. */
const ORDER_GUARD = `(d.order_key IS NULL OR NOT EXISTS (
  SELECT 1 FROM deliveries p
  WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key AND p.event_seq < d.event_seq AND p.${OPEN}))`;

/** An endpoint disabled in endpoint_state gets no claims, whatever the dispatcher believes: storage is the truth. */
const ENABLED = `NOT EXISTS (SELECT 1 FROM endpoint_state s WHERE s.endpoint_id = @endpointId AND s.disabled = 1)`;

export function claim(s: SqliteStatements, endpointId: string, owner: string, now: number, leaseMs: number, limit: number): ClaimedDelivery[] {
  return s.db.transaction(() => {
    const rows = s.st(
      `UPDATE deliveries SET state = 'in_flight', lease_owner = @owner, lease_expires_at = @leaseUntil, updated_at = @now
       WHERE ${ENABLED} AND id IN (
         SELECT id FROM (
           SELECT d.id, d.next_attempt_at AS due, d.event_seq FROM deliveries d
           WHERE d.endpoint_id = @endpointId AND d.state = 'pending' AND d.next_attempt_at <= @now AND ${ORDER_GUARD}
           ORDER BY d.next_attempt_at, d.event_seq LIMIT @limit)
         UNION ALL
         SELECT id FROM (
           SELECT d.id, d.lease_expires_at AS due, d.event_seq FROM deliveries d
           WHERE d.endpoint_id = @endpointId AND d.state = 'in_flight' AND d.lease_expires_at < @now AND ${ORDER_GUARD}
           LIMIT @limit)
         LIMIT @limit)
       RETURNING id, event_id, endpoint_id, attempts, created_at, event_seq`,
    ).all({ owner, leaseUntil: now + leaseMs, now, endpointId, limit }) as Row[];
    const payload = s.st('SELECT payload FROM events WHERE seq = ?');
    return mapClaimed(rows, (r) => (payload.get(r.event_seq) as Row).payload);
  }).immediate();
}

function insertAttempt(s: SqliteStatements, a: AttemptRecord): void {
  s.st(
    `INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code, error_class, response_body)
     VALUES (@deliveryId, @eventId, @endpointId, @startedAt, @durationMs, @statusCode, @errorClass, @responseBody)`,
  ).run(a);
}

export function complete(s: SqliteStatements, deliveryId: number, owner: string, attempt: AttemptRecord, now: number): boolean {
  return s.db.transaction(() => {
    const info = s.st(
      `UPDATE deliveries SET state = 'succeeded', attempts = attempts + 1, completed_at = @now, updated_at = @now,
         lease_owner = NULL, lease_expires_at = NULL, last_status = @status, last_error = NULL
       WHERE id = @id AND lease_owner = @owner AND state = 'in_flight'`,
    ).run({ id: deliveryId, owner, now, status: attempt.statusCode });
    // A late answer from a lost lease is still a real attempt: record it either way.
    insertAttempt(s, attempt);
    return info.changes === 1;
  }).immediate();
}

export function fail(s: SqliteStatements, deliveryId: number, owner: string, attempt: AttemptRecord, next: { retryAt: number } | { dead: true }, now: number): boolean {
  return s.db.transaction(() => {
    const dead = 'dead' in next;
    const info = s.st(
      `UPDATE deliveries SET state = @state, attempts = attempts + 1, next_attempt_at = @nextAt, updated_at = @now,
         completed_at = @completedAt, lease_owner = NULL, lease_expires_at = NULL, last_status = @status, last_error = @error
       WHERE id = @id AND lease_owner = @owner AND state = 'in_flight'`,
    ).run({
      id: deliveryId, owner, now,
      state: dead ? 'dead' : 'pending',
      nextAt: dead ? now : next.retryAt,
      completedAt: dead ? now : null,
      status: attempt.statusCode,
      error: attempt.errorClass,
    });
    insertAttempt(s, attempt);
    return info.changes === 1;
  }).immediate();
}

export function release(s: SqliteStatements, deliveryId: number, owner: string, now: number): boolean {
  const info = s.st(
    `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
     WHERE id = ? AND lease_owner = ? AND state = 'in_flight'`,
  ).run(now, deliveryId, owner);
  return info.changes === 1;
}

export function releaseAllLeases(s: SqliteStatements, now: number): number {
  return s.st(
    `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE state = 'in_flight'`,
  ).run(now).changes;
}

export function nextDueAt(s: SqliteStatements, endpointId: string, now: number): number | null {
  // Only future times: a delivery already due but held back by ordering is woken by its predecessor.
  const row = s.st(`SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE endpoint_id = ? AND state = 'pending' AND next_attempt_at > ?`).get(endpointId, now) as Row;
  return row.t === null ? null : Number(row.t);
}

// ---------------------------------------------------------------- endpoints

export function endpointStates(s: SqliteStatements): EndpointState[] {
  return (s.st('SELECT * FROM endpoint_state').all() as Row[]).map(mapEndpointState);
}

export function recordEndpointSuccess(s: SqliteStatements, endpointId: string, now: number): void {
  s.st(
    `INSERT INTO endpoint_state (endpoint_id, last_success_at) VALUES (?, ?)
     ON CONFLICT (endpoint_id) DO UPDATE SET last_success_at = excluded.last_success_at, failing_since = NULL`,
  ).run(endpointId, now);
}

export function recordEndpointFailure(s: SqliteStatements, endpointId: string, now: number, error: string): number {
  const row = s.st(
    `INSERT INTO endpoint_state (endpoint_id, failing_since, last_failure_at, last_error) VALUES (@id, @now, @now, @error)
     ON CONFLICT (endpoint_id) DO UPDATE SET failing_since = COALESCE(endpoint_state.failing_since, excluded.failing_since),
       last_failure_at = excluded.last_failure_at, last_error = excluded.last_error
     RETURNING failing_since`,
  ).get({ id: endpointId, now, error }) as Row;
  return Number(row.failing_since);
}

export function setEndpointDisabled(s: SqliteStatements, endpointId: string, disabled: boolean, reason: string | null, now: number): void {
  s.st(
    `INSERT INTO endpoint_state (endpoint_id, disabled, disabled_reason, disabled_at) VALUES (@id, @d, @reason, @at)
     ON CONFLICT (endpoint_id) DO UPDATE SET disabled = excluded.disabled, disabled_reason = excluded.disabled_reason,
       disabled_at = excluded.disabled_at, failing_since = CASE WHEN excluded.disabled = 0 THEN NULL ELSE endpoint_state.failing_since END`,
  ).run({ id: endpointId, d: disabled ? 1 : 0, reason: disabled ? reason : null, at: disabled ? now : null });
}
