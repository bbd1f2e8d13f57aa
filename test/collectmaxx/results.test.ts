import t, { type Test } from 'tap';
import { FileFormatError } from '../../src/collectmaxx/core/csv-read.js';
import { parseResultFile, type ScriptResultFile, type PaylinkResultFile } from '../../src/collectmaxx/core/results.js';
import { fixture } from './helpers.js';

const script = (name: string) => parseResultFile(name, fixture('results', name)) as ScriptResultFile;

t.test('daily voice file: columns by name, groups as arrays, unknown columns kept', async (t) => {
  const f = script('result_20260114-acos1001.csv');
  t.match(f, { kind: 'daily', from: '2026-01-14', to: '2026-01-14', scriptNumber: '1001' });
  t.equal(f.rows.length, 6);
  const r = f.rows[0]!;
  t.equal(r.line, 2);
  t.equal(r.identifier, 'pgr1.ShopTest.TX-1001.evt_01JGZ8W7Q3V5N8M2K4R6T9X1YA.F100.87a2f98d9a6cad47');
  t.equal(r.calls.length, 3);
  t.same(r.calls.map((c) => [c.index, c.number, c.result?.name]), [[1, '31107989525', 'completed'], [2, '31612345678', 'no_answer'], [3, '4930123456', 'not_called']]);
  t.same(r.calls[0], {
    index: 1, extra: { CALLRESULTS_CALL_1_AGENT: 'A12' }, attempts: 3, number: '31107989525',
    result: { table: 'call', code: 3, name: 'completed', description: 'Succespoint reached and completed the call' },
    time: '2026-01-14T10:15:00+00:00', duration: 42, voicemail: false, direction: 'outbound',
  }, 'typed values; empty CUSTOM left out; unknown group column kept in the entry');
  t.same(r.calls[2], { index: 3, extra: {}, attempts: 0, number: '4930123456', result: { table: 'call', code: 0, name: 'not_called', description: 'Not called' } });
  t.same(r.extra, { SCRIPT_NAME: 'Reminder NL' }, 'unknown top-level column kept by header name');
  t.same(r.enrichment, [{ index: 1, extra: {}, number: '31612345678', quality: 87, lastVerified: '2026-01-10T08:00:00+00:00' }]);
  t.same(r.custom, [{ index: 1, extra: {}, identifier: 1, value: 'yes', service: 'voice' }]);
  t.same([r.sms, r.emails, r.mailPaylinks, r.emandates], [[], [], [], []]);
  t.equal(f.rows[2]!.enrichment.length, 0, 'an all-empty group is no entry');
  t.equal(f.rows[4]!.calls[1]!.result?.name, 'wrong_person');
  t.equal(f.rows[4]!.calls[0]!.voicemail, true);
  t.equal(f.rows[5]!.identifier, null, 'unmatched inbound call');
  t.equal(f.rows[5]!.calls[0]!.direction, 'inbound');
});

t.test('numbers after the field and bare group columns are understood too', async (t) => {
  const sms = script('result_20260114-acos2002.csv');
  const r = sms.rows[2]!;
  t.same(r.sms.map((s) => [s.number, s.result?.name]), [['4915112345678', 'not_delivered']]);
  t.same(r.smsPaylinks.map((p) => [p.index, p.result?.table, p.result?.code, p.result?.name]), [[1, 'smsPaylinkV1', 5, 'partially_paid'], [2, 'smsPaylinkV1', 4, 'paid']]);
  t.same(r.smsPartialPaylinks, [{ index: 1, extra: {}, chosenTerms: 3, transactionAmount: 3333 }]);
  t.same(r.smsPaymentMethods.map((m) => m.name), [{ name: 'creditcard', fullName: 'Credit card' }, { name: 'ideal', fullName: 'iDEAL' }]);
  const mail = script('result_20260114-acos3003.csv');
  t.same(mail.rows[0]!.emails.map((e) => [e.address, e.result?.name]), [['klant@example.nl', 'sent'], ['klant.werk@example.com', 'opened']]);
  t.same(mail.rows[0]!.emandates[0], {
    index: 1, extra: {}, result: { table: 'emandate', code: 5, name: 'given', description: 'Emandate given' }, time: '2026-01-14T09:00:00+00:00',
    id: 'EM-3001', debtorIban: 'NL91ABNA0417164300', debtorName: 'J. Muster', dateOfSignature: '2026-01-14T08:59:12+00:00', signature: 'SIG-3001',
  });
  const monthly = script('result_20260101_20260131-acos3003.csv');
  t.match(monthly, { kind: 'monthly', from: '2026-01-01', to: '2026-01-31', scriptNumber: '3003' });
  t.equal(monthly.rows[0]!.identifier, mail.rows[0]!.identifier, 'identifier found although it is not the first column');
  t.same(monthly.rows[0]!.emails.map((e) => e.address), ['klant@example.nl', 'klant.werk@example.com'], 'EMAIL alias');
  t.same(monthly.rows[0]!.mailPaylinks.map((p) => [p.result?.table, p.result?.code]), [['paylinkV2', 'created'], ['paylinkV2', 'visited']]);
  t.same(monthly.rows[0]!.extra, { REPORT_MONTH: '2026-01' });
});

