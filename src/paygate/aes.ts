// AES-CBC as Paygate sends it when a merchant has AES switched on:
// Data = hex(IV, 16 bytes) + '-' + hex(ciphertext), PKCS#7 padded.

import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { hexDecode, hexEncode } from './hex.js';

const BLOCK = 16;
const ALGORITHMS: Record<number, string> = { 16: 'aes-128-cbc', 24: 'aes-192-cbc', 32: 'aes-256-cbc' };

export interface AesData {
  iv: Buffer;
  cipher: Buffer;
}

/** Splits `hexIV-hexCipher`; null when the shape, the hex, or the block sizes are wrong. */
export function parseAesData(data: string): AesData | null {
  const dash = data.indexOf('-');
  if (dash < 0 || data.indexOf('-', dash + 1) >= 0) return null;
  const iv = hexDecode(data.slice(0, dash));
  const cipher = hexDecode(data.slice(dash + 1));
  if (!iv || !cipher || iv.length !== BLOCK) return null;
  if (cipher.length === 0 || cipher.length % BLOCK !== 0) return null;
  return { iv, cipher };
}

export class AesCipher {
  readonly algorithm: string;
  readonly #key: KeyObject;

  constructor(key: Buffer) {
    const algorithm = ALGORITHMS[key.length];
    if (!algorithm) throw new Error('AES key must be 16, 24 or 32 bytes');
    this.algorithm = algorithm;
    this.#key = createSecretKey(Buffer.from(key));
  }

  /** For the simulator: returns the Data string `hexIV-hexCipher`. */
  encrypt(plain: Buffer, iv: Buffer, hexCase: 'upper' | 'lower' = 'upper'): string {
    if (iv.length !== BLOCK) throw new Error('AES IV must be 16 bytes');
    const c = createCipheriv(this.algorithm, this.#key, iv);
    const ct = Buffer.concat([c.update(plain), c.final()]);
    return `${hexEncode(iv, hexCase)}-${hexEncode(ct, hexCase)}`;
  }

  /** Plaintext with PKCS#7 removed, or null when the padding does not check (wrong key, tampering). */
  decryptParsed(data: AesData): Buffer | null {
    try {
      const d = createDecipheriv(this.algorithm, this.#key, data.iv);
      return Buffer.concat([d.update(data.cipher), d.final()]);
    } catch {
      return null;
    }
  }

  /** Parses and decrypts a Data string; null on bad shape or failed decryption. */
  decrypt(data: string): Buffer | null {
    const parsed = parseAesData(data);
    return parsed ? this.decryptParsed(parsed) : null;
  }
}
