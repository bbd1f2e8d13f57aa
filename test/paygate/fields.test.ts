import t from 'tap';
import { parseFields } from '../../src/paygate/fields.js';

t.test('known keys in any case, extras lower-cased, values raw', async (t) => {
  const r = parseFields('MID=M1&payid=P&Xid=X&TRANSID=T&status=OK&CODE=00000000&mac=ab&DESCRIPTION=a b%20c+d&mandateid=MA&REFNR=R&userdata=u=v&PLAIN=p&eventtoken=MD&NewParam=N&Amount=100&');
  if (!r.ok) throw t.fail(r.detail);
  t.same(r.record, {
    mid: 'M1', payId: 'P', xid: 'X', transId: 'T', status: 'OK', code: '00000000', mac: 'ab',
    description: 'a b%20c+d', mandateId: 'MA', refNr: 'R', userData: 'u=v', plain: 'p', eventToken: 'MD',
    fields: { newparam: 'N', amount: '100' },
  });
  t.ok(r.present.has('code'));
});

t.test('absent fields', async (t) => {
  const r = parseFields('mid=M1&Code=');
  if (!r.ok) throw t.fail(r.detail);
  t.equal(r.record.payId, '');
  t.notOk(r.present.has('payId'));
  t.ok(r.present.has('code'));
  t.equal(r.record.mac, undefined);
  t.notOk('mac' in r.record);
});

t.test('malformed', async (t) => {
  for (const text of ['', '&&', 'mid=1&garbage', '=v&mid=1', 'mid=1&MID=2', 'Code=1&code=1', 'mac=a&MAC=b', 'PayID=1&payid=1', 'XID=1&xid=', 'TransID=1&transid=2', 'Status=OK&STATUS=OK']) {
    const r = parseFields(text);
    t.equal(r.ok, false, JSON.stringify(text));
    if (!r.ok) t.equal(r.reason, 'malformed_plaintext');
  }
});

t.test('non-core duplicates: first wins; __proto__ stays data', async (t) => {
  const r = parseFields('mid=1&Description=a&description=b&x=1&X=2&__proto__=p');
  if (!r.ok) throw t.fail(r.detail);
  t.equal(r.record.description, 'a');
  t.equal(r.record.fields.x, '1');
  t.equal(Object.getOwnPropertyDescriptor(r.record.fields, '__proto__')?.value, 'p');
  t.equal(Object.getPrototypeOf(r.record.fields), Object.prototype);
});
