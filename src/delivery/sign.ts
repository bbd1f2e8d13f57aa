import { createHmac } from 'node:crypto';

// Standard Webhooks signing with node:crypto (the reference library's pure-JS
// SHA-256 is several times slower); test/delivery/sign.test.ts proves the
// headers are byte-identical to the `standardwebhooks` package's.

/** Decode `whsec_<base64>` secrets once per endpoint. */
export function decodeSecrets(secrets: string[]): Buffer[] {
  return secrets.map((s) => Buffer.from(s.startsWith('whsec_') ? s.slice(6) : s, 'base64'));
}

/** `v1,<sig>` for every key, space separated, so receivers can rotate secrets without downtime. */
export function signatureHeader(keys: Buffer[], msgId: string, timestampSec: number, payload: string): string {
  const toSign = `${msgId}.${timestampSec}.${payload}`;
  return keys.map((k) => `v1,${createHmac('sha256', k).update(toSign).digest('base64')}`).join(' ');
}
