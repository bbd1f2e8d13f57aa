import { routeEvent, type Endpoint } from './delivery/endpoints.js';
import { RelayError, type ErrorCode } from './errors.js';
import { paygateEventJson } from './events/envelope.js';
import { conflictKey, fingerprintOf, identityKey } from './events/identity.js';
import { publishEvent, type OutgoingEvent, type PublishDeps } from './events/publish.js';
import { CONFLICT_EVENT_TYPE, type Origin } from './events/schema.js';
import { newId } from './ids.js';
import type { Hub } from './observe.js';
import { decodeCallback } from './paygate/decode.js';
import type { PreparedMerchant } from './paygate/merchant.js';
import type { Channel, DecodeOk, DecodeRejected, DecodeResult } from './paygate/types.js';
import { checkUrlToken } from './paygate/url-token.js';
import { CommitQueue } from './store/commit-queue.js';
import type { ConflictDraft, IngestItem, IngestResult, Store } from './store/types.js';

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

const q = JSON.stringify;
/** JSON.stringify(displayFields(d)), written without the two copies of the record. */
export function displayFieldsJson(d: DecodeOk): string {
  const r = d.record as unknown as Record<string, unknown>;
  let s = '';
  for (const k of Object.keys(r)) if (k !== 'mac' && r[k] !== undefined) s += `${q(k)}:${q(r[k])},`;
  return `{${s}"operation":${q(d.operation)},"custom":${q(d.custom)}}`;
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
  private readonly publish: PublishDeps;

  constructor(
    private readonly store: Store,
    private readonly merchants: () => PreparedMerchant[],
    private readonly endpoints: () => Endpoint[],
    private readonly hub: Hub,
    private readonly opts: IntakeOptions = { urlSecrets: null, allowFrom: null, browserReturns: () => 'events' },
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

  /** The event for a verified callback, ready to publish (routing happens in publishEvent); its origin for the conflict draft. */
  eventOf(d: DecodeOk, channel: Channel, receivedAt: number, origin: Origin): { out: OutgoingEvent; origin: Origin } {
    const id = newId('evt', receivedAt);
    const out: OutgoingEvent = {
      id,
      type: d.eventType,
      source: 'paygate',
      merchantId: d.merchantId,
      operation: d.operation,
      outcome: d.outcome,
      transId: d.record.transId,
      payId: d.record.payId,
      mandateId: d.record.mandateId ?? null,
      receivedAt,
      dedupeKey: dedupeKey(d),
      // The record's names are the event data's (fingerprintOf reads those and fields.*).
      fingerprint: fingerprintOf({ operation: d.operation, data: d.record as unknown as Record<string, unknown> }),
      payload: paygateEventJson(d, { id, receivedAt, channel, origin }),
    };
    return { out, origin };
  }

  /** The `callback.conflict` event to store should this callback's identity exist with other content. */
  conflictDraft(d: DecodeOk, draft: OutgoingEvent, origin: Origin, callbackId: string): ConflictDraft {
    const id = newId('evt', draft.receivedAt);
    const r = d.record;
    return {
      id, dedupeKey: conflictKey(draft.dedupeKey, draft.fingerprint!), merchantId: d.merchantId, transId: r.transId, payId: r.payId,
      receivedAt: draft.receivedAt,
      deliveries: routeEvent(this.endpoints(), { type: CONFLICT_EVENT_TYPE, merchantId: d.merchantId, transId: r.transId }),
      // As JSON text: the store parses it only when there is a conflict. firstEventId, fields and
      // first are filled in by the store, which alone knows the first event.
      event: JSON.stringify({
        id, type: CONFLICT_EVENT_TYPE, source: 'relay', merchantId: d.merchantId, receivedAt: new Date(draft.receivedAt).toISOString(),
        data: { payId: r.payId, transId: r.transId, status: r.status, code: r.code, firstEventId: '', fields: [], first: null, second: { callbackId, type: draft.type, origin } },
      }),
    };
  }

  /** Decode, check the URL, then commit (callback + event + deliveries, or the conflict, in one transaction) before answering. */
  async receive(c: IncomingCallback, startedAt: number): Promise<IntakeOutcome> {
    const t0 = performance.now();
    let decoded = decodeIncoming(c, this.merchants());
    let signedUrl: Origin['signedUrl'] = null;
    if (decoded.ok) {
      const v = this.checkUrl(c, decoded);
      if (v.ok) signedUrl = v.signedUrl;
      else decoded = v;
    }
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
    const d = decoded;
    // A browser return of a redirect-only merchant is kept for the record; its event comes from the notify.
    const returned = d.ok && c.channel !== 'notify' && this.opts.browserReturns(d.merchantId) === 'redirect-only';
    let stored: IngestResult;
    let conflict: ConflictDraft | undefined;
    try {
      if (!d.ok) {
        stored = await this.queue.push({
          callback: {
            ...base, merchantId: d.merchantId ?? null, claimedMerchantId: d.claimedMerchantId ?? null, state: 'quarantined',
            reason: d.reason, detail: d.detail, decoded: null,
          },
        });
      } else if (returned) {
        stored = await this.queue.push({ callback: { ...base, merchantId: d.merchantId, state: 'returned', reason: null, detail: null, decoded: displayFieldsJson(d) } });
      } else {
        const { out, origin } = this.eventOf(d, c.channel, c.receivedAt, this.origin(c, signedUrl));
        const cf = (conflict = this.conflictDraft(d, out, origin, callbackId));
        // The event commits with its callback (or as a conflict of it), in the same group commit.
        stored = await publishEvent(this.publish, out, c.receivedAt, (draft) => this.queue.push({
          callback: { ...base, merchantId: d.merchantId, state: 'accepted', reason: null, detail: null, decoded: displayFieldsJson(d) },
          event: draft,
          conflict: cf,
        }));
      }
    } catch (err) {
      throw new RelayError('storage_unavailable', (err as Error).message);
    }

    const durationMs = Date.now() - startedAt;
    const timing = { startedAt, durationMs, decodeMs: t1 - t0, commitMs: performance.now() - t1 };
    if (!d.ok) {
      this.hub.emit('callback', {
        callbackId, channel: c.channel, result: 'quarantined', reason: d.reason, merchantId: d.merchantId, claimedMerchantId: d.claimedMerchantId, ...timing,
      });
      return { result: 'quarantined', callbackId, reason: d.reason, detail: d.detail, merchantId: d.merchantId, claimedMerchantId: d.claimedMerchantId };
    }
    const common = { callbackId, channel: c.channel, merchantId: d.merchantId, operation: d.operation, outcome: d.outcome, keySlot: d.keySlot, ...timing };
    if (returned) {
      this.hub.emit('callback', { ...common, result: 'returned' });
      return { result: 'returned', callbackId, decoded: d };
    }
    const result = this.announce(stored, conflict!);
    const eventId = stored.eventId!;
    this.hub.emit('callback', { ...common, result, eventId, eventType: d.eventType });
    return { result, callbackId, eventId, decoded: d };
  }

  /**
   * The result as the callback's answer names it; a conflict is announced here (publishEvent
   * announced the event itself when it was new).
   */
  private announce(stored: IngestResult, conflict: ConflictDraft): 'accepted' | 'duplicate' | 'conflict' {
    if (!stored.conflict) return stored.duplicate ? 'duplicate' : 'accepted';
    const cf = stored.conflict;
    if (cf.created) {
      this.hub.emit('event:stored', {
        eventId: cf.conflictEventId, type: CONFLICT_EVENT_TYPE, endpointIds: conflict.deliveries.map((x) => x.endpointId), merchantId: conflict.merchantId,
      });
    }
    this.hub.emit('conflict', { merchantId: conflict.merchantId, firstEventId: stored.eventId!, conflictEventId: cf.conflictEventId, fields: cf.fields });
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
    const d = decoded;
    if (cb.channel !== 'notify' && this.opts.browserReturns(d.merchantId) === 'redirect-only') {
      // It verifies now, but a browser return of this merchant never makes an event: the notify does.
      return { result: 'still_quarantined', reason: cb.reason as ErrorCode, detail: 'a browser return of a merchant with browserReturns "redirect-only" makes no event; its event comes from the notify' };
    }
    // The event keeps the time Paygate called us; its deliveries start now.
    const { out, origin } = this.eventOf(d, cb.channel, cb.receivedAt, this.origin({ channel: cb.channel, remoteIp: cb.remoteIp ?? undefined }, signedUrl));
    const conflict = this.conflictDraft(d, out, origin, callbackId);
    const now = Date.now();
    const stored = await publishEvent(this.publish, out, now,
      (draft) => this.store.resolveQuarantine(callbackId, draft, d.merchantId, displayFields(d), now, conflict));
    if (!stored) return null;
    return { result: this.announce(stored, conflict), eventId: stored.eventId! };
  }
}
