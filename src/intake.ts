import type { Endpoint } from './delivery/endpoints.js';
import { routeEvent } from './delivery/endpoints.js';
import { RelayError, type ErrorCode } from './errors.js';
import { buildPaygateEvent } from './events/envelope.js';
import { conflictKey, fingerprintOf, identityKey } from './events/identity.js';
import { CONFLICT_EVENT_TYPE, type Origin, type PaygateEvent } from './events/schema.js';
import { newId } from './ids.js';
import type { Hub } from './observe.js';
import { decodeCallback } from './paygate/decode.js';
import type { PreparedMerchant } from './paygate/merchant.js';
import type { Channel, DecodeOk, DecodeRejected, DecodeResult } from './paygate/types.js';
import { checkUrlToken } from './paygate/url-token.js';
import { CommitQueue } from './store/commit-queue.js';
import type { ConflictDraft, EventDraft, IngestItem, IngestResult, Store } from './store/types.js';

/** A callback as the HTTP layer hands it over. */
export interface IncomingCallback {
  channel: Channel;
  /** HEAD on a browser return carries its result in the query string, like GET. */
  method: 'GET' | 'POST' | 'HEAD';
  path: string;
  kind?: string;
  /** The signed-URL token segment after the kind, if the URL has one. */
  token?: string;
  contentType?: string;
  remoteIp?: string;
  headers: Record<string, string>;
  body: Buffer;
  receivedAt: number;
}

export type IntakeOutcome =
  | { result: 'accepted' | 'duplicate' | 'conflict'; callbackId: string; eventId: string; decoded: DecodeOk }
  | { result: 'returned'; callbackId: string; decoded: DecodeOk }
  | { result: 'quarantined'; callbackId: string; reason: ErrorCode; detail: string; merchantId?: string; claimedMerchantId?: string };

export interface IntakeOptions {
  /** paygate.urlSecret as bytes, newest first; null: callback URLs are not signed. */
  urlSecrets: Buffer[] | null;
  /** paygate.allowFrom as a predicate; null when it is not configured. */
  allowFrom: ((ip: string) => boolean) | null;
  /** Whether a merchant's browser returns make events ("events") or only redirect. */
  browserReturns: (merchantId: string) => 'events' | 'redirect-only';
}

const FORM = 'application/x-www-form-urlencoded';

/** The request headers worth keeping with a raw callback (never Authorization or cookies). */
export const KEPT_HEADERS = ['content-type', 'content-length', 'user-agent', 'x-forwarded-for', 'x-forwarded-proto', 'x-real-ip'];

/** The dedupe key: what Paygate's MAC signs (merchant, PayID, TransID, Status, Code); XID is not in it. */
export function dedupeKey(d: DecodeOk): string {
  const r = d.record;
  return identityKey({ merchantId: d.merchantId, payId: r.payId, transId: r.transId, status: r.status, code: r.code });
}

/** What an operator may see of a decoded callback: everything but the MAC. */
export function displayFields(d: DecodeOk): Record<string, unknown> {
  const { mac: _mac, ...rest } = d.record;
  return { ...rest, operation: d.operation, custom: d.custom };
}

export function decodeIncoming(c: Pick<IncomingCallback, 'method' | 'contentType' | 'body' | 'kind'>, merchants: PreparedMerchant[]): DecodeResult {
  const mediaType = c.contentType?.split(';')[0]?.trim().toLowerCase();
  // A POST without Content-Type is read as a form; one with any other (or an unparsable) type is not.
  if (c.method === 'POST' && c.contentType !== undefined && mediaType !== FORM) {
    return { ok: false, reason: 'unsupported_media_type', detail: mediaType ? `content type ${mediaType.slice(0, 60)}` : 'the Content-Type header cannot be parsed' };
  }
  return decodeCallback({ method: c.method === 'POST' ? 'POST' : 'GET', contentType: c.contentType, body: c.body, kind: c.kind }, merchants);
}

/** The token segment of a stored callback path (`/paygate/{channel}/{kind}/{token}`), for reprocessing. */
export function tokenOfPath(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length === 5 && parts[1] === 'paygate' ? decodeURIComponent(parts[4]!) : undefined;
}

type UrlVerdict = { ok: true; signedUrl: Origin['signedUrl'] } | DecodeRejected;

export class Intake {
  private readonly queue: CommitQueue<IngestItem, IngestResult>;

  constructor(
    private readonly store: Store,
    private readonly merchants: () => PreparedMerchant[],
    private readonly endpoints: () => Endpoint[],
    private readonly hub: Hub,
    private readonly opts: IntakeOptions = { urlSecrets: null, allowFrom: null, browserReturns: () => 'events' },
  ) {
    this.queue = new CommitQueue((items) => this.store.ingest(items));
  }

