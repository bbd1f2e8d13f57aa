import type { Channel, DecodeOk } from '../paygate/types.js';
import { encryptedOnlyFields } from './identity.js';
import { MAC_FIELDS, paygateEventSchema, type Origin, type PaygateEvent } from './schema.js';

/** Drop undefined members so the stored JSON has no `null`/absent ambiguity. */
function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** Turn a verified callback into the typed event; the schema check guards the wire format. */
export function buildPaygateEvent(d: DecodeOk, meta: { id: string; receivedAt: number; channel: Channel; origin: Origin }): PaygateEvent {
  const r = d.record;
  const data = compact({
    payId: r.payId,
    xid: r.xid,
    transId: r.transId,
    status: r.status,
    code: r.code,
    codeInfo: d.codeInfo,
    description: r.description,
    mandateId: r.mandateId,
    refNr: r.refNr,
    userData: r.userData,
    plain: r.plain,
    eventToken: r.eventToken,
    fields: r.fields,
    custom: d.custom,
    customAuthenticated: false as const,
  });
  const event = {
    id: meta.id,
    type: d.eventType,
    source: 'paygate' as const,
    merchantId: d.merchantId,
    operation: d.operation,
    outcome: d.outcome,
    channel: meta.channel,
    receivedAt: new Date(meta.receivedAt).toISOString(),
    data,
    origin: meta.origin,
    authenticated: {
      mac: [...MAC_FIELDS],
      signedUrl: meta.origin.signedUrl ? (['operation', 'channel'] as const) : [],
      encryptedOnly: encryptedOnlyFields(data),
    },
  };
  return paygateEventSchema.parse(event);
}

const OPTIONAL_DATA = ['description', 'mandateId', 'refNr', 'userData', 'plain', 'eventToken'] as const;

/**
 * The JSON text of buildPaygateEvent's event without the zod parse and the `compact` pass: the
 * object is built in the schema's key order with only the members it has, and serialised once
 * (the same bytes as JSON.stringify(buildPaygateEvent(...)); test/events/envelope-json.test.ts
 * compares both over many callbacks and validates every result against paygateEventSchema,
 * which stays the contract). One difference on purpose: a decrypted or Custom field named
 * `__proto__` is kept, where the schema's record parse drops it.
 */
export function paygateEventJson(d: DecodeOk, meta: { id: string; receivedAt: number; channel: Channel; origin: Origin }): string {
  const r = d.record;
  const data: Record<string, unknown> = { payId: r.payId, xid: r.xid, transId: r.transId, status: r.status, code: r.code, codeInfo: d.codeInfo };
  // encryptedOnlyFields' order: xid, the optional data fields, then fields.*.
  const encryptedOnly = ['xid'];
  for (const f of OPTIONAL_DATA) {
    const v = r[f];
    if (v === undefined) continue;
    data[f] = v;
    encryptedOnly.push(f);
  }
  for (const k of Object.keys(r.fields)) encryptedOnly.push(`fields.${k}`);
  data.fields = r.fields;
  data.custom = d.custom;
  data.customAuthenticated = false;
  const o = meta.origin;
  return JSON.stringify({
    id: meta.id, type: d.eventType, source: 'paygate', merchantId: d.merchantId, operation: d.operation, outcome: d.outcome, channel: meta.channel,
    receivedAt: new Date(meta.receivedAt).toISOString(), data,
    origin: { channel: o.channel, clientIp: o.clientIp, allowFrom: o.allowFrom, signedUrl: o.signedUrl === null ? null : { transIdBound: o.signedUrl.transIdBound }, trusted: o.trusted },
    authenticated: { mac: MAC_FIELDS, signedUrl: o.signedUrl ? SIGNED_URL_FIELDS : [], encryptedOnly },
  });
}

const SIGNED_URL_FIELDS = ['operation', 'channel'];
