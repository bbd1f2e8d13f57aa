// Result files → typed rows. The specification promises no column positions ("there can
// be no guarantee about the location of the different fields"), so columns are
// matched by header name only (case-insensitively). Repeatable groups become
// arrays by their `_n` number. Where the number sits is not specified for
// result files, so CALLRESULTS_CALL_1_RESULT, CALLRESULTS_CALL_RESULT_1 and an
// unnumbered CALLRESULTS_CALL_RESULT (= entry 1) are all accepted. Columns we
// do not know are kept by their header name. Parsing is all-or-nothing.

import type { ResolvedCode } from './codes.js';
import { FileFormatError, readCsv, type CsvCell } from './csv-read.js';
import { parseResultFileName } from './filename.js';
import { parseCell, type CellValue, type PaymentMethod, type ValueKind } from './result-values.js';

export type { PaymentMethod } from './result-values.js';

interface EntryBase {
  /** The `_n` number of the group in the file. */
  readonly index: number;
  /** Unknown columns of this group, by header name. */
  readonly extra: Readonly<Record<string, string>>;
}
export interface CallResult extends EntryBase {
  readonly attempts?: number; readonly number?: string; readonly result?: ResolvedCode; readonly time?: string;
  readonly duration?: number; readonly voicemail?: boolean; readonly direction?: string; readonly custom?: string;
}
export interface SmsResult extends EntryBase { readonly number?: string; readonly result?: ResolvedCode; readonly time?: string }
export interface EmailResult extends EntryBase { readonly address?: string; readonly result?: ResolvedCode; readonly time?: string }
export interface PaylinkResult extends EntryBase { readonly result?: ResolvedCode; readonly time?: string }
export interface PartialPaylinkResult extends EntryBase { readonly chosenTerms?: number; readonly transactionAmount?: number }
export interface PaymentMethodResult extends EntryBase { readonly name?: PaymentMethod }
export interface EmandateResult extends EntryBase {
  readonly result?: ResolvedCode; readonly time?: string; readonly id?: string; readonly debtorIban?: string;
  readonly debtorName?: string; readonly dateOfSignature?: string; readonly signature?: string;
}
export interface EnrichmentResult extends EntryBase { readonly number?: string; readonly quality?: number; readonly lastVerified?: string }
export interface CustomResult extends EntryBase { readonly identifier?: number; readonly value?: string; readonly service?: string }

export interface ScriptResultRow {
  readonly line: number;
  /** IDENTIFICATION_IDENTIFIER; null for an inbound call not matched to a record. */
  readonly identifier: string | null;
  readonly calls: readonly CallResult[];
  readonly sms: readonly SmsResult[];
  readonly smsPaylinks: readonly PaylinkResult[];
  readonly smsPartialPaylinks: readonly PartialPaylinkResult[];
  readonly smsPaymentMethods: readonly PaymentMethodResult[];
  readonly emails: readonly EmailResult[];
  readonly mailPaylinks: readonly PaylinkResult[];
  readonly mailPartialPaylinks: readonly PartialPaylinkResult[];
  readonly mailPaymentMethods: readonly PaymentMethodResult[];
  readonly emandates: readonly EmandateResult[];
  readonly enrichment: readonly EnrichmentResult[];
  readonly custom: readonly CustomResult[];
  /** Unknown columns outside every known group, by header name. */
  readonly extra: Readonly<Record<string, string>>;
}

export interface PortalPaylinkRow {
  readonly line: number;
  readonly id: string;
  readonly url?: string; readonly origin?: string; readonly createdBy?: string; readonly reference?: string;
  /** As written ("49.66") and in cents. */
  readonly amount?: string; readonly amountCents?: number;
  readonly status: ResolvedCode;
  readonly paymentMethod?: PaymentMethod;
  readonly created?: string; readonly updated?: string;
  readonly extra: Readonly<Record<string, string>>;
}

export type ScriptResultFile = {
  readonly name: string; readonly kind: 'daily' | 'monthly'; readonly from: string; readonly to: string;
  readonly scriptNumber: string; readonly columns: readonly string[]; readonly rows: readonly ScriptResultRow[];
};
export type PaylinkResultFile = {
  readonly name: string; readonly kind: 'paylink'; readonly from: string; readonly to: string;
  readonly columns: readonly string[]; readonly rows: readonly PortalPaylinkRow[];
};
export type ResultFile = ScriptResultFile | PaylinkResultFile;

type GroupKey = Exclude<keyof ScriptResultRow, 'line' | 'identifier' | 'extra'>;
type Fields = Record<string, readonly [prop: string, kind: ValueKind]>;

