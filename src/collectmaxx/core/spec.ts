// The Collectmaxx delivery-file contract as data. Everything else (validation,
// CSV header, XML nesting, config checks) is derived from these tables, so a
// change in the specification is a change here and nowhere else.

export type Category =
  | 'IDENTIFICATION'
  | 'PERSON'
  | 'ADDRESS'
  | 'CONTACT'
  | 'INVOICE'
  | 'INVOICE_ARRANGEMENT'
  | 'INVOICELINES'
  | 'EMANDATE'
  | 'CONTRACT'
  | 'CONTRACT_CONTACT'
  | 'CONTROL'
  | 'SERVICES';

export type FieldType = 'varchar' | 'date' | 'int' | 'boolean';

/** Extra value rules on top of the SQL-ish type; `future` is the DUEDATE rule. */
export type FieldFormat = 'gender' | 'country' | 'currency' | 'phone' | 'email' | 'future';

export interface DeliveryField {
  /** Column name exactly as in the CSV header (category prefix, `_x` expanded). */
  readonly name: string;
  readonly category: Category;
  /** The field's own name inside its category, without index (e.g. `PHONENUMBER`). */
  readonly field: string;
  /** The `_x` number for repeatable entities, else undefined. */
  readonly index?: number;
  readonly type: FieldType;
  /** VARCHAR maximum in characters (Unicode code points). */
  readonly maxLength?: number;
  readonly format?: FieldFormat;
  readonly description: string;
  /** The matrix row this column belongs to (`CONTACT_PHONENUMBER_x` for all three phones). */
  readonly matrixRow: string;
  /** XML: the category element and the field element (see xml.ts). */
  readonly xmlGroup: string;
  readonly xmlElement: string;
}

interface FieldDef {
  field: string;
  type: FieldType;
  max?: number;
  format?: FieldFormat;
  description: string;
}

const v = (field: string, max: number, description: string, format?: FieldFormat): FieldDef => ({
  field, type: 'varchar', max, description, ...(format ? { format } : {}),
});
const d = (field: string, description: string, format?: FieldFormat): FieldDef => ({
  field, type: 'date', description, ...(format ? { format } : {}),
});
const i = (field: string, description: string): FieldDef => ({ field, type: 'int', description });

/**
 * Categories in the specification's order. `repeat` says how `_x` numbering applies:
 * `field` puts the number after the field (CONTACT_PHONENUMBER_1), `entity`
 * after the category (INVOICELINES_1_DESCRIPTION), as the specification shows for each.
 */
