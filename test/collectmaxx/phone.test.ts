import t from 'tap';
import { normalisePhone } from '../../src/collectmaxx/core/phone.js';

const OK: Array<[input: string, country: string, e164: string]> = [
  ['31107989525', '31', '31107989525'],
  ['+31107989525', '49', '31107989525'],
  ['+31 10 798 9525', '49', '31107989525'],
  ['+31-10-798-9525', '49', '31107989525'],
  ['+31 10 798\u20139525', '49', '31107989525'],
  ['0031107989525', '49', '31107989525'],
  ['00 31 10 7989525', '49', '31107989525'],
  ['010 7989525', '31', '31107989525'],
  ['0170 1234567', '49', '491701234567'],
  ['0612345678', '32', '32612345678'],
  ['  +1 212 555 0100 ', '31', '12125550100'],
  ['6834002', '31', '6834002'],
  ['+123456789012345', '31', '123456789012345'],
];

const BAD: Array<[input: string, why: RegExp]> = [
  ['', /empty/],
  ['   ', /empty/],
  ['+31 (0)10 7989525', /only digits/],
  ['010/7989525', /only digits/],
  ['tel:0107989525', /only digits/],
  ['0107989525x12', /only digits/],
  ['31.10.7989525', /only digits/],
  ['++31107989525', /only digits/],
  ['31+107989525', /only digits/],
  ['+031107989525', /never starts with 0/],
  ['000031107989525', /never starts with 0/],
  ['123456', /too short/],
  ['+1234567890123456', /too long/],
  ['0031 6 12', /too short/],
];

t.test('valid numbers become E.164 digits with country code', async (t) => {
  for (const [input, country, e164] of OK) t.same(normalisePhone(input, country), { ok: true, e164 }, `${input} (${country})`);
});

t.test('anything else is invalid, with a reason', async (t) => {
  for (const [input, why] of BAD) {
    const r = normalisePhone(input, '31');
    t.equal(r.ok, false, input);
    if (!r.ok) t.match(r.reason, why, input);
  }
});

t.test('the default country code itself is checked', async (t) => {
  t.throws(() => normalisePhone('0107989525', '031'), RangeError);
  t.throws(() => normalisePhone('0107989525', '+31'), RangeError);
  t.throws(() => normalisePhone('0107989525', '1234'), RangeError);
});
