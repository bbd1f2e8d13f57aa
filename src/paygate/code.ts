// Paygate's 8-character result Code. Only the decrypted, MAC-verified Code
// decides the outcome: the URL a callback arrived on proves nothing, since a
// fraudster can post the Data sent to URLFailure to URLSuccess or URLNotify.

import type { CodeInfo, Outcome } from './types.js';

const CODE_RE = /^[0-9A-Z]{8}$/;

export function isValidCode(code: string): boolean {
  return CODE_RE.test(code);
}

/** Only 00000000 succeeds; a leading 6 means the final status follows asynchronously. */
export function outcomeOf(code: string): Outcome {
  if (code === '00000000') return 'succeeded';
  if (code.startsWith('6')) return 'pending';
  return 'failed';
}

const SEVERITY: Record<string, CodeInfo['severity']> = {
  '0': 'success',
  '2': 'error',
  '4': 'fatal',
  '6': 'pending',
  '7': 'info',
};

const CATEGORY: Record<number, string> = {
  0x001: 'crypto',
  0x010: 'missing',
  0x011: 'format',
  0x012: 'invalid',
  0x013: 'too_short',
  0x014: 'too_long',
  0x015: 'value_missing',
  0x016: 'value_not_allowed',
  0x017: 'already_present',
  0x018: 'expired',
  0x019: 'not_allowed',
};

function categoryName(category: string): string {
  // The documented ranges (020–0FF, 100–FFF) are hexadecimal.
  if (!/^[0-9A-F]{3}$/.test(category)) return 'unknown';
  const n = parseInt(category, 16);
  if (n === 0) return 'none';
  const named = CATEGORY[n];
  if (named) return named;
  if (n >= 0x020 && n <= 0x0ff) return 'internal';
  if (n >= 0x100) return 'module';
  return 'unknown';
}

/** Splits a Code into severity, category (chars 2–4) and parameter (chars 5–8). */
export function codeInfo(code: string): CodeInfo {
  const category = code.slice(1, 4);
  return {
    severity: SEVERITY[code.charAt(0)] ?? 'unknown',
    category,
    categoryName: categoryName(category),
    parameter: code.slice(4, 8),
  };
}