const CALL: Fields = {
  ATTEMPTS: ['attempts', 'int'], NUMBER: ['number', 'text'], RESULT: ['result', { code: 'call' }], TIME: ['time', 'datetime'],
  DURATION: ['duration', 'int'], VOICEMAIL: ['voicemail', 'bool'], DIRECTION: ['direction', 'text'], CUSTOM: ['custom', 'text'],
};
const PARTIAL: Fields = { CHOSEN_TERMS: ['chosenTerms', 'int'], TRANSACTION_AMOUNT: ['transactionAmount', 'int'] };
const METHOD: Fields = { NAME: ['name', 'paymentMethod'] };

type GroupDef = { readonly prefix: string; readonly key: GroupKey; readonly fields: Fields };
const GROUP_LIST: readonly GroupDef[] = [
  { prefix: 'CALLRESULTS_CALL', key: 'calls', fields: CALL },
  { prefix: 'SMSRESULTS_SMS', key: 'sms', fields: { NUMBER: ['number', 'text'], RESULT: ['result', { code: 'sms' }], TIME: ['time', 'datetime'] } },
  { prefix: 'SMSRESULTS_PAYLINK', key: 'smsPaylinks', fields: { RESULT: ['result', { paylink: 'smsPaylinkV1' }], TIME: ['time', 'datetime'] } },
  { prefix: 'SMSRESULTS_PARTIALPAYLINK', key: 'smsPartialPaylinks', fields: PARTIAL },
  { prefix: 'SMSRESULTS_PAYMENTMETHOD', key: 'smsPaymentMethods', fields: METHOD },
  // The specification's address row lost its name: the bare group column (like CONTACT_EMAIL_1), EMAIL or ADDRESS.
  { prefix: 'PAYMAILRESULTS_EMAIL', key: 'emails', fields: { '': ['address', 'text'], EMAIL: ['address', 'text'], ADDRESS: ['address', 'text'], RESULT: ['result', { code: 'mail' }], TIME: ['time', 'datetime'] } },
  { prefix: 'PAYMAILRESULTS_PAYLINK', key: 'mailPaylinks', fields: { RESULT: ['result', { paylink: 'paymailPaylinkV1' }], TIME: ['time', 'datetime'] } },
  { prefix: 'PAYMAILRESULTS_PARTIALPAYLINK', key: 'mailPartialPaylinks', fields: PARTIAL },
  { prefix: 'PAYMAILRESULTS_PAYMENTMETHOD', key: 'mailPaymentMethods', fields: METHOD },
  {
    prefix: 'PAYMAILRESULTS_EMANDATE', key: 'emandates', fields: {
      RESULT: ['result', { code: 'emandate' }], TIME: ['time', 'datetime'], ID: ['id', 'text'], DEBTOR_IBAN: ['debtorIban', 'text'],
      DEBTOR_NAME: ['debtorName', 'text'], DATE_OF_SIGNATURE: ['dateOfSignature', 'datetime'], SIGNATURE: ['signature', 'text'],
    },
  },
  { prefix: 'ENRICHMENTRESULTS_PHONENUMBER', key: 'enrichment', fields: { NUMBER: ['number', 'text'], QUALITY: ['quality', 'int'], LAST_VERIFIED: ['lastVerified', 'datetime'] } },
  { prefix: 'CUSTOMRESULTS_CUSTOM', key: 'custom', fields: { IDENTIFIER: ['identifier', 'int'], VALUE: ['value', 'text'], SERVICE: ['service', 'text'] } },
];
// Longest prefix first, so a prefix that extends another is tried before it.
const GROUPS: readonly GroupDef[] = [...GROUP_LIST].sort((a, b) => b.prefix.length - a.prefix.length);

const PORTAL: Fields = {
  ID: ['id', 'text'], URL: ['url', 'text'], ORIGIN: ['origin', 'text'], CREATEDBY: ['createdBy', 'text'], REFERENCE: ['reference', 'text'],
  AMOUNT: ['amountCents', 'amount'], STATUS: ['status', { paylink: 'portalPaylink' }], PAYMENTMETHOD: ['paymentMethod', 'paymentMethod'],
  CREATED: ['created', 'datetime'], UPDATED: ['updated', 'datetime'],
};

type Slot =
  | { kind: 'top'; prop: string; valueKind: ValueKind }
  | { kind: 'group'; key: GroupKey; index: number; prop: string | null; valueKind: ValueKind }
  | { kind: 'extra' };

function groupSlot(h: string): Slot | null {
  for (const g of GROUPS) {
    if (h !== g.prefix && !h.startsWith(`${g.prefix}_`)) continue;
    const rest = h.slice(g.prefix.length + 1);
    const m = /^(\d+)$/.exec(rest) ?? /^(\d+)_(.+)$/.exec(rest);
    const r = m ? null : /^(.+)_(\d+)$/.exec(rest);
    const index = Number(m ? m[1] : r ? r[2] : 1);
    const field = m ? (m[2] ?? '') : r ? (r[1] as string) : rest;
    if (index < 1) return null;
    const def = g.fields[field];
    return { kind: 'group', key: g.key, index, prop: def ? def[0] : null, valueKind: def ? def[1] : 'text' };
  }
  return null;
}

