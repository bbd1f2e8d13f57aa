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
