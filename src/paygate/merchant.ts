// Turns configured merchant keys into ready ciphers. Done once at start-up:
// the Blowfish key schedule dominates decrypt cost (~10x), and a bad key must
// fail loudly at configuration time, not as a stream of rejected callbacks.

import { AesCipher } from './aes.js';
import { BlowfishCipher } from './blowfish.js';
import type { Encryption, MerchantKeys } from './types.js';

/** Blowfish keys are 32..448 bits in the standard; longer ones are a configuration mistake. */
export const MAX_BLOWFISH_KEY_BYTES = 56;

export type SlotCipher = { kind: 'blowfish'; cipher: BlowfishCipher } | { kind: 'aes'; cipher: AesCipher };

export interface PreparedSlot {
  /** Position in the configured key list (0 = newest). */
  index: number;
  cipher: SlotCipher;
  hmac: Buffer;
}

export interface PreparedMerchant {
  id: string;
  encryption: Encryption;
  slots: readonly PreparedSlot[];
}

/** Throws an Error naming the merchant and slot (never the key) when a key is unusable. */
export function prepareMerchant(m: MerchantKeys): PreparedMerchant {
  if (!m.id) throw new Error('merchant id must not be empty');
  const where = (i: number) => `merchant ${JSON.stringify(m.id)} key slot ${i}`;
  if (m.encryption !== 'blowfish' && m.encryption !== 'aes') {
    throw new Error(`merchant ${JSON.stringify(m.id)}: unknown encryption`);
  }
  if (m.keys.length === 0) throw new Error(`merchant ${JSON.stringify(m.id)} has no key slots`);

  const slots = m.keys.map((slot, index): PreparedSlot => {
    if (!slot.hmac || slot.hmac.length === 0) throw new Error(`${where(index)}: hmac key is missing or empty`);
    let cipher: SlotCipher;
    if (m.encryption === 'blowfish') {
      const key = slot.blowfish;
      if (!key) throw new Error(`${where(index)}: blowfish key is missing`);
      if (key.length === 0) throw new Error(`${where(index)}: blowfish key is empty`);
      if (key.length > MAX_BLOWFISH_KEY_BYTES) {
        throw new Error(`${where(index)}: blowfish key is ${key.length} bytes, at most ${MAX_BLOWFISH_KEY_BYTES} allowed`);
      }
      cipher = { kind: 'blowfish', cipher: new BlowfishCipher(key) };
    } else {
      const key = slot.aes;
      if (!key) throw new Error(`${where(index)}: aes key is missing`);
      if (![16, 24, 32].includes(key.length)) {
        throw new Error(`${where(index)}: aes key is ${key.length} bytes, must be 16, 24 or 32`);
      }
      cipher = { kind: 'aes', cipher: new AesCipher(key) };
    }
    // A private copy: the caller may reuse or wipe its buffers.
    return { index, cipher, hmac: Buffer.from(slot.hmac) };
  });
  return { id: m.id, encryption: m.encryption, slots };
}
