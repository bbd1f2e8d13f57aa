// Random and malformed bodies: the decoder must answer every one with a
// documented rejection, never throw, never accept, and stay fast.

import t from 'tap';
import { ERROR_CODES } from '../../src/errors.js';
import { decodeCallback } from '../../src/paygate/decode.js';
import { buildCallback } from '../../src/paygate/simulator.js';
import type { RawCallback } from '../../src/paygate/types.js';
import { KEYS, prepared, rng, type Rng } from './_helpers.js';

const ALL = prepared();
const N = 2000;
const r = rng(Number(process.env.PAYGATE_FUZZ_SEED ?? 777));

const real = [KEYS.shopTest, KEYS.shopTwo, KEYS.shopAes].map((m, i) => ({
  id: m.id,
  // Fixed ids and IV so a seed reproduces exactly.
  cb: buildCallback(
    { transId: `T${i}`, code: '00000000', description: 'Müller € 😀', payId: `${i}`.repeat(32), xid: 'f'.repeat(32) },
    m,
    { plainMerchantId: i % 2 === 0, iv: Buffer.alloc(16, i) },
  ),
}));

/** The protected fields of the genuine callbacks: an accepted mutation must reproduce one exactly. */
const protectedOf = (rec: { mid: string; payId: string; xid: string; transId: string; status: string; code: string }) =>
  JSON.stringify([rec.mid, rec.payId, rec.xid, rec.transId, rec.status, rec.code]);
const genuine = new Set(
  real.map(({ cb }) => {
    const res = decodeCallback({ method: 'POST', body: cb.body, contentType: cb.contentType }, prepared());
    if (!res.ok) throw new Error(`fixture does not decode: ${res.reason}`);
    return protectedOf(res.record);
  }),
);

const HEX = '0123456789ABCDEFabcdef';
const hex = (n: number) => Array.from({ length: n }, () => r.pick([...HEX])).join('');
const soupChars = 'abcXYZ019=&%+-_ü€\u0000\n';
const soup = (n: number) => Array.from({ length: n }, () => r.pick([...soupChars])).join('');

function keyValueSoup(rr: Rng): string {
  const keys = ['Data', 'DATA', 'data', 'Len', 'LEN', 'MerchantID', 'mid', 'MID', 'Custom', 'x', '', '%41', 'Dat%61'];
  const values = () =>
    rr.pick([
      () => hex(rr.int(80)),
      () => `${hex(32)}-${hex(rr.int(4) * 32)}`,
      () => String(rr.int(400)),
      () => rr.pick(['ShopTest', 'shoptest', 'ShopAes', 'ShopTwo', 'Nope', '']),
      () => soup(rr.int(20)),
      () => `-${rr.int(9)}`,
    ])();
  return Array.from({ length: rr.int(7) }, () => `${rr.pick(keys)}=${values()}`).join(rr.pick(['&', '&&', '']));
}

function mutateReal(rr: Rng): string {
  const { id, cb } = rr.pick(real);
  const data = cb.data;
  switch (rr.int(5)) {
    case 0: // truncated hex
      return `Len=${cb.len}&Data=${data.slice(0, rr.int(data.length))}`;
    case 1: {
      // One hex digit changed to a different value (not just its case), in the
      // first or last 16 bytes: those hold mid/PayID and the MAC. (A garbled
      // block inside the free-text Description is undetectable by design: the
      // MAC does not cover it; decode.test.ts pins that down.)
      const i = rr.int(2) ? rr.int(32) : data.length - 1 - rr.int(32);
      const c = data[i]!.toUpperCase();
      const d = c === '-' ? 'Z' : HEX[(HEX.indexOf(c) + 1 + rr.int(15)) % 16]!;
      return `Len=${cb.len}&Data=${data.slice(0, i)}${d}${data.slice(i + 1)}`;
    }
    case 2: // wrong Len
      return `Len=${rr.pick([0, 1, cb.len - 1 - rr.int(5), cb.len * 2, 99999])}&Data=${data}`;
    case 3: // Data of one merchant, plain id of another
      return `MerchantID=${rr.pick(['ShopTest', 'ShopTwo', 'ShopAes'].filter((other) => other !== id))}&Len=${cb.len}&Data=${data}`;
    default: // random blocks of the right shape
      return `Len=${rr.int(200)}&Data=${rr.int(2) ? hex(16 * (1 + rr.int(20))) : `${hex(32)}-${hex(32 * (1 + rr.int(6)))}`}`;
  }
}

function body(rr: Rng): Buffer {
  switch (rr.int(4)) {
    case 0:
      return rr.bytes(rr.int(300));
    case 1:
      return Buffer.from(soup(rr.int(200)), 'utf8');
    case 2:
      return Buffer.from(keyValueSoup(rr), 'utf8');
    default:
      return Buffer.from(mutateReal(rr), 'latin1');
  }
}

t.test(`fuzz: ${N} bodies (seed ${r.seed})`, async (t) => {
  const started = performance.now();
  const counts: Record<string, number> = {};
  const failures: string[] = [];
  let equivalent = 0;
  for (let i = 0; i < N; i++) {
    const raw: RawCallback = {
      method: r.int(2) ? 'POST' : 'GET',
      body: body(r),
      contentType: r.pick([
        undefined, undefined, 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=iso-8859-1',
        'text/plain; charset="utf-8"', 'application/x-www-form-urlencoded; charset=bogus', ';;charset=',
      ]),
      kind: r.pick([undefined, undefined, undefined, undefined, undefined, 'payment', 'MD', 'credit', 'bogus', '']),
    };
    let res;
    try {
      res = decodeCallback(raw, ALL);
    } catch (e) {
      failures.push(`#${i} threw ${(e as Error).message}`);
      continue;
    }
    if (res.ok) {
      // CBC lets an IV flip change a key's letter case ("mid" → "Mid"): the
      // same record, so harmless. Anything else accepted is a forgery.
      if (genuine.has(protectedOf(res.record))) equivalent++;
      else failures.push(`#${i} accepted a new record: ${raw.body.toString('latin1').slice(0, 200)}`);
    } else {
      counts[res.reason] = (counts[res.reason] ?? 0) + 1;
      if (!(res.reason in ERROR_CODES) || res.reason === 'internal') failures.push(`#${i} reason ${res.reason}: ${res.detail}`);
      if (!res.detail) failures.push(`#${i} empty detail`);
    }
  }
  const ms = performance.now() - started;
  t.same(failures, [], 'no throws, no new records accepted, only documented reasons');
  t.ok(ms < 5000, `finished in ${ms.toFixed(0)} ms`);
  t.ok(Object.keys(counts).length >= 8, `reasons spread: ${JSON.stringify(counts)}`);
  t.comment(JSON.stringify(counts));
  t.ok(equivalent < 20, `${equivalent} mutations were equivalent to a genuine callback`);
});
