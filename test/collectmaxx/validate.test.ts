import t from 'tap';
import { validateRecord, type RejectReason, type ValidateOptions } from '../../src/collectmaxx/core/validate.js';

const TODAY = '2026-01-15';
const opts = (services: ValidateOptions['services'] = ['voice']): ValidateOptions => ({ services, today: TODAY, defaultCountryCode: '31' });
const base = { IDENTIFICATION_IDENTIFIER: 'id-1', CONTROL_FLOWID: 'F1', CONTACT_PHONENUMBER_1: '0107989525' };

function reasons(record: Record<string, string>, o = opts()): Array<[string, string]> {
  const r = validateRecord(record, o);
  return r.ok ? [] : r.reasons.map((x: RejectReason) => [x.field, x.code]);
}

t.test('a good record is trimmed, normalised and ordered like the header', async (t) => {
  const r = validateRecord({ CONTROL_FLOWID: ' F1 ', CONTACT_PHONENUMBER_1: '010 798 9525', IDENTIFICATION_IDENTIFIER: '\tid-1 ', PERSON_GIVENNAME: '  ' }, opts());
  t.equal(r.ok, true);
  t.same(Object.entries(r.record), [['IDENTIFICATION_IDENTIFIER', 'id-1'], ['CONTACT_PHONENUMBER_1', '31107989525'], ['CONTROL_FLOWID', 'F1']]);
});

t.test('each value rule', async (t) => {
  const cases: Array<[field: string, value: string, code: string | null]> = [
    ['PERSON_FAMILYNAME', 'x'.repeat(100), null],
    ['PERSON_FAMILYNAME', 'x'.repeat(101), 'max_length'],
    ['PERSON_FAMILYNAME', 'ü'.repeat(100), null], // characters, not bytes
    ['PERSON_FAMILYNAME', 'a\nb', 'invalid_char'],
    ['PERSON_FAMILYNAME', 'a\u0000', 'invalid_char'],
    ['PERSON_FAMILYNAME', 'a\uD800b', 'invalid_char'],
    ['ADDRESS_ZIPCODE', '1234567890123456', 'max_length'],
    ['PERSON_GENDER', 'M', null], ['PERSON_GENDER', 'F', null], ['PERSON_GENDER', 'U', null],
    ['PERSON_GENDER', 'm', 'gender'], ['PERSON_GENDER', 'X', 'gender'],
    ['CONTRACT_CONTACT_GENDER', 'Q', 'gender'],
    ['PERSON_BIRTHDAY', '1975-01-01', null],
    ['PERSON_BIRTHDAY', '1975-02-29', 'date'], ['PERSON_BIRTHDAY', '01-01-1975', 'date'], ['PERSON_BIRTHDAY', '1975-1-1', 'date'],
    ['ADDRESS_COUNTRY', 'NL', null], ['ADDRESS_COUNTRY', 'nl', 'country'], ['ADDRESS_COUNTRY', 'N1', 'country'],
    ['INVOICE_CURRENCY', 'EUR', null], ['INVOICE_CURRENCY', 'eur', 'currency'], ['INVOICE_CURRENCY', 'EU', 'currency'],
    ['INVOICE_AMOUNT', '10000', null], ['INVOICE_AMOUNT', '0', null], ['INVOICE_AMOUNT', '2147483647', null],
    ['INVOICE_AMOUNT', '2147483648', 'int'], ['INVOICE_AMOUNT', '100.00', 'int'], ['INVOICE_AMOUNT', '-5', 'int'],
    ['INVOICE_AMOUNT', '1,000', 'int'], ['INVOICE_AMOUNT', '007', 'int'], ['INVOICELINES_3_UNITS', 'two', 'int'],
    ['SERVICES_ENRICHMENT', '1', null], ['SERVICES_ENRICHMENT', '0', null], ['SERVICES_ENRICHMENT', 'true', 'boolean'],
    ['CONTACT_EMAIL_2', 'a@b.nl', null], ['CONTACT_EMAIL_2', 'a@b', 'email'], ['CONTACT_EMAIL_2', 'a b@c.nl', 'email'],
    ['CONTRACT_CONTACT_EMAIL', 'no-at.example.nl', 'email'],
    ['CONTACT_PHONENUMBER_2', '+49 170 1234567', null], ['CONTACT_PHONENUMBER_2', '0107989525 ext 3', 'phone'],
    ['CONTRACT_CONTACT_PHONENUMBER', '12', 'phone'],
    ['EMANDATE_DEBTORID', 'x'.repeat(36), 'max_length'],
    ['CONTROL_SUPPLIER', 'x'.repeat(100), null],
  ];
  for (const [field, value, code] of cases) {
    const got = reasons({ ...base, [field]: value });
    t.same(got, code ? [[field, code]] : [], `${field}=${JSON.stringify(value)}`);
  }
});

