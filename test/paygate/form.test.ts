import { spawnSync } from 'node:child_process';
import t from 'tap';
import { charsetOf, parseForm } from '../../src/paygate/form.js';

const pairs = (body: string | Buffer, ct?: string) => {
  const r = parseForm(typeof body === 'string' ? Buffer.from(body, 'latin1') : body, ct);
  return r.ok ? r.pairs : r.reason;
};

t.test('charsets', async (t) => {
  t.same(pairs('Name=M%C3%BCller', 'application/x-www-form-urlencoded; charset=utf-8'), [['Name', 'Müller']]);
  t.same(pairs('Name=M%C3%BCller'), [['Name', 'Müller']], 'UTF-8 is the default');
  t.same(pairs('Name=M%FCller', 'application/x-www-form-urlencoded; charset=iso-8859-1'), [['Name', 'Müller']]);
  t.same(pairs('Name=M%FCller', 'application/x-www-form-urlencoded;charset="ISO-8859-1"'), [['Name', 'Müller']], 'quoted, upper case');
  t.same(pairs('Name=M%FCller', 'application/x-www-form-urlencoded; Charset=Latin1'), [['Name', 'Müller']]);
  t.same(pairs('Name=M%FCller', 'application/x-www-form-urlencoded; charset=windows-1252'), [['Name', 'Müller']]);
  t.same(pairs('a=b', 'application/x-www-form-urlencoded; charset=us-ascii'), [['a', 'b']]);
  // The charset of the last Content-Type is remembered: a different one must not reuse it.
  t.same(pairs('Name=M%FCller', 'application/x-www-form-urlencoded; charset=iso-8859-1'), [['Name', 'Müller']]);
  t.equal(pairs('a=b', 'application/x-www-form-urlencoded; charset=shift_jis'), 'unsupported_charset');
  t.same(pairs('Name=M%C3%BCller', 'application/x-www-form-urlencoded; charset=utf-8'), [['Name', 'Müller']]);
  t.same(pairs(Buffer.from('Name=Müller', 'latin1'), 'application/x-www-form-urlencoded; charset=iso-8859-1'), [['Name', 'Müller']], 'raw latin1 byte');
  t.same(pairs(Buffer.from('Name=Müller €', 'utf8'), 'application/x-www-form-urlencoded; charset=utf-8'), [['Name', 'Müller €']], 'raw UTF-8 bytes');
  t.same(pairs('Name=M%FCller', 'application/x-www-form-urlencoded; charset=utf-8'), [['Name', 'Müller']], 'declared UTF-8 but latin1 bytes: read as latin1');
  t.equal(pairs('a=b', 'application/x-www-form-urlencoded; charset=shift_jis'), 'unsupported_charset');
  t.equal(pairs('a=b', 'application/x-www-form-urlencoded; charset=utf-16'), 'unsupported_charset');
  t.equal(charsetOf('text/plain'), undefined);
  t.equal(charsetOf('a/b; foo=bar; charset= UTF-8 '), 'utf-8');
});

t.test('windows-1252 is decoded as windows-1252, not latin1 (0x80-0x9F differ)', async (t) => {
  const ct = 'application/x-www-form-urlencoded; charset=windows-1252';
  t.same(pairs('Name=%80%20%92%20%9F%20M%FCller', ct), [['Name', '\u20AC \u2019 \u0178 Müller']], '€ ’ Ÿ from escapes');
  t.same(pairs(Buffer.from([0x61, 0x3d, 0x8a, 0x9a, 0x84]), 'application/x-www-form-urlencoded; charset=cp1252'), [['a', 'Šš„']], 'raw bytes, cp1252 label');
  t.same(pairs('Name=%80', 'application/x-www-form-urlencoded; charset=iso-8859-1'), [['Name', '\u0080']], 'ISO-8859-1 stays ISO-8859-1');
  // Every byte 0x80-0xFF against glibc's iconv (an independent table); bytes iconv leaves unassigned keep their C1 code point.
  const bytes = Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i));
  const expected = [...bytes].map((b) => {
    const r = spawnSync('iconv', ['-f', 'WINDOWS-1252', '-t', 'UTF-8'], { input: Buffer.from([b]) });
    return r.status === 0 ? r.stdout.toString('utf8') : String.fromCharCode(b);
  }).join('');
  const got = pairs(Buffer.concat([Buffer.from('x='), bytes]), ct);
  t.same(got, [['x', expected]], 'matches iconv for 0x80-0xFF');
});

