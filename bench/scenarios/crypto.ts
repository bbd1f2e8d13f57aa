// Scenario 4, crypto: Blowfish decrypts/s of typical callbacks (~300-byte
// plaintext) with the relay's prepared cipher (blowfish-node, key schedule
// cached per merchant key) against OpenSSL's bf-ecb in a child process under
// --openssl-legacy-provider; the relay's whole decodeCallback per callback;
// HMAC-SHA256 MAC verifications/s with the relay's mac.ts. Same N inputs everywhere.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCallback } from '../../src/paygate/decode.js';
import { hexDecode } from '../../src/paygate/hex.js';
import { verifyMac } from '../../src/paygate/mac.js';
import { prepareMerchant } from '../../src/paygate/merchant.js';
import type { PaygateRecord } from '../../src/paygate/types.js';
import { MERCHANT, ROOT, round, type BenchContext } from '../lib/harness.js';

export interface CryptoResult {
  inputs: number;
  ciphertextBytes: number;
  blowfishNodePerSec: number;
  opensslPerSec: number | null;
  opensslNote?: string;
  /** blowfish-node / OpenSSL. */
  ratio: number | null;
  /** The two ciphers agree on the first input's plaintext. */
  sameOutput: boolean | null;
  decodeCallbackPerSec: number;
  hmacVerifyPerSec: number;
}

/** ops/s of `fn` over all inputs, repeated for at least `minMs` after one warm-up pass. */
function opsPerSec<T>(inputs: readonly T[], fn: (x: T) => unknown, minMs = 1000): number {
  for (const x of inputs) fn(x);
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) for (const x of inputs) (fn(x), ops++);
  return round((ops / (performance.now() - start)) * 1000, 0);
}

export function cryptoScenario(ctx: BenchContext, bodies: readonly Buffer[], contentType: string): CryptoResult {
  const prepared = prepareMerchant(MERCHANT);
  const slot = prepared.slots[0]!;
  if (slot.cipher.kind !== 'blowfish') throw new Error('bench merchant must use blowfish');
  const cipher = slot.cipher.cipher;
  const datas = bodies.map((b) => new URLSearchParams(b.toString('latin1')).get('Data')!);
  const cts = datas.map((d) => hexDecode(d)!);
  ctx.log(`crypto: ${cts.length} callbacks, ${cts[0]!.length}-byte ciphertexts`);

  const blowfishNodePerSec = opsPerSec(cts, (c) => cipher.decrypt(c));
  const raws = bodies.map((body) => ({ method: 'POST' as const, contentType, body, kind: 'OC' }));
  const records: PaygateRecord[] = [];
  for (const raw of raws) {
    const r = decodeCallback(raw, [prepared]);
    if (!r.ok) throw new Error(`bench callback did not decode: ${r.reason}`);
    records.push(r.record);
  }
  const decodeCallbackPerSec = opsPerSec(raws, (raw) => decodeCallback(raw, [prepared]));
  const hmacVerifyPerSec = opsPerSec(records, (r) => verifyMac(slot.hmac, r));

  let opensslPerSec: number | null = null;
  let sameOutput: boolean | null = null;
  let opensslNote: string | undefined;
  try {
    const file = join(ctx.workDir, 'openssl-input.json');
    writeFileSync(file, JSON.stringify({ key: MERCHANT.keys[0]!.blowfish!.toString('hex'), data: datas, minMs: 1000 }));
    const out = JSON.parse(
      execFileSync(process.execPath, ['--openssl-legacy-provider', join(ROOT, 'bench/scenarios/openssl-bf.mjs'), file], { encoding: 'utf8' }),
    ) as { ops: number; ms: number; first: string };
    opensslPerSec = round((out.ops / out.ms) * 1000, 0);
    sameOutput = out.first === cipher.decrypt(cts[0]!).toString('hex');
  } catch (e) {
    opensslNote = `OpenSSL bf-ecb unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
  return {
    inputs: cts.length, ciphertextBytes: cts[0]!.length, blowfishNodePerSec, opensslPerSec, ...(opensslNote ? { opensslNote } : {}),
    ratio: opensslPerSec ? round(blowfishNodePerSec / opensslPerSec, 3) : null, sameOutput, decodeCallbackPerSec, hmacVerifyPerSec,
  };
}
