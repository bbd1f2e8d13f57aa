import t from 'tap';
import { resultEvents, type ResultEventDraft } from '../../src/collectmaxx/core/result-events.js';
import { parseResultFile } from '../../src/collectmaxx/core/results.js';
import { fixture } from './helpers.js';

const eventsOf = (name: string, content: string | Buffer = fixture('results', name)) => resultEvents(parseResultFile(name, content));
const byKey = (list: ResultEventDraft[]) => new Set(list.map((e) => e.stateKey));

t.test('call, enrichment and custom results', async (t) => {
  const ev = eventsOf('result_20260114-acos1001.csv');
  t.same(ev.slice(0, 5).map((e) => e.type), ['reminder.call_result', 'reminder.call_result', 'reminder.call_result', 'enrichment.phone_number', 'reminder.custom_result']);
  t.equal(ev.filter((e) => e.type === 'reminder.call_result').length, 16);
  const first = ev[0]!;
  t.same(first.origin, { merchantId: 'ShopTest', transId: 'TX-1001', eventId: 'evt_01JGZ8W7Q3V5N8M2K4R6T9X1YA', flowId: 'F100' });
  t.match(first, {
    source: 'collectmaxx',
    identifier: 'pgr1.ShopTest.TX-1001.evt_01JGZ8W7Q3V5N8M2K4R6T9X1YA.F100.87a2f98d9a6cad47',
    provenance: { fileName: 'result_20260114-acos1001.csv', fileKind: 'daily', line: 2 },
    data: {
      identifier: 'pgr1.ShopTest.TX-1001.evt_01JGZ8W7Q3V5N8M2K4R6T9X1YA.F100.87a2f98d9a6cad47',
      origin: { merchantId: 'ShopTest', transId: 'TX-1001' },
      number: '31107989525', attempts: 3, result: { code: 3, name: 'completed' }, duration: 42, voicemail: false, direction: 'outbound',
      extra: { SCRIPT_NAME: 'Reminder NL', CALLRESULTS_CALL_1_AGENT: 'A12' },
    },
  });
  t.match(first.stateKey, /^[0-9a-f]{64}$/);
  t.same(ev[3]!.data, { identifier: ev[3]!.identifier, origin: ev[3]!.origin, number: '31612345678', quality: 87, lastVerified: '2026-01-10T08:00:00+00:00', extra: { SCRIPT_NAME: 'Reminder NL' } });
  t.match(ev[4]!.data, { question: 1, value: 'yes', service: 'voice' });
  const inbound = ev[ev.length - 1]!;
  t.equal(inbound.identifier, null, 'unmatched inbound call still reported');
  t.equal(inbound.origin, undefined);
  t.notOk('origin' in inbound.data);
});

t.test('PayLink events carry the v2 name whatever the file reports', async (t) => {
  const sms = eventsOf('result_20260114-acos2002.csv');
  const p = sms.filter((e) => e.type.startsWith('paylink.'));
  t.same(p.map((e) => e.type), [
    'paylink.created', 'paylink.visited', 'paylink.started', 'paylink.transaction_canceled', 'paylink.partially_paid', 'paylink.paid',
    'paylink.delayed', 'paylink.transaction_expired', 'paylink.error',
  ]);
  t.match(p[4]!.data, {
    channel: 'sms', index: 1, status: 'partially_paid', result: { code: 5, name: 'partially_paid', version: 'v1' },
    paymentMethod: { name: 'creditcard', fullName: 'Credit card' }, partial: { chosenTerms: 3, transactionAmount: 3333 },
  });
  t.match(p[5]!.data, { status: 'paid', paymentMethod: { name: 'ideal' }, partial: null });
  t.equal(sms.filter((e) => e.type === 'reminder.sms_result').length, 5);
  const monthly = eventsOf('result_20260101_20260131-acos3003.csv');
  t.match(monthly.find((e) => e.type === 'paylink.partially_paid')!.data, { channel: 'mail', result: { code: 'partially_paid', version: 'v2' } });
  const portal = eventsOf('result_20260101_20260131_paylink.csv');
  t.same(portal.map((e) => e.type), [
    'paylink.created', 'paylink.visited', 'paylink.started', 'paylink.transaction_open', 'paylink.partially_paid', 'paylink.paid',
    'paylink.transaction_canceled', 'paylink.error', 'paylink.delayed',
  ]);
  t.match(portal[5], {
    identifier: '0b6f1c1e-0000-4000-8000-000000000006',
    origin: { merchantId: 'ShopTest', transId: 'TX-4001', eventId: 'evt_01JGZ8W7Q3V5N8M2K4R6T9X4YA', flowId: 'P400' },
    data: { channel: 'portal', amountCents: 1999, createdVia: 'api', paymentMethod: { name: 'barzahlen' }, result: { code: 5, version: 'portal' } },
  });
  t.equal(portal[0]!.origin, undefined, 'a foreign reference gives no origin');
});

