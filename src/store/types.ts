// The storage contract. Every adapter (SQLite, PostgreSQL) implements exactly
// this; the contract test suite in test/store/ runs against each.
// Times are epoch milliseconds, passed in by the caller (adapters never read the clock
// for decisions, so tests can drive time).

import type { Channel } from '../paygate/types.js';
import type { StoreExtension } from './extension.js';
import type { PurgeResult, RetentionClass, RetentionStats, ScanCursor, ScanStep, UnitSizes } from './retention.js';

/**
 * `conflict`: the signed identity of a stored event with other content (see ConflictRecord);
 * `returned`: a browser return of a merchant with browserReturns "redirect-only" (stored, no event).
 */
export type CallbackState = 'accepted' | 'duplicate' | 'quarantined' | 'reprocessed' | 'conflict' | 'returned';

/** A callback exactly as received plus what became of it. */
export interface CallbackRecord {
  id: string;
  receivedAt: number;
  channel: Channel;
  method: string;
  path: string;
  kind: string | null;
  contentType: string | null;
  remoteIp: string | null;
  headers: Record<string, string>;
  body: Buffer;
  merchantId: string | null;
  state: CallbackState;
  reason: string | null;
  detail: string | null;
  eventId: string | null;
  /** Decoded fields for display (never the MAC); null when it could not be decoded. */
  decoded: Record<string, unknown> | null;
  /**
   * The configured merchant this callback named in plain when no key of it verified the
   * callback (a key-rotation mistake, or someone else's claim). Never the callback's merchant.
   */
  claimedMerchantId: string | null;
}

export interface EventDraft {
  id: string;
  type: string;
  source: string;
  merchantId: string | null;
  operation: string | null;
  outcome: string | null;
  transId: string | null;
  payId: string | null;
  mandateId: string | null;
  receivedAt: number;
  dedupeKey: string;
  /** Serialized event, delivered byte for byte. */
  payload: string;
  /**
   * JSON {field: digest} of the operation and every decrypted field (src/events/identity.ts);
   * on a dedupe hit, differing digests make the callback a conflict. Absent for non-Paygate events.
   */
  fingerprint?: string | null;
  /** Endpoints this event is scheduled for, with the ordering key (null = unordered). */
  deliveries: { endpointId: string; orderKey: string | null }[];
}

/**
 * The `callback.conflict` event to store when the draft's identity exists with another
 * fingerprint. Only the store knows the first event, so it completes `event.data` with
 * `firstEventId`, `fields` (the differing names) and `first` ({ eventId, origin }).
 */
export interface ConflictDraft {
  id: string;
  /** One conflict event per (identity, conflicting version): a repeat of the same version adds none. */
  dedupeKey: string;
  merchantId: string;
  transId: string;
  payId: string;
  receivedAt: number;
  deliveries: { endpointId: string; orderKey: string | null }[];
  /** The event, or its JSON text (parsed only when a conflict is found: intake writes it directly). */
  event: (Record<string, unknown> & { data: Record<string, unknown> }) | string;
}

export interface IngestItem {
  callback: Omit<CallbackRecord, 'eventId' | 'state' | 'claimedMerchantId' | 'decoded' | 'headers'> & {
    /** The kept request headers, or already their JSON text (rows that crossed from a callback worker). */
    headers: Record<string, string> | string;
    state: 'accepted' | 'quarantined' | 'returned';
    claimedMerchantId?: string | null;
    /** The decoded fields, or already the JSON text they are stored as (intake writes it directly). */
    decoded: Record<string, unknown> | string | null;
  };
  event?: EventDraft;
  conflict?: ConflictDraft;
}

export interface IngestResult {
  callbackId: string;
  /** The event stored, or for a duplicate or conflict the first event of that identity. */
  eventId: string | null;
  /** No new event was stored (a repeat, or a conflict). */
  duplicate: boolean;
  /** Set when the callback conflicts with the event of its identity. */
  conflict?: { conflictEventId: string; fields: string[]; created: boolean };
}

/** A callback with the signed identity of a stored event but other content. */
export interface ConflictRecord {
  seq: number;
  /** The conflicting callback (state `conflict`). */
  callbackId: string;
  /** The first event of the identity: what receivers got first. */
  eventId: string;
  /** The `callback.conflict` event (shared by repeats of the same conflicting version). */
  conflictEventId: string;
  merchantId: string;
  transId: string | null;
  payId: string | null;
  /** Names of the fields that differ (`operation`, `xid`, `fields.amount`, …). */
  fields: string[];
  receivedAt: number;
}

export interface ConflictFilter {
  merchantId?: string;
  transId?: string;
  since?: number;
  until?: number;
}

