// Paygate callbacks built without the code under test: the plaintext by hand,
// the MAC with node:crypto, the cipher by OpenSSL (test/oracle). Attack tests
// splice and flip these ciphertexts exactly as an attacker holding genuine
// callbacks of one merchant could.
import { createHmac } from 'node:crypto';
import type { Oracle } from '../oracle/client.js';

export interface Fields {
  mid: string;
  PayID: string;
  TransID: string;
  Status: string;
  Code: string;
  [k: string]: string;
}

/** `k=v&…` in the given order, MAC appended over PayID*TransID*mid*Status*Code. */
export function plaintextOf(f: Fields, hmacKey: string, order: string[] = Object.keys(f)): string {
  const mac = createHmac('sha256', hmacKey).update(`${f.PayID}*${f.TransID}*${f.mid}*${f.Status}*${f.Code}`).digest('hex').toUpperCase();
  return [...order.map((k) => `${k}=${f[k]}`), `MAC=${mac}`].join('&');
}

export function zeroPad(b: Buffer): Buffer {
  const out = Buffer.alloc(Math.ceil(b.length / 8) * 8);
  b.copy(out);
  return out;
}

/** Blowfish ECB by OpenSSL, zero padded as Paygate does. */
export async function blowfishData(oracle: Oracle, key: string, plaintext: string): Promise<Buffer> {
  return oracle.run('encrypt', 'bf-ecb', Buffer.from(key), zeroPad(Buffer.from(plaintext, 'utf8')));
}

/** The form Paygate posts: plain MerchantID, Len, Data (hex, upper case). */
export function formOf(merchantId: string, len: number, data: string): Buffer {
  return Buffer.from(`MerchantID=${merchantId}&Len=${len}&Data=${data}`, 'latin1');
}

/** Copy the 8-byte blocks covering [from, to) of `donor` into `target` (ECB: each block decrypts on its own). */
export function spliceBlocks(target: Buffer, donor: Buffer, from: number, to: number): Buffer {
  const out = Buffer.from(target);
  for (let b = Math.floor(from / 8); b * 8 < to; b++) donor.copy(out, b * 8, b * 8, b * 8 + 8);
  return out;
}

/** The bytes of the blocks covering [from, to), for checking that a splice changes nothing else. */
export function blocksAround(s: string, from: number, to: number): string {
  return s.slice(Math.floor(from / 8) * 8, Math.ceil(to / 8) * 8);
}
