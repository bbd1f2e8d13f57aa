// Cell interpreters for result files. Each returns the typed value or a
// reason; the caller adds line and column. Strict where a wrong guess would
// produce a wrong event (numbers, booleans, status codes), lenient where the
// specification itself says the list grows (payment methods).

import { isIsoDate } from './dates.js';
import { lookupCode, PAYMENT_METHODS, type CodeTableName, type ResolvedCode } from './codes.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface PaymentMethod {
  /** As reported, lower-cased, e.g. `ideal`. */
  readonly name: string;
  /** The specification's full name, or null for a method the specification does not list yet. */
  readonly fullName: string | null;
}

export type ValueKind =
  | 'text'
  | 'int'
  | 'bool'
  | 'datetime'
  | 'amount'
  | 'paymentMethod'
  | { readonly code: CodeTableName }
  | { readonly paylink: 'paymailPaylinkV1' | 'smsPaylinkV1' | 'portalPaylink' };

export type CellValue = string | number | boolean | ResolvedCode | PaymentMethod;

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const no = (reason: string): Parsed<never> => ({ ok: false, reason });

// ISO 8601 as the specification shows it (2014-02-12T15:19:21+00:00); a space instead of
// `T`, no seconds, no zone or a date alone are accepted because the portal
// file does not say which form it uses. The value is kept as written.
const DATETIME = /^(\d{4}-\d{2}-\d{2})(?:[T ]([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$/;

function parseInteger(s: string): Parsed<number> {
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(Number(s))) return no(`${JSON.stringify(s)} is not a whole number`);
  return ok(Number(s));
}

function resolve(table: CodeTableName, code: number | string, raw: string): Parsed<ResolvedCode> {
  const r = lookupCode(table, code);
  return r ? ok(r) : no(`${JSON.stringify(raw)} is not a code of the ${table} table`);
}

export function parseCell(kind: ValueKind, s: string): Parsed<CellValue> {
  switch (kind) {
    case 'text':
      return ok(s);
    case 'int':
      return parseInteger(s);
    case 'bool':
      return s === '0' || s === '1' ? ok(s === '1') : no(`${JSON.stringify(s)} is not a boolean 0/1`);
    case 'datetime': {
      const m = DATETIME.exec(s);
      return m && isIsoDate(m[1] as string) ? ok(s) : no(`${JSON.stringify(s)} is not an ISO 8601 date and time`);
    }
    case 'amount': {
      // The portal file gives amounts as decimal strings ("49.66").
      const m = /^(-?)(\d+)(?:[.,](\d{1,2}))?$/.exec(s);
      if (!m) return no(`${JSON.stringify(s)} is not an amount like 49.66`);
      const cents = Number(m[2]) * 100 + Number((m[3] ?? '0').padEnd(2, '0'));
      return Number.isSafeInteger(cents) ? ok(m[1] ? -cents : cents) : no(`${JSON.stringify(s)} is too large`);
    }
    case 'paymentMethod': {
      const name = s.toLowerCase();
      const known = PAYMENT_METHODS.find((e) => e.code === name);
      return ok({ name, fullName: known ? known.description : null });
    }
    default:
      break;
  }
  if ('code' in kind) {
    const n = parseInteger(s);
    return n.ok ? resolve(kind.code, n.value, s) : n;
  }
  // PayLink results are "INT / STRING": integers are v1 (per channel), words are v2.
  if (/^-?\d+$/.test(s)) {
    const n = parseInteger(s);
    return n.ok ? resolve(kind.paylink, n.value, s) : n;
  }
  if (kind.paylink === 'portalPaylink') return no(`${JSON.stringify(s)} is not a whole number`);
  return resolve('paylinkV2', s.toLowerCase(), s);
}
