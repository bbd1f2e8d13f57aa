// Parsed result rows → event drafts. A result file is a snapshot of the best
// state per job over a day or a month, so the same state arrives again (the
// daily file, then the monthly; or a file imported twice). Every draft thus
// carries two hashes the caller stores:
//   subjectKey — what the event is about (record + phone number / address /
//                PayLink …), independent of its state;
//   stateKey   — subject plus the reported state. Seen before → no event.
// The state leaves out timestamps that move without a change: PayLink and
// e-mandate TIME is "the last check", enrichment LAST_VERIFIED is re-checking.
// Statuses enter the state by name, so a v1 code and its v2 name are equal.

import { createHash } from 'node:crypto';
import type { ResolvedCode } from './codes.js';
import { parseIdentifier } from './identifier.js';
import type { PaylinkResult, PartialPaylinkResult, PaymentMethodResult, ResultFile, ScriptResultRow } from './results.js';

export const RESULT_EVENT_TYPES = [
  'reminder.call_result',
  'reminder.sms_result',
  'reminder.email_result',
  'reminder.custom_result',
  'enrichment.phone_number',
  // plus `paylink.<v2 name>` (codes.ts PAYLINK_STATUS_NAMES) and `emandate.<name>` (EMANDATE_STATUS_NAMES)
] as const;

export interface EventOrigin {
  readonly merchantId: string;
  readonly transId: string;
  /** The Paygate event the delivery record was made from. */
  readonly eventId: string;
  readonly flowId: string;
}

export interface ResultEventDraft {
  readonly type: string;
  readonly source: 'collectmaxx';
  /** IDENTIFICATION_IDENTIFIER (portal PayLinks: the PayLink id); null for an unmatched inbound call. */
  readonly identifier: string | null;
  readonly subjectKey: string;
  readonly stateKey: string;
  /** The payload for receivers; also holds `identifier` and `origin`. */
  readonly data: Readonly<Record<string, unknown>>;
  /** From our own identifier when it parses and verifies; else look it up in storage. */
  readonly origin?: EventOrigin;
  readonly provenance: { readonly fileName: string; readonly fileKind: ResultFile['kind']; readonly line: number };
}

type Json = string | number | boolean | null | Json[];

