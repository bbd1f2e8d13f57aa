// Shared fixtures for the Collectmaxx tests (not a test file itself).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PaygateEvent } from '../../src/events/schema.js';
import { exportRuleSchema, type ExportRule } from '../../src/collectmaxx/core/config.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixture(...parts: string[]): Buffer {
  return readFileSync(join(FIXTURES, ...parts));
}

/** Typed as the relay's stored envelope, so the core's input type is proven to accept it. */
export const EVENTS: PaygateEvent[] = JSON.parse(fixture('delivery', 'events.json').toString('utf8')) as PaygateEvent[];

/** The rule of the issue text: SMS with PayLink for new open positions. */
export const SMS_PAYLINK_RULE: ExportRule = exportRuleSchema.parse({
  on: 'open_position.created',
  flowId: 'F100',
  services: ['sms', 'paylink'],
  fields: {
    PERSON_FAMILYNAME: '{custom.lastname}',
    PERSON_GIVENNAME: '{custom.firstname}',
    PERSON_GENDER: '{custom.gender}',
    PERSON_IDENTIFIER: '{custom.customerNo}',
    ADDRESS_STREET: '{custom.street}',
    ADDRESS_HOUSENUMBER: '{custom.houseNo}',
    ADDRESS_ZIPCODE: '{custom.zip}',
    ADDRESS_CITY: '{custom.city}',
    ADDRESS_COUNTRY: '{custom.country}',
    CONTACT_PHONENUMBER_1: '{custom.phone}',
    CONTACT_EMAIL_1: '{custom.email}',
    INVOICE_NUMBER: '{data.refNr}',
    INVOICE_DATE: '{custom.invoiceDate}',
    INVOICE_DUEDATE: '{today+14}',
    INVOICE_CURRENCY: '{fields.currency}',
    INVOICE_AMOUNT: '{fields.amount}',
    INVOICE_DESCRIPTION: 'Rechnung {data.refNr} ({merchantId})',
    INVOICE_REFERENCE: '{data.transId}',
    INVOICELINES_1_DESCRIPTION: '{custom.item1}',
    INVOICELINES_1_UNITS: '1',
    INVOICELINES_1_UNITPRICE: '{fields.amount}',
    INVOICELINES_1_TOTAL: '{fields.amount}',
    CONTROL_SUPPLIER: 'paygate-relay',
  },
});

export const TODAY = '2026-01-15';
export const COUNTRY = '49';
