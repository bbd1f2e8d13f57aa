import t from 'tap';
import { buildIdentifier, IDENTIFIER_MAX_LENGTH, parseIdentifier } from '../../src/collectmaxx/core/identifier.js';

const parts = { merchantId: 'ShopTest', transId: 'TX-1001', eventId: 'evt_01JGZ8W7Q3V5N8M2K4R6T9X1YA', flowId: 'F100' };

t.test('readable, stable and parseable', async (t) => {
  const id = buildIdentifier(parts);
  t.equal(id, 'pgr1.ShopTest.TX-1001.evt_01JGZ8W7Q3V5N8M2K4R6T9X1YA.F100.87a2f98d9a6cad47', 'stable across runs and versions');
  t.equal(buildIdentifier({ ...parts }), id, 'same input, same identifier: a re-export is recognisably the same record');
  t.same(parseIdentifier(id), { ...parts, hash: '87a2f98d9a6cad47', truncated: [], verified: true });
});

t.test('unique: any part changes the identifier', async (t) => {
  const ids = new Set([
    buildIdentifier(parts),
    buildIdentifier({ ...parts, merchantId: 'ShopTest2' }),
    buildIdentifier({ ...parts, transId: 'TX-1002' }),
    buildIdentifier({ ...parts, eventId: 'evt_01JGZ8W7Q3V5N8M2K4R6T9X1YB' }),
    buildIdentifier({ ...parts, flowId: 'F101' }),
    // separators inside parts cannot make two different tuples look alike
    buildIdentifier({ ...parts, merchantId: 'Shop.Test', transId: 'TX' }),
    buildIdentifier({ ...parts, merchantId: 'Shop', transId: 'Test.TX' }),
  ]);
  t.equal(ids.size, 7);
});

t.test('any characters survive the round trip', async (t) => {
  const odd = { merchantId: 'Shöp.Zwei', transId: 'TX/3001 %;"~', eventId: 'evt_X', flowId: '' };
  const id = buildIdentifier(odd);
  t.match(id, /^pgr1\.Sh%C3%B6p%2EZwei\.TX%2F3001%20%25%3B%22%7E\.evt_X\.\.[0-9a-f]{16}$/);
  t.match(id, /^[A-Za-z0-9_.%-]+$/, 'only safe characters: nothing to quote in CSV or XML');
  t.same(parseIdentifier(id), { ...odd, hash: id.slice(-16), truncated: [], verified: true });
});

t.test('long parts are cut to 255 characters, marked, and still unique', async (t) => {
  const long = { ...parts, transId: 'T'.repeat(400) };
  const id = buildIdentifier(long);
  t.equal(id.length, IDENTIFIER_MAX_LENGTH);
  const p = parseIdentifier(id);
  t.same(p?.truncated, ['transId']);
  t.equal(p?.verified, false, 'a cut identifier is never trusted as origin');
  t.equal(p?.merchantId, 'ShopTest');
  t.equal(p?.eventId, parts.eventId, 'short parts stay whole');
  t.ok(p?.transId.startsWith('TTTT') && p.transId.length < 400);
  t.not(buildIdentifier({ ...parts, transId: `${'T'.repeat(399)}U` }), id, 'the hash keeps cut identifiers apart');
  const multi = buildIdentifier({ merchantId: 'ü'.repeat(100), transId: 'x'.repeat(100), eventId: 'e'.repeat(100), flowId: 'F1' });
  t.ok(multi.length <= IDENTIFIER_MAX_LENGTH);
  t.same(parseIdentifier(multi)?.truncated, ['merchantId', 'transId', 'eventId']);
  t.match(parseIdentifier(multi)?.merchantId, /^ü+$/, 'cut at character boundaries, never inside a UTF-8 sequence');
});

t.test('foreign or damaged identifiers', async (t) => {
  t.equal(parseIdentifier('INV-2026-0042'), null);
  t.equal(parseIdentifier(''), null);
  t.equal(parseIdentifier('pgr2.ShopTest.TX-1001.evt_X.F100.87a2f98d9a6cad47'), null, 'unknown version');
  t.equal(parseIdentifier('pgr1.ShopTest.TX-1001.evt_X.87a2f98d9a6cad47'), null, 'missing part');
  t.equal(parseIdentifier('pgr1.Shop Test.TX.evt.F.87a2f98d9a6cad47'), null, 'unescaped character');
  t.equal(parseIdentifier('pgr1.%FF.TX.evt.F.87a2f98d9a6cad47'), null, 'invalid UTF-8');
  t.equal(parseIdentifier('pgr1.S.TX.evt.F.87A2F98D9A6CAD47'), null, 'hash must be lower-case hex');
  const tampered = parseIdentifier('pgr1.ShopTest.TX-1002.evt_01JGZ8W7Q3V5N8M2K4R6T9X1YA.F100.87a2f98d9a6cad47');
  t.equal(tampered?.verified, false, 'parts that do not match the hash are not trusted');
});
