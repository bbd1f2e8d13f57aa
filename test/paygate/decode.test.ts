import t from 'tap';
import { createHmac } from 'node:crypto';
import { ERROR_CODES } from '../../src/errors.js';
import { BlowfishCipher } from '../../src/paygate/blowfish.js';
import { decodeCallback } from '../../src/paygate/decode.js';
import { buildCallback, type CallbackSpec, type SimulateOptions, type SimulatedCallback } from '../../src/paygate/simulator.js';
import type { DecodeOk, DecodeRejected, DecodeResult, MerchantKeys, Operation, RawCallback } from '../../src/paygate/types.js';
import { KEYS, prepared, secretsOf } from './_helpers.js';

const ALL = prepared(KEYS.shopTest, KEYS.shopTwo, KEYS.shopAes);
const SECRETS = secretsOf(Object.values(KEYS));

/** Every rejection seen in this file, with the sensitive strings of its callback, checked at the end. */
const seen: { res: DecodeRejected; sensitive: string[] }[] = [];

function post(cb: SimulatedCallback, kind?: string): RawCallback {
  return { method: 'POST', contentType: cb.contentType, body: cb.body, kind };
}

function decode(cb: SimulatedCallback, kind?: string, merchants = ALL): DecodeResult {
  const res = decodeCallback(post(cb, kind), merchants);
  if (!res.ok) {
    const mac = /MAC=([^&]*)/i.exec(cb.plaintext)?.[1];
    seen.push({ res, sensitive: [cb.data, cb.data.toLowerCase(), cb.plaintext, ...(mac ? [mac] : [])] });
  }
  return res;
}

function ok(t: Tap.Test, res: DecodeResult): DecodeOk {
  if (!res.ok) {
    t.fail(`expected ok, got ${res.reason}: ${res.detail}`);
    throw new Error('not ok');
  }
  return res;
}

function rejected(t: Tap.Test, res: DecodeResult, reason: string, merchantId?: string): void {
  t.equal(res.ok, false, `rejected as ${reason}`);
  if (res.ok) return;
  t.equal(res.reason, reason, res.detail);
  t.equal(res.merchantId, merchantId, 'merchantId');
  t.ok(res.reason in ERROR_CODES);
}

const spec = (over: Partial<CallbackSpec> = {}): CallbackSpec => ({ transId: 'T-1001', code: '00000000', ...over });
const sim = (over: Partial<CallbackSpec> = {}, opts: SimulateOptions = {}, m: MerchantKeys = KEYS.shopTest) => buildCallback(spec(over), m, opts);