t.test('the same PayLink code means different things for PayMail and SMS', async (t) => {
  const sms = script('result_20260114-acos2002.csv');
  const mail = script('result_20260114-acos3003.csv');
  t.equal(sms.rows[0]!.smsPaylinks[1]!.result?.code, 7);
  t.equal(sms.rows[0]!.smsPaylinks[1]!.result?.name, 'visited', 'SMS v1 7 = visited');
  t.equal(mail.rows[3]!.mailPaylinks[1]!.result?.code, 7);
  t.equal(mail.rows[3]!.mailPaylinks[1]!.result?.name, 'transaction_canceled', 'PayMail v1 7 = cancelled');
  t.equal(sms.rows[0]!.smsPaylinks[0]!.result?.name, mail.rows[0]!.mailPaylinks[0]!.result?.name, '0 = created in both');
});

t.test('portal PayLink file', async (t) => {
  const f = parseResultFile('result_20260101_20260131_paylink.csv', fixture('results', 'result_20260101_20260131_paylink.csv')) as PaylinkResultFile;
  t.match(f, { kind: 'paylink', from: '2026-01-01', to: '2026-01-31' });
  t.equal(f.rows.length, 9);
  t.same(f.rows[0], {
    line: 2, id: '0b6f1c1e-0000-4000-8000-000000000001',
    status: { table: 'portalPaylink', code: 0, name: 'created', description: 'PayLink has been draught' },
    amountCents: 4966, amount: '49.66', reference: 'INV-2026-001', url: 'https://pay.example/p/a1', origin: 'portal', createdBy: 'Jan Jansen',
    created: '2026-01-02 09:00:00', updated: '2026-01-02 09:00:00', extra: { currency: 'EUR' },
  });
  t.same(f.rows.map((r) => r.amountCents), [4966, 1000, 1250, 700, 10000, 1999, 550, 100, 25000]);
  t.same(f.rows[8]!.paymentMethod, { name: 'klarna', fullName: null }, 'a method the specification does not list yet is kept');
  t.equal(f.rows[6]!.status.name, 'transaction_canceled', 'portal 6 = cancelled/expired');
});

function failsAt(t: Test, name: string, content: string, line: number, column: number, reason: RegExp) {
  let result: unknown;
  try {
    result = parseResultFile(name, content);
  } catch (err) {
    t.ok(err instanceof FileFormatError, 'FileFormatError');
    const e = err as FileFormatError;
    t.same([e.line, e.column], [line, column], e.message);
    t.match(e.reason, reason);
    return;
  }
  t.fail(`parsed instead of failing: ${JSON.stringify(result)}`);
}