function planColumns(header: readonly CsvCell[], portal: boolean): Slot[] {
  const seen = new Map<string, string>();
  const slots = header.map((cell): Slot => {
    const h = cell.value.trim().toUpperCase();
    const fail = (reason: string): never => { throw new FileFormatError(reason, cell.line, cell.column); };
    if (h === '') fail('empty column name');
    let slot: Slot;
    if (portal) {
      const def = PORTAL[h];
      slot = def ? { kind: 'top', prop: def[0], valueKind: def[1] } : { kind: 'extra' };
    } else if (h === 'IDENTIFICATION_IDENTIFIER') slot = { kind: 'top', prop: 'identifier', valueKind: 'text' };
    else slot = groupSlot(h) ?? { kind: 'extra' };
    // Two headers that land in the same place (also via aliases) would make one silently win.
    const target = slot.kind === 'top' ? `top:${slot.prop}` : slot.kind === 'group' && slot.prop !== null ? `${slot.key}:${slot.index}:${slot.prop}` : `raw:${h}`;
    const first = seen.get(target);
    if (first !== undefined) fail(`column ${cell.value} duplicates column ${first}`);
    seen.set(target, cell.value);
    return slot;
  });
  const need = portal ? ['id', 'status'] : ['identifier'];
  for (const prop of need) {
    if (!slots.some((s) => s.kind === 'top' && s.prop === prop)) {
      throw new FileFormatError(`missing column ${portal ? prop : 'IDENTIFICATION_IDENTIFIER'}`, header[0]?.line ?? 1, 1);
    }
  }
  return slots;
}

/** Parse one result file; throws FileFormatError (line 0 = the name) on the first problem. */
export function parseResultFile(name: string, content: string | Uint8Array): ResultFile {
  const kind = parseResultFileName(name);
  if (!kind) throw new FileFormatError(`${JSON.stringify(name)} is not a Collectmaxx result file name`, 0, 0);
  const [header, ...body] = readCsv(content, { delimiter: ';' });
  if (!header) throw new FileFormatError('the file is empty: a header row is required', 1, 1);
  const portal = kind.kind === 'paylink';
  const slots = planColumns(header.cells, portal);
  const columns = header.cells.map((c) => c.value);
  const rows = body.map((row) => {
    const top: Record<string, CellValue> = {};
    const extra: Record<string, string> = {};
    const groups = new Map<GroupKey, Map<number, Record<string, unknown>>>();
    row.cells.forEach((cell, k) => {
      const slot = slots[k] as Slot;
      const raw = cell.value.trim();
      const headerName = columns[k] as string;
      // Empty is absent, for known and unknown columns alike (the header list keeps every column).
      if (raw === '') return;
      if (slot.kind === 'extra') { extra[headerName] = raw; return; }
      let value: CellValue = raw;
      if (slot.prop !== null) {
        const parsed = parseCell(slot.valueKind, raw);
        if (!parsed.ok) throw new FileFormatError(`${headerName}: ${parsed.reason}`, cell.line, cell.column);
        value = parsed.value;
      }
      if (slot.kind === 'top') {
        top[slot.prop] = value;
        if (slot.valueKind === 'amount') top.amount = raw;
        return;
      }
      const byIndex = groups.get(slot.key) ?? new Map<number, Record<string, unknown>>();
      groups.set(slot.key, byIndex);
      const entry = byIndex.get(slot.index) ?? { index: slot.index, extra: {} };
      byIndex.set(slot.index, entry);
      if (slot.prop === null) (entry.extra as Record<string, string>)[headerName] = raw;
      else entry[slot.prop] = value;
    });
    const list = (key: GroupKey) => [...(groups.get(key)?.values() ?? [])].sort((a, b) => (a.index as number) - (b.index as number));
    if (portal) {
      const missing = (['id', 'status'] as const).find((p) => top[p] === undefined);
      if (missing) {
        const k = slots.findIndex((s) => s.kind === 'top' && s.prop === missing);
        const cell = row.cells[k] as CsvCell;
        throw new FileFormatError(`${columns[k]}: a value is required`, cell.line, cell.column);
      }
      return { line: row.line, ...top, extra } as unknown as PortalPaylinkRow;
    }
    const identifier = (top.identifier as string | undefined) ?? null;
    const out: Record<string, unknown> = { line: row.line, identifier };
    for (const g of GROUP_LIST) out[g.key] = list(g.key);
    out.extra = extra;
    return out as unknown as ScriptResultRow;
  });
  return portal
    ? { name, kind: 'paylink', from: kind.from, to: kind.to, columns, rows: rows as PortalPaylinkRow[] }
    : { name, kind: kind.kind, from: kind.from, to: kind.to, scriptNumber: kind.scriptNumber, columns, rows: rows as ScriptResultRow[] };
}
