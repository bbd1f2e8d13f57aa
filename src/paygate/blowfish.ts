// Blowfish-ECB as Paygate uses it.
//
// Why a class: the Blowfish key schedule (521 block encryptions) costs far
// more than decrypting a callback, so a cipher is keyed once per merchant key
// and reused.
//
// Decryption, the hot path, has two backends with the same output:
// - `openssl`: OpenSSL's bf-ecb through node:crypto, one Decipher per key kept
//   for the process's life. With padding off, ECB update() returns every whole
//   block it is given and keeps no state between calls, so the one keyed
//   context serves every callback. bf-ecb lives in OpenSSL 3's legacy provider,
//   which Node loads only when started with --openssl-legacy-provider (or an
//   openssl.cnf that activates it): whether it is there is tried once, at load.
// - `js`: a plain Blowfish round loop over the key schedule blowfish-node
//   computed. blowfish-node's own decode allocates per round and per block and
//   is about 3-4x slower; it stays as the fallback should its schedule ever
//   not have the standard shape (18 P words, 4 x 256 S words).
// Encryption (the simulator, tests) always goes through blowfish-node.
//
// blowfish-node always applies a padding mode on decode and offers no "none".
// We use PADDING.NULL: on decode it strips only 0x00 bytes (at most 8), so the
// raw block output is restored exactly by zero-filling back to the ciphertext
// length. Unpadding is the caller's job (plaintext.ts), because the Len rule
// must see the padding bytes.

import { createDecipheriv, type Decipher } from 'node:crypto';
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

export type BlowfishBackend = 'openssl' | 'js';

function opensslBlowfish(): boolean {
  try {
    const d = createDecipheriv('bf-ecb', Buffer.alloc(16), null);
    d.setAutoPadding(false);
    return d.update(Buffer.alloc(BLOCK)).length === BLOCK;
  } catch {
    // ERR_OSSL_EVP_UNSUPPORTED (no legacy provider) or a Node built without Blowfish.
    return false;
  }
}

/** The backend new ciphers use: `openssl` when this process can reach bf-ecb, else `js`. */
export const BLOWFISH_BACKEND: BlowfishBackend = opensslBlowfish() ? 'openssl' : 'js';

/** blowfish-node's key schedule as typed arrays, or null when it is not the standard shape. */
function schedule(bf: BlowfishInstance): { p: Int32Array; s: Int32Array[] } | null {
  const raw = bf as unknown as { p?: unknown; s?: unknown };
  const ok = (a: unknown, n: number): a is number[] => Array.isArray(a) && a.length === n && a.every((x) => typeof x === 'number');
  if (!ok(raw.p, 18) || !Array.isArray(raw.s) || raw.s.length !== 4 || !raw.s.every((box) => ok(box, 256))) return null;
  return { p: Int32Array.from(raw.p), s: (raw.s as number[][]).map((box) => Int32Array.from(box)) };
}

export class BlowfishCipher {
  readonly #bf: BlowfishInstance;
  readonly backend: BlowfishBackend | 'blowfish-node';
  readonly #openssl: Decipher | null = null;
  readonly #p: Int32Array = new Int32Array(0);
  readonly #s0: Int32Array = new Int32Array(0);
  readonly #s1: Int32Array = new Int32Array(0);
  readonly #s2: Int32Array = new Int32Array(0);
  readonly #s3: Int32Array = new Int32Array(0);

  /** `backend` is for tests and the benchmark; the relay takes BLOWFISH_BACKEND. */
  constructor(key: Buffer, backend: BlowfishBackend | 'blowfish-node' = BLOWFISH_BACKEND) {
    // blowfish-node loops forever extending an empty key: refuse it here.
    if (key.length === 0) throw new Error('Blowfish key must not be empty');
    if (key.length > MAX_KEY_BYTES) throw new Error(`Blowfish key must be at most ${MAX_KEY_BYTES} bytes`);
    // A copy, so later mutation of the caller's buffer cannot change the cipher's identity.
    this.#bf = new Blowfish(new Uint8Array(key), Blowfish.MODE.ECB, Blowfish.PADDING.NULL);
    if (backend === 'openssl') {
      const d = createDecipheriv('bf-ecb', Buffer.from(key), null);
      d.setAutoPadding(false);
      this.#openssl = d;
      this.backend = 'openssl';
      return;
    }
    const ks = backend === 'js' ? schedule(this.#bf) : null;
    if (!ks) {
      this.backend = 'blowfish-node';
      return;
    }
    this.backend = 'js';
    this.#p = ks.p;
    [this.#s0, this.#s1, this.#s2, this.#s3] = ks.s as [Int32Array, Int32Array, Int32Array, Int32Array];
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
    if (cipher.length === 0) return Buffer.alloc(0);
    if (this.#openssl) return this.#openssl.update(cipher);
    if (this.backend === 'js') return this.#decryptJs(cipher);
    const out = Buffer.alloc(cipher.length);
    const stripped = this.#bf.decode(cipher, Blowfish.TYPE.UINT8_ARRAY);
    // Only zero bytes were stripped: the zero-filled tail of `out` restores them.
    out.set(stripped);
    return out;
  }

  /**
   * The 16 rounds backwards (P17..P2) and the output whitening with P1/P0, per
   * 8-byte block. Big-endian words are read and written byte by byte: about
   * 1.7x faster than readInt32BE/writeInt32BE, which check bounds every call.
   * Sums may pass 2^32; `^` and `^=` take them modulo 2^32 (ToInt32), as F needs.
   */
  #decryptJs(c: Buffer): Buffer {
    const p = this.#p;
    const s0 = this.#s0;
    const s1 = this.#s1;
    const s2 = this.#s2;
    const s3 = this.#s3;
    const n = c.length;
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += BLOCK) {
      let l = (c[i]! << 24) | (c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!;
      let r = (c[i + 4]! << 24) | (c[i + 5]! << 16) | (c[i + 6]! << 8) | c[i + 7]!;
      for (let k = 17; k > 1; k -= 2) {
        l ^= p[k]!;
        r ^= ((s0[l >>> 24]! + s1[(l >>> 16) & 255]!) ^ s2[(l >>> 8) & 255]!) + s3[l & 255]!;
        r ^= p[k - 1]!;
        l ^= ((s0[r >>> 24]! + s1[(r >>> 16) & 255]!) ^ s2[(r >>> 8) & 255]!) + s3[r & 255]!;
      }
      r ^= p[0]!;
      l ^= p[1]!;
      // Buffer stores keep the low 8 bits of each value.
      out[i] = r >>> 24;
      out[i + 1] = r >>> 16;
      out[i + 2] = r >>> 8;
      out[i + 3] = r;
      out[i + 4] = l >>> 24;
      out[i + 5] = l >>> 16;
      out[i + 6] = l >>> 8;
      out[i + 7] = l;
    }
    return out;
  }
}