t.test('every kind × success / pending / failure', async (t) => {
  const kinds: [string | undefined, Partial<CallbackSpec>, Operation, string][] = [
    [undefined, {}, 'payment', 'payment'],
    ['payment', {}, 'payment', 'payment'],
    ['mandate', { mandateId: 'MA-1' }, 'mandate', 'mandate'],
    [undefined, { mandateId: 'MA-1' }, 'mandate', 'mandate'],
    ['debtor', {}, 'debtor', 'debtor'],
    [undefined, { eventToken: 'MD' }, 'debtor', 'debtor'],
    ['OC', {}, 'open_position', 'open_position'],
    [undefined, { eventToken: 'oc' }, 'open_position', 'open_position'],
    ['open-position-reversal', {}, 'open_position_reversal', 'open_position'],
    [undefined, { eventToken: 'OS' }, 'open_position_reversal', 'open_position'],
    ['cr', {}, 'credit', 'credit'],
    ['prepayment', {}, 'prepayment', 'prepayment'],
    [undefined, { eventToken: 'AN' }, 'prepayment', 'prepayment'],
    ['ST', {}, 'prepayment_reversal', 'prepayment'],
    ['prepayment-paid', {}, 'prepayment_paid', 'prepayment'],
    [undefined, { eventToken: 'ze' }, 'prepayment_paid', 'prepayment'],
    ['UP', {}, 'prepayment_update', 'prepayment'],
    [undefined, { eventToken: 'Payment', mandateId: 'MA-2' }, 'mandate', 'mandate'],
  ];
  const successVerb: Record<Operation, string> = {
    payment: 'succeeded', mandate: 'approved', debtor: 'created', open_position: 'created', open_position_reversal: 'reversed',
    credit: 'created', prepayment: 'created', prepayment_reversal: 'reversed', prepayment_paid: 'paid', prepayment_update: 'updated',
  };
  const codes: [string, string, string][] = [
    ['00000000', 'succeeded', 'OK'],
    ['60000000', 'pending', 'PENDING'],
    ['22060203', 'failed', 'FAILED'],
  ];
  for (const [kind, extra, op, family] of kinds) {
    for (const [code, outcome, status] of codes) {
      const cb = sim({ ...extra, code, status, payId: 'P'.repeat(32), xid: 'X'.repeat(32) });
      const res = ok(t, decode(cb, kind));
      const name = `${kind ?? '-'} ${JSON.stringify(extra)} ${code}`;
      t.equal(res.operation, op, name);
      t.equal(res.outcome, outcome, name);
      t.equal(res.eventType, `${family}.${outcome === 'succeeded' ? successVerb[op] : outcome}`, name);
      t.equal(res.merchantId, 'ShopTest');
      t.equal(res.keySlot, 0);
      t.same(
        { payId: res.record.payId, xid: res.record.xid, transId: res.record.transId, status: res.record.status, code: res.record.code },
        { payId: 'P'.repeat(32), xid: 'X'.repeat(32), transId: 'T-1001', status, code },
      );
      t.equal(res.codeInfo.severity, outcome === 'succeeded' ? 'success' : outcome === 'pending' ? 'pending' : 'error');
    }
  }
});

t.test('key spelling, hex case, unknown params, plaintext Custom', async (t) => {
  for (const keyCase of ['canonical', 'upper', 'lower'] as const) {
    for (const hexCase of ['upper', 'lower'] as const) {
      const cb = sim(
        { description: 'Zahlung OK', refNr: 'R-9', userData: 'order=42', plain: 'p1', extra: { NewParam: 'n=v', amount: '1000' }, custom: { shopRef: 'abc', Plain: 'hint', ORDER: 'Müller 1+1' } },
        { keyCase, hexCase },
      );
      const res = ok(t, decode(cb));
      t.equal(res.record.description, 'Zahlung OK');
      t.equal(res.record.refNr, 'R-9');
      t.equal(res.record.userData, 'order=42');
      t.same(res.record.fields, { newparam: 'n=v', amount: '1000' });
      t.equal(res.record.fields.newparam, 'n=v');
      t.equal(res.record.fields.amount, '1000');
      t.same(res.custom, { shopRef: 'abc', Plain: 'hint', ORDER: 'Müller 1+1' }, `${keyCase}/${hexCase}: custom kept as given`);
    }
  }
});

t.test('values with spaces and = inside Data are kept raw', async (t) => {
  const res = ok(t, decode(sim({ description: 'a b=c %41 +', userData: 'k=v' })));
  t.equal(res.record.description, 'a b=c %41 +');
  t.equal(res.record.userData, 'k=v');
});

t.test('key rotation: an old key still verifies and reports its slot', async (t) => {
  const res = ok(t, decode(sim({}, { keySlot: 1 })));
  t.equal(res.keySlot, 1);
  t.equal(res.merchantId, 'ShopTest');
  const aes = ok(t, decode(sim({}, { keySlot: 1 }, KEYS.shopAes)));
  t.equal(aes.keySlot, 1);
});

t.test('merchant found by trying keys when there is no plain MerchantID', async (t) => {
  for (const m of [KEYS.shopTest, KEYS.shopTwo, KEYS.shopAes]) {
    const res = ok(t, decode(sim({}, { plainMerchantId: false }, m)));
    t.equal(res.merchantId, m.id);
  }
  const res = ok(t, decode(sim({}, { plainMerchantId: false, keySlot: 1 })));
  t.equal(res.keySlot, 1);
  t.same(res.custom, {}, 'no MerchantID in custom');
});

