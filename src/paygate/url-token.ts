// Signed callback URLs. Paygate's MAC does not cover the URL a callback
// arrives on, so the operation (the `:kind` path segment) and the channel are
// whatever the sender chose: genuine Data of a prepayment creation posted to
// a "paid" URL would read as a payment. With `paygate.urlSecret` the relay
// mints the URLs a shop gives Paygate, each with a token after the kind, and
// takes a callback only when the token was minted for the merchant that
// DECRYPTED it, the channel and kind of the path, and, when the token binds
// one, the decrypted TransID.
//
// Token format (URL-safe, 24 characters, fits Paygate's 256-character URL fields):
//   "1"          version
//   "a" | "t"    a: any TransID of the merchant; t: exactly one TransID
//   22 chars     base64url of the first 16 bytes (128 bits) of
//                HMAC-SHA256(secret, JSON [domain, marker, merchant, channel, operation, transId or ""])
// The operation is the canonical one, so `ZE` and `prepayment-paid` share a
// token. Secrets are a list, newest first: minting uses the first, checking
// tries each (rotation without re-issuing URLs at once).

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Channel, Operation } from './types.js';

const DOMAIN = 'paygate-relay/callback-url/1';
const MAC_BYTES = 16;
export const URL_TOKEN_RE = /^1[at][A-Za-z0-9_-]{22}$/;

export interface UrlClaims {
  merchantId: string;
  channel: Channel;
  operation: Operation;
  /** Bind the URL to one transaction. */
  transId?: string;
}

function compute(secret: Buffer, c: UrlClaims): string {
  const marker = c.transId !== undefined ? 't' : 'a';
  const msg = JSON.stringify([DOMAIN, marker, c.merchantId, c.channel, c.operation, c.transId ?? '']);
  return `1${marker}${createHmac('sha256', secret).update(msg, 'utf8').digest().subarray(0, MAC_BYTES).toString('base64url')}`;
}

/** The token for these claims under the newest secret. */
export function mintUrlToken(secrets: readonly Buffer[], c: UrlClaims): string {
  const newest = secrets[0];
  if (!newest) throw new Error('no URL secret');
  return compute(newest, c);
}

export type UrlTokenCheck =
  | { ok: true; transIdBound: boolean; secretIndex: number }
  | { ok: false; why: 'malformed' | 'mismatch' };

/**
 * Checks a token against what the callback proved: the merchant whose key
 * decrypted it and its decrypted TransID. Constant time per secret; the
 * answer says only whether it matched, never which claim differed.
 */
export function checkUrlToken(secrets: readonly Buffer[], token: string, c: Required<UrlClaims>): UrlTokenCheck {
  if (!URL_TOKEN_RE.test(token)) return { ok: false, why: 'malformed' };
  const bound = token[1] === 't';
  const claims: UrlClaims = bound ? c : { merchantId: c.merchantId, channel: c.channel, operation: c.operation };
  const given = Buffer.from(token, 'latin1');
  for (const [i, secret] of secrets.entries()) {
    const expected = Buffer.from(compute(secret, claims), 'latin1');
    if (expected.length === given.length && timingSafeEqual(expected, given)) return { ok: true, transIdBound: bound, secretIndex: i };
  }
  return { ok: false, why: 'mismatch' };
}

/** Paygate's URLNotify, URLSuccess and URLFailure are ans..256. */
export const PAYGATE_URL_MAX = 256;

export interface CallbackUrlRequest {
  merchantId: string;
  channel: string;
  kind: string;
  transId?: string;
  /** Where the relay is reached from Paygate, e.g. https://pay.shop.example (a path prefix is kept). */
  base?: string;
}

export type CallbackUrl = { ok: true; path: string; url: string | null; token: string; transIdBound: boolean } | { ok: false; error: string };

/**
 * The signed URL a shop gives Paygate. Paygate refuses query strings, so everything
 * travels in path segments: /paygate/{channel}/{kind}/{token}.
 */
export function signedCallbackUrl(secrets: readonly Buffer[] | null, merchantIds: readonly string[], r: CallbackUrlRequest, parseKind: (k: string) => Operation | null): CallbackUrl {
  if (!secrets || secrets.length === 0) return { ok: false, error: 'paygate.urlSecret is not configured: callback URLs are not signed' };
  if (!merchantIds.includes(r.merchantId)) return { ok: false, error: `merchant ${JSON.stringify(r.merchantId)} is not configured` };
  if (r.channel !== 'notify' && r.channel !== 'success' && r.channel !== 'failure') return { ok: false, error: 'channel must be notify, success or failure' };
  const operation = /^[A-Za-z_-]{1,40}$/.test(r.kind) ? parseKind(r.kind) : null;
  if (!operation) return { ok: false, error: `kind ${JSON.stringify(r.kind.slice(0, 40))} is not known (mandate, MD, OC, OS, CR, AN, ST, ZE, UP, payment or their long names)` };
  if (r.transId !== undefined && (r.transId === '' || r.transId.length > 64)) return { ok: false, error: 'trans-id must be 1 to 64 characters (Paygate TransID is ans..64)' };
  const token = mintUrlToken(secrets, { merchantId: r.merchantId, channel: r.channel, operation, transId: r.transId });
  const path = `/paygate/${r.channel}/${r.kind}/${token}`;
  let url: string | null = null;
  if (r.base !== undefined) {
    let u: URL;
    try {
      u = new URL(r.base);
    } catch {
      return { ok: false, error: 'base must be an absolute URL such as https://pay.shop.example' };
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, error: 'base must be an https URL (Paygate calls port 443 only)' };
    if (u.search || u.hash || u.username || u.password) return { ok: false, error: 'base must not carry a query string, fragment or credentials (Paygate refuses query strings)' };
    url = `${u.origin}${u.pathname.replace(/\/+$/, '')}${path}`;
    if (url.length > PAYGATE_URL_MAX) return { ok: false, error: `the URL is ${url.length} characters; Paygate's URL fields hold ${PAYGATE_URL_MAX}` };
  }
  return { ok: true, path, url, token, transIdBound: r.transId !== undefined };
}