const CATEGORIES: ReadonlyArray<{ category: Category; repeat?: { kind: 'field' | 'entity'; max: number }; fields: FieldDef[] }> = [
  { category: 'IDENTIFICATION', fields: [v('IDENTIFIER', 255, 'A unique string that identifies the record; the identifier in the result file (API: reference).')] },
  {
    category: 'PERSON',
    fields: [
      v('FAMILYNAME', 100, 'Last name, including inserts in pronunciation order.'),
      v('GIVENNAME', 100, 'First name(s).'),
      v('GENDER', 1, 'Gender: M = Male, F = Female, U = Unknown.', 'gender'),
      d('BIRTHDAY', 'Birthday, yyyy-mm-dd.'),
      v('IDENTIFIER', 100, 'Client number / debtor number / patient number / etc.'),
      v('HONORIFICPREFIX', 100, 'Title of customer (prefix), e.g. Drs. Ing.'),
      v('HONORIFICSUFFIX', 100, 'Title of customer (suffix), e.g. MSc.'),
    ],
  },
  {
    category: 'ADDRESS',
    fields: [
      v('STREET', 100, 'Street name.'),
      v('HOUSENUMBER', 50, 'House number.'),
      v('EXTENSION', 50, 'House number extension.'),
      v('ZIPCODE', 15, 'Zip code.'),
      v('CITY', 100, 'City.'),
      v('COUNTRY', 2, 'ISO 3166-1 alpha-2 country code, e.g. NL.', 'country'),
    ],
  },
  {
    category: 'CONTACT',
    repeat: { kind: 'field', max: 3 },
    fields: [v('PHONENUMBER', 20, 'Phone number in E.164 digits, e.g. 31107989525.', 'phone'), v('EMAIL', 100, 'Email address.', 'email')],
  },
  {
    category: 'INVOICE',
    fields: [
      v('NUMBER', 100, 'Invoice number, can also be a dossier number.'),
      d('DATE', 'Invoice date, yyyy-mm-dd.'),
      d('DUEDATE', 'Last payment date, always in the future; last day a PayLink can be paid.', 'future'),
      v('CURRENCY', 3, 'ISO 4217 currency code, e.g. EUR.', 'currency'),
      i('AMOUNT', 'Total amount of the invoice in cents.'),
      i('TAX', 'Total amount of the VAT in cents.'),
      v('DESCRIPTION', 255, 'Description of the invoice.'),
      v('REFERENCE', 100, 'Reference of the invoice.'),
      i('SERIAL', 'Serial number of the invoice (first invoice, first reminder, ...).'),
    ],
  },
  {
    category: 'INVOICE_ARRANGEMENT',
    fields: [
      v('DESCRIPTION', 255, 'Description of the payment arrangement.'),
      i('TOTALTERMS', 'Total amount of terms of the arrangement.'),
      i('TERM', 'Current term of the arrangement.'),
      d('STARTDATE', 'Start date of the payment arrangement.'),
      d('DUEDATE', 'Last payment date, always in the future.', 'future'),
      v('CURRENCY', 3, 'ISO 4217 currency code, e.g. EUR.', 'currency'),
      i('AMOUNT', 'Amount of the arrangement in cents.'),
      i('REMAINING', 'Total amount that remains of the arrangement.'),
    ],
  },
  {
    category: 'INVOICELINES',
    repeat: { kind: 'entity', max: 3 },
    fields: [
      v('DESCRIPTION', 255, 'Description of the invoice line.'),
      i('UNITS', 'Amount of units of this product or service.'),
      i('UNITPRICE', 'Price per unit in cents.'),
      i('TOTAL', 'Total amount for this line in cents.'),
      i('TAX', 'VAT for this line in cents.'),
    ],
  },
  {
    category: 'EMANDATE',
    fields: [
      v('IDENTIFIER', 35, 'The number of the e-mandate.'),
      v('PURCHASEID', 35, 'The number of the transaction.'),
      v('REASON', 70, 'The reason of the transaction.'),
      v('DEBTORID', 35, 'The debtor identification number.'),
      d('VISIBLEUNTIL', 'The date when the request expires.'),
    ],
  },
  {
    category: 'CONTRACT',
    fields: [
      v('IDENTIFIER', 25, 'The number of the contract or product.'),
      v('TYPE', 100, 'The category of the contract or product.'),
      v('NAME', 100, 'The name of the contract or product.'),
      d('STARTDATE', 'The start date of the contract or product.'),
      d('ENDDATE', 'The end date of the contract or product.'),
    ],
  },
  {
    category: 'CONTRACT_CONTACT',
    fields: [
      v('FAMILYNAME', 100, 'The last name of the contact person.'),
      v('GIVENNAME', 100, 'The first name of the contact person.'),
      v('GENDER', 1, 'The gender of the contact person: M, F or U.', 'gender'),
      v('PHONENUMBER', 20, 'The phone number of the contact person in E.164 digits.', 'phone'),
      // The specification's row lost its name cell; the matrix names it CONTRACT_CONTACT_EMAIL.
      v('EMAIL', 100, 'The email address of the contact person.', 'email'),
    ],
  },
  {
    category: 'CONTROL',
    fields: [
      v('SUPPLIER', 100, 'Identifier or name of a supplier.'),
      v('FLOWID', 10, 'Identification of the Alphacomm script (campaign).'),
    ],
  },
  { category: 'SERVICES', fields: [{ field: 'ENRICHMENT', type: 'boolean', description: '1 to have this record enriched.' }] },
];

function expand(): DeliveryField[] {
  const out: DeliveryField[] = [];
  const push = (category: Category, f: FieldDef, name: string, matrixRow: string, xmlGroup: string, xmlElement: string, index?: number) => {
    out.push({
      name, category, field: f.field, type: f.type, description: f.description, matrixRow, xmlGroup, xmlElement,
      ...(index !== undefined ? { index } : {}),
      ...(f.max !== undefined ? { maxLength: f.max } : {}),
      ...(f.format ? { format: f.format } : {}),
    });
  };
  for (const c of CATEGORIES) {
    const group = c.category.toLowerCase();
    if (!c.repeat) {
      for (const f of c.fields) push(c.category, f, `${c.category}_${f.field}`, `${c.category}_${f.field}`, group, f.field.toLowerCase());
    } else if (c.repeat.kind === 'field') {
      for (const f of c.fields) {
        for (let n = 1; n <= c.repeat.max; n++) {
          push(c.category, f, `${c.category}_${f.field}_${n}`, `${c.category}_${f.field}_x`, group, `${f.field.toLowerCase()}_${n}`, n);
        }
      }
    } else {
      for (let n = 1; n <= c.repeat.max; n++) {
        for (const f of c.fields) {
          push(c.category, f, `${c.category}_${n}_${f.field}`, `${c.category}_x_${f.field}`, `${group}_${n}`, f.field.toLowerCase(), n);
        }
      }
    }
  }
  return out;
}