t.test('plain MerchantID: case-insensitive match, mid key, unknown merchant', async (t) => {
  t.equal(ok(t, decode(sim({}, { plainMerchantId: 'shoptest' }))).merchantId, 'ShopTest');
  const viaMid = sim({}, { plainMerchantId: false, custom: { mid: 'ShopTest' } } as SimulateOptions);
  t.equal(ok(t, decode(viaMid)).merchantId, 'ShopTest');
  const midPlain = buildCallback(spec({ custom: { MID: 'ShopTest' } }), KEYS.shopTest, { plainMerchantId: false });
  const r = ok(t, decode(midPlain));
  t.same(r.custom, {}, 'plain mid is not custom');
  rejected(t, decode(sim({}, { plainMerchantId: 'Nope' })), 'unknown_merchant');
  rejected(t, decode(sim({}, { plainMerchantId: 'ShopTwo' })), 'decrypt_failed', undefined);
  t.equal(ok(t, decode(sim({}, { plainMerchantId: '' }))).merchantId, 'ShopTest', 'empty plain id is ignored');
  rejected(t, decode(sim(), undefined, []), 'unknown_merchant');
  rejected(t, decode(sim({}, { plainMerchantId: false }), undefined, []), 'unknown_merchant');
});

t.test('fraud: Data from a failure stays a failure on any URL or kind', async (t) => {
  const failure = sim({ code: '22060203', status: 'FAILED' });
  for (const kind of [undefined, 'payment', 'mandate', 'credit']) {
    const res = ok(t, decode(failure, kind));
    t.equal(res.outcome, 'failed');
    t.match(res.eventType, /\.failed$/);
  }
  // Same Data, but the forger sets Status=OK in plain and a success-looking Custom: still failed.
  const body = Buffer.concat([failure.body, Buffer.from('&Status=OK&Code=00000000')]);
  const res = ok(t, decodeCallback({ method: 'POST', contentType: failure.contentType, body }, ALL));
  t.equal(res.outcome, 'failed');
  t.equal(res.record.code, '22060203');
  t.same(res.custom, { Status: 'OK', Code: '00000000' }, 'plain values only land in custom');
});

t.test('MAC problems', async (t) => {
  const otherHmac: MerchantKeys = { ...KEYS.shopTest, keys: [{ blowfish: KEYS.shopTest.keys[0]!.blowfish, hmac: KEYS.shopTwo.keys[0]!.hmac }] };
  rejected(t, decode(sim({}, {}, otherHmac)), 'mac_invalid', 'ShopTest');
  rejected(t, decode(sim({}, { plainMerchantId: false }, otherHmac)), 'mac_invalid', 'ShopTest');
  rejected(t, decode(sim({}, { omitMac: true })), 'mac_missing', 'ShopTest');
  rejected(t, decode(sim({}, { macOverride: '' })), 'mac_invalid', 'ShopTest');
  rejected(t, decode(sim({}, { macOverride: 'A'.repeat(64) })), 'mac_invalid', 'ShopTest');
  // A MAC over another code (the forger's dream: swap Code, keep MAC).
  const macOk = createHmac('sha256', KEYS.shopTest.keys[0]!.hmac).update('P*T*ShopTest*OK*22060203').digest('hex');
  rejected(t, decode(sim({ payId: 'P', transId: 'T', code: '00000000', status: 'OK' }, { macOverride: macOk })), 'mac_invalid', 'ShopTest');
  const lower = createHmac('sha256', KEYS.shopTest.keys[0]!.hmac).update('P*T*ShopTest*OK*00000000').digest('hex');
  ok(t, decode(sim({ payId: 'P', transId: 'T', code: '00000000', status: 'OK' }, { macOverride: lower })));
});

