// What erasure removes, as one table, and how a stored row looks once it is
// gone. Pure: rows in (as stored in the database, which is also how archive
// lines hold them), patches out; the adapters and the archive rewrite apply them.
//
// What stays is what accounting needs to find and book a payment: ids (event,
// callback, PayID, TransID, MandateID, XID, RefNr), types, operation and outcome,
// merchant, times, amount and currency, status and codes. Everything a person can
// be recognised by goes, wherever it sits in a payload: a field is personal by its
// name (compared lower-cased, without `_` and `-`), at any depth of an event's
// `data` and `origin`, of a callback's decoded fields and of its kept headers.
// A personal string value becomes ERASED (every schema that allowed the string
// still validates; null would not for Paygate's `fields`); the raw callback body,
// which holds the encrypted Data, becomes empty.
import { fingerprintOf } from '../events/identity.js';
import type { ErasureSelector } from '../store/types.js';

export type { ErasureSelector };

/** What an erased value reads, in events, callbacks and archives. */
export const ERASED = '[erased]';

export interface PersonalField {
  /** Normalised name: lower-case, without `_` and `-`. */
  readonly name: string;
  /** Where it comes from, and why it is personal. */
  readonly what: string;
}

/** The personal fields, one row each. A new source of personal data adds its names here. */
export const PERSONAL_FIELDS: readonly PersonalField[] = [
  // Debtor Management (ManageDebtor) master data and Paygate's "additional parameters"
  { name: 'salutation', what: 'debtor salutation' },
  { name: 'title', what: 'debtor title' },
  { name: 'firstname', what: 'first name (debtor, EasyCollect customer)' },
  { name: 'lastname', what: 'last name (debtor, EasyCollect customer)' },
  { name: 'name', what: 'a full name' },
  { name: 'company', what: 'a debtor company (sole traders are persons)' },
  { name: 'addrstreet', what: 'street' },
  { name: 'addrstreetnr', what: 'street number' },
  { name: 'addraddition', what: 'address addition (c/o)' },
  { name: 'addrzip', what: 'postcode' },
  { name: 'addrcity', what: 'city' },
  { name: 'addrcountrycode', what: 'country of the address' },
  { name: 'street', what: 'street' },
  { name: 'city', what: 'city' },
  { name: 'zip', what: 'postcode' },
  { name: 'zipcode', what: 'postcode' },
  { name: 'address', what: 'an address' },
  { name: 'accowner', what: 'account holder' },
  { name: 'accbank', what: 'the account holder\'s bank' },
  { name: 'accnr', what: 'account number' },
  { name: 'iban', what: 'IBAN' },
  { name: 'bic', what: 'BIC (with the IBAN, the person\'s account)' },
  { name: 'email', what: 'e-mail address' },
  { name: 'phone', what: 'telephone number' },
  { name: 'phonenumber', what: 'telephone number' },
  { name: 'mobile', what: 'mobile number' },
  { name: 'mobileno', what: 'mobile number' },
  { name: 'birthday', what: 'date of birth' },
  { name: 'dateofbirth', what: 'date of birth' },
  { name: 'customerid', what: 'the merchant\'s customer number: links the payment to the person' },
  { name: 'debitorid', what: 'debtor number: links the payment to the person' },
  { name: 'debtorid', what: 'debtor number: links the payment to the person' },
  // Free text the merchant filled in: routinely holds names and addresses
  { name: 'userdata', what: 'UserData: merchant free text' },
  { name: 'plain', what: 'Plain: merchant free text' },
  // Collectmaxx records and result events
  { name: 'familyname', what: 'family name' },
  { name: 'givenname', what: 'given name' },
  { name: 'gender', what: 'gender' },
  // Where the request came from: a browser return carries the customer's address
  { name: 'clientip', what: 'client IP address (event origin)' },
  { name: 'ipaddr', what: 'client IP address' },
  { name: 'useragent', what: 'User-Agent header of a browser return' },
  { name: 'xforwardedfor', what: 'X-Forwarded-For header (client address)' },
  { name: 'xrealip', what: 'X-Real-IP header (client address)' },
];

const NAMES: ReadonlySet<string> = new Set(PERSONAL_FIELDS.map((f) => f.name));

export function isPersonal(key: string): boolean {
  return NAMES.has(key.toLowerCase().replace(/[_-]/g, ''));
}

/** A copy of `value` with every personal string at any depth replaced by ERASED; the same object when nothing changed. */
export function redact<T>(value: T): T {
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = redact(v);
      if (r !== v) changed = true;
      return r;
    });
    return (changed ? out : value) as T;
  }
  if (value === null || typeof value !== 'object') return value;
  let out: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const r = typeof v === 'string' ? (isPersonal(k) && v !== ERASED ? ERASED : v) : redact(v);
    if (r !== v) {
      out ??= { ...(value as Record<string, unknown>) };
      // Own data property even for a key like __proto__ (decrypted field names are not ours to choose).
      Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
    }
  }
  return (out ?? value) as T;
}

