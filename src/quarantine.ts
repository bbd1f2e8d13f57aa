// Why a callback is in quarantine, and whether reprocessing it can ever succeed.
//
// Reprocessing decodes the SAME stored bytes (body, content type, path) again with the
// configuration and keys of now. It can only help where the verdict depended on those:
// a key, a merchant id, the URL secret, or what this release understands. Where the
// verdict follows from the bytes alone (no Data, a broken escape, a MAC-verified record
// missing a field), every retry gives the same answer, so the console offers no button,
// the admin API refuses the single call (409 not_reprocessable) and the bulk call skips
// such callbacks and counts them.
//
// One table, read by the console and the admin operations alike. Every code a callback
// can be quarantined with is listed (test/quarantine.test.ts holds it to errors.ts), so a
// new rejection reason cannot ship without this decision.

import type { ErrorCode } from './errors.js';

interface ReasonEntry {
  /** Whether a configuration, key or release change can make the same bytes verify. */
  readonly reprocessable: boolean;
  /** For an operator: the fix that helps, or why nothing can. */
  readonly hint: string;
}

const fix = (hint: string): ReasonEntry => ({ reprocessable: true, hint });
const never = (hint: string): ReasonEntry => ({ reprocessable: false, hint });

export const QUARANTINE_REASONS = {
  // ---- a fix on our side can make these verify
  unknown_merchant: fix('Add the merchant (or correct its id) in the configuration and restart, then reprocess.'),
  decrypt_failed: fix('Add the merchant\'s current key (a key slot) and restart, then reprocess.'),
  // Data shaped for the other cipher (AES `iv-cipher` against a Blowfish merchant, or the
  // reverse) is invalid_hex too: setting the merchant's encryption right fixes it.
  invalid_hex: fix('If the merchant switched between Blowfish and AES, set its encryption in the configuration and restart; Data that is not hex at all stays here.'),
  merchant_mismatch: fix('The record names another merchant than the one whose key decrypted it: correct the merchant id, or configure the merchant it names, then reprocess.'),
  mac_invalid: fix('Set the merchant\'s current HMAC key and restart, then reprocess.'),
  url_token_missing: fix('The URL has no token while paygate.urlSecret is set (e.g. the shop still had unsigned URLs): it verifies once the setting is removed.'),
  url_token_invalid: fix('Configure the URL secret that minted this token (a list verifies with every secret in it) and restart, then reprocess.'),
  unknown_kind: fix('The operation kind in the path is not known to this release; reprocess after an upgrade that knows it.'),
  unsupported_charset: fix('The declared charset is not known to this release; reprocess after an upgrade that knows it.'),
  internal: fix('The decoder failed unexpectedly; reprocess after the fix is deployed.'),
  // ---- inherent in the bytes: the same input always fails the same way
  malformed_body: never('The body is not a valid form (a broken escape, or Data or Len twice).'),
  unsupported_media_type: never('The body is not a form (Content-Type); Paygate posts forms only.'),
  missing_data: never('The callback carries no Data.'),
  missing_len: never('The callback carries no valid Len.'),
  len_mismatch: never('A key of the merchant decrypted it, and Len does not fit the payload.'),
  malformed_plaintext: never('A key of the merchant decrypted it, and the payload is not a valid record (or a field was tampered with).'),
  mac_missing: never('A key of the merchant decrypted it, and the record carries no MAC.'),
  invalid_code: never('The verified record carries no valid Code.'),
  missing_field: never('The verified record lacks a mandatory field.'),
  operation_mismatch: never('The verified record contradicts the operation its URL names.'),
} as const satisfies Partial<Record<ErrorCode, ReasonEntry>>;

export type QuarantineReason = keyof typeof QUARANTINE_REASONS;

/** Every reason a callback can be quarantined for, reprocessable ones first (the filter's order). */
export const QUARANTINE_REASON_CODES = Object.keys(QUARANTINE_REASONS) as QuarantineReason[];

function entryOf(reason: string | null | undefined): ReasonEntry | undefined {
  return reason && Object.hasOwn(QUARANTINE_REASONS, reason) ? QUARANTINE_REASONS[reason as QuarantineReason] : undefined;
}

/**
 * Whether reprocessing a callback quarantined for `reason` can succeed. A reason this release
 * does not know (written by a newer one sharing the database) is left to reprocessing to decide.
 */
export function isReprocessable(reason: string | null | undefined): boolean {
  return entryOf(reason)?.reprocessable ?? true;
}

/** The fix that helps, or why nothing can; null for a reason this release does not know. */
export function reasonHint(reason: string | null | undefined): string | null {
  return entryOf(reason)?.hint ?? null;
}

/** The reasons no fix can change: what a bulk reprocess skips. */
export const HOPELESS_REASONS = QUARANTINE_REASON_CODES.filter((r) => !QUARANTINE_REASONS[r].reprocessable);
