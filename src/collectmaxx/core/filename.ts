// File names on both sides of the exchange. Delivery names must never repeat
// (Alphacomm keys imports by name, even for identical content), so the
// sequence is derived from every name ever used, not from what is still in
// the outbox. Result names carry the kind and period of the report.

import { assertIsoDate, fromCompact, toCompact } from './dates.js';

export type DeliveryFormat = 'csv' | 'xml';

export interface DeliveryFileName {
  /** YYYY-MM-DD */
  readonly date: string;
  readonly clientNumber: string;
  /** 1, 2, … per date and client. */
  readonly sequence: number;
  readonly format: DeliveryFormat;
}

/** Client numbers go into file names: keep them to letters and digits. */
export const CLIENT_NUMBER = /^[A-Za-z0-9]{1,32}$/;

/** `YYYYMMDD-<client>-<n>.csv|xml`, the specification's preferred delivery name. */
export function deliveryFileName(n: DeliveryFileName): string {
  assertIsoDate(n.date);
  if (!CLIENT_NUMBER.test(n.clientNumber)) throw new RangeError(`client number must be 1-32 letters or digits, got ${JSON.stringify(n.clientNumber)}`);
  if (!Number.isSafeInteger(n.sequence) || n.sequence < 1) throw new RangeError(`sequence must be a positive integer, got ${n.sequence}`);
  return `${toCompact(n.date)}-${n.clientNumber}-${n.sequence}.${n.format}`;
}

export function parseDeliveryFileName(name: string): DeliveryFileName | null {
  const m = /^(\d{8})-([A-Za-z0-9]{1,32})-([1-9][0-9]*)\.(csv|xml)$/.exec(name);
  if (!m) return null;
  const date = fromCompact(m[1] as string);
  const sequence = Number(m[3]);
  if (!date || !Number.isSafeInteger(sequence)) return null;
  return { date, clientNumber: m[2] as string, sequence, format: m[4] as DeliveryFormat };
}

/**
 * The next free sequence for (date, client): one more than the highest used
 * in either format. Pass every name ever delivered (from storage), so a file
 * that was uploaded and removed can never be overwritten by a new one.
 */
export function nextDeliverySequence(usedNames: Iterable<string>, date: string, clientNumber: string): number {
  assertIsoDate(date);
  let max = 0;
  for (const name of usedNames) {
    const p = parseDeliveryFileName(name);
    if (p && p.date === date && p.clientNumber === clientNumber && p.sequence > max) max = p.sequence;
  }
  return max + 1;
}

export type ResultFileName =
  /** `result_YYYYMMDD-acosNNNN.csv`: one day's changes for one script. */
  | { readonly kind: 'daily'; readonly from: string; readonly to: string; readonly scriptNumber: string }
  /** `result_YYYYMMDD_YYYYMMDD-acosNNNN.csv`: a month's (period's) changes for one script. */
  | { readonly kind: 'monthly'; readonly from: string; readonly to: string; readonly scriptNumber: string }
  /** `result_{Ymd}_{Ymd}_paylink.csv`: PayLinks created through the portal or API. */
  | { readonly kind: 'paylink'; readonly from: string; readonly to: string };

/** Recognise a result file by name; null for anything else (leave such files alone). */
export function parseResultFileName(name: string): ResultFileName | null {
  let m = /^result_(\d{8})-acos(\d+)\.csv$/i.exec(name);
  if (m) {
    const day = fromCompact(m[1] as string);
    return day ? { kind: 'daily', from: day, to: day, scriptNumber: m[2] as string } : null;
  }
  m = /^result_(\d{8})_(\d{8})(?:-acos(\d+)|_(paylink))\.csv$/i.exec(name);
  if (!m) return null;
  const from = fromCompact(m[1] as string);
  const to = fromCompact(m[2] as string);
  if (!from || !to || from > to) return null;
  return m[4] ? { kind: 'paylink', from, to } : { kind: 'monthly', from, to, scriptNumber: m[3] as string };
}
