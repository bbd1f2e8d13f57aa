// Builds callbacks the way Paygate does, for the CLI `simulate` command and
// for tests. It deliberately shares no code with the decoder's crypto path
// beyond the cipher classes (the MAC is computed with createHmac directly), so
// a bug in decode/mac cannot hide itself by being mirrored here.

import { createHmac, randomBytes } from 'node:crypto';
import { AesCipher } from './aes.js';
import { BlowfishCipher } from './blowfish.js';
import { hexEncode } from './hex.js';
import type { MerchantKeys } from './types.js';

export interface CallbackSpec {
  payId?: string;
  xid?: string;
  transId: string;
  status?: string;
  code: string;
  description?: string;
  mandateId?: string;
  refNr?: string;
  userData?: string;
  plain?: string;
  eventToken?: string;
  /** Further encrypted fields, appended after the known ones. */
  extra?: Record<string, string>;
  /** Plain form fields outside Data (Paygate's Custom pairs). */
  custom?: Record<string, string>;
}

export interface SimulateOptions {
  keySlot?: number;
  keyCase?: 'canonical' | 'upper' | 'lower';
  hexCase?: 'upper' | 'lower';
  charset?: 'utf-8' | 'iso-8859-1';
  /** true (default): send MerchantID=<merchant id> in plain; a string sends that value; false omits it. */
  plainMerchantId?: boolean | string;
  /** 'chars' reproduces the PHP SDK quirk (Len in code points). */
  lenMode?: 'bytes' | 'chars';
  /** Override the Len value entirely. */
  len?: number;
  macOverride?: string;
  omitMac?: boolean;
  /** Put another mid inside Data (the MAC is computed over it, as a sender would). */
  midOverride?: string;
  /** AES only; random when absent. */
  iv?: Buffer;
  /** Blowfish only: Paygate zero-pads; other senders use PKCS#7 or spaces. */
  padding?: 'zero' | 'pkcs7' | 'space';
}

export interface SimulatedCallback {
  contentType: string;
  /** application/x-www-form-urlencoded bytes; also valid as a GET query string. */
  body: Buffer;
  /** The same pairs as a query string (without '?'), for GET callbacks. */
  query: string;
  /** The form fields before encoding. */
  form: Record<string, string>;
  plaintext: string;
  data: string;
  len: number;
}

type KeyCase = NonNullable<SimulateOptions['keyCase']>;

function cased(key: string, keyCase: KeyCase): string {
  if (keyCase === 'upper') return key.toUpperCase();
  if (keyCase === 'lower') return key.toLowerCase();
  return key;
}

function encodeText(s: string, charset: 'utf-8' | 'iso-8859-1'): Buffer {
  if (charset === 'utf-8') return Buffer.from(s, 'utf8');
  for (const ch of s) {
    if (ch.codePointAt(0)! > 0xff) throw new Error('text is not representable in ISO-8859-1');
  }
  return Buffer.from(s, 'latin1');
}

/** Form encoding of the bytes in the chosen charset: space as '+', unreserved bytes literal. */
function formEncode(s: string, charset: 'utf-8' | 'iso-8859-1'): string {
  let out = '';
  for (const b of encodeText(s, charset)) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x2a;
    if (unreserved) out += String.fromCharCode(b);
    else if (b === 0x20) out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function pad(plain: Buffer, padding: NonNullable<SimulateOptions['padding']>): Buffer {
  if (padding === 'zero') return plain; // BlowfishCipher zero-pads itself
  if (padding === 'pkcs7') {
    const n = 8 - (plain.length % 8);
    return Buffer.concat([plain, Buffer.alloc(n, n)]);
  }
  const n = (8 - (plain.length % 8)) % 8;
  return Buffer.concat([plain, Buffer.alloc(n, 0x20)]);
}

export function buildCallback(spec: CallbackSpec, merchant: MerchantKeys, opts: SimulateOptions = {}): SimulatedCallback {
  const keyCase = opts.keyCase ?? 'canonical';
  const charset = opts.charset ?? 'utf-8';
  const slotIndex = opts.keySlot ?? 0;
  const slot = merchant.keys[slotIndex];
  if (!slot) throw new Error(`merchant ${merchant.id} has no key slot ${slotIndex}`);

  const ok = spec.code === '00000000';
  const mid = opts.midOverride ?? merchant.id;
  const payId = spec.payId ?? randomBytes(16).toString('hex');
  const xid = spec.xid ?? randomBytes(16).toString('hex');
  const status = spec.status ?? (ok ? 'OK' : 'FAILED');
  const pairs: [string, string][] = [
    ['mid', mid],
    ['PayID', payId],
    ['XID', xid],
    ['TransID', spec.transId],
    ['Status', status],
    ['Code', spec.code],
    ['Description', spec.description ?? (ok ? 'success' : 'failed')],
  ];
  const optional: [string, string | undefined][] = [
    ['MandateID', spec.mandateId],
    ['RefNr', spec.refNr],
    ['UserData', spec.userData],
    ['Plain', spec.plain],
    ['EventToken', spec.eventToken],
  ];
  for (const [k, v] of optional) if (v !== undefined) pairs.push([k, v]);
  const casedPairs: [string, string][] = pairs.map(([k, v]) => [cased(k, keyCase), v]);
  for (const [k, v] of Object.entries(spec.extra ?? {})) casedPairs.push([k, v]);
  if (!opts.omitMac) {
    const mac =
      opts.macOverride ??
      createHmac('sha256', slot.hmac).update(`${payId}*${spec.transId}*${mid}*${status}*${spec.code}`).digest('hex').toUpperCase();
    casedPairs.push([cased('MAC', keyCase), mac]);
  }

  const plaintext = casedPairs.map(([k, v]) => `${k}=${v}`).join('&');
  const plainBytes = encodeText(plaintext, charset);
  const len = opts.len ?? (opts.lenMode === 'chars' ? [...plaintext].length : plainBytes.length);
  const hexCase = opts.hexCase ?? 'upper';

  let data: string;
  if (merchant.encryption === 'blowfish') {
    if (!slot.blowfish) throw new Error(`merchant ${merchant.id} key slot ${slotIndex} has no blowfish key`);
    data = hexEncode(new BlowfishCipher(slot.blowfish).encrypt(pad(plainBytes, opts.padding ?? 'zero')), hexCase);
  } else {
    if (!slot.aes) throw new Error(`merchant ${merchant.id} key slot ${slotIndex} has no aes key`);
    data = new AesCipher(slot.aes).encrypt(plainBytes, opts.iv ?? randomBytes(16), hexCase);
  }

  const form: [string, string][] = [];
  const plainId = opts.plainMerchantId ?? true;
  if (plainId !== false) form.push([cased('MerchantID', keyCase), plainId === true ? merchant.id : plainId]);
  form.push([cased('Len', keyCase), String(len)]);
  form.push([cased('Data', keyCase), data]);
  for (const [k, v] of Object.entries(spec.custom ?? {})) form.push([k, v]);

  const query = form.map(([k, v]) => `${formEncode(k, charset)}=${formEncode(v, charset)}`).join('&');
  return {
    contentType: `application/x-www-form-urlencoded; charset=${charset}`,
    body: Buffer.from(query, 'latin1'),
    query,
    form: Object.fromEntries(form),
    plaintext,
    data,
    len,
  };
}

/** The GET form of a callback: the query string without '?'. */
export function callbackQuery(spec: CallbackSpec, merchant: MerchantKeys, opts: SimulateOptions = {}): string {
  return buildCallback(spec, merchant, opts).query;
}
