// One table of stable error codes. Codes are part of the public contract:
// they appear in HTTP bodies, quarantine records, metrics labels and logs,
// so they never change meaning once released.

export const ERROR_CODES = {
  // Callback rejections (quarantined with the code as reason)
  malformed_body: { status: 400, message: 'The body is not a valid form or query string.' },
  unsupported_charset: { status: 415, message: 'The body charset is not supported (use UTF-8 or ISO-8859-1).' },
  unsupported_media_type: { status: 415, message: 'Callbacks must be application/x-www-form-urlencoded.' },
  missing_data: { status: 400, message: 'The callback carries no Data field.' },
  missing_len: { status: 400, message: 'The callback carries no valid Len field.' },
  invalid_hex: { status: 400, message: 'Data is not valid hex for the merchant\'s cipher.' },
  unknown_merchant: { status: 400, message: 'No configured merchant matches this callback.' },
  unknown_kind: { status: 404, message: 'The operation kind in the path is not known.' },
  decrypt_failed: { status: 400, message: 'Data could not be decrypted with any key of the merchant.' },
  len_mismatch: { status: 400, message: 'Len does not match the decrypted payload.' },
  malformed_plaintext: { status: 400, message: 'The decrypted payload is not a key=value list.' },
  merchant_mismatch: { status: 400, message: 'The decrypted mid does not match the merchant whose key decrypted it.' },
  mac_missing: { status: 401, message: 'The callback carries no MAC.' },
  mac_invalid: { status: 401, message: 'The MAC does not verify.' },
  invalid_code: { status: 400, message: 'Code is missing or not 8 characters [0-9A-Z].' },
  missing_field: { status: 400, message: 'A mandatory result field is missing.' },
  body_too_large: { status: 413, message: 'The body exceeds the configured size limit.' },
  url_token_missing: { status: 401, message: 'Callback URLs are signed here: this URL has no token (/paygate/{channel}/{kind}/{token}).' },
  url_token_invalid: { status: 401, message: 'The URL token was not minted by this relay for this merchant, channel, kind and transaction.' },
  operation_mismatch: { status: 400, message: 'The decrypted EventToken or MandateID contradicts the operation the URL names.' },
  // Service-side failures (never quarantined: the callback was not taken)
  storage_unavailable: { status: 503, message: 'The callback could not be stored; please retry.' },
  shutting_down: { status: 503, message: 'The relay is shutting down; please retry.' },
  overloaded: { status: 503, message: 'The relay is taking in as many callbacks as it can answer promptly; please retry.' },
  rate_limited: { status: 429, message: 'Too many requests.' },
  forbidden_source: { status: 403, message: 'This source address may not post callbacks.' },
  internal: { status: 500, message: 'Internal error.' },
  // Admin API
  unauthorized: { status: 401, message: 'A valid admin bearer token is required.' },
  forbidden_role: { status: 403, message: 'This token\'s role may not do that.' },
  not_found: { status: 404, message: 'Not found.' },
  bad_request: { status: 400, message: 'The request is invalid.' },
  conflict: { status: 409, message: 'The resource is in a state that does not allow this.' },
  not_reprocessable: { status: 409, message: 'The callback was quarantined for a reason no configuration or key change can fix: decoding it again cannot succeed.' },
  // Collectmaxx
  malformed_result_file: { status: 422, message: 'The Collectmaxx result file is malformed; nothing from it was imported.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The single domain error family: everything we throw on purpose is a RelayError. */
export class RelayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail?: string;
  constructor(code: ErrorCode, detail?: string) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'RelayError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.detail = detail;
  }
}

/** Body for an HTTP error answer. 5xx never carry detail: details may leak internals. */
export function errorBody(code: ErrorCode, detail?: string): { error: ErrorCode; message: string; detail?: string } {
  const entry = ERROR_CODES[code];
  if (entry.status >= 500 || detail === undefined) return { error: code, message: entry.message };
  return { error: code, message: entry.message, detail };
}
