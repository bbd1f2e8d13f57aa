import t from 'tap';
import { writeDeliveryCsv } from '../../src/collectmaxx/core/csv.js';
import { deliveryFileName } from '../../src/collectmaxx/core/filename.js';
import { buildDeliveryRecord } from '../../src/collectmaxx/core/record.js';
import { DELIVERY_FIELD_NAMES } from '../../src/collectmaxx/core/spec.js';
import type { DeliveryRecord } from '../../src/collectmaxx/core/validate.js';
import { writeDeliveryXml } from '../../src/collectmaxx/core/xml.js';
import { COUNTRY, EVENTS, fixture, SMS_PAYLINK_RULE, TODAY } from './helpers.js';

function records(): DeliveryRecord[] {
  return EVENTS.map((e) => {
    const b = buildDeliveryRecord(e, SMS_PAYLINK_RULE, { today: TODAY, defaultCountryCode: COUNTRY });
    if (!b.ok) throw new Error(JSON.stringify(b.reasons));
    return b.record;
  });
}

t.test('golden CSV, byte for byte', async (t) => {
  const name = deliveryFileName({ date: TODAY, clientNumber: '4711', sequence: 1, format: 'csv' });
  t.equal(name, '20260115-4711-1.csv');
  const got = writeDeliveryCsv(records());
  t.ok(got.equals(fixture('delivery', name)), 'matches fixtures/delivery/20260115-4711-1.csv');
  const text = got.toString('utf8');
  // Independent of the golden file: the rules of the specification, checked directly.
  t.notOk(text.startsWith('\uFEFF'), 'no BOM');
  t.notOk(text.includes('\r'), 'LF only');
  t.ok(text.endsWith('\n'));
  const lines = text.split('\n');
  t.equal(lines.length, 4, 'header, two records, final newline');
  t.equal(lines[0], DELIVERY_FIELD_NAMES.map((n) => `"${n}"`).join(';'));
  t.match(lines[0], /^"IDENTIFICATION_IDENTIFIER";"PERSON_FAMILYNAME";.*"CONTACT_PHONENUMBER_1";"CONTACT_PHONENUMBER_2";"CONTACT_PHONENUMBER_3";"CONTACT_EMAIL_1";.*"INVOICELINES_3_TAX";.*"SERVICES_ENRICHMENT"$/);
  t.match(lines[2], /;"van der Berg ""Jr""; & Söhne <GmbH>";/, 'quotes doubled, delimiter kept inside quotes');
  t.match(lines[1], /;"Mustermann";/, 'values trimmed');
  t.match(lines[1], /;"491701234567";/, 'phone normalised with the default country');
  t.match(lines[1], /^"pgr1\.ShopTest\.TX-1001\.evt_01JHB3K5W8X2N4P6R8T0V2X4Z6\.F100\.[0-9a-f]{16}";/);
  t.match(got.subarray(0, 200).toString('latin1'), /^"IDENTIFICATION/);
  t.ok(got.includes(Buffer.from('Hauptstra\u00dfe', 'utf8')), 'UTF-8 encoded');
});

t.test('golden XML, byte for byte', async (t) => {
  const name = deliveryFileName({ date: TODAY, clientNumber: '4711', sequence: 1, format: 'xml' });
  const got = writeDeliveryXml(records());
  t.ok(got.equals(fixture('delivery', name)), 'matches fixtures/delivery/20260115-4711-1.xml');
  const text = got.toString('utf8');
  t.ok(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<annabel>\n  <record>\n    <identification>\n      <identifier>pgr1.'));
  t.ok(text.endsWith('  </record>\n</annabel>\n'));
  t.equal(text.match(/<record>/g)?.length, 2);
  t.match(text, /<familyname>van der Berg "Jr"; &amp; Söhne &lt;GmbH&gt;<\/familyname>/, 'escaped');
  t.match(text, /<contact>\n {6}<phonenumber_1>31612345678<\/phonenumber_1>\n {6}<email_1>jan@example.nl<\/email_1>\n {4}<\/contact>/);
  t.match(text, /<invoicelines_1>\n {6}<description>Jahresabo Premium<\/description>/);
  t.notMatch(text, /<emandate>|<invoicelines_2>|<services>|<birthday>/, 'empty fields and categories are left out');
});

t.test('all three invoice lines and all categories nest as documented', async (t) => {
  const full: Record<string, string> = {};
  DELIVERY_FIELD_NAMES.forEach((n, k) => { full[n] = `v${k}`; });
  const xml = writeDeliveryXml([full]).toString('utf8');
  const groups = [...xml.matchAll(/^ {4}<([a-z_0-9]+)>$/gm)].map((m) => m[1]);
  t.same(groups, [
    'identification', 'person', 'address', 'contact', 'invoice', 'invoice_arrangement', 'invoicelines_1', 'invoicelines_2',
    'invoicelines_3', 'emandate', 'contract', 'contract_contact', 'control', 'services',
  ]);
  t.match(xml, /<invoice_arrangement>\n {6}<description>v29<\/description>/);
  t.match(xml, /<invoicelines_3>\n {6}<description>v47<\/description>\n {6}<units>v48<\/units>/);
  t.match(xml, /<contact>\n {6}<phonenumber_1>v14<\/phonenumber_1>\n {6}<phonenumber_2>v15<\/phonenumber_2>/);
  t.match(xml, /<services>\n {6}<enrichment>v69<\/enrichment>\n {4}<\/services>/);
  const csv = writeDeliveryCsv([full]).toString('utf8').split('\n')[1];
  t.equal(csv, DELIVERY_FIELD_NAMES.map((_, k) => `"v${k}"`).join(';'));
});

t.test('writers refuse what validation would have stopped', async (t) => {
  for (const write of [writeDeliveryCsv, writeDeliveryXml]) {
    t.throws(() => write([]), RangeError);
    t.throws(() => write([{ NOT_A_COLUMN: 'x' }]), { name: 'TypeError', message: /record 1: unknown column NOT_A_COLUMN/ });
    t.throws(() => write([{ PERSON_FAMILYNAME: 'ok' }, { PERSON_FAMILYNAME: 'a\nb' }]), { message: /record 2: PERSON_FAMILYNAME contains a control character/ });
  }
});
