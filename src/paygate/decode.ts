// From raw callback bytes to a verified, typed result, or a reason to reject.
//
// Trust model: nothing outside Data is authenticated. The plain MerchantID is
// only a routing hint; a merchant is accepted when one of its key slots
// decrypts Data to a record whose `mid` is that merchant AND whose MAC
// verifies with the same slot's HMAC key. The outcome comes from the decrypted
// Code alone, never from the URL (copied failure Data must stay a failure).
//
// Rejection details are stored and shown to operators, so they state only
// structural facts: never Data, decrypted values, the MAC or key material, and
// never echo unauthenticated input.

import type { ErrorCode } from '../errors.js';
import { parseAesData, type AesData } from './aes.js';
import { codeInfo, isValidCode, outcomeOf } from './code.js';
import { parseFields } from './fields.js';
import { parseForm } from './form.js';
import { hexDecode } from './hex.js';
import { verifyMac } from './mac.js';
import type { PreparedMerchant, PreparedSlot } from './merchant.js';
import { eventTypeOf, operationContradiction, parseKind, resolveOperation } from './operation.js';
import { cutPlaintext, decodeText, looksLikeText, paddingCandidates } from './plaintext.js';
import type { DecodeResult, DecodeRejected, Operation, PaygateRecord, RawCallback } from './types.js';

type TrialReason = 'mac_invalid' | 'mac_missing' | 'merchant_mismatch' | 'len_mismatch' | 'malformed_plaintext' | 'decrypt_failed' | 'invalid_hex';

/** Higher = more specific = closer to a genuine callback; the best one is reported. */
const RANK: Record<TrialReason, number> = {
  mac_invalid: 7,
  mac_missing: 6,
  merchant_mismatch: 5,
  len_mismatch: 4,
  malformed_plaintext: 3,
  decrypt_failed: 2,
  invalid_hex: 1,
};

const EXPLAIN: Record<TrialReason, string> = {
  mac_invalid: 'decrypted to a record for this merchant but the MAC does not verify',
  mac_missing: 'decrypted to a record for this merchant but it carries no MAC',
  merchant_mismatch: "decrypted to a record whose mid is not the decrypting key's merchant",
  len_mismatch: 'decrypted to a record but Len fits neither its byte nor its character length',
  malformed_plaintext: 'decrypted payload is not a key=value list with a mid',
  decrypt_failed: 'Data does not decrypt with any key tried',
  invalid_hex: 'Data is not valid hex for the cipher',
};

/**
 * `proven`: a key of the merchant decrypted a record carrying a mid, so the
 * merchant is established by key possession, not by what the sender claimed.
 */
type SlotVerdict =
  | { ok: true; record: PaygateRecord; present: ReadonlySet<string> }
  | { ok: false; reason: TrialReason; proven: boolean };

type Trial =
  | { ok: true; merchant: PreparedMerchant; slot: PreparedSlot; record: PaygateRecord; present: ReadonlySet<string> }
  | { ok: false; reason: TrialReason; merchant: PreparedMerchant; proven: boolean; slotsTried: number };

const PLAIN_ID_KEYS = new Set(['merchantid', 'mid']);
const LEN_RE = /^[0-9]{1,9}$/;
const ALNUM_RE = /^[0-9A-Za-z]+$/;

function reject(reason: ErrorCode, detail: string, merchantId?: string): DecodeRejected {
  return merchantId === undefined ? { ok: false, reason, detail } : { ok: false, reason, merchantId, detail };
}

function hasMid(text: Buffer): boolean {
  if (!looksLikeText(text)) return false;
  const parsed = parseFields(decodeText(text));
  return parsed.ok && parsed.record.mid !== '';
}

function judgeSlot(raw: Buffer | null, len: number, merchantId: string, slot: PreparedSlot): SlotVerdict {
  if (!raw) return { ok: false, reason: 'decrypt_failed', proven: false };
  const cut = cutPlaintext(raw, len);
  if (!cut) {
    // A wrong key also fails the Len rule; only call it a Len problem when the
    // payload is recognisably a record.
    const record = paddingCandidates(raw).some(hasMid);
    return { ok: false, reason: record ? 'len_mismatch' : 'decrypt_failed', proven: record };
  }
  if (!looksLikeText(cut)) return { ok: false, reason: 'decrypt_failed', proven: false };
  const parsed = parseFields(decodeText(cut));
  if (!parsed.ok || parsed.record.mid === '') return { ok: false, reason: 'malformed_plaintext', proven: false };
  const record = parsed.record;
  if (record.mid !== merchantId) return { ok: false, reason: 'merchant_mismatch', proven: true };
  if (record.mac === undefined) return { ok: false, reason: 'mac_missing', proven: true };
  if (!verifyMac(slot.hmac, record)) return { ok: false, reason: 'mac_invalid', proven: true };
  return { ok: true, record, present: parsed.present };
}

