// Delivery XML. The specification fixes the root <annabel>, one <record> per record,
// and one element per category with the fields as sub-elements, but its table
// of element names is missing. We follow the lower-case style of <annabel> and
// <record> (spec.ts holds the names per column):
//   category element = category name in lower case: identification, person,
//     address, contact, invoice, invoice_arrangement, emandate, contract,
//     contract_contact, control, services;
//   field element = field name in lower case without the category prefix:
//     <person><familyname>…</familyname></person>;
//   fields numbered per field keep their number: <contact><phonenumber_1>…;
//   entities numbered per category (invoice lines) get one category element
//     per entity: <invoicelines_1><description>…</description></invoicelines_1>.
// Empty fields are left out, and so is a category with no values: in XML an
// absent element is the natural "not delivered". Two-space indentation, LF.

import { DELIVERY_FIELDS } from './spec.js';
import { assertWritable } from './csv.js';
import type { DeliveryRecord } from './validate.js';

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The delivery file's bytes. Records should come from validateRecord (ok). */
export function writeDeliveryXml(records: readonly DeliveryRecord[]): Buffer {
  assertWritable(records);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<annabel>'];
  for (const r of records) {
    out.push('  <record>');
    let group: string | null = null;
    for (const f of DELIVERY_FIELDS) {
      const value = (r[f.name] ?? '').trim();
      if (value === '') continue;
      if (f.xmlGroup !== group) {
        if (group !== null) out.push(`    </${group}>`);
        group = f.xmlGroup;
        out.push(`    <${group}>`);
      }
      out.push(`      <${f.xmlElement}>${escapeText(value)}</${f.xmlElement}>`);
    }
    if (group !== null) out.push(`    </${group}>`);
    out.push('  </record>');
  }
  out.push('</annabel>');
  return Buffer.from(`${out.join('\n')}\n`, 'utf8');
}
