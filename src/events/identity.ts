// What makes two Paygate callbacks "the same". Paygate's MAC signs
// PayID*TransID*MerchantID*Status*Code and nothing else, so that is a
// callback's identity: a repeat or the browser return racing the notify has
// it, and so does a callback whose ECB blocks were spliced (XID, amount,
// UserData … are only encrypted). The fingerprint tells those apart: a digest
// per field of the operation and every decrypted field, stored with the
// event, compared in the store's ingest transaction when an identity comes
// again. Equal fingerprints: a duplicate. Different: a conflict, and the
// differing field names are the keys whose digests differ.

import { createHash, hash } from 'node:crypto';

export interface Identity {
  merchantId: string;
  payId: string;
  transId: string;
  status: string;
  code: string;
}

/** The dedupe key: a digest of the signed identity (decrypted text never contains U+001F). */
export function identityKey(i: Identity): string {
  return createHash('sha256').update(['paygate', i.merchantId, i.payId, i.transId, i.status, i.code].join('\u001f')).digest('hex');
}

/** The dedupe key of the `callback.conflict` event for one conflicting version of an identity. */
export function conflictKey(identity: string, fingerprint: string): string {
  return `conflict:${identity}:${createHash('sha256').update(fingerprint).digest('hex')}`;
}

/** The decrypted fields of an event's `data`, by name; `fields.*` holds the rest. Codes are derived, Custom pairs are plain. */
const DATA_FIELDS = ['payId', 'xid', 'transId', 'status', 'code', 'description', 'mandateId', 'refNr', 'userData', 'plain', 'eventToken'] as const;

// One-shot crypto.hash: a third of createHash's cost, and a callback has a dozen fields.
const digest = (v: string) => hash('sha256', v, 'hex').slice(0, 16);

/** Field → digest, keys sorted, as the JSON text stored in events.fingerprint. */
export function fingerprintOf(e: { operation: string; data: Record<string, unknown> }): string {
  const out: Record<string, string> = { operation: digest(e.operation) };
  for (const f of DATA_FIELDS) {
    const v = e.data[f];
    if (typeof v === 'string') out[f] = digest(v);
  }
  const extra = e.data.fields;
  if (extra && typeof extra === 'object') {
    for (const [k, v] of Object.entries(extra as Record<string, unknown>)) if (typeof v === 'string') out[`fields.${k}`] = digest(v);
  }
  return JSON.stringify(Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** The names of a Paygate event's data that only the encryption protects (not the MAC). */
export function encryptedOnlyFields(data: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const f of DATA_FIELDS) if (f !== 'payId' && f !== 'transId' && f !== 'status' && f !== 'code' && typeof data[f] === 'string') out.push(f);
  const extra = data.fields;
  if (extra && typeof extra === 'object') for (const k of Object.keys(extra)) out.push(`fields.${k}`);
  return out;
}

/**
 * For a Paygate event stored before fingerprints existed: its new dedupe key and its fingerprint,
 * from the stored payload; null when the payload is not a Paygate event.
 */
export function upgradeStoredEvent(payload: string): { dedupeKey: string; fingerprint: string } | null {
  let e: { source?: unknown; merchantId?: unknown; operation?: unknown; data?: Record<string, unknown> };
  try {
    e = JSON.parse(payload) as typeof e;
  } catch {
    return null;
  }
  const d = e.data;
  if (e.source !== 'paygate' || typeof e.merchantId !== 'string' || typeof e.operation !== 'string' || !d) return null;
  const [payId, transId, status, code] = [d.payId, d.transId, d.status, d.code];
  if (typeof payId !== 'string' || typeof transId !== 'string' || typeof status !== 'string' || typeof code !== 'string') return null;
  return { dedupeKey: identityKey({ merchantId: e.merchantId, payId, transId, status, code }), fingerprint: fingerprintOf({ operation: e.operation, data: d }) };
}
