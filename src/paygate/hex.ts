// Hex helpers. Paygate's own examples send upper-case hex, PHP SDKs send
// lower case, so decoding accepts both; anything else is rejected outright
// rather than half-decoded (Buffer.from(s, 'hex') silently stops at the first
// bad digit, which would turn tampered input into a shorter ciphertext).

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Strict decode: null on odd length or any non-hex character. */
export function hexDecode(s: string): Buffer | null {
  if (s.length % 2 !== 0 || !HEX_RE.test(s)) return null;
  return Buffer.from(s, 'hex');
}

export function hexEncode(buf: Buffer, letterCase: 'upper' | 'lower' = 'upper'): string {
  const hex = buf.toString('hex');
  return letterCase === 'upper' ? hex.toUpperCase() : hex;
}
