// Delivery CSV exactly as the specification prescribes: UTF-8 (no BOM), `;` between
// fields, every field (header included) in double quotes with inner quotes
// doubled, records separated by LF, values trimmed. The header is always the
// full column list in the specification's order, so every file has the same shape and
// Alphacomm's one-time column mapping never has to change.

import { DELIVERY_FIELD_NAMES, deliveryField } from './spec.js';
import type { DeliveryRecord } from './validate.js';

/** A value that would break the record structure: validation rejects these before. */
const FORBIDDEN = /[\u0000-\u001F\u007F-\u009F]/;

function quote(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/**
 * Column list check shared by the writers: a record with a column we do not
 * know means the caller skipped validation, which is a bug, not data.
 */
export function assertWritable(records: readonly DeliveryRecord[]): void {
  if (records.length === 0) throw new RangeError('a delivery file needs at least one record');
  records.forEach((r, n) => {
    for (const [k, v] of Object.entries(r)) {
      if (!deliveryField(k)) throw new TypeError(`record ${n + 1}: unknown column ${k}`);
      if (FORBIDDEN.test(v)) throw new TypeError(`record ${n + 1}: ${k} contains a control character`);
    }
  });
}

/** The delivery file's bytes. Records should come from validateRecord (ok). */
export function writeDeliveryCsv(records: readonly DeliveryRecord[]): Buffer {
  assertWritable(records);
  const lines = [DELIVERY_FIELD_NAMES.map(quote).join(';')];
  for (const r of records) lines.push(DELIVERY_FIELD_NAMES.map((c) => quote((r[c] ?? '').trim())).join(';'));
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}