  /**
   * With paygate.urlSecret, the token must have been minted for the merchant that DECRYPTED the
   * callback, the channel and kind of the path, and the decrypted TransID when it binds one.
   */
  checkUrl(c: Pick<IncomingCallback, 'channel' | 'token'>, d: DecodeOk): UrlVerdict {
    const secrets = this.opts.urlSecrets;
    const fail = (reason: ErrorCode, detail: string): DecodeRejected => ({ ok: false, reason, detail, merchantId: d.merchantId });
    if (!secrets) {
      return c.token === undefined ? { ok: true, signedUrl: null }
        : fail('url_token_invalid', 'the URL carries a token but paygate.urlSecret is not set, so it cannot be checked');
    }
    if (c.token === undefined) return fail('url_token_missing', `paygate.urlSecret is set and the URL has no token (merchant ${d.merchantId}, ${c.channel})`);
    const r = checkUrlToken(secrets, c.token, { merchantId: d.merchantId, channel: c.channel, operation: d.operation, transId: d.record.transId });
    if (r.ok) return { ok: true, signedUrl: { transIdBound: r.transIdBound } };
    return fail('url_token_invalid', r.why === 'malformed'
      ? 'the token is not in this relay\'s format'
      : `the token was not minted for merchant ${d.merchantId}, channel ${c.channel}, kind ${d.operation} and this transaction`);
  }

  /** Where the callback came from; trusted only for a notify from allowFrom (on a signed URL when URLs are signed). */
  origin(c: Pick<IncomingCallback, 'channel' | 'remoteIp'>, signedUrl: Origin['signedUrl']): Origin {
    const allow = this.opts.allowFrom;
    const allowFrom = c.channel === 'notify' && allow ? (c.remoteIp !== undefined && allow(c.remoteIp)) : null;
    const trusted = allowFrom === true && (this.opts.urlSecrets === null || signedUrl !== null);
    return { channel: c.channel, clientIp: c.remoteIp ?? null, allowFrom, signedUrl, trusted };
  }

  /** Build the event draft (id, payload, deliveries) for a verified callback. */
  eventDraft(d: DecodeOk, channel: Channel, receivedAt: number, origin: Origin): { draft: EventDraft; event: PaygateEvent } {
    const event = buildPaygateEvent(d, { id: newId('evt', receivedAt), receivedAt, channel, origin });
    const draft: EventDraft = {
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
      fingerprint: fingerprintOf(event),
      payload: JSON.stringify(event),
      deliveries: routeEvent(this.endpoints(), { type: event.type, merchantId: d.merchantId, transId: d.record.transId }),
    };
    return { draft, event };
  }

  /** The `callback.conflict` event to store should this callback's identity exist with other content. */
  conflictDraft(d: DecodeOk, draft: EventDraft, event: PaygateEvent, callbackId: string): ConflictDraft {
    const id = newId('evt', draft.receivedAt);
    const r = d.record;
    return {
      id, dedupeKey: conflictKey(draft.dedupeKey, draft.fingerprint!), merchantId: d.merchantId, transId: r.transId, payId: r.payId,
      receivedAt: draft.receivedAt,
      deliveries: routeEvent(this.endpoints(), { type: CONFLICT_EVENT_TYPE, merchantId: d.merchantId, transId: r.transId }),
      event: {
        id, type: CONFLICT_EVENT_TYPE, source: 'relay', merchantId: d.merchantId, receivedAt: event.receivedAt,
        // firstEventId, fields and first are filled in by the store, which alone knows the first event.
        data: { payId: r.payId, transId: r.transId, status: r.status, code: r.code, firstEventId: '', fields: [], first: null, second: { callbackId, type: event.type, origin: event.origin } },
      },
    };
  }

