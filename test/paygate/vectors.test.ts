import t from 'tap';
import { createHmac } from 'node:crypto';
import { BlowfishCipher } from '../../src/paygate/blowfish.js';
import { hexDecode, hexEncode } from '../../src/paygate/hex.js';
import { computeMac, macMessage, verifyMac } from '../../src/paygate/mac.js';
import type { PaygateRecord } from '../../src/paygate/types.js';

t.test('public Blowfish ECB vector', async (t) => {
  const bf = new BlowfishCipher(Buffer.from('password'));
  const ct = bf.encrypt(Buffer.from('plaintext'));
  t.equal(ct.toString('hex'), '14ec7a6da0fbb3e50a84b47302443328');
  const raw = bf.decrypt(Buffer.from('14ec7a6da0fbb3e50a84b47302443328', 'hex'));
  t.same([...raw], [...Buffer.from('plaintext\0\0\0\0\0\0\0')], 'raw bytes, zero padding kept');
});

t.test('Blowfish edge cases', async (t) => {
  t.throws(() => new BlowfishCipher(Buffer.alloc(0)), /empty/);
  t.throws(() => new BlowfishCipher(Buffer.alloc(73, 1)), /at most/);
  const bf = new BlowfishCipher(Buffer.from('password'));
  t.equal(bf.encrypt(Buffer.alloc(0)).length, 0, 'empty in, empty out');
  t.equal(bf.decrypt(Buffer.alloc(0)).length, 0);
  t.throws(() => bf.decrypt(Buffer.alloc(7)), /multiple of 8/);
  t.equal(bf.encrypt(Buffer.from('12345678')).length, 8, 'aligned input gets no extra block');
  const zeros = Buffer.alloc(24);
  t.same([...bf.decrypt(bf.encrypt(zeros))], [...zeros], 'all-zero blocks survive decrypt');
  const key = Buffer.from('mutable-key');
  const c = new BlowfishCipher(key);
  const before = c.encrypt(Buffer.from('abc')).toString('hex');
  key.fill(0);
  t.equal(c.encrypt(Buffer.from('abc')).toString('hex'), before, 'cipher does not alias the key buffer');
});

t.test('public HMAC-SHA256 vector', async (t) => {
  t.equal(computeMac(Buffer.from('password'), 'value'), '18B40402BBF3FEED824E9F762B412F1108C4D678B2A067425B99963CD68B1D6A');
});

t.test('MAC message and verification', async (t) => {
  const r: PaygateRecord = { mid: 'M1', payId: 'P', xid: 'X', transId: 'T', status: 'OK', code: '00000000', fields: {} };
  t.equal(macMessage(r), 'P*T*M1*OK*00000000');
  t.equal(macMessage({ ...r, mid: '' }), 'P*T**OK*00000000', 'absent mid stays empty');
  const key = Buffer.from('k');
  const mac = computeMac(key, macMessage(r));
  t.match(mac, /^[0-9A-F]{64}$/);
  t.ok(verifyMac(key, { ...r, mac }));
  t.ok(verifyMac(key, { ...r, mac: mac.toLowerCase() }), 'case-insensitive');
  t.notOk(verifyMac(key, r), 'no MAC');
  t.notOk(verifyMac(key, { ...r, mac: '' }));
  t.notOk(verifyMac(key, { ...r, mac: mac.slice(0, 63) }), 'short');
  t.notOk(verifyMac(key, { ...r, mac: mac + '0' }), 'long');
  t.notOk(verifyMac(Buffer.from('other'), { ...r, mac }), 'other key');
  t.notOk(verifyMac(key, { ...r, mac, code: '22060203' }), 'other code');
  t.notOk(verifyMac(key, { ...r, mac: 'ß'.repeat(32) }), 'non-ASCII does not throw');
  // U+FB00 upper-cases to "FF": a MAC must be hex, not something that upper-cases into hex.
  const ff = mac.indexOf('FF');
  if (ff >= 0) t.notOk(verifyMac(key, { ...r, mac: `${mac.slice(0, ff)}\ufb00${mac.slice(ff + 2)}` }), 'ligature is not hex');
  t.notOk(verifyMac(key, { ...r, mac: `${mac.slice(0, 62)}zz` }), 'non-hex digits');
  // Independent computation: node:crypto's HMAC in lower-case hex.
  const theirs = createHmac('sha256', key).update('P*T*M1*OK*00000000').digest('hex');
  t.ok(verifyMac(key, { ...r, mac: theirs }), 'a MAC computed outside mac.ts verifies');
});

t.test('hex', async (t) => {
  t.same(hexDecode('0aFf'), Buffer.from([0x0a, 0xff]));
  t.same(hexDecode(''), Buffer.alloc(0));
  t.equal(hexDecode('abc'), null, 'odd length');
  t.equal(hexDecode('zz'), null, 'non-hex');
  t.equal(hexDecode('0a 0b'), null, 'spaces');
  t.equal(hexDecode('0x0a'), null);
  // Buffer.from(s, 'hex') reads U+0130 by its low byte (0x30, '0'): that must not make it a digit.
  t.equal(hexDecode('0a\u0130a'), null, 'characters above U+00FF');
  t.equal(hexDecode('0a\u00c1a'), null, 'latin1 letters');
  t.equal(hexDecode('0a0'.concat('g')), null, 'bad digit in the last pair');
  t.same(hexDecode('00FFaB19'), Buffer.from([0x00, 0xff, 0xab, 0x19]), 'mixed case');
  t.equal(hexEncode(Buffer.from([0xab])), 'AB');
  t.equal(hexEncode(Buffer.from([0xab]), 'lower'), 'ab');
});