t.test('merchant mismatch: a key of ShopTest decrypts a record claiming ShopTwo', async (t) => {
  rejected(t, decode(sim({}, { midOverride: 'ShopTwo' })), 'merchant_mismatch', 'ShopTest');
  rejected(t, decode(sim({}, { midOverride: 'ShopTwo', plainMerchantId: 'ShopTwo' })), 'decrypt_failed');
  rejected(t, decode(sim({}, { midOverride: 'shoptest' })), 'merchant_mismatch', 'ShopTest');
  rejected(t, decode(sim({}, { midOverride: '' })), 'malformed_plaintext');
});

t.test('every rejection tells the operator what is wrong and where it was tried', async (t) => {
  const raw = (body: string, ct?: string) => decodeCallback({ method: 'POST', contentType: ct, body: Buffer.from(body, 'latin1') }, ALL);
  const garbage = '0011223344556677';
  const badMacTwo: MerchantKeys = { ...KEYS.shopTwo, keys: [{ blowfish: KEYS.shopTwo.keys[0]!.blowfish, hmac: Buffer.from('not-the-hmac-key') }] };
  // What the quarantine page shows, written out by hand.
  const cases: [string, DecodeResult, string, RegExp][] = [
    ['no Data', raw('MerchantID=ShopTest&Len=8'), 'missing_data', /^no Data field, or it is empty$/],
    ['broken escape', raw(`a=%zz&Data=${garbage}`), 'malformed_body', /^a percent escape is broken$/],
    ['Len off', decode(sim({}, { len: 7 })), 'len_mismatch', /^decrypted to a record but Len fits neither its byte nor its character length \(tried 2 key slots of merchant ShopTest\)$/],
    ['no mid inside', decode(sim({}, { midOverride: '' })), 'malformed_plaintext', /^decrypted payload is not a key=value list with a mid /],
    ['unknown charset', raw('Len=8&Data=00', 'application/x-www-form-urlencoded; charset=koi8-r'), 'unsupported_charset', /^the declared charset is not supported$/],
    ['no Len', raw(`MerchantID=ShopTest&Data=${garbage}`), 'missing_len', /^no Len field$/],
    ['bad Len', raw(`MerchantID=ShopTest&Len=8x&Data=${garbage}`), 'missing_len', /^Len is not a positive decimal integer$/],
    ['hex, one merchant', raw('MerchantID=ShopTest&Len=10&Data=xyz1'), 'invalid_hex', /^Data is not valid hex for the cipher \(blowfish merchant ShopTest\)$/],
    ['hex, all merchants', raw('Len=10&Data=ABC'), 'invalid_hex', /\(3 merchants tried\)$/],
    ['wrong keys, two slots', raw(`MerchantID=ShopTest&Len=4&Data=${garbage}`), 'decrypt_failed', /^Data does not decrypt with any key tried \(tried 2 key slots of merchant ShopTest\)$/],
    ['wrong keys, one slot', raw(`MerchantID=ShopTwo&Len=4&Data=${garbage}`), 'decrypt_failed', /\(tried 1 key slot of merchant ShopTwo\)$/],
    ['wrong keys, all merchants', raw(`Len=4&Data=${garbage}`), 'decrypt_failed', /\(tried 3 merchants\)$/],
    ['no MAC', decode(sim({}, { omitMac: true })), 'mac_missing', /^decrypted to a record for this merchant but it carries no MAC \(tried 2 key slots of merchant ShopTest\)$/],
    ['foreign mid', decode(sim({}, { midOverride: 'ShopTwo' })), 'merchant_mismatch', /^decrypted to a record whose mid is not the decrypting key's merchant /],
    // The second merchant's key decrypts, its MAC fails: that is the finding, not the first merchant's failed decryption.
    ['bad MAC, found by keys', decode(sim({}, { plainMerchantId: false }, badMacTwo)), 'mac_invalid', /MAC does not verify \(tried 3 merchants; key slots of merchant ShopTwo decrypted it\)$/],
    ['bad Code', decode(sim({ code: 'x' })), 'invalid_code', /\(merchant ShopTest key slot 0\)$/],
    ['no PayID', decode(sim({ payId: '' }, { keySlot: 1 })), 'missing_field', /^PayID is missing or empty \(merchant ShopTest key slot 1\)$/],
  ];
  for (const [what, res, reason, detail] of cases) {
    t.equal(res.ok ? 'accepted' : res.reason, reason, what);
    if (!res.ok) t.match(res.detail, detail, `${what}: ${res.detail}`);
  }
});

t.test('plain fields: a blank MerchantID is ignored, a repeated plain field keeps its first value', async (t) => {
  t.equal(ok(t, decode(sim({}, { plainMerchantId: '   ' }))).merchantId, 'ShopTest', 'a MerchantID of spaces does not rule every merchant out');
  t.equal(ok(t, decode(sim({}, { plainMerchantId: ' ShopTest ' }))).merchantId, 'ShopTest', 'spaces around the MerchantID are ignored');
  const twice = sim();
  const both = ok(t, decodeCallback({ method: 'POST', contentType: twice.contentType, body: Buffer.concat([twice.body, Buffer.from('&mid=Nobody')]) }, ALL));
  t.equal(both.merchantId, 'ShopTest', 'the first plain merchant id counts, a later mid does not override it');
  const cb = sim();
  const res = ok(t, decodeCallback({ method: 'POST', contentType: cb.contentType, body: Buffer.concat([cb.body, Buffer.from('&order=991&order=992')]) }, ALL));
  t.same(res.custom, { order: '991' });
});

t.test('tampered Data: single hex digit flips', async (t) => {
  const cb = sim({
    payId: 'a'.repeat(32),
    xid: 'b'.repeat(32),
    description: 'a long free-text description that spans several cipher blocks',
  });
  // Byte ranges of the segments the MAC, the merchant check or the XID format check protect.
  const protectedRanges: [number, number][] = [];
  let off = 0;
  for (const seg of cb.plaintext.split('&')) {
    const key = seg.slice(0, seg.indexOf('=')).toLowerCase();
    const end = off + Buffer.byteLength(seg);
    if (key !== 'description') protectedRanges.push([Math.max(0, off - 1), end + 1]);
    off = end + 1;
  }
  const overlapsProtected = (block: number) => protectedRanges.some(([a, b]) => block * 8 < b && block * 8 + 8 > a);
  const reasons = new Set<string>();
  let acceptedInDescription = 0;
  for (let i = 0; i < cb.data.length; i++) {
    const d = cb.data[i] === 'A' ? 'B' : 'A';
    const data = cb.data.slice(0, i) + d + cb.data.slice(i + 1);
    const body = Buffer.from(`MerchantID=ShopTest&Len=${cb.len}&Data=${data}`);
    const res = decodeCallback({ method: 'POST', body }, ALL);
    const block = Math.floor(i / 16);
    if (res.ok) {
      // ECB + a MAC over five fields: a garbled block inside free text cannot be detected.
      t.notOk(overlapsProtected(block), `flip at ${i} (block ${block}) accepted`);
      t.same(
        [res.record.mid, res.record.payId, res.record.xid, res.record.transId, res.record.status, res.record.code],
        ['ShopTest', 'a'.repeat(32), 'b'.repeat(32), 'T-1001', 'OK', '00000000'],
        'an accepted flip never changes a protected field',
      );
      acceptedInDescription++;
    } else {
      reasons.add(res.reason);
      seen.push({ res, sensitive: [data, cb.data, cb.plaintext] });
    }
  }
  t.comment(`flips accepted inside the unauthenticated Description: ${acceptedInDescription}; reasons: ${[...reasons].join(', ')}`);
  for (const r of reasons) {
    t.ok(['mac_invalid', 'mac_missing', 'merchant_mismatch', 'len_mismatch', 'malformed_plaintext', 'decrypt_failed', 'invalid_code', 'missing_field'].includes(r), r);
  }
  t.ok(reasons.has('mac_invalid') && reasons.has('decrypt_failed'));
});

t.test('tampering the XID block (outside the MAC) is caught by its format', async (t) => {
  const cb = sim({ payId: 'a'.repeat(32), xid: 'b'.repeat(32) });
  const xidStart = cb.plaintext.indexOf('XID=') + 4;
  const block = Math.floor((xidStart + 8) / 8); // a block entirely inside the XID value
  let acceptedFlips = 0;
  const reasons = new Set<string>();
  for (let i = block * 16; i < block * 16 + 16; i++) {
    const data = cb.data.slice(0, i) + (cb.data[i] === 'A' ? 'B' : 'A') + cb.data.slice(i + 1);
    const res = decodeCallback({ method: 'POST', body: Buffer.from(`Len=${cb.len}&Data=${data}`) }, ALL);
    if (res.ok) acceptedFlips++;
    else {
      reasons.add(res.reason);
      seen.push({ res, sensitive: [data, cb.data, cb.plaintext] });
    }
  }
  t.equal(acceptedFlips, 0, `all 16 flips rejected (${[...reasons].join(', ')})`);
  t.ok(reasons.has('malformed_plaintext'), 'the format check fires when the garbage is printable');
  rejected(t, decode(sim({ xid: 'b-c' })), 'malformed_plaintext', 'ShopTest');
});

t.test('Len handling', async (t) => {
  const cb = sim({ description: 'Müller € 😀' });
  const withLen = (len: string | null, extra = '') =>
    decodeCallback({ method: 'POST', contentType: cb.contentType, body: Buffer.from(`MerchantID=ShopTest${len === null ? '' : `&Len=${len}`}&Data=${cb.data}${extra}`) }, ALL);
  ok(t, withLen(String(cb.len)));
  ok(t, withLen(` ${cb.len} `.replace(/ /g, '+')), 'surrounding blanks tolerated');
  ok(t, withLen(`00${cb.len}`), 'leading zeros are still decimal');
  const chars = [...cb.plaintext].length;
  t.ok(chars < cb.len);
  ok(t, withLen(String(chars)), 'Len in characters (PHP quirk)');
  for (const bad of [null, '', '0', '-5', 'abc', '12a', '1e2', '0x10', '9999999999']) {
    const res = withLen(bad);
    seen.push(...(res.ok ? [] : [{ res, sensitive: [cb.data] }]));
    rejected(t, res, 'missing_len');
  }
  rejected(t, withLen(String(cb.len - 3)), 'len_mismatch', 'ShopTest');
  // Len reaching into the zero padding: the cut must end the payload, not fall inside the padding.
  for (let k = 1; k <= 3 && (cb.len + k) <= cb.data.length / 2; k++) rejected(t, withLen(String(cb.len + k)), 'len_mismatch', 'ShopTest');
  rejected(t, withLen(String(cb.data.length / 2 + 1)), 'len_mismatch', 'ShopTest');
  rejected(t, withLen(String(cb.data.length)), 'len_mismatch', 'ShopTest');
  rejected(t, withLen(String(cb.len), `&Len=${cb.len}`), 'malformed_body');
  ok(t, decode(sim({ description: 'Müller € 😀' }, { lenMode: 'chars' })));
  ok(t, decode(sim({ description: 'Müller € 😀' }, { lenMode: 'chars', padding: 'pkcs7' })));
  ok(t, decode(sim({}, { padding: 'pkcs7' })));
  ok(t, decode(sim({}, { padding: 'space' })));
  ok(t, decode(sim({ description: 'Müller € 😀' }, { lenMode: 'chars' }, KEYS.shopAes)));
  rejected(t, decode(sim({}, { len: 9 })), 'len_mismatch', 'ShopTest');
});

t.test('Data problems', async (t) => {
  const raw = (body: string, ct?: string) => decodeCallback({ method: 'POST', contentType: ct, body: Buffer.from(body, 'latin1') }, ALL);
  rejected(t, raw('MerchantID=ShopTest&Len=10'), 'missing_data');
  rejected(t, raw('MerchantID=ShopTest&Len=10&Data='), 'missing_data');
  rejected(t, raw('MerchantID=ShopTest&Len=10&Data=xyz1'), 'invalid_hex');
  rejected(t, raw('MerchantID=ShopTest&Len=10&Data=ABC'), 'invalid_hex', undefined);
  rejected(t, raw('MerchantID=ShopTest&Len=10&Data=ABCDEF0123'), 'invalid_hex', undefined);
  rejected(t, raw('Len=10&Data=ABCDEF0123'), 'invalid_hex', undefined);
  rejected(t, raw('MerchantID=ShopTest&Len=4&Data=0011223344556677'), 'decrypt_failed');
  rejected(t, raw('Len=4&Data=0011223344556677'), 'decrypt_failed');
  rejected(t, raw('MerchantID=ShopAes&Len=4&Data=0011223344556677'), 'invalid_hex');
  rejected(t, raw(`MerchantID=ShopAes&Len=4&Data=${'00'.repeat(16)}-${'11'.repeat(16)}`), 'decrypt_failed');
  // AES Data of the wrong shape is malformed whatever the key, not a decryption failure
  // (which would send an operator looking for a wrong key).
  const iv = '00'.repeat(16);
  rejected(t, raw(`MerchantID=ShopAes&Len=4&Data=${iv}-${'11'.repeat(17)}`), 'invalid_hex');
  rejected(t, raw(`MerchantID=ShopAes&Len=4&Data=${iv}-${'11'.repeat(8)}`), 'invalid_hex');
  rejected(t, raw(`MerchantID=ShopAes&Len=4&Data=${iv}-`), 'invalid_hex');
  rejected(t, raw(`MerchantID=ShopAes&Len=4&Data=${'00'.repeat(8)}-${'11'.repeat(16)}`), 'invalid_hex');
  rejected(t, raw(`MerchantID=ShopAes&Len=4&Data=${iv}-${'11'.repeat(16)}-${'11'.repeat(16)}`), 'invalid_hex');
  rejected(t, raw('a=%zz&Data=00'), 'malformed_body');
  rejected(t, raw('Len=8&Data=00&DATA=11'), 'malformed_body');
  rejected(t, raw('Len=8&Data=00', 'application/x-www-form-urlencoded; charset=koi8-r'), 'unsupported_charset');
  const cb = sim();
  const res = decodeCallback({ method: 'POST', contentType: cb.contentType, body: cb.body, kind: 'nope' }, ALL);
  rejected(t, res, 'unknown_kind');
  // An AES Data string sent to a Blowfish merchant.
  const aesData = sim({}, {}, KEYS.shopAes).data;
  rejected(t, raw(`MerchantID=ShopTest&Len=10&Data=${aesData}`), 'invalid_hex');
});

t.test('after acceptance: Code and mandatory fields', async (t) => {
  rejected(t, decode(sim({ code: '2206014h' })), 'invalid_code', 'ShopTest');
  rejected(t, decode(sim({ code: '' })), 'invalid_code', 'ShopTest');
  rejected(t, decode(sim({ code: '000000000' })), 'invalid_code', 'ShopTest');
  rejected(t, decode(sim({ payId: '' })), 'missing_field', 'ShopTest');
  rejected(t, decode(sim({ xid: '' })), 'missing_field', 'ShopTest');
  rejected(t, decode(sim({ transId: '' })), 'missing_field', 'ShopTest');
  rejected(t, decode(sim({ status: '' })), 'missing_field', 'ShopTest');
});

t.test('a signed callback with a core field absent (not only empty) is rejected naming what is missing', async (t) => {
  const slot = KEYS.shopTest.keys[0]!;
  const send = (pairs: [string, string][]) => {
    const get = (k: string) => pairs.find(([n]) => n === k)?.[1] ?? '';
    // Signed as Paygate signs: an absent value is an empty string between the asterisks.
    const mac = createHmac('sha256', slot.hmac).update(['PayID', 'TransID', 'mid', 'Status', 'Code'].map(get).join('*')).digest('hex');
    const plain = Buffer.from([...pairs, ['MAC', mac]].map(([k, v]) => `${k}=${v}`).join('&'));
    const data = new BlowfishCipher(slot.blowfish!).encrypt(plain).toString('hex');
    return decodeCallback({ method: 'POST', contentType: 'application/x-www-form-urlencoded', body: Buffer.from(`MerchantID=ShopTest&Len=${plain.length}&Data=${data}`) }, ALL);
  };
  const full: [string, string][] = [['mid', 'ShopTest'], ['PayID', 'a1'.repeat(16)], ['XID', 'b2'.repeat(16)], ['TransID', 'T-77'], ['Status', 'OK'], ['Code', '00000000']];
  t.equal(send(full).ok, true, 'the complete record is accepted');
  for (const [field, reason] of [['PayID', 'missing_field'], ['XID', 'missing_field'], ['TransID', 'missing_field'], ['Status', 'missing_field'], ['Code', 'invalid_code']] as const) {
    const res = send(full.filter(([k]) => k !== field));
    rejected(t, res, reason, 'ShopTest');
    if (!res.ok) t.match(res.detail, field, `the detail names ${field}`);
  }
  // Without mid inside Data the record belongs to no one: not a MAC or merchant problem.
  rejected(t, send(full.filter(([k]) => k !== 'mid')), 'malformed_plaintext');
});

t.test('duplicate core key inside Data → malformed_plaintext', async (t) => {
  rejected(t, decode(sim({ extra: { code: '00000000' } })), 'malformed_plaintext');
  rejected(t, decode(sim({ extra: { MAC: 'x' } })), 'malformed_plaintext');
  rejected(t, decode(sim({ extra: { MiD: 'ShopTest' } })), 'malformed_plaintext');
  ok(t, decode(sim({ extra: { description: 'second' } })), 'a repeated non-core key is tolerated');
});

t.test('AES merchant round trip, GET, charsets', async (t) => {
  const aes = ok(t, decode(sim({ description: 'Müller € 😀', custom: { a: 'ü' } }, { iv: Buffer.alloc(16, 7), hexCase: 'lower' }, KEYS.shopAes)));
  t.equal(aes.merchantId, 'ShopAes');
  t.equal(aes.record.description, 'Müller € 😀');
  t.same(aes.custom, { a: 'ü' });

  const get = sim({ description: 'über', custom: { note: 'a b&c' } });
  const res = ok(t, decodeCallback({ method: 'GET', body: Buffer.from(get.query) }, ALL));
  t.equal(res.record.description, 'über');
  t.same(res.custom, { note: 'a b&c' });

  const latin = sim({ description: 'Müller', custom: { Name: 'Müller' } }, { charset: 'iso-8859-1' });
  t.match(latin.body.toString(), /Name=M%FCller/);
  const l = ok(t, decode(latin));
  t.equal(l.record.description, 'Müller', 'latin1 plaintext inside Data');
  t.same(l.custom, { Name: 'Müller' });
  const utf = sim({ custom: { Name: 'Müller' } });
  t.match(utf.body.toString(), /Name=M%C3%BCller/);
  t.same(ok(t, decode(utf)).custom, { Name: 'Müller' });
});

t.test('no rejection detail leaks Data, plaintext, MAC or keys', async (t) => {
  t.ok(seen.length > 40, `${seen.length} rejections collected`);
  for (const { res, sensitive } of seen) {
    for (const s of [...sensitive, ...SECRETS]) {
      if (s.length < 6) continue;
      if (res.detail.includes(s)) t.fail(`${res.reason} detail leaks: ${res.detail}`);
    }
    t.ok(res.detail.length > 0 && res.detail.length < 300);
    t.notMatch(res.detail, /[0-9A-Fa-f]{16}/, 'no long hex runs');
  }
});
