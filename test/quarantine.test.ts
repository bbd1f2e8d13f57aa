// The quarantine reason table: every code a callback can be quarantined with is decided
// (reprocessable or not), so a new rejection reason cannot reach operators undecided.
import t from 'tap';
import { ERROR_CODES } from '../src/errors.js';
import { HOPELESS_REASONS, QUARANTINE_REASON_CODES, isReprocessable, reasonHint } from '../src/quarantine.js';

t.test('every callback rejection code is classified', async (t) => {
  const codes = Object.keys(ERROR_CODES);
  // errors.ts lists callback rejections first, up to the service-side failures.
  const rejections = codes.slice(0, codes.indexOf('storage_unavailable'))
    // Refused by the body parser before intake: answered 413, never stored.
    .filter((c) => c !== 'body_too_large');
  // The decoder answers `internal` (and a 500, so Paygate retries) when it fails unexpectedly: that row is kept too.
  t.same([...QUARANTINE_REASON_CODES].sort(), [...rejections, 'internal'].sort());
  for (const r of QUARANTINE_REASON_CODES) t.ok(reasonHint(r), `${r} has a hint for operators`);
});

t.test('what no fix can change, and what a fix can', async (t) => {
  t.same([...HOPELESS_REASONS].sort(), [
    'invalid_code', 'len_mismatch', 'mac_missing', 'malformed_body', 'malformed_plaintext', 'missing_data', 'missing_field', 'missing_len',
    'operation_mismatch', 'unsupported_media_type',
  ]);
  for (const r of ['decrypt_failed', 'mac_invalid', 'merchant_mismatch', 'unknown_merchant', 'invalid_hex', 'url_token_missing', 'url_token_invalid', 'unknown_kind']) {
    t.ok(isReprocessable(r), `${r}: a key, configuration or release change can make the same bytes verify`);
  }
  t.ok(isReprocessable(null), 'a row without a reason is left to reprocessing to judge');
  t.ok(isReprocessable('a_reason_from_a_newer_release'), 'and so is a reason this release does not know');
  t.ok(isReprocessable('toString'), 'a name from Object.prototype is just unknown');
  t.equal(reasonHint('toString'), null);
});
