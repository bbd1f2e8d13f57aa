// Shared test fixtures: a seeded PRNG (failures reproduce) and merchants.

import { prepareMerchant, type PreparedMerchant } from '../../src/paygate/merchant.js';
import type { MerchantKeys } from '../../src/paygate/types.js';

export interface Rng {
  seed: number;
  next(): number;
  int(maxExclusive: number): number;
  range(min: number, maxInclusive: number): number;
  bytes(n: number): Buffer;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: tiny, fast, good enough to drive test inputs. */
export function rng(seed = Number(process.env.PAYGATE_TEST_SEED ?? 0x5eed1234)): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    seed,
    next,
    int,
    range: (min, max) => min + int(max - min + 1),
    bytes: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
    pick: (items) => items[int(items.length)]!,
  };
}

const WORDS = ['Müller', '€', '😀', 'plain', 'a=b', 'x y', 'Straße', 'ÄÖÜ', '漢字', '&', '%', '+', 'ok', 'é'];

/** A random payload: UTF-8 text with multi-byte characters, Latin-1 bytes, or raw bytes. */
export function randomPayload(r: Rng): Buffer {
  const kind = r.int(4);
  if (kind === 0) return r.bytes(r.int(80));
  const n = r.int(12);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(r.pick(WORDS));
  const text = parts.join(r.pick([' ', '&', '=', '']));
  if (kind === 1) return Buffer.from(text.replace(/[^\u0000-\u00ff]/g, '?'), 'latin1');
  return Buffer.from(text, 'utf8');
}

export const KEYS = {
  shopTest: {
    id: 'ShopTest',
    encryption: 'blowfish',
    keys: [
      { blowfish: Buffer.from('N3wBlowfishK3y!x'), hmac: Buffer.from('new-hmac-key-0123456789abcdefghij') },
      { blowfish: Buffer.from('0ldBlowfishKey'), hmac: Buffer.from('old-hmac-key-0123456789abcdefghij') },
    ],
  },
  shopTwo: {
    id: 'ShopTwo',
    encryption: 'blowfish',
    keys: [{ blowfish: Buffer.from('another-merchant-bf-key'), hmac: Buffer.from('another-merchant-hmac') }],
  },
  shopAes: {
    id: 'ShopAes',
    encryption: 'aes',
    keys: [
      { aes: Buffer.from('0123456789abcdef0123456789abcdef'), hmac: Buffer.from('aes-merchant-hmac-key') },
      { aes: Buffer.from('fedcba9876543210'), hmac: Buffer.from('aes-merchant-old-hmac') },
    ],
  },
} satisfies Record<string, MerchantKeys>;

export function prepared(...ms: MerchantKeys[]): PreparedMerchant[] {
  return (ms.length ? ms : Object.values(KEYS)).map(prepareMerchant);
}

/** Every secret-ish string a detail must never contain. */
export function secretsOf(ms: MerchantKeys[]): string[] {
  const out: string[] = [];
  for (const m of ms) {
    for (const s of m.keys) {
      for (const k of [s.blowfish, s.aes, s.hmac]) {
        if (!k) continue;
        out.push(k.toString('latin1'), k.toString('hex'), k.toString('hex').toUpperCase());
      }
    }
  }
  return out;
}
