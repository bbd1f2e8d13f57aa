// Shared by the relay-level Collectmaxx tests (not a test file itself): the export rule and a callback that satisfies it.

export const RULE = {
  on: 'open_position.created', flowId: 'F100', services: ['sms', 'paylink'],
  fields: {
    PERSON_FAMILYNAME: '{custom.lastname}', PERSON_GENDER: '{custom.gender}', CONTACT_PHONENUMBER_1: '{custom.phone}', CONTACT_EMAIL_1: '{custom.email}',
    INVOICE_NUMBER: '{data.refNr}', INVOICE_DATE: '{custom.invoiceDate}', INVOICE_DUEDATE: '{today+14}', INVOICE_CURRENCY: '{fields.currency}',
    INVOICE_AMOUNT: '{fields.amount}', INVOICE_DESCRIPTION: 'Rechnung {data.refNr}', INVOICE_REFERENCE: '{data.transId}',
  },
};

export const GOOD = {
  refNr: 'RE-1', extra: { Amount: '1999', Currency: 'EUR' },
  custom: { lastname: '  Mustermann ', gender: 'F', phone: '0170 123-4567', email: 'erika@example.de', invoiceDate: '2026-01-14' },
};
