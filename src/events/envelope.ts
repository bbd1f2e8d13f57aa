import type { Channel, DecodeOk } from '../paygate/types.js';
import { paygateEventSchema, type PaygateEvent } from './schema.js';

/** Drop undefined members so the stored JSON has no `null`/absent ambiguity. */
function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** Turn a verified callback into the typed event; the schema check guards the wire format. */
export function buildPaygateEvent(d: DecodeOk, meta: { id: string; receivedAt: number; channel: Channel }): PaygateEvent {
  const r = d.record;
  const event = {
    id: meta.id,
    type: d.eventType,
    source: 'paygate' as const,
    merchantId: d.merchantId,
    operation: d.operation,
    outcome: d.outcome,
    channel: meta.channel,
    receivedAt: new Date(meta.receivedAt).toISOString(),
    data: compact({
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
    }),
  };
  return paygateEventSchema.parse(event);
}