export interface StoredEvent {
  seq: number;
  id: string;
  type: string;
  source: string;
  merchantId: string | null;
  operation: string | null;
  outcome: string | null;
  transId: string | null;
  payId: string | null;
  mandateId: string | null;
  receivedAt: number;
  callbackId: string | null;
  payload: string;
}

export type DeliveryState = 'pending' | 'in_flight' | 'succeeded' | 'dead';

export interface DeliveryRecord {
  id: number;
  eventId: string;
  endpointId: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

/** `local`: an in-process endpoint (Endpoint.local) threw; the message is the response body. */
export type ErrorClass = 'timeout' | 'connection_refused' | 'connection_error' | 'tls' | 'dns' | 'non_2xx' | 'local';

export interface AttemptRecord {
  id?: number;
  deliveryId: number;
  eventId: string;
  endpointId: string;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  errorClass: ErrorClass | null;
  responseBody: string | null;
}

export interface ClaimedDelivery {
  id: number;
  eventId: string;
  endpointId: string;
  /** Attempts already made in the current round (0 on the first try). */
  attempts: number;
  payload: string;
  createdAt: number;
}

export interface EndpointState {
  endpointId: string;
  disabled: boolean;
  disabledReason: string | null;
  disabledAt: number | null;
  failingSince: number | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
}

/**
 * A console session as stored (src/console/stored-sessions.ts makes and checks them). The cookie
 * carries `<id>.<secret>`; only the secret's SHA-256 is kept.
 */
export interface SessionRecord {
  id: string;
  secretHash: string;
  /** Which admin token logged in, as a keyed digest: the role is that token's role now. */
  tokenDigest: string;
  /** The session's CSRF secret (forms carry tokens made from it). */
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

/** Failed authentications of one client address in its current window. */
export interface AuthFailures {
  failures: number;
  windowStart: number;
}

/** What is queued per endpoint: cheap to count, as it only reads open and dead deliveries. */
export interface QueueStats {
  endpointId: string;
  queueDepth: number;
  /** queueDepth split: not tried yet, failed and waiting for the next try, leased by a sender. */
  pending: number;
  retryWaiting: number;
  inFlight: number;
  oldestPendingAt: number | null;
  deadLetters: number;
}

export interface EndpointStats extends QueueStats {
  attempts24h: number;
  successes24h: number;
}

export interface EventFilter {
  type?: string; // glob, '*' within a segment
  transId?: string;
  payId?: string;
  mandateId?: string;
  merchantId?: string;
  outcome?: string;
  since?: number;
  until?: number;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next (older) page; null at the end. */
  next: string | null;
}

/** How an event's deliveries stand, counted per state (the console's delivery-status column). */
export interface DeliveryCounts {
  eventId: string;
  delivered: number;
  /** Open (pending or in flight) without a failed attempt in this round. */
  pending: number;
  /** Open after at least one failed attempt in this round. */
  retrying: number;
  dead: number;
}

export interface DeadLetterFilter {
  endpointId?: string;
  type?: string;
  since?: number;
  until?: number;
}

export interface QuarantineFilter {
  merchantId?: string;
  /** The merchant a callback named in plain without any of its keys verifying it. */
  claimedMerchantId?: string;
  reason?: string;
  since?: number;
  until?: number;
}

/** One time bucket of the console's overview charts: [start, start + bucketMs). */
export interface ActivityBucket {
  start: number;
  /** Callbacks received (any outcome, by received_at). */
  callbacks: number;
  /** Of those, still quarantined. */
  quarantined: number;
  /** Events stored (by the event's received_at). */
  events: number;
  /** Delivery attempts started (by started_at). */
  attempts: number;
  /** Of those, answered 2xx. */
  attemptsOk: number;
}

/** Delivery attempts started in [since, until): counts and latency (nearest-rank percentiles of duration_ms). */
export interface AttemptSummary {
  attempts: number;
  /** Answered 2xx. */
  successes: number;
  /** Duration at rank ceil(0.50 * n) of the ascending durations (1-based); null without attempts. */
  p50Ms: number | null;
  /** Duration at rank ceil(0.99 * n); null without attempts. */
  p99Ms: number | null;
}

/** What to erase: one of the identifiers Paygate and accounting find a payment by. */
export type ErasureSelector = { transId: string } | { payId: string } | { mandateId: string };

/** What erasing a selector changed in the core tables, and what features and archives need to follow it. */
export interface CoreErasure {
  /** Ids of the events the selector matched (changed or not). */
  eventIds: string[];
  /** Their TransIDs (a PayID or MandateID selector reaches records kept by TransID). */
  transIds: string[];
  /** Rows changed, per table: `events`, `callbacks`, `attempts`. */
  rows: Record<string, number>;
}

/** One erasure request, as recorded. */
export interface ErasureRecord {
  seq: number;
  erasedAt: number;
  /** Who asked: `token:<name>` of an admin token, `console:<name>`, or `cli`. */
  actor: string;
  reason: string;
  selector: { kind: 'transId' | 'payId' | 'mandateId'; value: string };
  /** Rows changed per table (archive lines under `archive`); zero everywhere for a repeat. */
  rows: Record<string, number>;
  total: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Plug a feature's tables in (see extension.ts): returns its storage on this store's connections.
   * Before migrate(), which then runs the feature's migrations with the core's.
   */
  extend<S>(ext: StoreExtension<S>): S;
  /** Run every migration not yet in the ledger (core first, then the extensions in order). */
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;

