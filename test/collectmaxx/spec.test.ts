import t from 'tap';
import {
  DELIVERY_FIELDS, DELIVERY_FIELD_NAMES, REQUIRED_MATRIX, SERVICES, deliveryField, matrixColumns, requiredRows, type Service,
} from '../../src/collectmaxx/core/spec.js';

t.test('every delivery column of the specification, in the specification order, with _x expanded', async (t) => {
  t.equal(DELIVERY_FIELDS.length, 70);
  t.equal(new Set(DELIVERY_FIELD_NAMES).size, 70, 'names are unique');
  t.same(DELIVERY_FIELD_NAMES.slice(0, 8), [
    'IDENTIFICATION_IDENTIFIER', 'PERSON_FAMILYNAME', 'PERSON_GIVENNAME', 'PERSON_GENDER', 'PERSON_BIRTHDAY',
    'PERSON_IDENTIFIER', 'PERSON_HONORIFICPREFIX', 'PERSON_HONORIFICSUFFIX',
  ]);
  t.same(DELIVERY_FIELD_NAMES.slice(14, 20), [
    'CONTACT_PHONENUMBER_1', 'CONTACT_PHONENUMBER_2', 'CONTACT_PHONENUMBER_3', 'CONTACT_EMAIL_1', 'CONTACT_EMAIL_2', 'CONTACT_EMAIL_3',
  ]);
  t.same(DELIVERY_FIELD_NAMES.slice(37, 42), [
    'INVOICELINES_1_DESCRIPTION', 'INVOICELINES_1_UNITS', 'INVOICELINES_1_UNITPRICE', 'INVOICELINES_1_TOTAL', 'INVOICELINES_1_TAX',
  ]);
  t.equal(DELIVERY_FIELD_NAMES[51], 'INVOICELINES_3_TAX');
  t.same(DELIVERY_FIELD_NAMES.slice(-3), ['CONTROL_SUPPLIER', 'CONTROL_FLOWID', 'SERVICES_ENRICHMENT']);
  t.ok(DELIVERY_FIELD_NAMES.includes('CONTRACT_CONTACT_EMAIL'), 'the e-mail row that lost its name in the specification');
  t.ok(DELIVERY_FIELD_NAMES.every((n) => /^[A-Z0-9_]+$/.test(n)));
});

t.test('types and maximum lengths follow the specification', async (t) => {
  const expect: Record<string, [string, number | undefined, string | undefined]> = {
    IDENTIFICATION_IDENTIFIER: ['varchar', 255, undefined],
    PERSON_GENDER: ['varchar', 1, 'gender'],
    PERSON_BIRTHDAY: ['date', undefined, undefined],
    ADDRESS_HOUSENUMBER: ['varchar', 50, undefined],
    ADDRESS_ZIPCODE: ['varchar', 15, undefined],
    ADDRESS_COUNTRY: ['varchar', 2, 'country'],
    CONTACT_PHONENUMBER_2: ['varchar', 20, 'phone'],
    CONTACT_EMAIL_3: ['varchar', 100, 'email'],
    INVOICE_DUEDATE: ['date', undefined, 'future'],
    INVOICE_CURRENCY: ['varchar', 3, 'currency'],
    INVOICE_AMOUNT: ['int', undefined, undefined],
    INVOICE_DESCRIPTION: ['varchar', 255, undefined],
    INVOICE_ARRANGEMENT_DUEDATE: ['date', undefined, 'future'],
    INVOICELINES_2_UNITPRICE: ['int', undefined, undefined],
    EMANDATE_REASON: ['varchar', 70, undefined],
    EMANDATE_DEBTORID: ['varchar', 35, undefined],
    CONTRACT_IDENTIFIER: ['varchar', 25, undefined],
    CONTRACT_CONTACT_PHONENUMBER: ['varchar', 20, 'phone'],
    CONTROL_FLOWID: ['varchar', 10, undefined],
    SERVICES_ENRICHMENT: ['boolean', undefined, undefined],
  };
  for (const [name, [type, max, format]] of Object.entries(expect)) {
    const f = deliveryField(name);
    t.ok(f, name);
    t.same([f?.type, f?.maxLength, f?.format], [type, max, format], name);
  }
  for (const f of DELIVERY_FIELDS) if (f.type === 'varchar') t.ok(f.maxLength, `${f.name} has a max length`);
});

