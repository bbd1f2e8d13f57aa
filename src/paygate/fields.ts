// Parses the decrypted Paygate plaintext `k=v&k=v`. Values stay raw: whether
// Paygate URL-encodes inside Data is undocumented and fixtures carry raw
// spaces, so decoding '%' or '+' here could corrupt real values.

import type { PaygateRecord } from './types.js';

type KnownKey = Exclude<keyof PaygateRecord, 'fields'>;

/** Lower-cased wire key → record property. */
const KNOWN: ReadonlyMap<string, KnownKey> = new Map<string, KnownKey>([
  ['mid', 'mid'],
  ['payid', 'payId'],
  ['xid', 'xid'],
  ['transid', 'transId'],
  ['status', 'status'],
  ['code', 'code'],
  ['mac', 'mac'],
  ['description', 'description'],
  ['mandateid', 'mandateId'],
  ['refnr', 'refNr'],
  ['userdata', 'userData'],
  ['plain', 'plain'],
  ['eventtoken', 'eventToken'],
]);

/**
 * Keys whose duplication is refused: these feed the MAC or the outcome, and
 * two values would let a forger make the MAC check and the business logic
 * read different ones.
 */
const CORE = new Set(['mid', 'payid', 'xid', 'transid', 'status', 'code', 'mac']);

export type ParseFieldsResult =
  | { ok: true; record: PaygateRecord; present: ReadonlySet<KnownKey> }
  | { ok: false; reason: 'malformed_plaintext'; detail: string };

function malformed(detail: string): ParseFieldsResult {
  return { ok: false, reason: 'malformed_plaintext', detail };
}

/**
 * Never throws. `present` lists the known keys that occurred, so callers can
 * tell an absent field from an empty one. Absent core string fields are ''.
 * For a repeated non-core key the first value wins.
 */
export function parseFields(text: string): ParseFieldsResult {
  const known = new Map<KnownKey, string>();
  const extra = new Map<string, string>();
  const seenCore = new Set<string>();
  let index = 0;
  for (const segment of text.split('&')) {
    index++;
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    if (eq < 0) return malformed(`segment ${index} has no '='`);
    if (eq === 0) return malformed(`segment ${index} has an empty key`);
    const rawKey = segment.slice(0, eq);
    const value = segment.slice(eq + 1);
    const lower = rawKey.toLowerCase();
    if (CORE.has(lower)) {
      if (seenCore.has(lower)) return malformed(`core key ${lower} occurs more than once`);
      seenCore.add(lower);
    }
    const prop = KNOWN.get(lower);
    if (prop) {
      if (!known.has(prop)) known.set(prop, value);
    } else if (!extra.has(lower)) {
      extra.set(lower, value);
    }
  }
  if (known.size === 0 && extra.size === 0) return malformed('no key=value pairs');

  const record: PaygateRecord = {
    mid: known.get('mid') ?? '',
    payId: known.get('payId') ?? '',
    xid: known.get('xid') ?? '',
    transId: known.get('transId') ?? '',
    status: known.get('status') ?? '',
    code: known.get('code') ?? '',
    // fromEntries defines own properties, so a key like "__proto__" stays data.
    fields: Object.fromEntries(extra),
  };
  for (const opt of ['mac', 'description', 'mandateId', 'refNr', 'userData', 'plain', 'eventToken'] as const) {
    const v = known.get(opt);
    if (v !== undefined) record[opt] = v;
  }
  return { ok: true, record, present: new Set(known.keys()) };
}