type Row = Record<string, unknown>;

export function selectorOf(s: ErasureSelector): { kind: 'transId' | 'payId' | 'mandateId'; value: string } {
  if ('transId' in s) return { kind: 'transId', value: s.transId };
  if ('payId' in s) return { kind: 'payId', value: s.payId };
  return { kind: 'mandateId', value: s.mandateId };
}

/** The events column a selector matches. */
export const EVENT_COLUMN = { transId: 'trans_id', payId: 'pay_id', mandateId: 'mandate_id' } as const;

/** An event's new payload and fingerprint, or null when it holds nothing personal (any more). */
export function eraseEventRow(row: Row): { payload: string; fingerprint: string | null } | null {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(String(row.payload)) as Record<string, unknown>;
  } catch {
    return null;
  }
  const data = redact(e.data);
  const origin = redact(e.origin);
  if (data === e.data && origin === e.origin) return null;
  const out: Record<string, unknown> = { ...e, data, ...(e.origin !== undefined ? { origin } : {}), erased: true };
  const payload = JSON.stringify(out);
  // The fingerprint holds digests of every field: a digest of a name is no erasure. It becomes the
  // redacted payload's, so a repeat of the original callback arriving later is reported as a conflict.
  let fingerprint = (row.fingerprint ?? null) as string | null;
  if (fingerprint !== null && out.source === 'paygate' && typeof out.operation === 'string') {
    fingerprint = fingerprintOf({ operation: out.operation, data: data as Record<string, unknown> });
  }
  return { payload, fingerprint };
}

/** A callback's new columns (raw body empty, headers and decoded fields redacted, no client address), or null when already so. */
export function eraseCallbackRow(row: Row): { body: Buffer | string; headers: string; decoded: string | null; remote_ip: null } | null {
  const body = row.body;
  // Archive lines hold the body as base64 text.
  const bodyEmpty = typeof body === 'string' ? body.length === 0 : Buffer.isBuffer(body) || body instanceof Uint8Array ? body.length === 0 : body == null;
  const headers = parseOr(row.headers, {});
  const redactedHeaders = redact(headers);
  const decoded = row.decoded === null || row.decoded === undefined ? null : parseOr(row.decoded, null);
  const redactedDecoded = decoded === null ? null : redact(decoded);
  if (bodyEmpty && redactedHeaders === headers && redactedDecoded === decoded && row.remote_ip == null) return null;
  return {
    body: typeof body === 'string' ? '' : Buffer.alloc(0),
    headers: JSON.stringify(redactedHeaders),
    decoded: decoded === null ? ((row.decoded as string | null | undefined) ?? null) : JSON.stringify(redactedDecoded),
    remote_ip: null,
  };
}

/** A delivery attempt keeps its status and timing; the receiver's answer (it may echo the event) goes. */
export function eraseAttemptRow(row: Row): { response_body: null } | null {
  return row.response_body == null || row.response_body === '' ? null : { response_body: null };
}

function parseOr<T>(text: unknown, fallback: T): T | Record<string, unknown> {
  if (typeof text !== 'string') return fallback;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return fallback;
  }
}

/** The identifiers a raw callback names in plain (outside the encrypted Data), lower-cased keys: `TransID=...` of a GET return. */
export function plainIdentifiers(body: Buffer | string): { transid?: string; payid?: string; mandateid?: string } {
  const text = typeof body === 'string' ? body : body.toString('latin1');
  const out: Record<string, string> = {};
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const k = pair.slice(0, eq).toLowerCase();
    if (k !== 'transid' && k !== 'payid' && k !== 'mandateid') continue;
    try {
      out[k] ??= decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      out[k] ??= pair.slice(eq + 1);
    }
  }
  return out;
}

/** Whether a callback without an event (quarantined, a browser return) belongs to the selector: by its decoded fields, else by what it names in plain. */
export function callbackMatches(row: Row, s: ErasureSelector): boolean {
  const { kind, value } = selectorOf(s);
  const decoded = row.decoded == null ? null : parseOr(row.decoded, null);
  if (decoded !== null && typeof decoded === 'object') return (decoded as Record<string, unknown>)[kind] === value;
  const body = row.body;
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) return false;
  // Archive lines hold the body as base64.
  const raw = typeof body === 'string' ? Buffer.from(body, 'base64') : body;
  return plainIdentifiers(raw)[kind.toLowerCase() as 'transid' | 'payid' | 'mandateid'] === value;
}
