import { createHash } from 'node:crypto';
import type { Endpoint } from './delivery/endpoints.js';
import { RelayError, type ErrorCode } from './errors.js';
import { buildPaygateEvent } from './events/envelope.js';
import { publishEvent, type OutgoingEvent, type PublishDeps } from './events/publish.js';
import { newId } from './ids.js';
import type { Hub } from './observe.js';
import { decodeCallback } from './paygate/decode.js';
import type { PreparedMerchant } from './paygate/merchant.js';
import type { Channel, DecodeOk, DecodeResult } from './paygate/types.js';
import { CommitQueue } from './store/commit-queue.js';
import type { IngestItem, IngestResult, Store } from './store/types.js';

/** A callback as the HTTP layer hands it over. */
export interface IncomingCallback {
  channel: Channel;
  method: 'GET' | 'POST';
  path: string;
  kind?: string;
  contentType?: string;
  remoteIp?: string;
  headers: Record<string, string>;
  body: Buffer;
  receivedAt: number;
}

export type IntakeOutcome =
  | { result: 'accepted' | 'duplicate'; callbackId: string; eventId: string; decoded: DecodeOk }
  | { result: 'quarantined'; callbackId: string; reason: ErrorCode; detail: string; merchantId?: string };

const FORM = 'application/x-www-form-urlencoded';

/** The request headers worth keeping with a raw callback (never Authorization or cookies). */
export const KEPT_HEADERS = ['content-type', 'content-length', 'user-agent', 'x-forwarded-for', 'x-forwarded-proto', 'x-real-ip'];

export function dedupeKey(d: DecodeOk): string {
  const r = d.record;
  return createHash('sha256').update([d.merchantId, r.payId, r.xid, r.transId, r.status, r.code].join('\u0000')).digest('hex');
}

/** What an operator may see of a decoded callback: everything but the MAC. */
export function displayFields(d: DecodeOk): Record<string, unknown> {
  const { mac: _mac, ...rest } = d.record;
  return { ...rest, custom: d.custom };
}

export function decodeIncoming(c: Pick<IncomingCallback, 'method' | 'contentType' | 'body' | 'kind'>, merchants: PreparedMerchant[]): DecodeResult {
  const mediaType = c.contentType?.split(';')[0]?.trim().toLowerCase();
  if (c.method === 'POST' && mediaType && mediaType !== FORM) {
    return { ok: false, reason: 'unsupported_media_type', detail: `content type ${mediaType.slice(0, 60)}` };
  }
  return decodeCallback({ method: c.method, contentType: c.contentType, body: c.body, kind: c.kind }, merchants);
}

export class Intake {
  private readonly queue: CommitQueue<IngestItem, IngestResult>;
  private readonly publish: PublishDeps;

  constructor(
    private readonly store: Store,
    private readonly merchants: () => PreparedMerchant[],
    endpoints: () => Endpoint[],
    private readonly hub: Hub,
  ) {
    this.queue = new CommitQueue(async (items) => {
      const t0 = performance.now();
      let ok = false;
      try {
        const r = await this.store.ingest(items);
        ok = true;
        return r;
      } finally {
        this.hub.emit('store:commit', { items: items.length, durationMs: performance.now() - t0, ok });
      }
    });
    this.publish = { store, endpoints, hub };
  }

  /** The event for a verified callback, ready to publish. */
  eventOf(d: DecodeOk, channel: Channel, receivedAt: number): OutgoingEvent {
    const event = buildPaygateEvent(d, { id: newId('evt', receivedAt), receivedAt, channel });
    return {
      id: event.id,
      type: event.type,
      source: 'paygate',
      merchantId: d.merchantId,
      operation: d.operation,
      outcome: d.outcome,
      transId: d.record.transId,
      payId: d.record.payId,
      mandateId: d.record.mandateId ?? null,
      receivedAt,
      dedupeKey: dedupeKey(d),
      payload: JSON.stringify(event),
    };
  }

  /** Decode, then commit (callback + event + deliveries in one transaction) before answering. */
  async receive(c: IncomingCallback, startedAt: number): Promise<IntakeOutcome> {
    const t0 = performance.now();
    const decoded = decodeIncoming(c, this.merchants());
    const t1 = performance.now();
    const callbackId = newId('cb', c.receivedAt);
    const base = {
      id: callbackId,
      receivedAt: c.receivedAt,
      channel: c.channel,
      method: c.method,
      path: c.path,
      kind: c.kind ?? null,
      contentType: c.contentType ?? null,
      remoteIp: c.remoteIp ?? null,
      headers: c.headers,
      body: c.body,
    };
    let stored: IngestResult;
    try {
      stored = decoded.ok
        // The event commits with its callback, in the same group commit.
        ? await publishEvent(this.publish, this.eventOf(decoded, c.channel, c.receivedAt), c.receivedAt, (event) => this.queue.push({
            callback: { ...base, merchantId: decoded.merchantId, state: 'accepted', reason: null, detail: null, decoded: displayFields(decoded) },
            event,
          }))
        : await this.queue.push({
            callback: { ...base, merchantId: decoded.merchantId ?? null, state: 'quarantined', reason: decoded.reason, detail: decoded.detail, decoded: null },
          });
    } catch (err) {
      throw new RelayError('storage_unavailable', (err as Error).message);
    }

    const durationMs = Date.now() - startedAt;
    const timing = { startedAt, durationMs, decodeMs: t1 - t0, commitMs: performance.now() - t1 };
    if (!decoded.ok) {
      this.hub.emit('callback', { callbackId, channel: c.channel, result: 'quarantined', reason: decoded.reason, merchantId: decoded.merchantId, ...timing });
      return { result: 'quarantined', callbackId, reason: decoded.reason, detail: decoded.detail, merchantId: decoded.merchantId };
    }
    const result = stored.duplicate ? 'duplicate' : 'accepted';
    const eventId = stored.eventId!;
    this.hub.emit('callback', {
      callbackId, channel: c.channel, result, merchantId: decoded.merchantId, operation: decoded.operation, outcome: decoded.outcome,
      eventId, eventType: decoded.eventType, keySlot: decoded.keySlot, ...timing,
    });
    return { result, callbackId, eventId, decoded };
  }

  /** Run a quarantined callback through decoding again (after a key fix). */
  async reprocess(callbackId: string): Promise<{ result: 'accepted' | 'duplicate'; eventId: string } | { result: 'still_quarantined'; reason: ErrorCode; detail: string } | null> {
    const cb = await this.store.getCallback(callbackId);
    if (!cb || cb.state !== 'quarantined') return null;
    const decoded = decodeIncoming(
      { method: cb.method === 'GET' ? 'GET' : 'POST', contentType: cb.contentType ?? undefined, body: cb.body, kind: cb.kind ?? undefined },
      this.merchants(),
    );
    if (!decoded.ok) return { result: 'still_quarantined', reason: decoded.reason, detail: decoded.detail };
    // The event keeps the time Paygate called us; its deliveries start now.
    const now = Date.now();
    const stored = await publishEvent(this.publish, this.eventOf(decoded, cb.channel, cb.receivedAt), now,
      (draft) => this.store.resolveQuarantine(callbackId, draft, decoded.merchantId, displayFields(decoded), now));
    if (!stored) return null;
    return { result: stored.duplicate ? 'duplicate' : 'accepted', eventId: stored.eventId! };
  }
}
