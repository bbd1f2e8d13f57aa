// Child of crypto.ts, run as `node --openssl-legacy-provider --import tsx openssl-bf.ts INPUT.json`:
// OpenSSL's bf-ecb through node:crypto over the same ciphertexts the relay
// decrypts, two ways: a new decipher per input (what a caller of
// createDecipheriv does by default: a key schedule every time) and the
// relay's BlowfishCipher, which under this flag picks its `openssl` backend
// (one keyed decipher per key, reused). Prints one JSON line.
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BLOWFISH_BACKEND, BlowfishCipher } from '../../src/paygate/blowfish.js';

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { key: string; data: string[]; minMs: number };
const key = Buffer.from(input.key, 'hex');
const data = input.data.map((h) => Buffer.from(h, 'hex'));

/** Fastest pass of 25 consecutive inputs (see crypto.ts opsPerSec). */
function opsPerMs(fn: (b: Buffer) => unknown): { ops: number; ms: number } {
  const PASS = 25;
  for (const buf of data) fn(buf); // warm-up round
  let best = Infinity;
  let at = 0;
  const start = performance.now();
  while (performance.now() - start < input.minMs) {
    const t0 = performance.now();
    for (let i = 0; i < PASS; i++) fn(data[(at + i) % data.length]!);
    best = Math.min(best, performance.now() - t0);
    at = (at + PASS) % data.length;
  }
  return { ops: PASS, ms: best };
}

const fresh = (buf: Buffer) => {
  const d = createDecipheriv('bf-ecb', key, null);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(buf), d.final()]);
};
const cipher = new BlowfishCipher(key);
const perInput = opsPerMs(fresh);
const reused = opsPerMs((b) => cipher.decrypt(b));
process.stdout.write(JSON.stringify({
  detected: BLOWFISH_BACKEND, backend: cipher.backend, perInput, reused,
  first: fresh(data[0]!).toString('hex'), firstReused: cipher.decrypt(data[0]!).toString('hex'),
}) + '\n');