t.test('text that a spreadsheet would run as a formula is refused; numbers stay numbers', async (t) => {
  for (const value of ['=HYPERLINK("http://x","y")', '+cmd|\' /C calc\'!A0', '-2+3', '@SUM(A1:A2)', '=1+1', '  =trimmed first']) {
    t.same(reasons({ ...base, PERSON_FAMILYNAME: value }), [['PERSON_FAMILYNAME', 'formula']], JSON.stringify(value));
  }
  for (const value of ['\t=1', '=\r1']) {
    t.same(reasons({ ...base, PERSON_FAMILYNAME: value }).map(([, c]) => c).filter((c) => c === 'formula' || c === 'invalid_char').length, 1, `${JSON.stringify(value)} refused once`);
  }
  for (const value of ['-5', '+3.50', '-0,99', 'Smith-Jones', 'a=b', 'x@example']) {
    t.same(reasons({ ...base, PERSON_FAMILYNAME: value }), [], `${JSON.stringify(value)} allowed`);
  }
  t.same(reasons({ ...base, INVOICE_AMOUNT: '-5' }), [['INVOICE_AMOUNT', 'int']], 'a number column keeps its own rule');
  t.same(reasons({ ...base, CONTACT_PHONENUMBER_2: '+49 170 1234567' }), [], 'a phone number with + is normalised, not refused');
  t.same(reasons({ ...base, CONTACT_EMAIL_2: '=a@b.nl' }), [['CONTACT_EMAIL_2', 'formula']], 'an email-shaped value starting with = too');
});

t.test('DUEDATE must be strictly after today', async (t) => {
  for (const field of ['INVOICE_DUEDATE', 'INVOICE_ARRANGEMENT_DUEDATE']) {
    t.same(reasons({ ...base, [field]: '2026-01-14' }), [[field, 'future_date']], `${field} past`);
    t.same(reasons({ ...base, [field]: TODAY }), [[field, 'future_date']], `${field} today`);
    t.same(reasons({ ...base, [field]: '2026-01-16' }), [], `${field} tomorrow`);
    t.same(reasons({ ...base, [field]: '2026-13-01' }), [[field, 'date']], `${field} not a date`);
  }
  t.same(reasons({ ...base, INVOICE_DATE: '2020-01-01' }), [], 'other dates may be in the past');
  t.throws(() => validateRecord(base, { ...opts(), today: '15.01.2026' }), RangeError, 'a bad today is a bug, not data');
});