t.test('malformed files fail as a whole at the first error', async (t) => {
  const D = 'result_20260114-acos1001.csv';
  const head = '"IDENTIFICATION_IDENTIFIER";"CALLRESULTS_CALL_1_RESULT";"CALLRESULTS_CALL_1_ATTEMPTS";"CALLRESULTS_CALL_1_TIME"\n';
  failsAt(t, D, `${head}"a";"3";"1";""\n"b";"15";"1";""\n"c";"x";"1";""\n`, 3, 5, /CALLRESULTS_CALL_1_RESULT: "15" is not a code of the call table/);
  failsAt(t, D, `${head}"a";"3";"one";""\n`, 2, 9, /CALLRESULTS_CALL_1_ATTEMPTS: "one" is not a whole number/);
  failsAt(t, D, `${head}"a";"3";"1";"14-01-2026"\n`, 2, 13, /not an ISO 8601 date and time/);
  failsAt(t, D, `${head}"a";"3";"1";"2026-02-30T10:00:00Z"\n`, 2, 13, /not an ISO 8601/);
  failsAt(t, D, `${head}"a";"3";"1"\n`, 2, 12, /3 fields where the header has 4/);
  failsAt(t, D, `${head}"a";"3";"1";"";"x"\n`, 2, 16, /5 fields where the header has 4/);
  failsAt(t, D, '"CALLRESULTS_CALL_1_RESULT"\n"3"\n', 1, 1, /missing column IDENTIFICATION_IDENTIFIER/);
  failsAt(t, D, '"IDENTIFICATION_IDENTIFIER";"CALLRESULTS_CALL_1_RESULT";"callresults_call_result_1"\n', 1, 57, /duplicates column CALLRESULTS_CALL_1_RESULT/);
  failsAt(t, D, '"IDENTIFICATION_IDENTIFIER";"X";"X"\n', 1, 33, /duplicates column X/);
  failsAt(t, D, '"IDENTIFICATION_IDENTIFIER";"";"X"\n', 1, 29, /empty column name/);
  failsAt(t, D, '', 1, 1, /empty/);
  failsAt(t, 'result_20260114-acos2002.csv', '"IDENTIFICATION_IDENTIFIER";"SMSRESULTS_PAYLINK_1_RESULT"\n"a";"9"\n', 2, 5, /"9" is not a code of the smsPaylinkV1 table/);
  failsAt(t, 'result_20260114-acos2002.csv', '"IDENTIFICATION_IDENTIFIER";"SMSRESULTS_PAYLINK_1_RESULT"\n"a";"payed"\n', 2, 5, /"payed" is not a code of the paylinkV2 table/);
  failsAt(t, 'result_20260114-acos3003.csv', '"IDENTIFICATION_IDENTIFIER";"PAYMAILRESULTS_EMAIL_1_RESULT"\n"a";"9"\n', 2, 5, /mail table/);
  failsAt(t, 'result_20260114-acos3003.csv', '"IDENTIFICATION_IDENTIFIER";"PAYMAILRESULTS_EMANDATE_1_RESULT"\n"a";"given"\n', 2, 5, /not a whole number/);
  failsAt(t, 'result_20260114-acos1001.csv', '"IDENTIFICATION_IDENTIFIER";"CALLRESULTS_CALL_1_VOICEMAIL"\n"a";"yes"\n', 2, 5, /not a boolean/);
  const P = 'result_20260101_20260131_paylink.csv';
  failsAt(t, P, 'id;url\nx;y\n', 1, 1, /missing column status/);
  failsAt(t, P, 'id;status\nx;7\n', 2, 3, /status: "7" is not a code of the portalPaylink table/);
  failsAt(t, P, 'id;status\nx;paid\n', 2, 3, /not a whole number/);
  failsAt(t, P, 'id;status\n;1\n', 2, 1, /id: a value is required/);
  failsAt(t, P, 'id;status;amount\nx;1;49.666\n', 2, 5, /amount: "49.666" is not an amount/);
  failsAt(t, 'result_2026.csv', 'id;status\n', 0, 0, /not a Collectmaxx result file name/);
});

t.test('a broken line late in a real fixture rejects the whole file', async (t) => {
  const good = fixture('results', 'result_20260114-acos2002.csv').toString('utf8');
  const broken = good.replace(/"6";"2026-01-14T12:00:00\+00:00"/, '"6";"2026-01-14 noon"');
  t.not(broken, good);
  t.throws(() => parseResultFile('result_20260114-acos2002.csv', broken), { name: 'FileFormatError', line: 5 });
});