  /** Decode, check the URL, then commit (callback + event + deliveries, or the conflict, in one transaction) before answering. */
  async receive(c: IncomingCallback, startedAt: number): Promise<IntakeOutcome> {
    let decoded = decodeIncoming(c, this.merchants());
    let signedUrl: Origin['signedUrl'] = null;
    if (decoded.ok) {
      const v = this.checkUrl(c, decoded);
      if (v.ok) signedUrl = v.signedUrl;
      else decoded = v;
    }
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
    let item: IngestItem;
    if (!decoded.ok) {
      item = {
        callback: {
          ...base, merchantId: decoded.merchantId ?? null, claimedMerchantId: decoded.claimedMerchantId ?? null, state: 'quarantined',
          reason: decoded.reason, detail: decoded.detail, decoded: null,
        },
      };
    } else if (c.channel !== 'notify' && this.opts.browserReturns(decoded.merchantId) === 'redirect-only') {
      // Kept for the record; the event comes from the server-to-server notify.
      item = { callback: { ...base, merchantId: decoded.merchantId, state: 'returned', reason: null, detail: null, decoded: displayFields(decoded) } };
    } else {
      const { draft, event } = this.eventDraft(decoded, c.channel, c.receivedAt, this.origin(c, signedUrl));
      item = {
        callback: { ...base, merchantId: decoded.merchantId, state: 'accepted', reason: null, detail: null, decoded: displayFields(decoded) },
        event: draft,
        conflict: this.conflictDraft(decoded, draft, event, callbackId),
      };
    }

    let stored: IngestResult;
    try {
      stored = await this.queue.push(item);
    } catch (err) {
      throw new RelayError('storage_unavailable', (err as Error).message);
    }

    const durationMs = Date.now() - startedAt;
    if (!decoded.ok) {
      this.hub.emit('callback', {
        callbackId, channel: c.channel, result: 'quarantined', reason: decoded.reason, merchantId: decoded.merchantId,
        claimedMerchantId: decoded.claimedMerchantId, durationMs,
      });
      return {
        result: 'quarantined', callbackId, reason: decoded.reason, detail: decoded.detail, merchantId: decoded.merchantId, claimedMerchantId: decoded.claimedMerchantId,
      };
    }
    const common = { callbackId, channel: c.channel, merchantId: decoded.merchantId, operation: decoded.operation, outcome: decoded.outcome, keySlot: decoded.keySlot, durationMs };
    if (!item.event) {
      this.hub.emit('callback', { ...common, result: 'returned' });
      return { result: 'returned', callbackId, decoded };
    }
    const result = this.announce(stored, item);
    const eventId = stored.eventId!;
    this.hub.emit('callback', { ...common, result, eventId, eventType: decoded.eventType });
    return { result, callbackId, eventId, decoded };
  }

  /** Tell observers what the commit stored; the result as the callback's answer names it. */
  private announce(stored: IngestResult, item: Pick<IngestItem, 'event' | 'conflict'>): 'accepted' | 'duplicate' | 'conflict' {
    if (!stored.duplicate) this.hub.emit('event:stored', { eventId: item.event!.id, type: item.event!.type, endpointIds: item.event!.deliveries.map((d) => d.endpointId) });
    if (!stored.conflict) return stored.duplicate ? 'duplicate' : 'accepted';
    const cf = stored.conflict;
    if (cf.created) this.hub.emit('event:stored', { eventId: cf.conflictEventId, type: CONFLICT_EVENT_TYPE, endpointIds: item.conflict!.deliveries.map((d) => d.endpointId) });
    this.hub.emit('conflict', { merchantId: item.conflict!.merchantId, firstEventId: stored.eventId!, conflictEventId: cf.conflictEventId, fields: cf.fields });
    return 'conflict';
  }

  /** Run a quarantined callback through decoding (and the URL check) again, after a key or configuration fix. */
  async reprocess(callbackId: string): Promise<
    { result: 'accepted' | 'duplicate' | 'conflict'; eventId: string } | { result: 'still_quarantined'; reason: ErrorCode; detail: string } | null
  > {
    const cb = await this.store.getCallback(callbackId);
    if (!cb || cb.state !== 'quarantined') return null;
    const method = cb.method === 'GET' || cb.method === 'HEAD' ? cb.method : 'POST';
    let decoded = decodeIncoming({ method, contentType: cb.contentType ?? undefined, body: cb.body, kind: cb.kind ?? undefined }, this.merchants());
    const token = tokenOfPath(cb.path);
    let signedUrl: Origin['signedUrl'] = null;
    if (decoded.ok) {
      const v = this.checkUrl({ channel: cb.channel, token }, decoded);
      if (v.ok) signedUrl = v.signedUrl;
      else decoded = v;
    }
    if (!decoded.ok) return { result: 'still_quarantined', reason: decoded.reason, detail: decoded.detail };
    if (cb.channel !== 'notify' && this.opts.browserReturns(decoded.merchantId) === 'redirect-only') {
      // It verifies now, but a browser return of this merchant never makes an event: the notify does.
      return { result: 'still_quarantined', reason: cb.reason as ErrorCode, detail: 'a browser return of a merchant with browserReturns "redirect-only" makes no event; its event comes from the notify' };
    }
    // The event keeps the time Paygate called us; its deliveries start now.
    const { draft, event } = this.eventDraft(decoded, cb.channel, cb.receivedAt, this.origin({ channel: cb.channel, remoteIp: cb.remoteIp ?? undefined }, signedUrl));
    const conflict = this.conflictDraft(decoded, draft, event, callbackId);
    const stored = await this.store.resolveQuarantine(callbackId, draft, decoded.merchantId, displayFields(decoded), Date.now(), conflict);
    if (!stored) return null;
    return { result: this.announce(stored, { event: draft, conflict }), eventId: stored.eventId! };
  }
}