/** Hex is decoded once per callback and shared by every merchant using that cipher. */
class Ciphertext {
  #bf: Buffer | null | undefined;
  #aes: AesData | null | undefined;
  constructor(readonly data: string) {}
  blowfish(): Buffer | null {
    if (this.#bf === undefined) {
      const bytes = hexDecode(this.data);
      this.#bf = bytes && bytes.length > 0 && bytes.length % 8 === 0 ? bytes : null;
    }
    return this.#bf;
  }
  aes(): AesData | null {
    if (this.#aes === undefined) this.#aes = parseAesData(this.data);
    return this.#aes;
  }
}

/** Raw decrypted bytes; null when decryption fails; 'invalid_hex' when Data has the wrong shape for this cipher. */
function decryptWith(slot: PreparedSlot, ct: Ciphertext): Buffer | null | 'invalid_hex' {
  const c = slot.cipher;
  if (c.kind === 'blowfish') {
    const bytes = ct.blowfish();
    return bytes ? c.cipher.decrypt(bytes) : 'invalid_hex';
  }
  const parsed = ct.aes();
  return parsed ? c.cipher.decryptParsed(parsed) : 'invalid_hex';
}

function tryMerchant(m: PreparedMerchant, ct: Ciphertext, len: number): Trial {
  let reason: TrialReason = 'invalid_hex';
  let proven = false;
  let tried = 0;
  for (const slot of m.slots) {
    const raw = decryptWith(slot, ct);
    // The shape check does not depend on the key: no other slot can do better.
    if (raw === 'invalid_hex') break;
    tried++;
    const v = judgeSlot(raw, len, m.id, slot);
    if (v.ok) return { ok: true, merchant: m, slot, record: v.record, present: v.present };
    if (RANK[v.reason] > RANK[reason]) {
      reason = v.reason;
      proven = v.proven;
    }
  }
  return { ok: false, reason, merchant: m, proven, slotsTried: tried };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The configured merchant the plain MerchantID names, when exactly one does: only a label
 * for a rejected callback (a key-rotation mistake shows under that merchant), never proof.
 */
function claimedMerchant(raw: RawCallback, merchants: readonly PreparedMerchant[]): string | undefined {
  const form = parseForm(raw.body, raw.contentType);
  if (!form.ok) return undefined;
  const pair = form.pairs.find(([k, v]) => PLAIN_ID_KEYS.has(k.toLowerCase()) && v.trim() !== '');
  if (!pair) return undefined;
  const id = pair[1].trim();
  const exact = merchants.filter((m) => m.id === id);
  const matches = exact.length > 0 ? exact : merchants.filter((m) => m.id.toLowerCase() === id.toLowerCase());
  return matches.length === 1 ? matches[0]!.id : undefined;
}

/** Never throws: every input maps to a result. */
export function decodeCallback(raw: RawCallback, merchants: readonly PreparedMerchant[]): DecodeResult {
  try {
    const r = decode(raw, merchants);
    if (r.ok || r.merchantId !== undefined || r.reason === 'unknown_kind') return r;
    // Rejections are rare: parsing the form a second time here keeps the accept path as it was.
    const claimed = claimedMerchant(raw, merchants);
    return claimed === undefined ? r : { ...r, claimedMerchantId: claimed };
  } catch {
    // A bug, not a bad callback: `internal` makes the caller answer 5xx so Paygate retries.
    return reject('internal', 'unexpected decoder error');
  }
}

function decode(raw: RawCallback, merchants: readonly PreparedMerchant[]): DecodeResult {
  let kind: Operation | undefined;
  if (raw.kind !== undefined) {
    const k = parseKind(raw.kind);
    if (!k) return reject('unknown_kind', 'the operation kind in the path is not known');
    kind = k;
  }

  const form = parseForm(raw.body, raw.contentType);
  if (!form.ok) {
    return reject(form.reason, form.reason === 'malformed_body' ? 'a percent escape is broken' : 'the declared charset is not supported');
  }

  let data: string | undefined;
  let lenText: string | undefined;
  let plainId: string | undefined;
  const custom = new Map<string, string>();
  for (const [key, value] of form.pairs) {
    const lower = key.toLowerCase();
    if (lower === 'data') {
      // Two Data fields would let a forwarder and the decoder read different ones.
      if (data !== undefined) return reject('malformed_body', 'Data occurs more than once');
      data = value.trim();
    } else if (lower === 'len') {
      if (lenText !== undefined) return reject('malformed_body', 'Len occurs more than once');
      lenText = value.trim();
    } else if (PLAIN_ID_KEYS.has(lower)) {
      if (plainId === undefined && value.trim() !== '') plainId = value.trim();
    } else if (!custom.has(key)) {
      custom.set(key, value);
    }
  }

  if (!data) return reject('missing_data', 'no Data field, or it is empty');
  if (lenText === undefined || !LEN_RE.test(lenText) || Number(lenText) === 0) {
    return reject('missing_len', lenText === undefined ? 'no Len field' : 'Len is not a positive decimal integer');
  }
  const len = Number(lenText);

  let candidates: readonly PreparedMerchant[] = merchants;
  if (plainId !== undefined) {
    const id = plainId;
    const exact = merchants.filter((m) => m.id === id);
    candidates = exact.length > 0 ? exact : merchants.filter((m) => m.id.toLowerCase() === id.toLowerCase());
    if (candidates.length === 0) return reject('unknown_merchant', 'the plain MerchantID matches no configured merchant');
  } else if (merchants.length === 0) {
    return reject('unknown_merchant', 'no merchants are configured');
  }

  const ct = new Ciphertext(data);
  let best: Extract<Trial, { ok: false }> | undefined;
  let accepted: Extract<Trial, { ok: true }> | undefined;
  for (const m of candidates) {
    const t = tryMerchant(m, ct, len);
    if (t.ok) {
      accepted = t;
      break;
    }
    if (!best || RANK[t.reason] > RANK[best.reason]) best = t;
  }

  if (!accepted) {
    const b = best!;
    let scope: string;
    if (b.reason === 'invalid_hex') {
      scope = candidates.length === 1 ? `${b.merchant.encryption} merchant ${b.merchant.id}` : `${plural(candidates.length, 'merchant')} tried`;
    } else if (candidates.length === 1) {
      scope = `tried ${plural(b.slotsTried, 'key slot')} of merchant ${b.merchant.id}`;
    } else {
      scope = `tried ${plural(candidates.length, 'merchant')}` + (b.proven ? `; key slots of merchant ${b.merchant.id} decrypted it` : '');
    }
    return reject(b.reason, `${EXPLAIN[b.reason]} (${scope})`, b.proven ? b.merchant.id : undefined);
  }

  const { merchant, slot, record, present } = accepted;
  const where = `merchant ${merchant.id} key slot ${slot.index}`;
  if (!present.has('code') || !isValidCode(record.code)) {
    return reject('invalid_code', `Code is missing or not 8 characters [0-9A-Z] (${where})`, merchant.id);
  }
  const required: [keyof PaygateRecord, string][] = [
    ['payId', 'PayID'],
    ['xid', 'XID'],
    ['transId', 'TransID'],
    ['status', 'Status'],
  ];
  for (const [prop, name] of required) {
    if (!record[prop]) return reject('missing_field', `${name} is missing or empty (${where})`, merchant.id);
  }
  // The MAC covers PayID, TransID, mid, Status and Code only. XID is outside
  // it, and ECB garbles a tampered block without any integrity failure, so
  // its documented format (an32) is the only check it gets.
  for (const [value, name] of [[record.payId, 'PayID'], [record.xid, 'XID']] as const) {
    if (!ALNUM_RE.test(value)) return reject('malformed_plaintext', `${name} is not alphanumeric; Data may have been tampered with (${where})`, merchant.id);
  }

  const operation = resolveOperation(kind, record);
  const contradiction = operationContradiction(operation, record);
  if (contradiction) return reject('operation_mismatch', `${contradiction} (${where})`, merchant.id);
  const outcome = outcomeOf(record.code);
  return {
    ok: true,
    merchantId: merchant.id,
    keySlot: slot.index,
    record,
    custom: Object.fromEntries(custom),
    operation,
    outcome,
    codeInfo: codeInfo(record.code),
    eventType: eventTypeOf(operation, outcome),
  };
}
