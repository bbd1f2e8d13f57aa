// IDENTIFICATION_IDENTIFIER: Collectmaxx treats two records with the same
// identifier as one, for the whole delivery history, and echoes it in every
// result. So it is derived deterministically from what makes a record unique
// for us — (merchant, TransID, event id, flow) — which gives three things:
// unique (event ids are unique; the flow separates two rules on one event),
// idempotent (re-exporting the same event to the same flow yields the same
// identifier, which storage can refuse as a duplicate), and traceable (the
// parts are readable and can be parsed back from a result file).
//
// Scheme, version 1:
//   pgr1.<merchant>.<transId>.<eventId>.<flowId>.<hash>
// - each part keeps [A-Za-z0-9_-] and writes every other UTF-8 byte as %HH,
//   so `.` only ever separates parts;
// - <hash> is the first 16 hex digits of SHA-256 over the JSON array of the
//   four raw parts: it checks a parsed identifier really is ours and intact,
//   and keeps identifiers unique if parts had to be shortened;
// - if the whole would exceed the specification's 255 characters, the longest parts are
//   cut (at character boundaries) and marked with a trailing `~`.

import { createHash } from 'node:crypto';

export const IDENTIFIER_MAX_LENGTH = 255;
const PREFIX = 'pgr1';

export interface IdentifierParts {
  readonly merchantId: string;
  readonly transId: string;
  readonly eventId: string;
  /** The rule's CONTROL_FLOWID. */
  readonly flowId: string;
}

const KEYS = ['merchantId', 'transId', 'eventId', 'flowId'] as const;
type PartKey = (typeof KEYS)[number];

export interface ParsedIdentifier extends IdentifierParts {
  readonly hash: string;
  /** Parts that were cut to fit 255 characters: their values above are prefixes. */
  readonly truncated: readonly PartKey[];
  /** True when nothing was cut and the hash matches the parts: safe to trust as origin. */
  readonly verified: boolean;
}

function encodePart(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9_-]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function hashOf(p: IdentifierParts): string {
  return createHash('sha256').update(JSON.stringify(KEYS.map((k) => p[k]))).digest('hex').slice(0, 16);
}

export function buildIdentifier(parts: IdentifierParts): string {
  // No part can keep more than the whole budget: cap first so the loop below stays short.
  const chars = KEYS.map((k) => [...parts[k]].slice(0, IDENTIFIER_MAX_LENGTH));
  const cut = KEYS.map((k) => [...parts[k]].length > IDENTIFIER_MAX_LENGTH);
  const hash = hashOf(parts);
  const render = () => [PREFIX, ...chars.map((c, k) => encodePart(c.join('')) + (cut[k] ? '~' : '')), hash].join('.');
  let id = render();
  while (id.length > IDENTIFIER_MAX_LENGTH) {
    // Shorten the part that is longest when encoded, one character at a time:
    // simple, keeps every part as readable as the budget allows.
    let longest = 0;
    let len = -1;
    chars.forEach((c, k) => {
      const l = encodePart(c.join('')).length;
      if (l > len) { len = l; longest = k; }
    });
    (chars[longest] as string[]).pop();
    cut[longest] = true;
    id = render();
  }
  return id;
}

const PART = /^((?:[A-Za-z0-9_-]|%[0-9A-F]{2})*)(~?)$/;

/** Parse an identifier built by buildIdentifier; null if it is not one of ours. */
export function parseIdentifier(identifier: string): ParsedIdentifier | null {
  const segments = identifier.split('.');
  if (segments.length !== 6 || segments[0] !== PREFIX) return null;
  const hash = segments[5] as string;
  if (!/^[0-9a-f]{16}$/.test(hash)) return null;
  const values: string[] = [];
  const truncated: PartKey[] = [];
  for (let k = 0; k < KEYS.length; k++) {
    const m = PART.exec(segments[k + 1] as string);
    if (!m) return null;
    let decoded: string;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(
        Buffer.from((m[1] as string).replace(/%([0-9A-F]{2})|./g, (all, hex: string | undefined) => (hex ? String.fromCharCode(parseInt(hex, 16)) : all)), 'latin1'),
      );
    } catch {
      return null;
    }
    values.push(decoded);
    if (m[2] === '~') truncated.push(KEYS[k] as PartKey);
  }
  const parts: IdentifierParts = { merchantId: values[0] ?? '', transId: values[1] ?? '', eventId: values[2] ?? '', flowId: values[3] ?? '' };
  const verified = truncated.length === 0 && hashOf(parts) === hash;
  return { ...parts, hash, truncated, verified };
}
