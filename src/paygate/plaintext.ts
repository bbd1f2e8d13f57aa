// The Len rule. Paygate zero-pads the plaintext before Blowfish; other senders
// use PKCS#7 or spaces. Len is the byte length before padding and must be
// exact: a cut that falls inside the padding (Len +1..+n) is refused, because a
// Len that does not end the payload means someone other than the sender chose
// it. PHP SDKs compute Len in characters, so with multi-byte UTF-8 it comes out
// too small. Cutting blindly at Len bytes would silently truncate a real
// payload (and could cut a MAC in half), so a short cut is only trusted when
// what follows it is padding; otherwise the padding-stripped payload must have
// exactly Len characters.

import { isUtf8 } from 'node:buffer';

/** PKCS#7 pads to the block size: 8 for Blowfish, 16 for AES. */
const MAX_PKCS7 = 16;

function allBytes(buf: Buffer, value: number): boolean {
  for (const b of buf) if (b !== value) return false;
  return true;
}

function isPkcs7Tail(tail: Buffer): boolean {
  const n = tail.length;
  return n >= 1 && n <= MAX_PKCS7 && allBytes(tail, n);
}

function stripTrailing(buf: Buffer, value: number): Buffer {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === value) end--;
  return buf.subarray(0, end);
}

function stripPkcs7(buf: Buffer): Buffer | null {
  const n = buf.length > 0 ? buf[buf.length - 1]! : 0;
  if (n < 1 || n > MAX_PKCS7 || n > buf.length) return null;
  return isPkcs7Tail(buf.subarray(buf.length - n)) ? buf.subarray(0, buf.length - n) : null;
}

/** The payload candidates left after removing one kind of padding, most common sender first. */
export function paddingCandidates(raw: Buffer): Buffer[] {
  const out = [stripTrailing(raw, 0)];
  const pkcs = stripPkcs7(raw);
  if (pkcs) out.push(pkcs);
  out.push(stripTrailing(raw, 0x20));
  return out;
}

/** Code points of valid UTF-8, or null when the bytes are not UTF-8 (the quirk cannot apply). */
function utf8CharCount(buf: Buffer): number | null {
  if (!isUtf8(buf)) return null;
  // In valid UTF-8 every code point has exactly one non-continuation byte.
  let n = 0;
  for (const b of buf) if ((b & 0xc0) !== 0x80) n++;
  return n;
}

/**
 * True when the cut ends inside the padding rather than at the payload's end:
 * its last byte is a padding byte of the kind that follows it (zeros or
 * spaces), or, with nothing after it, the cut itself ends in zero or PKCS#7
 * padding. A Paygate plaintext never ends in NUL or a PKCS#7 byte; one ending
 * in a space followed by space padding cannot be told from Len +1 and is
 * refused with it.
 */
function endsInPadding(head: Buffer, tail: Buffer): boolean {
  const last = head.length > 0 ? head[head.length - 1]! : -1;
  if (tail.length === 0) return last === 0 || stripPkcs7(head) !== null;
  if (allBytes(tail, 0)) return last === 0;
  if (allBytes(tail, 0x20)) return last === 0x20;
  return false;
}

/** Applies the Len rule to raw decrypted bytes; null means len_mismatch. */
export function cutPlaintext(raw: Buffer, len: number): Buffer | null {
  if (!Number.isSafeInteger(len) || len < 0 || len > raw.length) return null;
  const head = raw.subarray(0, len);
  const tail = raw.subarray(len);
  if (allBytes(tail, 0) || allBytes(tail, 0x20) || isPkcs7Tail(tail)) {
    return endsInPadding(head, tail) ? null : head;
  }
  for (const payload of paddingCandidates(raw)) {
    // Only a payload longer than Len in bytes can be the characters-vs-bytes quirk.
    if (payload.length > len && utf8CharCount(payload) === len) return payload;
  }
  return null;
}

/** UTF-8 when the bytes are valid UTF-8, else ISO-8859-1 (which never fails). */
export function decodeText(buf: Buffer): string {
  // isUtf8 + toString: the same strictness as a fatal TextDecoder (which is slower), BOM kept as U+FEFF.
  return isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1');
}

/**
 * True when the bytes could be a Paygate plaintext: no C0 control characters
 * other than tab/CR/LF, and no DEL. A wrong key yields random bytes, which
 * almost always contain some; this separates "wrong key" from "malformed".
 */
export function looksLikeText(buf: Buffer): boolean {
  for (const b of buf) {
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return false;
  }
  return true;
}