  /** One commit for the whole batch: callbacks, events (deduped) and their deliveries. */
  ingest(items: IngestItem[]): Promise<IngestResult[]>;

  // ---- outbox
  /** Lease due deliveries of one endpoint; with ordering, only the oldest open one per key. */
  claim(endpointId: string, owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]>;
  /** Guarded by the lease owner: returns false when the lease was lost (someone else owns it now). */
  complete(deliveryId: number, owner: string, attempt: AttemptRecord, now: number): Promise<boolean>;
  fail(deliveryId: number, owner: string, attempt: AttemptRecord, next: { retryAt: number } | { dead: true }, now: number): Promise<boolean>;
  /** Give a claimed delivery back without counting an attempt (shutdown). */
  release(deliveryId: number, owner: string, now: number): Promise<boolean>;
  /** Release every lease (single-process adapters on start-up). */
  releaseAllLeases(now: number): Promise<number>;
  /** Soonest future next_attempt_at among pending deliveries of the endpoint, or null. */
  nextDueAt(endpointId: string, now: number): Promise<number | null>;

  // ---- endpoints
  endpointStates(): Promise<EndpointState[]>;
  recordEndpointSuccess(endpointId: string, now: number): Promise<void>;
  /** Returns the start of the current failing streak. */
  recordEndpointFailure(endpointId: string, now: number, error: string): Promise<number>;
  setEndpointDisabled(endpointId: string, disabled: boolean, reason: string | null, now: number): Promise<void>;
  /** Queues and the last 24 hours' attempts: the attempts read grows with the traffic (one row per attempt). */
  endpointStats(now: number): Promise<EndpointStats[]>;
  /** Queues only, for /metrics: its cost follows the backlog, not the traffic. */
  queueStats(): Promise<QueueStats[]>;

  // ---- console sessions and failed authentications: shared by every process on the store
  /** Store a new session; sessions expired by `now` are removed on the way. */
  createSession(session: SessionRecord, now: number): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  /** Logout: the session is gone for every instance. */
  deleteSession(id: string): Promise<void>;
  /** The client's failures in its current window (scope: `console-login`, `admin-token`), or null. */
  authFailures(scope: string, client: string): Promise<AuthFailures | null>;
  /** Count a failure: a window that started more than windowMs ago starts over at 1. Stale rows of the scope go on the way. */
  recordAuthFailure(scope: string, client: string, now: number, windowMs: number): Promise<AuthFailures>;
  clearAuthFailures(scope: string, client: string): Promise<void>;