t.test('required fields per service (the matrix)', async (t) => {
  const id = { IDENTIFICATION_IDENTIFIER: 'id-1' };
  t.same(reasons(id, opts(['voice'])), [['CONTACT_PHONENUMBER_x', 'required'], ['CONTROL_FLOWID', 'required']]);
  t.same(reasons(id, opts(['sms'])), [['CONTACT_PHONENUMBER_x', 'required'], ['CONTROL_FLOWID', 'required']]);
  t.same(reasons(id, opts(['mail'])), [['CONTACT_EMAIL_x', 'required'], ['CONTROL_FLOWID', 'required']]);
  t.same(reasons(id, opts(['paylink'])).map((r) => r[0]), [
    'PERSON_FAMILYNAME', 'INVOICE_NUMBER', 'INVOICE_DATE', 'INVOICE_DUEDATE', 'INVOICE_CURRENCY', 'INVOICE_AMOUNT',
    'INVOICE_DESCRIPTION', 'INVOICE_REFERENCE', 'CONTROL_FLOWID',
  ]);
  t.same(reasons(id, opts(['emandate'])).map((r) => r[0]), [
    'PERSON_FAMILYNAME', 'PERSON_GENDER', 'EMANDATE_IDENTIFIER', 'EMANDATE_PURCHASEID', 'EMANDATE_REASON', 'EMANDATE_DEBTORID',
    'EMANDATE_VISIBLEUNTIL', 'CONTROL_FLOWID',
  ]);
  t.same(reasons(id, opts(['enrichment'])).map((r) => r[0]), [
    'PERSON_FAMILYNAME', 'PERSON_GIVENNAME', 'PERSON_BIRTHDAY', 'ADDRESS_STREET', 'ADDRESS_HOUSENUMBER', 'ADDRESS_EXTENSION',
    'ADDRESS_ZIPCODE', 'ADDRESS_CITY', 'ADDRESS_COUNTRY', 'SERVICES_ENRICHMENT',
  ]);
  t.same(reasons({}, opts(['voice']))[0], ['IDENTIFICATION_IDENTIFIER', 'required']);
  // any one of the three numbered columns satisfies an _x row
  t.same(reasons({ ...id, CONTROL_FLOWID: 'F', CONTACT_PHONENUMBER_3: '31107989525' }, opts(['voice'])), []);
  t.same(reasons({ ...id, CONTROL_FLOWID: 'F', CONTACT_EMAIL_2: 'a@b.nl' }, opts(['mail'])), []);
  // SMS + PayLink = both columns
  const both = reasons({ ...id, CONTROL_FLOWID: 'F', CONTACT_EMAIL_1: 'a@b.nl' }, opts(['sms', 'paylink'])).map((r) => r[0]);
  t.ok(both.includes('CONTACT_PHONENUMBER_x') && both.includes('INVOICE_AMOUNT') && !both.includes('CONTROL_FLOWID'));
  const r = validateRecord(id, opts(['sms', 'paylink']));
  t.match(!r.ok && r.reasons.find((x) => x.field === 'CONTACT_PHONENUMBER_x')?.message, /CONTACT_PHONENUMBER_1, .*for sms$/);
});

t.test('every reason is reported, not just the first', async (t) => {
  const r = validateRecord({
    IDENTIFICATION_IDENTIFIER: 'x'.repeat(256), PERSON_GENDER: 'male', ADDRESS_COUNTRY: 'DEU', INVOICE_AMOUNT: '12.50',
    CONTACT_PHONENUMBER_1: 'call me', NOT_A_COLUMN: 'v',
  }, opts(['voice']));
  t.equal(r.ok, false);
  t.same(!r.ok && r.reasons.map((x) => `${x.field}:${x.code}`), [
    'IDENTIFICATION_IDENTIFIER:max_length', 'PERSON_GENDER:gender', 'PERSON_GENDER:max_length', 'ADDRESS_COUNTRY:country',
    'ADDRESS_COUNTRY:max_length', 'CONTACT_PHONENUMBER_1:phone', 'INVOICE_AMOUNT:int', 'NOT_A_COLUMN:unknown_field',
    'CONTROL_FLOWID:required',
  ]);
  t.equal(r.record.NOT_A_COLUMN, 'v', 'the rejected record keeps what was given');
  t.ok(!r.ok && r.reasons.every((x) => x.message.length > 0));
});