t.test('structure', async (t) => {
  t.same(pairs('a=1+2&b=x%2By&c=%26%3D'), [['a', '1 2'], ['b', 'x+y'], ['c', '&=']], '+ and escapes');
  t.same(pairs('Data=ab=cd&Len=3'), [['Data', 'ab=cd'], ['Len', '3']], 'split on first =');
  t.same(pairs('&&a=1&&'), [['a', '1']], 'empty segments ignored');
  t.same(pairs('flag&b='), [['flag', ''], ['b', '']], 'no = means empty value');
  t.same(pairs('B=2&a=1&B=3'), [['B', '2'], ['a', '1'], ['B', '3']], 'order and duplicates kept, keys as given');
  t.same(pairs('M%C3%BCller=1'), [['Müller', '1']], 'keys are decoded too');
  t.same(pairs(''), []);
  t.same(pairs('a=%7e%7E'), [['a', '~~']], 'hex escapes in either case');
  // Plain ASCII fields are read straight from the body; a field with an escape beside them is decoded.
  t.same(pairs('Data=ABCDEF0123&Len=5&Name=M%C3%BCller&x=a+b'), [['Data', 'ABCDEF0123'], ['Len', '5'], ['Name', 'Müller'], ['x', 'a b']]);
  t.same(pairs(Buffer.from('Data=ABCD&Name=Müller', 'utf8')), [['Data', 'ABCD'], ['Name', 'Müller']], 'a non-ASCII byte elsewhere in the body');
  t.same(pairs(Buffer.from('Name=M\xfcller&Data=AB', 'latin1'), 'application/x-www-form-urlencoded; charset=utf-8'), [['Name', 'Müller'], ['Data', 'AB']], 'declared UTF-8, raw latin1 byte');
  t.same(pairs(Buffer.from('a=\ufeffx', 'utf8')), [['a', '\ufeffx']], 'a BOM stays a character');
  t.same(pairs('=v&k'), [['', 'v'], ['k', '']], 'empty key, key alone');
  t.same(pairs('=v&a=1'), [['', 'v'], ['a', '1']], 'an empty name keeps its value');
  t.same(pairs('%EF%BB%BFa=1'), [['\ufeffa', '1']], 'a byte-order mark is data: a key never silently changes');
});

t.test('bad escapes', async (t) => {
  // Letters just past F/f and the punctuation between the cases are no hex digits either.
  for (const body of ['a=%', 'a=%4', 'a=%zz', 'a=%4g', '%=1', 'a=1&b=%%41', 'a=%-1', 'a=%G1', 'a=%W1', 'a=%1Z', 'a=%_1', 'a=%`1', 'a=%[1', 'a=%1@', 'a=%1:']) {
    t.equal(pairs(body), 'malformed_body', body);
  }
});

t.test('every byte survives a percent escape, in upper- and lower-case hex', async (t) => {
  const bad: string[] = [];
  for (let b = 0; b < 256; b++) {
    const hex = b.toString(16).padStart(2, '0');
    for (const h of [hex.toUpperCase(), hex.toLowerCase()]) {
      const r = parseForm(Buffer.from(`k=%${h}&x%${h}=1`), 'application/x-www-form-urlencoded; charset=iso-8859-1');
      const want = String.fromCharCode(b);
      if (!r.ok || r.pairs[0]![1] !== want || r.pairs[1]![0] !== `x${want}`) bad.push(h);
    }
  }
  t.same(bad, [], 'all 256 bytes, in values and keys');
});

t.test('every charset label Paygate senders use is accepted', async (t) => {
  // Labels seen on Paygate callbacks and in shop frameworks, in any case, quoted or not.
  const utf8 = ['utf-8', 'UTF-8', 'utf8', '"utf-8"'];
  const latin1 = ['iso-8859-1', 'ISO-8859-1', 'iso8859-1', 'iso_8859-1', 'latin1', 'windows-1252', 'cp1252', 'us-ascii', 'ascii'];
  for (const cs of utf8) t.same(pairs('n=M%C3%BCller', `application/x-www-form-urlencoded; charset=${cs}`), [['n', 'Müller']], `${cs} is UTF-8`);
  for (const cs of latin1) t.same(pairs('n=M%FCller%E9', `application/x-www-form-urlencoded; charset=${cs}`), [['n', 'Mülleré']], `${cs} is read byte for byte`);
  // A UTF-8 sequence under a Latin-1 label is two characters, not one: the label decides.
  t.same(pairs('n=%C3%BC', 'application/x-www-form-urlencoded; charset=cp1252'), [['n', 'Ã¼']]);
});
