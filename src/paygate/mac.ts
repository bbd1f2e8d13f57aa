// HMAC-SHA256 over PayID*TransID*MerchantID*Status*Code. Most public plugins
// skip this check on notify, which is exactly the hole fraudsters use: without
// it anyone holding old Data can replay or mix fields.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { hexDecode } from './hex.js';
import type { PaygateRecord } from './types.js';

/** MerchantID is the decrypted `mid`; absent values stay empty between the asterisks. */
export function macMessage(r: Pick<PaygateRecord, 'payId' | 'transId' | 'mid' | 'status' | 'code'>): string {
  return `${r.payId}*${r.transId}*${r.mid}*${r.status}*${r.code}`;
}

/** Upper-case hex, as in Computop's examples. */
export function computeMac(hmacKey: Buffer, msg: string): string {
  return createHmac('sha256', hmacKey).update(msg, 'utf8').digest('hex').toUpperCase();
}

const SHA256_BYTES = 32;

/**
 * Case-insensitive, constant-time; false when the record has no MAC. The
 * given MAC is decoded from hex (either case) and compared as bytes with the
 * raw digest: no hex strings or upper-casing per callback.
 */
export function verifyMac(hmacKey: Buffer, record: PaygateRecord): boolean {
  if (record.mac === undefined) return false;
  const given = hexDecode(record.mac);
  // The length of a MAC is public; timingSafeEqual would throw on unequal lengths.
  if (given === null || given.length !== SHA256_BYTES) return false;
  return timingSafeEqual(given, createHmac('sha256', hmacKey).update(macMessage(record), 'utf8').digest());
}
