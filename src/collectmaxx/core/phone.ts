// Phone numbers go to Collectmaxx as E.164 digits without `+` (31107989525).
// The specification allows `+`, `-` and spaces in delivered numbers and says Alphacomm
// itself turns a leading 0 into the Dutch code; we do that conversion here,
// with a configurable default country, so what we send is exactly what gets
// dialled and a bad number is rejected by us, visibly, not discarded by them.

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

/** E.164 allows at most 15 digits; the shortest real international numbers have 7. */
export const PHONE_MIN_DIGITS = 7;
export const PHONE_MAX_DIGITS = 15;

/** A country calling code: 1 to 3 digits, never starting with 0. */
export function isCountryCallingCode(code: string): boolean {
  return /^[1-9][0-9]{0,2}$/.test(code);
}

// `-` plus the en dash, because the specification itself writes the sign as "–".
const SEPARATORS = /[ \-\u2013]/g;

/**
 * Normalise a phone number to E.164 digits with country code.
 * - `+CC…` and `00CC…` are international; the `+` or `00` is dropped.
 * - a single leading `0` is a national number: it becomes `defaultCountryCode`.
 * - otherwise the digits are taken to already start with the country code.
 * Spaces, `-` and `–` are removed; any other character makes it invalid.
 */
export function normalisePhone(input: string, defaultCountryCode: string): PhoneResult {
  if (!isCountryCallingCode(defaultCountryCode)) {
    throw new RangeError(`default country calling code must be 1-3 digits not starting with 0, got ${JSON.stringify(defaultCountryCode)}`);
  }
  const raw = input.trim();
  if (raw === '') return { ok: false, reason: 'empty' };
  const compact = raw.replace(SEPARATORS, '');
  let digits: string;
  if (compact.startsWith('+')) {
    digits = compact.slice(1);
    if (!/^[0-9]+$/.test(digits)) return { ok: false, reason: 'only digits, spaces and "-" may follow the leading "+"' };
  } else {
    if (!/^[0-9]+$/.test(compact)) return { ok: false, reason: 'only digits, "+", spaces and "-" are allowed' };
    if (compact.startsWith('00')) digits = compact.slice(2);
    else if (compact.startsWith('0')) digits = defaultCountryCode + compact.slice(1);
    else digits = compact;
  }
  if (digits.startsWith('0')) return { ok: false, reason: 'a country calling code never starts with 0' };
  if (digits.length < PHONE_MIN_DIGITS) return { ok: false, reason: `too short: ${digits.length} digits, at least ${PHONE_MIN_DIGITS} with country code` };
  if (digits.length > PHONE_MAX_DIGITS) return { ok: false, reason: `too long: ${digits.length} digits, E.164 allows ${PHONE_MAX_DIGITS}` };
  return { ok: true, e164: digits };
}
