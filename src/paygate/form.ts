// application/x-www-form-urlencoded (POST) and raw query strings (GET).
//
// Percent escapes encode BYTES in the body's charset, and Paygate notifies
// often arrive as ISO-8859-1 (a Django shop crashed on exactly that), so we
// percent-decode to bytes first and only then decode text. URLSearchParams
// would assume UTF-8 and turn %FC into U+FFFD.
//
// This runs on every callback, so the common case takes a short path: in a
// body of ASCII bytes (Paygate's notify: hex Data, plain Len and MerchantID) a
// key or value without '%' or '+' is read straight from the body, with no copy
// and no UTF-8 validation (ASCII reads the same in both charsets).

import { isAscii, isUtf8 } from 'node:buffer';

export type FormResult =
  | { ok: true; pairs: [string, string][] }
  | { ok: false; reason: 'malformed_body' | 'unsupported_charset' };

type Charset = 'utf-8' | 'latin1' | 'windows-1252';

// us-ascii is read as ISO-8859-1: every byte maps to one character, decoding
// never fails, and ASCII is unchanged. windows-1252 is ISO-8859-1 except for
// 0x80-0x9F (printable characters such as € and ’ instead of C1 controls).
const CHARSETS: ReadonlyMap<string, Charset> = new Map<string, Charset>([
  ['utf-8', 'utf-8'],
  ['utf8', 'utf-8'],
  ['iso-8859-1', 'latin1'],
  ['iso8859-1', 'latin1'],
  ['iso_8859-1', 'latin1'],
  ['latin1', 'latin1'],
  ['windows-1252', 'windows-1252'],
  ['cp1252', 'windows-1252'],
  ['us-ascii', 'latin1'],
  ['ascii', 'latin1'],
]);

// 0x80-0x9F in windows-1252 (the WHATWG index; the five unassigned bytes keep their C1 code point).
// Node 20's TextDecoder('windows-1252') decodes this range as latin1, so the table is ours.
const CP1252_HIGH = '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F'
  + '\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';

function decodeCp1252(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  return /[\u0080-\u009F]/.test(text) ? text.replace(/[\u0080-\u009F]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!) : text;
}

/** The charset parameter of a Content-Type; undefined when absent. */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  for (const param of contentType.split(';').slice(1)) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    let v = param.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    return v.toLowerCase();
  }
  return undefined;
}

function hexVal(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

/** '+' → space, %XX → byte; null on a broken escape. */
function unescapeBytes(src: Buffer): Buffer | null {
  const out = Buffer.alloc(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x2b) {
      out[n++] = 0x20;
    } else if (b === 0x25) {
      const hi = i + 2 < src.length ? hexVal(src[i + 1]!) : -1;
      const lo = hi >= 0 ? hexVal(src[i + 2]!) : -1;
      if (lo < 0) return null;
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else {
      out[n++] = b;
    }
  }
  return out.subarray(0, n);
}

function decodeBytes(bytes: Buffer, charset: Charset): string {
  if (charset === 'windows-1252') return decodeCp1252(bytes);
  // Declared UTF-8 but not UTF-8: the sender almost certainly meant
  // ISO-8859-1 (the Paygate default). Rejecting would make Paygate repeat a
  // notify that can never succeed, so read it the only other plausible way.
  if (charset === 'latin1' || !isUtf8(bytes)) return bytes.toString('latin1');
  // A BOM stays a character (U+FEFF), as with TextDecoder's ignoreBOM: toString('utf8') keeps it.
  return bytes.toString('utf8');
}

/** True when body[from, to) holds a '%' or a '+'. */
function hasEscape(body: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = body[i]!;
    if (b === 0x25 || b === 0x2b) return true;
  }
  return false;
}

/** One key or value; null on a broken escape. `ascii`: the whole body is ASCII. */
function field(body: Buffer, from: number, to: number, charset: Charset, ascii: boolean): string | null {
  if (from === to) return '';
  if (ascii && !hasEscape(body, from, to)) return body.toString('latin1', from, to);
  const bytes = unescapeBytes(body.subarray(from, to));
  return bytes && decodeBytes(bytes, charset);
}

// Callbacks of one sender carry the same Content-Type string: remember the last answer.
let lastContentType: string | undefined;
let lastCharset: Charset | undefined = 'utf-8';

function charsetFor(contentType: string | undefined): Charset | undefined {
  if (contentType === lastContentType) return lastCharset;
  const label = charsetOf(contentType);
  const charset = label === undefined ? 'utf-8' : CHARSETS.get(label);
  lastContentType = contentType;
  lastCharset = charset;
  return charset;
}

/** Order and key spelling are preserved; empty segments are skipped; `k` alone means `k=`. */
export function parseForm(body: Buffer, contentType?: string): FormResult {
  const charset = charsetFor(contentType);
  if (!charset) return { ok: false, reason: 'unsupported_charset' };

  const ascii = isAscii(body);
  const pairs: [string, string][] = [];
  const n = body.length;
  let start = 0;
  while (start <= n) {
    let end = body.indexOf(0x26, start);
    if (end < 0) end = n;
    if (end > start) {
      let eq = body.indexOf(0x3d, start);
      if (eq >= end) eq = -1;
      const key = field(body, start, eq < 0 ? end : eq, charset, ascii);
      const value = eq < 0 ? '' : field(body, eq + 1, end, charset, ascii);
      if (key === null || value === null) return { ok: false, reason: 'malformed_body' };
      pairs.push([key, value]);
    }
    start = end + 1;
  }
  return { ok: true, pairs };
}
