import t from 'tap';
import { cutPlaintext, decodeText, looksLikeText } from '../../src/paygate/plaintext.js';

const s = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));

t.test('Len followed by padding', async (t) => {
  const p = Buffer.from('a=1&b=22'); // 8 bytes
  t.equal(s(cutPlaintext(Buffer.concat([p, Buffer.alloc(8)]), 8)), 'a=1&b=22', 'zero padding');
  t.equal(s(cutPlaintext(Buffer.concat([p, Buffer.alloc(8, 8)]), 8)), 'a=1&b=22', 'PKCS#7 full block');
  const q = Buffer.from('a=1&b=2'); // 7 bytes
  t.equal(s(cutPlaintext(Buffer.concat([q, Buffer.from([1])]), 7)), 'a=1&b=2', 'PKCS#7 one byte');
  t.equal(s(cutPlaintext(Buffer.concat([q, Buffer.from(' ')]), 7)), 'a=1&b=2', 'space padding');
  t.equal(s(cutPlaintext(q, 7)), 'a=1&b=2', 'no padding at all (AES after PKCS#7 removal)');
  t.equal(s(cutPlaintext(Buffer.concat([Buffer.from('a=1&b=2'), Buffer.alloc(16 - 7, 9)]), 7)), 'a=1&b=2', 'AES-size PKCS#7 tail');
});

t.test('Len that ends inside the padding is refused: it must be the exact payload length', async (t) => {
  const p = Buffer.from('a=1&b=2'); // 7 bytes
  for (const k of [1, 2, 3]) {
    t.equal(cutPlaintext(Buffer.concat([p, Buffer.alloc(9)]), 7 + k), null, `zero padding, Len +${k}`);
    t.equal(cutPlaintext(Buffer.concat([p, Buffer.alloc(9, 9)]), 7 + k), null, `PKCS#7 padding, Len +${k}`);
    t.equal(cutPlaintext(Buffer.concat([p, Buffer.alloc(9, 0x20)]), 7 + k), null, `space padding, Len +${k}`);
  }
  t.equal(cutPlaintext(Buffer.concat([p, Buffer.alloc(1)]), 8), null, 'Len = the whole zero-padded block');
  t.equal(cutPlaintext(Buffer.concat([p, Buffer.alloc(9, 9)]), 16), null, 'Len = the whole PKCS#7-padded buffer');
  t.equal(s(cutPlaintext(Buffer.concat([p, Buffer.alloc(9)]), 7)), 'a=1&b=2', 'the exact Len still cuts');
  t.equal(cutPlaintext(p, 8), null, 'Len beyond an unpadded (AES) plaintext');
});

t.test('characters-vs-bytes quirk', async (t) => {
  const text = 'Name=Müller € 😀&x=1';
  const bytes = Buffer.from(text, 'utf8');
  const chars = [...text].length;
  t.ok(bytes.length > chars);
  const padded = Buffer.concat([bytes, Buffer.alloc(8 - (bytes.length % 8))]);
  t.equal(s(cutPlaintext(padded, bytes.length)), text, 'Len in bytes');
  t.equal(s(cutPlaintext(padded, chars)), text, 'Len in characters is not cut short');
  const pkcs = Buffer.concat([bytes, Buffer.alloc(8 - (bytes.length % 8), 8 - (bytes.length % 8))]);
  t.equal(s(cutPlaintext(pkcs, chars)), text, 'quirk with PKCS#7');
  const spaces = Buffer.concat([bytes, Buffer.alloc(8 - (bytes.length % 8), 0x20)]);
  t.equal(s(cutPlaintext(spaces, chars)), text, 'quirk with spaces');
  t.equal(s(cutPlaintext(bytes, chars)), text, 'quirk without padding');
  // Seven bytes short of a block: PKCS#7 adds a single 0x01.
  const seven = 'a=Müller&b=€';
  const sevenBytes = Buffer.from(seven, 'utf8');
  t.equal(sevenBytes.length % 8, 7);
  t.equal(s(cutPlaintext(Buffer.concat([sevenBytes, Buffer.from([1])]), [...seven].length)), seven, 'quirk with a one-byte PKCS#7 pad');
});

t.test('Len that fits neither → null', async (t) => {
  const text = Buffer.from('a=Müller&b=2');
  const padded = Buffer.concat([text, Buffer.alloc(4)]);
  t.equal(cutPlaintext(padded, 5), null, 'too short: real data follows');
  t.equal(cutPlaintext(padded, text.length - 3), null);
  t.equal(cutPlaintext(padded, padded.length + 1), null, 'Len beyond the data');
  t.equal(cutPlaintext(padded, 1000), null);
  t.equal(cutPlaintext(padded, -1), null);
  t.equal(cutPlaintext(padded, 1.5), null);
  const latin = Buffer.from('a=M\xfcller\0\0\0', 'latin1');
  t.equal(cutPlaintext(latin, 7), null, 'invalid UTF-8 cannot use the character rule');
  t.equal(cutPlaintext(latin, 8)?.toString('latin1'), 'a=M\xfcller', 'but the byte rule still works');
  t.equal(cutPlaintext(Buffer.from('a=1\0\0x\0\0'), 3), null, 'bytes after zeros are not padding');
  t.equal(cutPlaintext(Buffer.from([0x61, 0x3d, 0x31, 3, 3, 2]), 3), null, 'bad PKCS#7 tail');
  const p = Buffer.from('a=1&b=22');
  t.equal(s(cutPlaintext(Buffer.concat([p, Buffer.alloc(16, 16)]), 8)), 'a=1&b=22', 'a whole 16-byte PKCS#7 block is padding');
  t.equal(cutPlaintext(Buffer.concat([p, Buffer.alloc(17, 17)]), 8), null, '17 bytes of 0x11 are no padding: Len is wrong');
  // A stray continuation byte is not UTF-8: code points cannot be counted, so Len 3 cannot stand for 4 bytes.
  t.equal(cutPlaintext(Buffer.from('a=\x80b\0\0\0\0', 'latin1'), 3), null, 'no character rule for bytes that are not UTF-8');
});

t.test('decodeText and looksLikeText', async (t) => {
  t.equal(decodeText(Buffer.from('Müller', 'utf8')), 'Müller');
  t.equal(decodeText(Buffer.from('M\xfcller', 'latin1')), 'Müller', 'latin1 fallback');
  t.equal(decodeText(Buffer.from('\ufeffa=1', 'utf8')), '\ufeffa=1', 'BOM is data, not eaten');
  t.ok(looksLikeText(Buffer.from('a=1&b=Müller\t\r\n')));
  t.notOk(looksLikeText(Buffer.from([0x61, 0x01])));
  t.notOk(looksLikeText(Buffer.from([0x7f])));
});
