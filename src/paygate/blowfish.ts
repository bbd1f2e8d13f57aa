// Blowfish-ECB as Paygate uses it, on top of blowfish-node.
//
// Why a class: the Blowfish key schedule (521 block encryptions) costs far
// more than decrypting a callback, so a cipher is keyed once per merchant key
// and reused.
//
// blowfish-node always applies a padding mode on decode and offers no "none".
// We use PADDING.NULL: on decode it strips only 0x00 bytes (at most 8), so the
// raw block output is restored exactly by zero-filling back to the ciphertext
// length. Unpadding is the caller's job (plaintext.ts), because the Len rule
// must see the padding bytes.

import BlowfishModule from 'blowfish-node';

// blowfish-node is CommonJS (`module.exports = Blowfish`) but its typings say
// `export default`, so under NodeNext TypeScript types the default import as
// the module object. At runtime the default import is the class itself; accept
// either shape so a future typings/packaging fix cannot break us.
type BlowfishClass = typeof BlowfishModule.default;
type BlowfishInstance = InstanceType<BlowfishClass>;
const Blowfish: BlowfishClass =
  (BlowfishModule as unknown as { default?: BlowfishClass }).default ?? (BlowfishModule as unknown as BlowfishClass);

const BLOCK = 8;
/** The standard key schedule consumes at most 18 words; further bytes would be silently ignored. */
const MAX_KEY_BYTES = 72;

export class BlowfishCipher {
  readonly #bf: BlowfishInstance;

  constructor(key: Buffer) {
    // blowfish-node loops forever extending an empty key: refuse it here.
    if (key.length === 0) throw new Error('Blowfish key must not be empty');
    if (key.length > MAX_KEY_BYTES) throw new Error(`Blowfish key must be at most ${MAX_KEY_BYTES} bytes`);
    // A copy, so later mutation of the caller's buffer cannot change the cipher's identity.
    this.#bf = new Blowfish(new Uint8Array(key), Blowfish.MODE.ECB, Blowfish.PADDING.NULL);
  }

  /** Zero-pads to a multiple of 8, as Paygate does, then encrypts. */
  encrypt(plain: Buffer): Buffer {
    const padded = Buffer.alloc(Math.ceil(plain.length / BLOCK) * BLOCK);
    plain.copy(padded);
    // blowfish-node would add a whole zero block to an empty input; an empty
    // plaintext has an empty ciphertext.
    if (padded.length === 0) return padded;
    // Input is already block-aligned and non-empty, so PADDING.NULL adds nothing.
    return Buffer.from(this.#bf.encode(padded));
  }

  /** Raw decrypted blocks, padding included. Throws when not a multiple of 8 bytes. */
  decrypt(cipher: Buffer): Buffer {
    if (cipher.length % BLOCK !== 0) throw new Error('Blowfish ciphertext must be a multiple of 8 bytes');
    const out = Buffer.alloc(cipher.length);
    if (cipher.length === 0) return out;
    const stripped = this.#bf.decode(cipher, Blowfish.TYPE.UINT8_ARRAY);
    // Only zero bytes were stripped: the zero-filled tail of `out` restores them.
    out.set(stripped);
    return out;
  }
}