/** Every delivery column in the specification's order: the CSV header, left to right. */
export const DELIVERY_FIELDS: readonly DeliveryField[] = Object.freeze(expand());

export const DELIVERY_FIELD_NAMES: readonly string[] = Object.freeze(DELIVERY_FIELDS.map((f) => f.name));

const BY_NAME: ReadonlyMap<string, DeliveryField> = new Map(DELIVERY_FIELDS.map((f) => [f.name, f]));

export function deliveryField(name: string): DeliveryField | undefined {
  return BY_NAME.get(name);
}

/** Services in the matrix's column order. */
export const SERVICES = ['voice', 'sms', 'mail', 'paylink', 'emandate', 'enrichment'] as const;
export type Service = (typeof SERVICES)[number];

export interface MatrixRow {
  /** Matrix row name; `_x` rows cover all numbered columns of that field. */
  readonly row: string;
  /** The API RowInput field name, null where the specification says n/a. */
  readonly apiField: string | null;
  readonly required: Readonly<Record<Service, boolean>>;
}

// Copied row for row from the specification. Its header names five services but every
// row has six values; CONTACT_EMAIL_x (required only in the third column) shows
// the missing one is Mail, between SMS and PayLink.
const MATRIX_TEXT: ReadonlyArray<[string, string, string]> = [
  ['IDENTIFICATION_IDENTIFIER', 'reference', 'yes yes yes yes yes yes'],
  ['PERSON_FAMILYNAME', 'personFamilyName', 'opt opt opt yes yes yes'],
  ['PERSON_GIVENNAME', 'personGivenName', 'opt opt opt opt opt yes'],
  ['PERSON_GENDER', 'personGender', 'opt opt opt opt yes opt'],
  ['PERSON_BIRTHDAY', 'personBirthDay', 'opt opt opt opt opt yes'],
  ['PERSON_IDENTIFIER', 'personReference', 'opt opt opt opt opt opt'],
  ['PERSON_HONORIFICPREFIX', 'n/a', 'opt opt opt opt opt opt'],
  ['PERSON_HONORIFICSUFFIX', 'n/a', 'opt opt opt opt opt opt'],
  ['ADDRESS_STREET', 'addressStreet', 'opt opt opt opt opt yes'],
  ['ADDRESS_HOUSENUMBER', 'addressHouseNumber', 'opt opt opt opt opt yes'],
  ['ADDRESS_EXTENSION', 'addressHouseNumberExtension', 'opt opt opt opt opt yes'],
  ['ADDRESS_ZIPCODE', 'addressZipCode', 'opt opt opt opt opt yes'],
  ['ADDRESS_CITY', 'addressCity', 'opt opt opt opt opt yes'],
  ['ADDRESS_COUNTRY', 'addressCountry', 'opt opt opt opt opt yes'],
  ['CONTACT_PHONENUMBER_x', 'toPhoneNumbers', 'yes yes opt opt opt opt'],
  ['CONTACT_EMAIL_x', 'toMailAddress', 'opt opt yes opt opt opt'],
  ['INVOICE_NUMBER', 'invoiceNumber', 'opt opt opt yes opt opt'],
  ['INVOICE_DATE', 'invoiceDate', 'opt opt opt yes opt opt'],
  ['INVOICE_DUEDATE', 'invoiceDueDate', 'opt opt opt yes opt opt'],
  ['INVOICE_CURRENCY', 'invoiceCurrency', 'opt opt opt yes opt opt'],
  ['INVOICE_AMOUNT', 'invoiceAmount', 'opt opt opt yes opt opt'],
  ['INVOICE_TAX', 'n/a', 'opt opt opt opt opt opt'],
  ['INVOICE_DESCRIPTION', 'invoiceDescription', 'opt opt opt yes opt opt'],
  ['INVOICE_REFERENCE', 'invoiceReference', 'opt opt opt yes opt opt'],
  ['INVOICE_SERIAL', 'n/a', 'opt opt opt opt opt opt'],
  ['INVOICE_ARRANGEMENT_DESCRIPTION', 'arrangementDescription', 'opt opt opt opt opt opt'],
  ['INVOICE_ARRANGEMENT_TOTALTERMS', 'n/a', 'opt opt opt opt opt opt'],
  ['INVOICE_ARRANGEMENT_TERM', 'n/a', 'opt opt opt opt opt opt'],
  ['INVOICE_ARRANGEMENT_STARTDATE', 'arrangementStartDate', 'opt opt opt opt opt opt'],
  ['INVOICE_ARRANGEMENT_DUEDATE', 'arrangementEndDate', 'opt opt opt opt opt opt'],
  ['INVOICE_ARRANGEMENT_CURRENCY', 'n/a', 'opt opt opt opt opt opt'],
  ['INVOICE_ARRANGEMENT_AMOUNT', 'arrangementAmount', 'opt opt opt opt opt opt'],
  ['INVOICE_ARRANGEMENT_REMAINING', 'arrangementRemainingAmount', 'opt opt opt opt opt opt'],
  ['INVOICELINES_x_DESCRIPTION', 'invoiceLinesDescriptions', 'opt opt opt opt opt opt'],
  ['INVOICELINES_x_UNITS', 'n/a', 'opt opt opt opt opt opt'],
  ['INVOICELINES_x_UNITPRICE', 'invoiceLinesUnitPrices', 'opt opt opt opt opt opt'],
  ['INVOICELINES_x_TOTAL', 'n/a', 'opt opt opt opt opt opt'],
  ['INVOICELINES_x_TAX', 'n/a', 'opt opt opt opt opt opt'],
  ['EMANDATE_IDENTIFIER', 'emandateReference', 'opt opt opt opt yes opt'],
  ['EMANDATE_PURCHASEID', 'emandatePurchaseReference', 'opt opt opt opt yes opt'],
  ['EMANDATE_REASON', 'emandateReason', 'opt opt opt opt yes opt'],
  ['EMANDATE_DEBTORID', 'emandateDebtorReference', 'opt opt opt opt yes opt'],
  ['EMANDATE_VISIBLEUNTIL', 'emandateVisibleUntil', 'opt opt opt opt yes opt'],
  ['CONTRACT_IDENTIFIER', 'contractIdentifier', 'opt opt opt opt opt opt'],
  ['CONTRACT_TYPE', 'contractType', 'opt opt opt opt opt opt'],
  ['CONTRACT_NAME', 'contractName', 'opt opt opt opt opt opt'],
  ['CONTRACT_STARTDATE', 'contractStartDate', 'opt opt opt opt opt opt'],
  ['CONTRACT_ENDDATE', 'contractEndDate', 'opt opt opt opt opt opt'],
  ['CONTRACT_CONTACT_FAMILYNAME', 'n/a', 'opt opt opt opt opt opt'],
  ['CONTRACT_CONTACT_GIVENNAME', 'n/a', 'opt opt opt opt opt opt'],
  ['CONTRACT_CONTACT_GENDER', 'n/a', 'opt opt opt opt opt opt'],
  ['CONTRACT_CONTACT_PHONENUMBER', 'n/a', 'opt opt opt opt opt opt'],
  ['CONTRACT_CONTACT_EMAIL', 'n/a', 'opt opt opt opt opt opt'],
  ['CONTROL_SUPPLIER', 'clientReference', 'opt opt opt opt opt opt'],
  ['CONTROL_FLOWID', 'script', 'yes yes yes yes yes opt'],
  ['SERVICES_ENRICHMENT', 'n/a', 'opt opt opt opt opt yes'],
];

function parseMatrix(): MatrixRow[] {
  return MATRIX_TEXT.map(([row, api, cells]) => {
    const values = cells.split(' ');
    if (values.length !== SERVICES.length) throw new Error(`matrix row ${row}: expected ${SERVICES.length} values`);
    const required = Object.fromEntries(SERVICES.map((s, k) => [s, values[k] === 'yes'])) as Record<Service, boolean>;
    return { row, apiField: api === 'n/a' ? null : api, required: Object.freeze(required) };
  });
}

export const REQUIRED_MATRIX: readonly MatrixRow[] = Object.freeze(parseMatrix());

/** The columns a matrix row stands for, in header order. */
export function matrixColumns(row: string): readonly string[] {
  return DELIVERY_FIELDS.filter((f) => f.matrixRow === row).map((f) => f.name);
}

/** Matrix rows required by the union of `services` (SMS + PayLink = both columns). */
export function requiredRows(services: Iterable<Service>): MatrixRow[] {
  const set = new Set(services);
  return REQUIRED_MATRIX.filter((r) => [...set].some((s) => r.required[s]));
}
