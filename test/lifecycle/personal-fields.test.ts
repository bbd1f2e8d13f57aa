// The personal-field table applied to rows as stored (and as archived): what goes,
// what stays, that a second pass changes nothing, and how quarantined rows are found.
import t from 'tap';
import { fingerprintOf } from '../../src/events/identity.js';
import { ERASED, callbackMatches, eraseCallbackRow, eraseEventRow, isPersonal, redact } from '../../src/lifecycle/personal-fields.js';

const event = {
  id: 'evt_01M91JRCK2E4BQMCRVG188JN6Y', type: 'debtor.created', source: 'paygate', merchantId: 'ShopTest', operation: 'debtor', outcome: 'succeeded',
  channel: 'success', receivedAt: '2026-12-04T10:00:00.000Z',
  data: {
    payId: 'P1', xid: 'X1', transId: 'T1', status: 'OK', code: '00000000', refNr: 'RE-7', userData: 'Anna Musterfrau, Hauptstr. 1',
    fields: { firstname: 'Anna', last_name: 'Musterfrau', iban: 'DE89370400440532013000', amount: '100', currency: 'EUR' },
    custom: { 'E-Mail': 'anna@example.org', shop: 'north' }, customAuthenticated: false,
  },
  origin: { channel: 'success', clientIp: '203.0.113.9', allowFrom: null, signedUrl: null, trusted: false },
};

t.test('an event loses its personal values, keeps the rest, and a second pass changes nothing', async (t) => {
  const fingerprint = fingerprintOf({ operation: event.operation, data: event.data });
  const p = eraseEventRow({ payload: JSON.stringify(event), fingerprint })!;
  const e = JSON.parse(p.payload) as typeof event & { erased: boolean };
  t.same(e.data.fields, { firstname: ERASED, last_name: ERASED, iban: ERASED, amount: '100', currency: 'EUR' }, 'names by normalised key (last_name)');
  t.equal(e.data.userData, ERASED);
  t.same(e.data.custom, { 'E-Mail': ERASED, shop: 'north' }, 'Custom pairs too');
  t.equal(e.origin.clientIp, ERASED, 'the browser\'s address');
  t.same([e.id, e.type, e.data.payId, e.data.transId, e.data.xid, e.data.refNr, e.receivedAt], [event.id, event.type, 'P1', 'T1', 'X1', 'RE-7', event.receivedAt]);
  t.equal(e.erased, true);
  t.same(Object.keys(e), [...Object.keys(event), 'erased'], 'same key order, the marker last');
  t.not(p.fingerprint, fingerprint, 'no digest of a name is left');
  t.equal(p.fingerprint, fingerprintOf({ operation: 'debtor', data: e.data }), 'the fingerprint is the redacted payload\'s');
  t.equal(eraseEventRow({ payload: p.payload, fingerprint: p.fingerprint }), null, 'erasing again: nothing to change');
  t.equal(eraseEventRow({ payload: JSON.stringify({ id: 'evt_x', type: 'relay.test', data: { message: 'hello' } }) }), null, 'nothing personal: unchanged');
});

t.test('a callback row, from the database (Buffer) or an archive line (base64)', async (t) => {
  const decoded = JSON.stringify({ transId: 'T1', userData: 'Anna', fields: { lastname: 'Musterfrau', amount: '1' } });
  const row = { body: Buffer.from('MerchantID=ShopTest&Len=8&Data=ABCD'), headers: JSON.stringify({ 'user-agent': 'Mozilla', 'content-type': 'x' }), decoded, remote_ip: '203.0.113.9' };
  const p = eraseCallbackRow(row)!;
  t.same(p.body, Buffer.alloc(0));
  t.same(JSON.parse(p.headers), { 'user-agent': ERASED, 'content-type': 'x' });
  t.same(JSON.parse(p.decoded!), { transId: 'T1', userData: ERASED, fields: { lastname: ERASED, amount: '1' } });
  t.equal(p.remote_ip, null);
  t.equal(eraseCallbackRow({ ...row, ...p }), null, 'a second pass changes nothing');
  const archived = eraseCallbackRow({ ...row, body: row.body.toString('base64') })!;
  t.equal(archived.body, '', 'an archived body stays a string');
  t.same(eraseCallbackRow({ body: Buffer.from('x'), headers: '{}', decoded: null, remote_ip: null }), { body: Buffer.alloc(0), headers: '{}', decoded: null, remote_ip: null });
});

t.test('a callback without an event is matched by its decoded fields, else by what it names in plain', async (t) => {
  t.ok(callbackMatches({ decoded: JSON.stringify({ transId: 'T1' }), body: Buffer.from('') }, { transId: 'T1' }));
  t.notOk(callbackMatches({ decoded: JSON.stringify({ transId: 'T10' }), body: Buffer.from('TransID=T1') }, { transId: 'T1' }), 'decoded fields win');
  t.ok(callbackMatches({ decoded: null, body: Buffer.from('MerchantID=S&TransID=T%201&Data=00') }, { transId: 'T 1' }), 'URL-encoded, any case of the key');
  t.ok(callbackMatches({ decoded: null, body: Buffer.from('payid=P9').toString('base64') }, { payId: 'P9' }), 'an archived (base64) body');
  t.notOk(callbackMatches({ decoded: null, body: Buffer.from('Data=T1T1T1') }, { transId: 'T1' }), 'inside Data is not a match');
});

t.test('the table: personal names at any depth; identifiers and amounts are not personal', async (t) => {
  for (const k of ['LastName', 'last_name', 'IBAN', 'AccOwner', 'E-Mail', 'UserData', 'clientIp', 'PERSON_FAMILYNAME'.slice(7)]) t.ok(isPersonal(k), k);
  for (const k of ['transId', 'payId', 'mandateId', 'xid', 'refNr', 'amount', 'currency', 'code', 'status', 'merchantId']) t.notOk(isPersonal(k), k);
  const v = { a: [{ email: 'x@y' }, 'plain string'], b: { c: { phone: '+49' } }, n: 1 };
  t.same(redact(v), { a: [{ email: ERASED }, 'plain string'], b: { c: { phone: ERASED } }, n: 1 });
  const clean = { a: [1, { b: 'c' }] };
  t.equal(redact(clean), clean, 'nothing personal: the same object');
  const proto = JSON.parse('{"__proto__":"x","name":"Anna"}') as Record<string, unknown>;
  const r = redact(proto);
  t.same(Object.keys(r), ['__proto__', 'name'], 'a decrypted __proto__ key stays data');
  t.equal(r.name, ERASED);
});
