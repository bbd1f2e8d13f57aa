import t from 'tap';
import { BlowfishCipher } from '../../src/paygate/blowfish.js';
import { buildCallback, callbackQuery } from '../../src/paygate/simulator.js';
import { KEYS } from './_helpers.js';
import { createHmac } from 'node:crypto';

t.test('plaintext order and defaults', async (t) => {
  const cb = buildCallback(
    { transId: 'T1', code: '00000000', payId: 'P1', xid: 'X1', mandateId: 'M', refNr: 'R', userData: 'U', plain: 'PL', eventToken: 'MD', extra: { Amount: '5' } },
    KEYS.shopTest,
  );
  const mac = createHmac('sha256', KEYS.shopTest.keys[0]!.hmac).update('P1*T1*ShopTest*OK*00000000').digest('hex').toUpperCase();
  t.equal(cb.plaintext, `mid=ShopTest&PayID=P1&XID=X1&TransID=T1&Status=OK&Code=00000000&Description=success&MandateID=M&RefNr=R&UserData=U&Plain=PL&EventToken=MD&Amount=5&MAC=${mac}`);
  t.equal(cb.len, Buffer.byteLength(cb.plaintext));
  t.match(cb.data, /^[0-9A-F]+$/);
  t.equal(cb.contentType, 'application/x-www-form-urlencoded; charset=utf-8');
  t.same(Object.keys(cb.form), ['MerchantID', 'Len', 'Data']);
  t.equal(cb.body.toString(), `MerchantID=ShopTest&Len=${cb.len}&Data=${cb.data}`);
  const raw = new BlowfishCipher(KEYS.shopTest.keys[0]!.blowfish!).decrypt(Buffer.from(cb.data, 'hex'));
  t.equal(raw.subarray(0, cb.len).toString(), cb.plaintext, 'Data decrypts to the plaintext');
  t.ok(raw.subarray(cb.len).every((b) => b === 0), 'zero padded');

  const failed = buildCallback({ transId: 'T1', code: '22060203' }, KEYS.shopTest);
  t.match(failed.plaintext, /&Status=FAILED&Code=22060203&Description=failed&/);
  t.match(failed.plaintext, /PayID=[0-9a-f]{32}&XID=[0-9a-f]{32}/, 'random 32-hex ids');
});

t.test('options', async (t) => {
  const spec = { transId: 'T 1', code: '00000000', payId: 'P', xid: 'X', description: 'Müller €', custom: { 'a b': 'x&y=z ü' } };
  const upper = buildCallback(spec, KEYS.shopTest, { keyCase: 'upper', hexCase: 'lower', plainMerchantId: false });
  t.match(upper.plaintext, /^MID=ShopTest&PAYID=P&XID=X&TRANSID=T 1&STATUS=OK&CODE=00000000&DESCRIPTION=Müller €&MAC=[0-9A-F]{64}$/);
  t.match(upper.data, /^[0-9a-f]+$/);
  t.equal(upper.body.toString(), `LEN=${upper.len}&DATA=${upper.data}&a+b=x%26y%3Dz+%C3%BC`);
  const lower = buildCallback({ ...spec, description: 'Müller' }, KEYS.shopTest, { keyCase: 'lower', charset: 'iso-8859-1', lenMode: 'chars' });
  t.equal(lower.len, Buffer.byteLength(lower.plaintext, 'latin1'), 'in ISO-8859-1 characters are bytes');
  t.match(lower.body.toString(), /^merchantid=ShopTest&len=\d+&data=[0-9A-F]+&a\+b=x%26y%3Dz\+%FC$/);
  t.equal(lower.contentType, 'application/x-www-form-urlencoded; charset=iso-8859-1');
  t.throws(() => buildCallback({ ...spec, description: '😀' }, KEYS.shopTest, { charset: 'iso-8859-1' }), /ISO-8859-1/);
  const chars = buildCallback(spec, KEYS.shopTest, { lenMode: 'chars' });
  t.equal(chars.len, [...chars.plaintext].length);
  t.equal(chars.len, Buffer.byteLength(chars.plaintext) - 3, 'ü and € are 3 extra bytes');
  t.notMatch(buildCallback(spec, KEYS.shopTest, { omitMac: true }).plaintext, /MAC=/);
  t.match(buildCallback(spec, KEYS.shopTest, { macOverride: 'abc' }).plaintext, /&MAC=abc$/);
  t.match(buildCallback(spec, KEYS.shopTest, { midOverride: 'Other' }).plaintext, /^mid=Other&/);
  t.equal(callbackQuery(spec, KEYS.shopTest, { plainMerchantId: 'X' }).split('&')[0], 'MerchantID=X');
  const aes = buildCallback(spec, KEYS.shopAes, { iv: Buffer.alloc(16, 0xab) });
  t.match(aes.data, /^(AB){16}-[0-9A-F]+$/);
  t.throws(() => buildCallback(spec, KEYS.shopTest, { keySlot: 5 }), /no key slot 5/);
  const pk = buildCallback(spec, KEYS.shopTest, { padding: 'pkcs7' });
  const raw = new BlowfishCipher(KEYS.shopTest.keys[0]!.blowfish!).decrypt(Buffer.from(pk.data, 'hex'));
  const n = raw[raw.length - 1]!;
  t.ok(n >= 1 && n <= 8 && raw.length === pk.len + n, 'PKCS#7 padded');
});
