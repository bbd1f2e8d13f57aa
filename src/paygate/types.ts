// Shared value types of the Paygate core. Everything under src/paygate/ is
// pure: values in, values out, no clock, no I/O.

import type { ErrorCode } from '../errors.js';

export type Encryption = 'blowfish' | 'aes';

/** One key slot of a merchant: raw key bytes. Slot 0 is the newest key. */
export interface KeySlot {
  blowfish?: Buffer;
  aes?: Buffer;
  hmac: Buffer;
}

export interface MerchantKeys {
  id: string;
  encryption: Encryption;
  keys: KeySlot[];
}

export type Operation =
  | 'mandate'
  | 'debtor'
  | 'open_position'
  | 'open_position_reversal'
  | 'credit'
  | 'prepayment'
  | 'prepayment_reversal'
  | 'prepayment_paid'
  | 'prepayment_update'
  | 'payment';

export type Outcome = 'succeeded' | 'pending' | 'failed';

export type Channel = 'notify' | 'success' | 'failure';

/** What arrived, byte for byte. For GET the body is the raw query string (without '?'). */
export interface RawCallback {
  method: 'GET' | 'POST';
  contentType?: string;
  body: Buffer;
  /** The `:kind` path segment as given, if any. */
  kind?: string;
}

export interface CodeInfo {
  /** First character: 0 success, 2 error, 4 fatal, 6 pending, 7 3-D Secure info. */
  severity: 'success' | 'error' | 'fatal' | 'pending' | 'info' | 'unknown';
  /** Characters 2-4, e.g. "001". */
  category: string;
  /** Human name of the category, e.g. "format", "missing". */
  categoryName: string;
  /** Characters 5-8: the affected parameter. */
  parameter: string;
}

/** The decrypted, typed result record. Known keys are matched case-insensitively. */
export interface PaygateRecord {
  mid: string;
  payId: string;
  xid: string;
  transId: string;
  status: string;
  code: string;
  mac?: string;
  description?: string;
  mandateId?: string;
  refNr?: string;
  userData?: string;
  plain?: string;
  eventToken?: string;
  /** Every other decrypted key, lower-cased, value as-is. */
  fields: Record<string, string>;
}

export interface DecodeOk {
  ok: true;
  merchantId: string;
  /** Index of the key slot that decrypted and verified (0 = newest). */
  keySlot: number;
  record: PaygateRecord;
  /** Plain (unauthenticated) form fields outside Data: Custom pairs, Plain, unknown extras. */
  custom: Record<string, string>;
  operation: Operation;
  outcome: Outcome;
  codeInfo: CodeInfo;
  eventType: string;
}

export interface DecodeRejected {
  ok: false;
  reason: ErrorCode;
  /** Set when the merchant is known (configured), never from unauthenticated input alone. */
  merchantId?: string;
  /**
   * Without a proven merchant: the configured merchant the plain MerchantID names. Unauthenticated:
   * a label for finding key-rotation mistakes, never a merchant anything is done for.
   */
  claimedMerchantId?: string;
  /** Human-readable, safe to store and show: never contains key material, Data or MAC. */
  detail: string;
}

export type DecodeResult = DecodeOk | DecodeRejected;