t.test('e-mail and e-mandate events', async (t) => {
  const ev = eventsOf('result_20260114-acos3003.csv');
  t.same(ev.filter((e) => e.type.startsWith('emandate.')).map((e) => e.type), [
    'emandate.given', 'emandate.awaiting_signature', 'emandate.created', 'emandate.visited', 'emandate.started', 'emandate.transaction_open',
    'emandate.transaction_expired', 'emandate.transaction_canceled', 'emandate.error',
  ]);
  t.match(ev.find((e) => e.type === 'emandate.given')!.data, {
    status: 'given', emandateId: 'EM-3001', debtorIban: 'NL91ABNA0417164300', debtorName: 'J. Muster', signature: 'SIG-3001',
    origin: { merchantId: 'Shop.Zwei', transId: 'TX/3001' },
  });
  t.same(ev.filter((e) => e.type === 'reminder.email_result').map((e) => (e.data.result as { name: string }).name), [
    'sent', 'opened', 'created', 'clicked', 'soft_bounce', 'hard_bounce', 'spam_complaint', 'error', 'unknown',
  ]);
});

t.test('the same state reported again gives the same stateKey; only changes are new', async (t) => {
  const name = 'result_20260114-acos3003.csv';
  const once = eventsOf(name);
  const twice = eventsOf(name);
  t.same(twice.map((e) => e.stateKey), once.map((e) => e.stateKey), 'a file imported twice');
  const daily = byKey(once);
  const monthly = eventsOf('result_20260101_20260131-acos3003.csv');
  const row1 = monthly.filter((e) => e.provenance.line === 2);
  t.same(row1.map((e) => [e.type, daily.has(e.stateKey)]), [
    ['reminder.email_result', true], // same result, same time
    ['reminder.email_result', false], // opened → clicked: a change
    ['paylink.created', true], // v1 0 in the daily, "created" in the monthly, later check time
    ['paylink.visited', true],
    ['emandate.given', true],
  ]);
  const changed = row1[1]!;
  t.equal(changed.subjectKey, once.find((e) => e.data.address === 'klant.werk@example.com')!.subjectKey, 'same subject, new state');
  t.same(monthly.filter((e) => e.provenance.line > 2).map((e) => `${e.provenance.line} ${e.type} ${daily.has(e.stateKey) ? 'seen' : 'new'}`), [
    '3 paylink.started seen', // daily v1 2 and 3, same states
    '3 paylink.transaction_open seen',
    '4 paylink.partially_paid new', // the daily had partial-payment details and a method
    '4 paylink.paid new',
    '5 paylink.transaction_canceled new', // index 1 was expired in the daily
    '5 paylink.transaction_expired new',
    '6 paylink.delayed new',
    '6 paylink.error new',
  ]);
});

t.test('stateKey moves with the reported state and only with it', async (t) => {
  const head = '"IDENTIFICATION_IDENTIFIER";"CALLRESULTS_CALL_1_NUMBER";"CALLRESULTS_CALL_1_RESULT";"CALLRESULTS_CALL_1_ATTEMPTS";"X"\n';
  const key = (row: string, name = 'result_20260114-acos1001.csv') => eventsOf(name, head + row)[0]!.stateKey;
  const a = key('"id1";"31107989525";"3";"3";"x"\n');
  t.equal(key('"id1";"31107989525";"3";"3";"other"\n'), a, 'unknown columns are not state');
  t.equal(key('"id1";"31107989525";"3";"3";"x"\n', 'result_20260101_20260131-acos1001.csv'), a, 'daily and monthly agree');
  t.not(key('"id1";"31107989525";"9";"3";"x"\n'), a, 'another result');
  t.not(key('"id1";"31107989525";"3";"4";"x"\n'), a, 'another attempt');
  t.not(key('"id2";"31107989525";"3";"3";"x"\n'), a, 'another record');
  t.not(key('"id1";"31107989526";"3";"3";"x"\n'), a, 'another number');
  const pl = '"IDENTIFICATION_IDENTIFIER";"SMSRESULTS_PAYLINK_1_RESULT";"SMSRESULTS_PAYLINK_1_TIME"\n';
  const k1 = eventsOf('result_20260114-acos2002.csv', `${pl}"id1";"4";"2026-01-14T10:00:00Z"\n`)[0]!;
  const k2 = eventsOf('result_20260131_20260131-acos2002.csv', `${pl}"id1";"paid";"2026-01-31T23:00:00Z"\n`)[0]!;
  t.equal(k2.stateKey, k1.stateKey, 'PayLink: v1 4 (SMS) = v2 paid; the last-check time is no change');
  const mail = '"IDENTIFICATION_IDENTIFIER";"PAYMAILRESULTS_PAYLINK_1_RESULT"\n"id1";"5"\n';
  t.not(eventsOf('result_20260114-acos3003.csv', mail)[0]!.stateKey, k1.stateKey, 'a mail PayLink is another subject than an SMS PayLink');
  const empty = '"IDENTIFICATION_IDENTIFIER";"SMSRESULTS_PAYLINK_1_RESULT";"SMSRESULTS_PAYLINK_1_TIME"\n"id1";"";"2026-01-14T10:00:00Z"\n';
  t.same(eventsOf('result_20260114-acos2002.csv', empty), [], 'a PayLink without status is nothing to report');
});
