import type { AttemptRecord, CallbackRecord, ClaimedDelivery, ConflictRecord, DeliveryCounts, DeliveryRecord, EndpointState, ErrorClass, SessionRecord, StoredEvent } from './types.js';

export type Row = Record<string, unknown>;

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function mapEvent(r: Row): StoredEvent {
  return {
    seq: Number(r.seq),
    id: String(r.id),
    type: String(r.type),
    source: String(r.source),
    merchantId: str(r.merchant_id),
    operation: str(r.operation),
    outcome: str(r.outcome),
    transId: str(r.trans_id),
    payId: str(r.pay_id),
    mandateId: str(r.mandate_id),
    receivedAt: Number(r.received_at),
    callbackId: str(r.callback_id),
    payload: String(r.payload),
  };
}

export function mapCallback(r: Row): CallbackRecord {
  return {
    id: String(r.id),
    receivedAt: Number(r.received_at),
    channel: String(r.channel) as CallbackRecord['channel'],
    method: String(r.method),
    path: String(r.path),
    kind: str(r.kind),
    contentType: str(r.content_type),
    remoteIp: str(r.remote_ip),
    headers: JSON.parse(String(r.headers)) as Record<string, string>,
    body: Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body as Uint8Array),
    merchantId: str(r.merchant_id),
    state: String(r.state) as CallbackRecord['state'],
    reason: str(r.reason),
    detail: str(r.detail),
    eventId: str(r.event_id),
    decoded: r.decoded ? (JSON.parse(String(r.decoded)) as Record<string, unknown>) : null,
    claimedMerchantId: str(r.claimed_merchant_id),
  };
}

export function mapConflict(r: Row): ConflictRecord {
  return {
    seq: Number(r.seq),
    callbackId: String(r.callback_id),
    eventId: String(r.event_id),
    conflictEventId: String(r.conflict_event_id),
    merchantId: String(r.merchant_id),
    transId: str(r.trans_id),
    payId: str(r.pay_id),
    fields: JSON.parse(String(r.fields)) as string[],
    receivedAt: Number(r.received_at),
  };
}

export function mapDeliveryCounts(r: Row): DeliveryCounts {
  return { eventId: String(r.event_id), delivered: Number(r.delivered), pending: Number(r.pending), retrying: Number(r.retrying), dead: Number(r.dead) };
}

export function mapDelivery(r: Row): DeliveryRecord {
  return {
    id: Number(r.id),
    eventId: String(r.event_id),
    endpointId: String(r.endpoint_id),
    state: String(r.state) as DeliveryRecord['state'],
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    completedAt: num(r.completed_at),
    lastStatus: num(r.last_status),
    lastError: str(r.last_error),
  };
}

export function mapAttempt(r: Row): AttemptRecord {
  return {
    id: Number(r.id),
    deliveryId: Number(r.delivery_id),
    eventId: String(r.event_id),
    endpointId: String(r.endpoint_id),
    startedAt: Number(r.started_at),
    durationMs: Number(r.duration_ms),
    statusCode: num(r.status_code),
    errorClass: str(r.error_class) as ErrorClass | null,
    responseBody: str(r.response_body),
  };
}

/** Claimed rows in event order; `payloadOf` reads the event payload where the claim did not return it. */
export function mapClaimed(rows: Row[], payloadOf: (r: Row) => unknown = (r) => r.payload): ClaimedDelivery[] {
  rows.sort((a, b) => Number(a.event_seq) - Number(b.event_seq));
  return rows.map((r) => ({
    id: Number(r.id),
    eventId: String(r.event_id),
    endpointId: String(r.endpoint_id),
    attempts: Number(r.attempts),
    createdAt: Number(r.created_at),
    payload: String(payloadOf(r)),
  }));
}

export function mapEndpointState(r: Row): EndpointState {
  return {
    endpointId: String(r.endpoint_id),
    // PostgreSQL returns a boolean, SQLite 0/1.
    disabled: r.disabled === true || Number(r.disabled) === 1,
    disabledReason: (r.disabled_reason as string | null) ?? null,
    disabledAt: num(r.disabled_at),
    failingSince: num(r.failing_since),
    lastSuccessAt: num(r.last_success_at),
    lastFailureAt: num(r.last_failure_at),
    lastError: (r.last_error as string | null) ?? null,
  };
}

export function mapSession(r: Row): SessionRecord {
  return {
    id: String(r.id),
    secretHash: String(r.secret_hash),
    tokenDigest: String(r.token_digest),
    csrf: String(r.csrf),
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}
