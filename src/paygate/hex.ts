// Hex helpers. Paygate's own examples send upper-case hex, PHP SDKs send
// lower case, so decoding accepts both; anything else is rejected outright
// rather than half-decoded. Buffer.from(s, 'hex') is no good here: it silently
// stops at the first bad digit (tampered input would become a shorter
// ciphertext), and it reads characters above U+00FF by their low byte only
// ('\u0130' passes as '0').

/** Nibble value per ASCII code; -1 for everything that is not a hex digit. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[0x41 + i] = 10 + i;
  NIBBLE[0x61 + i] = 10 + i;
}

/**
 * Strict decode: null on odd length or any non-hex character. One pass, no
 * regular expression: this runs on every callback's Data (about 600 digits).
 */
export function hexDecode(s: string): Buffer | null {
  const n = s.length;
  if (n % 2 !== 0) return null;
  const out = Buffer.allocUnsafe(n >> 1);
  for (let i = 0, j = 0; i < n; i += 2, j++) {
    const hc = s.charCodeAt(i);
    const lc = s.charCodeAt(i + 1);
    const hi = hc < 128 ? NIBBLE[hc]! : -1;
    const lo = lc < 128 ? NIBBLE[lc]! : -1;
    if ((hi | lo) < 0) return null;
    out[j] = (hi << 4) | lo;
  }
  return out;
}

export function hexEncode(buf: Buffer, letterCase: 'upper' | 'lower' = 'upper'): string {
  const hex = buf.toString('hex');
  return letterCase === 'upper' ? hex.toUpperCase() : hex;
}
