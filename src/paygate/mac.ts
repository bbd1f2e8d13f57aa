// HMAC-SHA256 over PayID*TransID*MerchantID*Status*Code. Most public plugins
// skip this check on notify, which is exactly the hole fraudsters use: without
// it anyone holding old Data can replay or mix fields.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PaygateRecord } from './types.js';

/** MerchantID is the decrypted `mid`; absent values stay empty between the asterisks. */
export function macMessage(r: Pick<PaygateRecord, 'payId' | 'transId' | 'mid' | 'status' | 'code'>): string {
  return [r.payId, r.transId, r.mid, r.status, r.code].join('*');
}

/** Upper-case hex, as in Computop's examples. */
export function computeMac(hmacKey: Buffer, msg: string): string {
  return createHmac('sha256', hmacKey).update(msg, 'utf8').digest('hex').toUpperCase();
}

/** Case-insensitive, constant-time; false when the record has no MAC. */
export function verifyMac(hmacKey: Buffer, record: PaygateRecord): boolean {
  if (record.mac === undefined) return false;
  const expected = Buffer.from(computeMac(hmacKey, macMessage(record)), 'utf8');
  const given = Buffer.from(record.mac.toUpperCase(), 'utf8');
  // timingSafeEqual throws on unequal lengths; the length of a MAC is public anyway.
  if (given.length !== expected.length) return false;
  return timingSafeEqual(given, expected);
}
