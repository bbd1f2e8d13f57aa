// An ingest batch as it crosses to the writer thread: one flat array of the
// small values and one string of the big texts, instead of a structured clone
// of every callback's object graph (a callback, its event draft, its conflict
// draft: about 60 objects and strings each). The texts (the body as latin1,
// the stored JSON columns, the conflict event) are concatenated and cut out
// again by their lengths; structured clone copies one flat string in one go,
// and JSON never re-escapes a text that is JSON already. The answers come back
// as one string.
import type { ConflictDraft, EventDraft, IngestItem, IngestResult } from './types.js';

/** What crosses: the values in a fixed order per item (see encodeIngest), and the texts. */
export type IngestWire = [values: unknown[], texts: string];

/** Caller's side. Per item: 16 callback values, then the event (14 + 2 per delivery) or null, then the conflict (8 + 2 per delivery) or null. */
export function encodeIngest(items: IngestItem[]): IngestWire {
  const v: unknown[] = [];
  let texts = '';
  for (const it of items) {
    const c = it.callback;
    const body = c.body.toString('latin1');
    const headers = typeof c.headers === 'string' ? c.headers : JSON.stringify(c.headers);
    const decoded = c.decoded === null ? null : typeof c.decoded === 'string' ? c.decoded : JSON.stringify(c.decoded);
    v.push(c.id, c.receivedAt, c.channel, c.method, c.path, c.kind, c.contentType, c.remoteIp, c.merchantId, c.state, c.reason, c.detail,
      c.claimedMerchantId ?? null, body.length, headers.length, decoded === null ? -1 : decoded.length);
    texts += body + headers + (decoded ?? '');
    const e = it.event;
    if (e) {
      const fingerprint = e.fingerprint ?? null;
      v.push(e.id, e.dedupeKey, e.type, e.source, e.merchantId, e.operation, e.outcome, e.transId, e.payId, e.mandateId, e.receivedAt,
        e.payload.length, fingerprint === null ? -1 : fingerprint.length, e.deliveries.length);
      for (const d of e.deliveries) v.push(d.endpointId, d.orderKey);
      texts += e.payload + (fingerprint ?? '');
    } else {
      v.push(null);
    }
    const cf = it.conflict;
    if (cf) {
      const event = typeof cf.event === 'string' ? cf.event : JSON.stringify(cf.event);
      v.push(cf.id, cf.dedupeKey, cf.merchantId, cf.transId, cf.payId, cf.receivedAt, event.length, cf.deliveries.length);
      for (const d of cf.deliveries) v.push(d.endpointId, d.orderKey);
      texts += event;
    } else {
      v.push(null);
    }
  }
  return [v, texts];
}

/**
 * Writer's side: the items back, with `headers` and `decoded` as the JSON text they are stored as,
 * the body as a Buffer, and the conflict draft's event as its JSON text (parsed only if a conflict is found).
 */
export function decodeIngest([v, texts]: IngestWire): IngestItem[] {
  let i = 0;
  let at = 0;
  const next = () => v[i++];
  const str = () => v[i++] as string;
  const opt = () => v[i++] as string | null;
  const text = (n: number): string => texts.slice(at, (at += n));
  const deliveries = (n: number) => {
    const out: EventDraft['deliveries'] = [];
    for (let k = 0; k < n; k++) out.push({ endpointId: str(), orderKey: opt() });
    return out;
  };
  const items: IngestItem[] = [];
  while (i < v.length) {
    const [id, receivedAt, channel, method, path, kind, contentType, remoteIp, merchantId, state, reason, detail, claimedMerchantId] =
      v.slice(i, (i += 13)) as [string, number, IngestItem['callback']['channel'], string, string, string | null, string | null, string | null,
        string | null, IngestItem['callback']['state'], string | null, string | null, string | null];
    const [bodyLength, headersLength, decodedLength] = v.slice(i, (i += 3)) as number[];
    const body = Buffer.from(text(bodyLength!), 'latin1');
    const headers = text(headersLength!);
    const decoded = decodedLength! < 0 ? null : text(decodedLength!);
    const item: IngestItem = {
      callback: {
        id, receivedAt, channel, method, path, kind, contentType, remoteIp, merchantId, state, reason, detail, claimedMerchantId,
        // Stored as text: the writer binds these strings as they are (see sqlite-intake.ts).
        headers, decoded, body,
      },
    };
    if (v[i] === null) i++;
    else {
      const [eid, dedupeKey, type, source, eMerchant, operation, outcome, transId, payId, mandateId] = v.slice(i, (i += 10)) as [
        string, string, string, string, string | null, string | null, string | null, string | null, string | null, string | null];
      const eReceivedAt = next() as number;
      const payloadLength = next() as number;
      const fingerprintLength = next() as number;
      const n = next() as number;
      const ds = deliveries(n);
      const payload = text(payloadLength);
      item.event = {
        id: eid, dedupeKey, type, source, merchantId: eMerchant, operation, outcome, transId, payId, mandateId,
        receivedAt: eReceivedAt, payload, fingerprint: fingerprintLength < 0 ? null : text(fingerprintLength), deliveries: ds,
      };
    }
    if (v[i] === null) i++;
    else {
      const [cid, dedupeKey, cMerchant, transId, payId] = v.slice(i, (i += 5)) as string[];
      const cReceivedAt = next() as number;
      const eventLength = next() as number;
      const ds = deliveries(next() as number);
      const conflict: ConflictDraft = {
        id: cid!, dedupeKey: dedupeKey!, merchantId: cMerchant!, transId: transId!, payId: payId!, receivedAt: cReceivedAt, deliveries: ds, event: text(eventLength),
      };
      item.conflict = conflict;
    }
    items.push(item);
  }
  return items;
}

/**
 * The answers as one string: 0 for the common case (a new event, or a callback without one, as
 * the item asked), the result itself otherwise. Both sides hold the items to expand it.
 */
export function encodeIngestResults(results: IngestResult[], items: IngestItem[]): string {
  return JSON.stringify(results.map((r, i) => {
    const it = items[i]!;
    const plain = r.callbackId === it.callback.id && !r.duplicate && !r.conflict && r.eventId === (it.event?.id ?? null);
    return plain ? 0 : r;
  }));
}

export function decodeIngestResults(wire: string, items: IngestItem[]): IngestResult[] {
  return (JSON.parse(wire) as (0 | IngestResult)[]).map((r, i) => {
    if (r !== 0) return r;
    const it = items[i]!;
    return { callbackId: it.callback.id, eventId: it.event?.id ?? null, duplicate: false };
  });
}