t.test('the matrix has six service columns and covers every column', async (t) => {
  t.same([...SERVICES], ['voice', 'sms', 'mail', 'paylink', 'emandate', 'enrichment']);
  t.equal(REQUIRED_MATRIX.length, 56);
  const rows = new Set(REQUIRED_MATRIX.map((r) => r.row));
  for (const f of DELIVERY_FIELDS) t.ok(rows.has(f.matrixRow), `${f.name} belongs to matrix row ${f.matrixRow}`);
  for (const r of REQUIRED_MATRIX) t.ok(matrixColumns(r.row).length >= 1, `${r.row} maps to columns`);
  t.same(matrixColumns('CONTACT_PHONENUMBER_x'), ['CONTACT_PHONENUMBER_1', 'CONTACT_PHONENUMBER_2', 'CONTACT_PHONENUMBER_3']);
  t.equal(matrixColumns('INVOICELINES_x_TAX').length, 3);
  t.equal(REQUIRED_MATRIX.find((r) => r.row === 'INVOICE_TAX')?.apiField, null, 'n/a becomes null');
  t.equal(REQUIRED_MATRIX.find((r) => r.row === 'INVOICE_ARRANGEMENT_DUEDATE')?.apiField, 'arrangementEndDate');
});

// Written out from the specification's table by hand, per column, to check the data against.
const REQUIRED: Record<Service, string[]> = {
  voice: ['IDENTIFICATION_IDENTIFIER', 'CONTACT_PHONENUMBER_x', 'CONTROL_FLOWID'],
  sms: ['IDENTIFICATION_IDENTIFIER', 'CONTACT_PHONENUMBER_x', 'CONTROL_FLOWID'],
  mail: ['IDENTIFICATION_IDENTIFIER', 'CONTACT_EMAIL_x', 'CONTROL_FLOWID'],
  paylink: [
    'IDENTIFICATION_IDENTIFIER', 'PERSON_FAMILYNAME', 'INVOICE_NUMBER', 'INVOICE_DATE', 'INVOICE_DUEDATE', 'INVOICE_CURRENCY',
    'INVOICE_AMOUNT', 'INVOICE_DESCRIPTION', 'INVOICE_REFERENCE', 'CONTROL_FLOWID',
  ],
  emandate: [
    'IDENTIFICATION_IDENTIFIER', 'PERSON_FAMILYNAME', 'PERSON_GENDER', 'EMANDATE_IDENTIFIER', 'EMANDATE_PURCHASEID',
    'EMANDATE_REASON', 'EMANDATE_DEBTORID', 'EMANDATE_VISIBLEUNTIL', 'CONTROL_FLOWID',
  ],
  enrichment: [
    'IDENTIFICATION_IDENTIFIER', 'PERSON_FAMILYNAME', 'PERSON_GIVENNAME', 'PERSON_BIRTHDAY', 'ADDRESS_STREET', 'ADDRESS_HOUSENUMBER',
    'ADDRESS_EXTENSION', 'ADDRESS_ZIPCODE', 'ADDRESS_CITY', 'ADDRESS_COUNTRY', 'SERVICES_ENRICHMENT',
  ],
};

t.test('required rows per service, and services combine as a union', async (t) => {
  for (const s of SERVICES) t.same(requiredRows([s]).map((r) => r.row), REQUIRED[s], s);
  const smsPaylink = requiredRows(['sms', 'paylink']).map((r) => r.row);
  t.same(new Set(smsPaylink), new Set([...REQUIRED.sms, ...REQUIRED.paylink]));
  t.notOk(requiredRows(['enrichment']).some((r) => r.row === 'CONTROL_FLOWID'), 'enrichment alone needs no flow');
});