function hash(parts: Json[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

const code = (r: ResolvedCode | undefined) => (r ? { code: r.code, name: r.name, description: r.description } : null);

function originOf(identifier: string | null | undefined): EventOrigin | undefined {
  const p = identifier ? parseIdentifier(identifier) : null;
  return p?.verified ? { merchantId: p.merchantId, transId: p.transId, eventId: p.eventId, flowId: p.flowId } : undefined;
}

export function resultEvents(file: ResultFile): ResultEventDraft[] {
  const out: ResultEventDraft[] = [];
  const emit = (
    line: number, type: string, identifier: string | null, origin: EventOrigin | undefined,
    subject: Json[], state: Json[], data: Record<string, unknown>,
  ) => {
    const subjectKey = hash(subject);
    out.push({
      type, source: 'collectmaxx', identifier, subjectKey, stateKey: hash([subjectKey, ...state]),
      data: { identifier, ...(origin ? { origin } : {}), ...data },
      ...(origin ? { origin } : {}),
      provenance: { fileName: file.name, fileKind: file.kind, line },
    });
  };

  if (file.kind === 'paylink') {
    for (const r of file.rows) {
      const origin = originOf(r.reference);
      const method = r.paymentMethod ?? null;
      emit(r.line, `paylink.${r.status.name}`, r.id, origin, ['paylink', 'portal', r.id],
        [r.status.name, method?.name ?? null, r.amountCents ?? null, r.updated ?? null], {
          channel: 'portal', status: r.status.name, result: { ...code(r.status), version: 'portal' },
          paylinkId: r.id, url: r.url ?? null, createdVia: r.origin ?? null, createdBy: r.createdBy ?? null, reference: r.reference ?? null,
          amount: r.amount ?? null, amountCents: r.amountCents ?? null, paymentMethod: method,
          created: r.created ?? null, updated: r.updated ?? null, ...extra(r.extra),
        });
    }
    return out;
  }

  for (const row of file.rows) scriptRow(row, emit);
  return out;
}

function extra(e: Readonly<Record<string, string>>): { extra?: Readonly<Record<string, string>> } {
  return Object.keys(e).length > 0 ? { extra: e } : {};
}

type Emit = (
  line: number, type: string, identifier: string | null, origin: EventOrigin | undefined,
  subject: Json[], state: Json[], data: Record<string, unknown>,
) => void;

function scriptRow(row: ScriptResultRow, emit: Emit): void {
  const id = row.identifier;
  const origin = originOf(id);
  const e = (type: string, subject: Json[], state: Json[], data: Record<string, unknown>, own: Readonly<Record<string, string>>) =>
    emit(row.line, type, id, origin, [type.split('.')[0] as string, id, ...subject], state, { ...data, ...extra({ ...row.extra, ...own }) });

  for (const c of row.calls) {
    e('reminder.call_result', ['call', c.number ?? `#${c.index}`],
      [c.attempts ?? null, c.result?.name ?? null, c.time ?? null, c.duration ?? null, c.voicemail ?? null, c.direction ?? null, c.custom ?? null], {
        number: c.number ?? null, attempts: c.attempts ?? null, result: code(c.result), time: c.time ?? null, duration: c.duration ?? null,
        voicemail: c.voicemail ?? null, direction: c.direction ?? null, custom: c.custom ?? null,
      }, c.extra);
  }
  for (const s of row.sms) {
    e('reminder.sms_result', ['sms', s.number ?? `#${s.index}`], [s.result?.name ?? null, s.time ?? null],
      { number: s.number ?? null, result: code(s.result), time: s.time ?? null }, s.extra);
  }
  for (const m of row.emails) {
    e('reminder.email_result', ['email', m.address ?? `#${m.index}`], [m.result?.name ?? null, m.time ?? null],
      { address: m.address ?? null, result: code(m.result), time: m.time ?? null }, m.extra);
  }
  const paylinks = (channel: 'mail' | 'sms', links: readonly PaylinkResult[], partial: readonly PartialPaylinkResult[], methods: readonly PaymentMethodResult[]) => {
    for (const p of links) {
      if (!p.result) continue; // nothing to report without a status
      const part = partial.find((x) => x.index === p.index);
      const method = methods.find((x) => x.index === p.index)?.name ?? null;
      const version = p.result.table === 'paylinkV2' ? 'v2' : 'v1';
      e(`paylink.${p.result.name}`, [channel, p.index],
        [p.result.name, method?.name ?? null, part?.chosenTerms ?? null, part?.transactionAmount ?? null], {
          channel, index: p.index, status: p.result.name, result: { ...code(p.result), version }, time: p.time ?? null,
          paymentMethod: method, partial: part ? { chosenTerms: part.chosenTerms ?? null, transactionAmount: part.transactionAmount ?? null } : null,
        }, { ...p.extra, ...part?.extra });
    }
  };
  paylinks('mail', row.mailPaylinks, row.mailPartialPaylinks, row.mailPaymentMethods);
  paylinks('sms', row.smsPaylinks, row.smsPartialPaylinks, row.smsPaymentMethods);
  for (const m of row.emandates) {
    if (!m.result) continue;
    e(`emandate.${m.result.name}`, [m.id ?? `#${m.index}`], [m.result.name, m.debtorIban ?? null, m.dateOfSignature ?? null, m.signature ?? null], {
      status: m.result.name, result: code(m.result), time: m.time ?? null, emandateId: m.id ?? null, debtorIban: m.debtorIban ?? null,
      debtorName: m.debtorName ?? null, dateOfSignature: m.dateOfSignature ?? null, signature: m.signature ?? null,
    }, m.extra);
  }
  for (const n of row.enrichment) {
    e('enrichment.phone_number', [n.number ?? `#${n.index}`], [n.quality ?? null],
      { number: n.number ?? null, quality: n.quality ?? null, lastVerified: n.lastVerified ?? null }, n.extra);
  }
  for (const c of row.custom) {
    e('reminder.custom_result', ['custom', c.identifier ?? `#${c.index}`, c.service ?? null], [c.value ?? null],
      { question: c.identifier ?? null, value: c.value ?? null, service: c.service ?? null }, c.extra);
  }
}
