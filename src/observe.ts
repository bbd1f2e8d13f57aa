import { EventEmitter } from 'node:events';
import type { ErrorCode } from './errors.js';
import type { Channel } from './paygate/types.js';
import type { RetentionClass } from './store/retention.js';
import type { ErrorClass } from './store/types.js';

export interface TraceIds {
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

/** What the relay reports to its observers (metrics, logs, the dispatcher's wake-up). */
export interface RelayEventMap {
  callback: {
    callbackId: string;
    channel: Channel;
    result: 'accepted' | 'duplicate' | 'conflict' | 'returned' | 'quarantined';
    reason?: ErrorCode;
    merchantId?: string;
    /** Quarantined without a proven merchant: the configured merchant its plain MerchantID named. */
    claimedMerchantId?: string;
    operation?: string;
    outcome?: string;
    eventId?: string;
    eventType?: string;
    keySlot?: number;
    durationMs: number;
    /** Request start (epoch ms), decoding (decrypt, MAC, parse) and the wait for the storage commit, for tracing. */
    startedAt?: number;
    decodeMs?: number;
    commitMs?: number;
  };
  /** The merchant is null for events that belong to none (test events, unmatched Collectmaxx results). */
  'event:stored': { eventId: string; type: string; endpointIds: string[]; merchantId?: string | null };
  /** One intake transaction (a batch of callbacks) committed or failed. */
  'store:commit': { items: number; durationMs: number; ok: boolean };
  /** A callback with a stored identity but other content (see callback.conflict). */
  conflict: { merchantId: string; firstEventId: string; conflictEventId: string; fields: string[] };
  attempt: {
    endpointId: string;
    eventId: string;
    deliveryId: number;
    attempt: number;
    statusCode: number | null;
    errorClass: ErrorClass | null;
    /** When the attempt began and ended (epoch ms) and when its delivery was created (the event was stored). */
    startedAt: number;
    finishedAt: number;
    createdAt: number;
    durationMs: number;
    result: 'succeeded' | 'failed' | 'dead' | 'lease_lost';
    nextAttemptAt?: number;
    /** The W3C trace context sent in `traceparent`, when tracing is on. */
    trace?: TraceIds;
  };
  'endpoint:disabled': { endpointId: string; reason: 'gone' | 'failing' | 'operator' };
  'endpoint:enabled': { endpointId: string };
  /** A Collectmaxx export rule turned an event into a record (queued) or a reject (with every reason code). */
  'collectmaxx:record': { result: 'queued' | 'rejected'; reasons: string[] };
  'collectmaxx:file': { name: string; records: number };
  'collectmaxx:import': { name: string; result: 'imported' | 'skipped' | 'failed'; events: number };
  'collectmaxx:result-event': { type: string };
  /** An erasure finished: rows changed per table (archive lines under `archive`). */
  erasure: { seq: number; actor: string; rows: Record<string, number>; purged: boolean };
  'collectmaxx:sftp': { uploaded: number; downloaded: number; error: string | null };
  /** Rows retention wrote to an archive file (src/lifecycle/sweeper.ts); `cls` is its class. */
  'retention:archived': { cls: RetentionClass; rows: number };
  /** Rows retention deleted. */
  'retention:purged': { cls: RetentionClass; rows: number };
}

/** A typed wrapper over EventEmitter so observers cannot subscribe to a misspelt event. */
export class Hub {
  private readonly ee = new EventEmitter();
  constructor() {
    this.ee.setMaxListeners(50);
  }
  on<K extends keyof RelayEventMap>(name: K, fn: (e: RelayEventMap[K]) => void): () => void {
    this.ee.on(name, fn);
    return () => this.ee.off(name, fn);
  }
  emit<K extends keyof RelayEventMap>(name: K, e: RelayEventMap[K]): void {
    this.ee.emit(name, e);
  }
}
