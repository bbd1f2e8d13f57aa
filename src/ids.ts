import { randomBytes } from 'node:crypto';

// Crockford base32: sortable, URL-safe, no ambiguous letters.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// Ids made in the same millisecond share their time part: encode it once.
let lastMs = NaN;
let lastTime = '';

function encodeTime(ms: number): string {
  const t0 = Math.floor(ms);
  if (t0 === lastMs) return lastTime;
  let out = '';
  let t = t0;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  lastMs = t0;
  lastTime = out;
  return out;
}

function encodeRandom(bytes: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = (acc << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/**
 * ULID-shaped ids (48-bit time + 80 random bits) so that ids sort by creation
 * time, which makes newest-first listings and cursors cheap.
 */
export function newId(prefix: 'evt' | 'cb' | 'att' | 'sess', nowMs: number): string {
  return `${prefix}_${encodeTime(nowMs)}${encodeRandom(random10())}`;
}

// One CSPRNG call per 409 ids instead of one per id: randomBytes() is a
// noticeable share of intake CPU when called twice per callback.
const POOL_BYTES = 4090;
let pool = Buffer.alloc(0);
let offset = 0;

function random10(): Buffer {
  if (offset + 10 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  offset += 10;
  return pool.subarray(offset - 10, offset);
}
