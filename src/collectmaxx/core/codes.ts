// Every code table of the specification's result-file section, as data. Names are the
// stable part of our contract (event types and payloads use them); the
// descriptions are the specification's own words. The PayLink tables are the tricky
// ones: v1 integers mean different things for PayMail and for SMS, so each
// has its own table, and both map onto the v2 status names, which is what
// events carry — one vocabulary however the file reports it.

export interface CodeEntry<C extends number | string = number | string> {
  readonly code: C;
  readonly name: string;
  readonly description: string;
}

const t = <C extends number | string>(rows: ReadonlyArray<readonly [C, string, string]>): readonly CodeEntry<C>[] =>
  Object.freeze(rows.map(([code, name, description]) => Object.freeze({ code, name, description })));

export const CALL_RESULTS = t<number>([
  [0, 'not_called', 'Not called'],
  [1, 'disconnected_before_successpoint', 'Reached, disconnected before succespoint'],
  [2, 'disconnected_after_successpoint', 'Succespoint reached, disconnected before the end of the message'],
  [3, 'completed', 'Succespoint reached and completed the call'],
  [4, 'no_answer', 'No answer'],
  [5, 'busy', 'Number busy'],
  [6, 'rejected', 'Call rejected'],
  [7, 'unavailable', 'Number (temporarily) unavailable'],
  [8, 'invalid_number', 'Invalid number'],
  [9, 'forwarded', 'Put through. Call is forwarded to your call centre'],
  [10, 'not_reached_in_period', 'Not reached within calling period'],
  [11, 'unknown_supplier', 'No calls, unknown supplier'],
  [12, 'voicemail_delivered', 'Voice mail message delivered (only with active detection)'],
  [13, 'wrong_person', 'The person who received the call indicated they were not the mentioned individual.'],
  [14, 'completed_without_successpoint', 'Completed call, but no success point was reached'],
]);

export const SMS_RESULTS = t<number>([
  [0, 'pending', 'Not (yet) delivered'],
  [1, 'delivered', 'Delivered'],
  [2, 'not_delivered', 'Not delivered'],
]);

/** "(Pay)mail results"; "draught" in the specification means drafted/created. */
export const MAIL_RESULTS = t<number>([
  [0, 'created', 'Email has been draught'],
  [1, 'sent', 'Email is sent'],
  [2, 'opened', 'Email is opened by receiver'],
  [3, 'clicked', 'The receiver has clicked on a link in the email'],
  [4, 'soft_bounce', 'Email is returned (temporary soft-bounce)'],
  [5, 'hard_bounce', 'Email is returned (definitive hard-bounce)'],
  [6, 'spam_complaint', 'Spam complaint'],
  [7, 'error', 'Error, email is not sent'],
  [8, 'unknown', 'Status unknown: sent, but delivery cannot be confirmed (may change)'],
]);

/** PayLink v2 result names: the same list for PayMail and SMS. */
export const PAYLINK_V2 = t<string>([
  ['created', 'created', 'PayLink has been draught'],
  ['visited', 'visited', 'Receiver has visited the landing page'],
  ['started', 'started', 'Receiver started transaction'],
  ['transaction_open', 'transaction_open', 'Receiver has arrived in bank environment'],
  ['transaction_canceled', 'transaction_canceled', 'Transaction cancelled (session)'],
  ['transaction_expired', 'transaction_expired', 'Transaction expired (session)'],
  ['paid', 'paid', 'Payment completed'],
  ['partially_paid', 'partially_paid', 'Payment completed on part of the amount'],
  ['delayed', 'delayed', 'Delay payment, requested by debtor'],
  ['error', 'error', 'Error occurred during creation or payment'],
]);

/** PayLink v1 integers for a PayLink sent with a PayMail; names are v2 names. */
export const PAYMAIL_PAYLINK_V1 = t<number>([
  [0, 'created', 'Paylink has been draught'],
  [1, 'visited', 'Receiver has visited the landing page'],
  [2, 'started', 'Receiver started transaction'],
  [3, 'transaction_open', 'Receiver has arrived in the bank environment, transaction is open.'],
  [4, 'partially_paid', 'Partial payment'],
  [5, 'paid', 'Payment'],
  [6, 'transaction_expired', 'Transaction overdue (session)'],
  [7, 'transaction_canceled', 'Transaction cancelled (session)'],
  [8, 'error', 'Error'],
  [9, 'delayed', 'Delay payment, requested by debtor'],
]);

