// Which business operation a callback belongs to. Paygate's result tables do
// not echo the debtor.aspx EventToken, so the shop says it in the URL path
// (`:kind`); an EventToken in the record is the fallback.

import type { Operation, Outcome, PaygateRecord } from './types.js';

const KINDS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
  ['mandate', 'mandate'],
  ['md', 'debtor'],
  ['debtor', 'debtor'],
  ['oc', 'open_position'],
  ['open-position', 'open_position'],
  ['os', 'open_position_reversal'],
  ['open-position-reversal', 'open_position_reversal'],
  ['cr', 'credit'],
  ['credit', 'credit'],
  ['an', 'prepayment'],
  ['prepayment', 'prepayment'],
  ['st', 'prepayment_reversal'],
  ['prepayment-reversal', 'prepayment_reversal'],
  ['ze', 'prepayment_paid'],
  ['prepayment-paid', 'prepayment_paid'],
  ['up', 'prepayment_update'],
  ['prepayment-update', 'prepayment_update'],
  ['payment', 'payment'],
]);

/** debtor.aspx EventTokens. EasyCollect's `EventToken=Payment` is deliberately absent: it is not one. */
const EVENT_TOKENS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
  ['md', 'debtor'],
  ['oc', 'open_position'],
  ['os', 'open_position_reversal'],
  ['cr', 'credit'],
  ['an', 'prepayment'],
  ['st', 'prepayment_reversal'],
  ['ze', 'prepayment_paid'],
  ['up', 'prepayment_update'],
]);

/** Case-insensitive; `_` is accepted for `-` so operation names work as paths too. */
export function parseKind(kind: string): Operation | null {
  return KINDS.get(kind.toLowerCase().replace(/_/g, '-')) ?? null;
}

/** The path kind wins; then an EventToken; then a MandateID means a mandate; else a payment. */
export function resolveOperation(kind: Operation | undefined, record: Pick<PaygateRecord, 'eventToken' | 'mandateId'>): Operation {
  if (kind) return kind;
  const byToken = record.eventToken ? EVENT_TOKENS.get(record.eventToken.toLowerCase()) : undefined;
  if (byToken) return byToken;
  if (record.mandateId) return 'mandate';
  return 'payment';
}

/** Operations of Debtor Management "Ideal" (debtor.aspx): their result tables carry no MandateID. */
const DEBTOR_OPERATIONS: ReadonlySet<Operation> = new Set(EVENT_TOKENS.values());

/**
 * Why the decrypted record contradicts the operation the callback is filed
 * under, or null when it does not. The URL kind is not covered by Paygate's
 * MAC, and neither are EventToken and MandateID, but a genuine result never
 * contradicts the request it answers, so a contradiction means Data was moved
 * to another URL or spliced. The rules, from Paygate's result tables:
 * - a debtor.aspx EventToken (MD, OC, OS, CR, AN, ST, ZE, UP) names exactly
 *   one operation; any other operation contradicts it;
 * - EasyCollect's `EventToken=Payment` (mandate and first debit at once)
 *   belongs to a mandate or payment result, never to Debtor Management;
 * - a MandateID belongs to EasyCollect (a mandate approval, a payment on a
 *   mandate, EventToken=Payment): legitimate on `mandate` and `payment`, but
 *   the Debtor Management result tables carry none, so a MandateID on a
 *   debtor, open position, credit or prepayment kind contradicts it;
 * - any other EventToken value is not judged (Paygate may add parameters).
 * The detail names operations only, never a decrypted value.
 */
export function operationContradiction(operation: Operation, record: Pick<PaygateRecord, 'eventToken' | 'mandateId'>): string | null {
  const token = record.eventToken?.trim().toLowerCase();
  if (token) {
    const byToken = EVENT_TOKENS.get(token);
    if (byToken && byToken !== operation) return `the decrypted EventToken names operation ${byToken}, the URL ${operation}`;
    if (token === 'payment' && DEBTOR_OPERATIONS.has(operation)) return `the decrypted EventToken is EasyCollect's Payment, the URL names ${operation}`;
  }
  if (record.mandateId && DEBTOR_OPERATIONS.has(operation)) return `the decrypted record carries a MandateID, which ${operation} results never do`;
  return null;
}

export const EVENT_TYPES = [
  'mandate.approved',
  'mandate.pending',
  'mandate.failed',
  'debtor.created',
  'debtor.pending',
  'debtor.failed',
  'open_position.created',
  'open_position.reversed',
  'open_position.pending',
  'open_position.failed',
  'credit.created',
  'credit.pending',
  'credit.failed',
  'prepayment.created',
  'prepayment.reversed',
  'prepayment.paid',
  'prepayment.updated',
  'prepayment.pending',
  'prepayment.failed',
  'payment.succeeded',
  'payment.pending',
  'payment.failed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Event family and the verb used for a successful result, per operation. */
const SUCCESS: Record<Operation, [family: string, verb: string]> = {
  mandate: ['mandate', 'approved'],
  debtor: ['debtor', 'created'],
  open_position: ['open_position', 'created'],
  open_position_reversal: ['open_position', 'reversed'],
  credit: ['credit', 'created'],
  prepayment: ['prepayment', 'created'],
  prepayment_reversal: ['prepayment', 'reversed'],
  prepayment_paid: ['prepayment', 'paid'],
  prepayment_update: ['prepayment', 'updated'],
  payment: ['payment', 'succeeded'],
};

export function eventTypeOf(operation: Operation, outcome: Outcome): EventType {
  const [family, verb] = SUCCESS[operation];
  return `${family}.${outcome === 'succeeded' ? verb : outcome}` as EventType;
}
