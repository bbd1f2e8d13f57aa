import t from 'tap';
import { exportRuleSchema } from '../../src/collectmaxx/core/config.js';
import { parseIdentifier } from '../../src/collectmaxx/core/identifier.js';
import { buildDeliveryRecord, matchingRules } from '../../src/collectmaxx/core/record.js';
import { COUNTRY, EVENTS, SMS_PAYLINK_RULE, TODAY } from './helpers.js';

const ctx = { today: TODAY, defaultCountryCode: COUNTRY };
const event = EVENTS[0]!;

t.test('a Paygate event becomes a validated record', async (t) => {
  const b = buildDeliveryRecord(event, SMS_PAYLINK_RULE, ctx);
  t.equal(b.ok, true);
  t.match(b.record, {
    IDENTIFICATION_IDENTIFIER: b.identifier, PERSON_FAMILYNAME: 'Mustermann', CONTACT_PHONENUMBER_1: '491701234567',
    INVOICE_AMOUNT: '1999', INVOICE_DUEDATE: '2026-01-29', INVOICE_DESCRIPTION: 'Rechnung RE-2026-0001 (ShopTest)', CONTROL_FLOWID: 'F100',
  });
  t.match(parseIdentifier(b.identifier), { merchantId: 'ShopTest', transId: 'TX-1001', eventId: event.id, flowId: 'F100', verified: true });
  t.same(b.unresolved, []);
  t.equal(buildDeliveryRecord(event, SMS_PAYLINK_RULE, ctx).identifier, b.identifier, 'deterministic');
  t.not(buildDeliveryRecord(event, { ...SMS_PAYLINK_RULE, flowId: 'F200' }, ctx).identifier, b.identifier, 'per flow');
});

t.test('a record that fails keeps every reason and names the missing placeholders', async (t) => {
  const noPhone = { ...event, data: { ...event.data, custom: { ...event.data.custom, phone: '' }, fields: { currency: 'EUR', amount: '19.99' } } };
  const b = buildDeliveryRecord(noPhone, SMS_PAYLINK_RULE, { ...ctx, today: '2026-02-01' });
  t.equal(b.ok, false);
  if (b.ok) return;
  t.same(b.reasons.map((r) => `${r.field}:${r.code}`), ['INVOICE_AMOUNT:int', 'INVOICELINES_1_UNITPRICE:int', 'INVOICELINES_1_TOTAL:int', 'CONTACT_PHONENUMBER_x:required']);
  const gone = { ...event, data: { ...event.data, custom: {} } };
  const g = buildDeliveryRecord(gone, SMS_PAYLINK_RULE, ctx);
  t.equal(g.ok, false);
  if (g.ok) return;
  t.match(g.reasons.find((r) => r.field === 'PERSON_FAMILYNAME')?.message, /is required for paylink \(no value for \{custom\.lastname\}\)/);
  t.match(g.reasons.find((r) => r.field === 'CONTACT_PHONENUMBER_x')?.message, /\(no value for \{custom\.phone\}\)/);
  t.ok(g.unresolved.some((u) => u.field === 'CONTACT_EMAIL_1' && u.placeholder === '{custom.email}'), 'optional gaps are listed too');
  t.equal(g.record.IDENTIFICATION_IDENTIFIER, g.identifier, 'the rejected record is complete enough to show and retry');
});

t.test('DUEDATE from {today+N} is checked against the same today', async (t) => {
  const rule = { ...SMS_PAYLINK_RULE, fields: { ...SMS_PAYLINK_RULE.fields, INVOICE_DUEDATE: '{today}' } };
  const b = buildDeliveryRecord(event, rule, ctx);
  t.same(!b.ok && b.reasons.map((r) => r.code), ['future_date']);
});

t.test('enrichment rules get SERVICES_ENRICHMENT=1', async (t) => {
  const rule = exportRuleSchema.parse({
    on: 'debtor.created', flowId: 'E1', services: ['enrichment'],
    fields: {
      PERSON_FAMILYNAME: '{custom.lastname}', PERSON_GIVENNAME: '{custom.firstname}', PERSON_BIRTHDAY: '1980-05-05', ADDRESS_STREET: '{custom.street}',
      ADDRESS_HOUSENUMBER: '{custom.houseNo}', ADDRESS_EXTENSION: 'a', ADDRESS_ZIPCODE: '{custom.zip}', ADDRESS_CITY: '{custom.city}', ADDRESS_COUNTRY: '{custom.country}',
    },
  });
  const b = buildDeliveryRecord(event, rule, ctx);
  t.equal(b.ok, true);
  t.equal(b.record.SERVICES_ENRICHMENT, '1');
  t.equal(b.record.CONTROL_FLOWID, 'E1');
});

t.test('rules match by event type and merchant', async (t) => {
  const a = { on: 'open_position.created' as const, flowId: 'A' };
  const b = { on: ['open_position.created', 'payment.failed'] as Array<'open_position.created' | 'payment.failed'>, merchants: ['Other'], flowId: 'B' };
  const c = { on: 'payment.failed' as const, merchants: ['ShopTest'], flowId: 'C' };
  const rules = [a, b, c];
  t.same(matchingRules({ type: 'open_position.created', merchantId: 'ShopTest' }, rules).map((r) => r.flowId), ['A']);
  t.same(matchingRules({ type: 'payment.failed', merchantId: 'ShopTest' }, rules).map((r) => r.flowId), ['C']);
  t.same(matchingRules({ type: 'payment.failed', merchantId: 'Other' }, rules).map((r) => r.flowId), ['B']);
  t.same(matchingRules({ type: 'credit.created', merchantId: 'ShopTest' }, rules), []);
});