/** PayLink v1 integers for a PayLink sent with an SMS: a different order than PayMail's. */
export const SMS_PAYLINK_V1 = t<number>([
  [0, 'created', 'PayLink has been draught'],
  [1, 'error', 'Error'],
  [2, 'started', 'Receiver started transaction'],
  [3, 'transaction_canceled', 'Transaction cancelled (session)'],
  [4, 'paid', 'Payment'],
  [5, 'partially_paid', 'Partial payment'],
  [6, 'delayed', 'Delay payment, requested by debtor'],
  [7, 'visited', 'Receiver has visited the landing page'],
  [8, 'transaction_expired', 'Transaction overdue (session)'],
]);

export const EMANDATE_RESULTS = t<number>([
  [0, 'created', 'Emandate has been draught'],
  [1, 'visited', 'Receiver has visited the landing page'],
  [2, 'started', 'Receiver started transaction'],
  [3, 'transaction_open', 'Receiver has arrived in bank environment'],
  [4, 'awaiting_signature', 'Emandate awaits signature'],
  [5, 'given', 'Emandate given'],
  [6, 'transaction_expired', 'Transaction overdue (session)'],
  [7, 'transaction_canceled', 'Transaction cancelled (session)'],
  [8, 'error', 'Error'],
]);

/**
 * Status of PayLinks created through the portal or API. The specification has no 7 and
 * merges cancelled/expired into 6; we name 6 `transaction_canceled` (the word
 * the specification puts first) and keep the code and description in the event.
 */
export const PORTAL_PAYLINK_STATUS = t<number>([
  [0, 'created', 'PayLink has been draught'],
  [1, 'visited', 'Receiver has visited the landing page'],
  [2, 'started', 'Receiver started transaction'],
  [3, 'transaction_open', 'Receiver has arrived in bank environment'],
  [4, 'partially_paid', 'Partial payment'],
  [5, 'paid', 'Payment'],
  [6, 'transaction_canceled', 'Transaction cancelled/expired (session)'],
  [8, 'error', 'Error'],
  [9, 'delayed', 'Delay payment, requested by debtor.'],
]);

/** Payment methods as reported (code) with their full names. */
export const PAYMENT_METHODS = t<string>([
  ['ideal', 'ideal', 'iDEAL'],
  ['barzahlen', 'barzahlen', 'barzahlen/viacash viafintech'],
  ['bancontact', 'bancontact', 'Bancontact'],
  ['creditcard', 'creditcard', 'Credit card'],
  ['sofort', 'sofort', 'Sofort Sofortüberweisung / Klarna'],
  ['paypal', 'paypal', 'PayPal'],
  ['eps', 'eps', 'EPS Überweisung'],
  ['trustly', 'trustly', 'Trustly'],
]);

export const CODE_TABLES = {
  call: CALL_RESULTS,
  sms: SMS_RESULTS,
  mail: MAIL_RESULTS,
  paymailPaylinkV1: PAYMAIL_PAYLINK_V1,
  smsPaylinkV1: SMS_PAYLINK_V1,
  paylinkV2: PAYLINK_V2,
  emandate: EMANDATE_RESULTS,
  portalPaylink: PORTAL_PAYLINK_STATUS,
  paymentMethod: PAYMENT_METHODS,
} as const;

export type CodeTableName = keyof typeof CODE_TABLES;

/** A code resolved against its table: what parsed result rows carry. */
export interface ResolvedCode {
  readonly table: CodeTableName;
  readonly code: number | string;
  readonly name: string;
  readonly description: string;
}

export function lookupCode(table: CodeTableName, code: number | string): ResolvedCode | undefined {
  const entry = (CODE_TABLES[table] as readonly CodeEntry[]).find((e) => e.code === code);
  return entry ? { table, code: entry.code, name: entry.name, description: entry.description } : undefined;
}

/** Every name events can carry after `paylink.` and `emandate.`. */
export const PAYLINK_STATUS_NAMES: readonly string[] = PAYLINK_V2.map((e) => e.name);
export const EMANDATE_STATUS_NAMES: readonly string[] = EMANDATE_RESULTS.map((e) => e.name);
