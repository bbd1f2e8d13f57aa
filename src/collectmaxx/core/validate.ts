// Validation before a record is written: Collectmaxx imports files without
// answering per record, so anything it would reject or mis-dial must be caught
// here, with every reason, so an operator can fix the source data in one pass.

import { assertIsoDate, isIsoDate } from './dates.js';
import { normalisePhone } from './phone.js';
import { DELIVERY_FIELDS, deliveryField, matrixColumns, requiredRows, type DeliveryField, type Service } from './spec.js';

/** A delivery record: column name → value. Absent and empty are the same. */
export type DeliveryRecord = Readonly<Record<string, string>>;

export const REJECT_CODES = [
  'unknown_field',
  'required',
  'invalid_char',
  'max_length',
  'date',
  'future_date',
  'int',
  'boolean',
  'gender',
  'country',
  'currency',
  'phone',
  'email',
  'formula',
] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

export interface RejectReason {
  /** Column name; for a `_x` matrix row (no phone at all) the row name, e.g. CONTACT_PHONENUMBER_x. */
  readonly field: string;
  readonly code: RejectCode;
  readonly message: string;
}

export interface ValidateOptions {
  readonly services: readonly Service[];
  /** The caller's current calendar day, `YYYY-MM-DD`; DUEDATEs must be strictly later. */
  readonly today: string;
  /** Calling code that replaces a national leading 0 in phone numbers (e.g. "31", "49"). */
  readonly defaultCountryCode: string;
}

export type ValidationResult =
  | { readonly ok: true; readonly record: DeliveryRecord }
  | { readonly ok: false; readonly record: DeliveryRecord; readonly reasons: readonly RejectReason[] };

// SQL INT: what the receiving side can store; negative amounts make no sense for a reminder.
const INT_MAX = 2_147_483_647;
// C0/C1 controls (a CR/LF would split a CSV record) and lone surrogates (not encodable in UTF-8).
const INVALID_CHAR = /[\u0000-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// A text cell a spreadsheet would run as a formula when someone opens the delivery file (CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;
// ... except a plain number: a spreadsheet reads "-5" or "+3.50" as a number, not a formula.
const PLAIN_NUMBER = /^[+-]?[0-9]+([.,][0-9]+)?$/;

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Check one non-empty, trimmed value; returns the (possibly normalised) value and its problems. */
function checkValue(f: DeliveryField, value: string, opts: ValidateOptions): { value: string; reasons: RejectReason[] } {
  const reasons: RejectReason[] = [];
  const bad = (code: RejectCode, message: string) => reasons.push({ field: f.name, code, message });
  if (INVALID_CHAR.test(value)) {
    bad('invalid_char', 'contains a control character or an unpaired surrogate');
    return { value, reasons };
  }
  let v = value;
  switch (f.format) {
    case 'phone': {
      const p = normalisePhone(value, opts.defaultCountryCode);
      if (p.ok) v = p.e164;
      else bad('phone', `not a phone number with country code: ${p.reason}`);
      break;
    }
    case 'gender':
      if (!/^[MFU]$/.test(v)) bad('gender', 'must be M, F or U');
      break;
    case 'country':
      if (!/^[A-Z]{2}$/.test(v)) bad('country', 'must be an ISO 3166-1 alpha-2 code of two capital letters, e.g. NL');
      break;
    case 'currency':
      if (!/^[A-Z]{3}$/.test(v)) bad('currency', 'must be an ISO 4217 code of three capital letters, e.g. EUR');
      break;
    case 'email':
      if (!EMAIL.test(v)) bad('email', 'not an email address');
      break;
    default:
      break;
  }
  switch (f.type) {
    case 'date':
      if (!isIsoDate(v)) bad('date', 'must be a calendar date yyyy-mm-dd');
      else if (f.format === 'future' && v <= opts.today) bad('future_date', `must be after ${opts.today}`);
      break;
    case 'int':
      if (!/^(0|[1-9][0-9]*)$/.test(v) || Number(v) > INT_MAX) {
        bad('int', `must be a whole number 0..${INT_MAX} without sign, separators or decimals (amounts in cents)`);
      }
      break;
    case 'boolean':
      if (v !== '0' && v !== '1') bad('boolean', 'must be 0 or 1');
      break;
    case 'varchar':
      if (FORMULA_START.test(v) && !PLAIN_NUMBER.test(v)) bad('formula', 'must not begin with =, +, -, @, tab or CR (a spreadsheet would run it as a formula)');
      break;
  }
  if (f.maxLength !== undefined && codePoints(v) > f.maxLength) {
    bad('max_length', `${codePoints(v)} characters, at most ${f.maxLength} allowed`);
  }
  return { value: v, reasons };
}

/**
 * Trim, normalise (phone numbers to E.164 digits) and validate a record for
 * the union of `services`. Returns the normalised record (known columns in
 * header order, empty values dropped, unknown columns kept so a reject shows
 * what was given) and, if anything is wrong, every reason.
 */
export function validateRecord(input: Readonly<Record<string, string | undefined>>, opts: ValidateOptions): ValidationResult {
  assertIsoDate(opts.today, 'today');
  const reasons: RejectReason[] = [];
  const trimmed = new Map<string, string>();
  for (const [k, raw] of Object.entries(input)) {
    const t = (raw ?? '').trim();
    if (t !== '') trimmed.set(k, t);
  }
  const out: Record<string, string> = {};
  for (const f of DELIVERY_FIELDS) {
    const value = trimmed.get(f.name);
    if (value === undefined) continue;
    const checked = checkValue(f, value, opts);
    out[f.name] = checked.value;
    reasons.push(...checked.reasons);
  }
  for (const [k, value] of trimmed) {
    if (deliveryField(k)) continue;
    out[k] = value;
    reasons.push({ field: k, code: 'unknown_field', message: 'not a Collectmaxx delivery column' });
  }
  for (const row of requiredRows(opts.services)) {
    const columns = matrixColumns(row.row);
    if (columns.some((c) => trimmed.has(c))) continue;
    const needs = opts.services.filter((s) => row.required[s]).join(', ');
    const field = columns.length === 1 ? (columns[0] ?? row.row) : row.row;
    const what = columns.length === 1 ? 'is required' : `needs at least one of ${columns.join(', ')}`;
    reasons.push({ field, code: 'required', message: `${what} for ${needs}` });
  }
  return reasons.length === 0 ? { ok: true, record: out } : { ok: false, record: out, reasons };
}