  // ---- admin queries (the console and the API read through these)
  listEvents(filter: EventFilter, limit: number, cursor?: string): Promise<Page<StoredEvent>>;
  getEvent(id: string): Promise<StoredEvent | null>;
  getCallback(id: string): Promise<CallbackRecord | null>;
  deliveriesOf(eventId: string): Promise<DeliveryRecord[]>;
  attemptsOf(eventId: string): Promise<AttemptRecord[]>;
  /** Delivery counts of each given event that has deliveries, in one query (never one per event). */
  deliveryCounts(eventIds: readonly string[]): Promise<DeliveryCounts[]>;
  listQuarantine(filter: QuarantineFilter, limit: number, cursor?: string): Promise<Page<CallbackRecord>>;
  quarantineSize(): Promise<number>;
  /** Size and the oldest receivedAt of the quarantine (null when empty), for the metrics. */
  quarantineStats(): Promise<{ size: number; oldestAt: number | null }>;
  /** A quarantined callback now decodes: store its event and mark it reprocessed, in one commit. */
  resolveQuarantine(callbackId: string, event: EventDraft, merchantId: string, decoded: Record<string, unknown>, now: number, conflict?: ConflictDraft): Promise<IngestResult | null>;
  /** Conflicts, newest first. */
  listConflicts(filter: ConflictFilter, limit: number, cursor?: string): Promise<Page<ConflictRecord>>;
  getConflict(callbackId: string): Promise<ConflictRecord | null>;
  /** Paygate events stored before fingerprints (oldest first, after `afterSeq`), for the start-up upgrade. */
  eventsWithoutFingerprint(afterSeq: number, limit: number): Promise<{ seq: number; payload: string }[]>;
  /**
   * Give old events their identity key and fingerprint. A key another event already has is left
   * as it was (two old events of one identity, stored before conflicts were detected); the
   * fingerprint is set either way. Returns how many were rekeyed.
   */
  setEventFingerprints(rows: { seq: number; dedupeKey: string; fingerprint: string }[]): Promise<number>;
  /** Dead letters, newest death first ("dead since": updatedAt), ties by id. */
  listDeadLetters(filter: DeadLetterFilter, limit: number, cursor?: string): Promise<Page<DeliveryRecord & { type: string }>>;
  countDeadLetters(filter: DeadLetterFilter): Promise<number>;
  redeliverDeadLetters(filter: DeadLetterFilter, now: number): Promise<number>;
  /** Reset (or create) deliveries of an event so they go out again now. Returns the endpoint ids scheduled. */
  redeliver(eventId: string, endpointIds: string[], orderKeys: Record<string, string | null>, now: number): Promise<string[]>;
  /**
   * Counts per time bucket for [since, until): bucket i covers [since + i*bucketMs, since + (i+1)*bucketMs).
   * Dense: exactly ceil((until - since) / bucketMs) buckets, in order, zeros included.
   */
  activity(since: number, until: number, bucketMs: number): Promise<ActivityBucket[]>;
  /** Attempt counts and latency percentiles over attempts started in [since, until). */
  attemptSummary(since: number, until: number): Promise<AttemptSummary>;
  /**
   * Store an event that did not come from a callback (callback_id NULL; e.g. `relay.test`) and schedule
   * its deliveries, in one commit. Deduplicated by dedupeKey like ingest: no deliveries for a duplicate.
   */
  addEvent(event: EventDraft, now: number): Promise<{ eventId: string; duplicate: boolean }>;
  // ---- erasure (docs/erasure.md)
  /**
   * One commit: every matching event's personal fields replaced (payload and fingerprint), the
   * raw body, kept headers, client address and personal decoded fields of its callbacks (and of
   * quarantined ones naming the identifier), the receivers' answers to its deliveries. Ids, types,
   * merchant, times and amounts stay. Erasing again changes nothing.
   */
  eraseSubject(selector: ErasureSelector): Promise<CoreErasure>;
  /**
   * Make what erasure removed unrecoverable from the database files: SQLite checkpoints and
   * truncates the WAL (deleted content is zeroed, secure_delete); PostgreSQL VACUUMs the tables.
   * False when it could not complete now (a long reader holds the WAL, no VACUUM privilege).
   */
  purgeErased(tables: readonly string[]): Promise<boolean>;
  recordErasure(r: Omit<ErasureRecord, 'seq'>): Promise<ErasureRecord>;
  /** Erasures, newest first. */
  listErasures(limit: number, cursor?: string): Promise<Page<ErasureRecord>>;
  /** Raw callbacks in arrival order, for export/replay. */
  exportCallbacks(since: number | null): AsyncIterable<CallbackRecord>;

  // ---- retention (store/retention.ts; driven by src/lifecycle/sweeper.ts)
  /** One bounded step of a class's scan: at most `limit` candidates older than `cutoff` after `after`, the due ones with every row of theirs as stored. */
  retentionScan(cls: RetentionClass, cutoff: number, after: ScanCursor, limit: number): Promise<ScanStep>;
  /** Delete the scanned units that are still due and unchanged (same row count as `sizes` says), in one transaction. */
  retentionPurge(cls: RetentionClass, cutoff: number, sizes: UnitSizes): Promise<PurgeResult>;
  /** Rows per class and the oldest row not held, for the metrics and the console. */
  retentionStats(): Promise<RetentionStats>;
  /** After a sweep that deleted rows: make their space reusable now (PostgreSQL: VACUUM the purged tables; SQLite reuses freed pages by itself). */
  retentionReclaim(): Promise<void>;
  /** One sweeper at a time: null while another process holds the turn (PostgreSQL); always granted on SQLite. */
  retentionLock(): Promise<{ release(): Promise<void> } | null>;
  /** Bytes the database takes on disk (SQLite: pages and WAL; PostgreSQL: pg_database_size) and, where known, free bytes inside it that later writes reuse. */
  databaseSize(): Promise<{ bytes: number; freeBytes: number | null }>;
}
