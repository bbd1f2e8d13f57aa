import t from 'tap';
import { codeInfo, isValidCode, outcomeOf } from '../../src/paygate/code.js';
import { EVENT_TYPES, eventTypeOf, operationContradiction, parseKind, resolveOperation } from '../../src/paygate/operation.js';
import type { Operation, Outcome } from '../../src/paygate/types.js';

t.test('code validation and outcome', async (t) => {
  for (const c of ['00000000', '22060203', '2206014H', '21000068', 'ZZZZZZZZ']) t.ok(isValidCode(c), c);
  for (const c of ['', '0000000', '000000000', '2206014h', '2206 014', '0000000\n']) t.notOk(isValidCode(c), JSON.stringify(c));
  t.equal(outcomeOf('00000000'), 'succeeded');
  t.equal(outcomeOf('00000001'), 'failed', 'only the all-zero code succeeds');
  t.equal(outcomeOf('60000000'), 'pending');
  t.equal(outcomeOf('6001000C'), 'pending');
  t.equal(outcomeOf('22060203'), 'failed');
  t.equal(outcomeOf('70000000'), 'failed');
  t.equal(outcomeOf('40000000'), 'failed');
});

t.test('codeInfo', async (t) => {
  t.same(codeInfo('22060203'), { severity: 'error', category: '206', categoryName: 'module', parameter: '0203' });
  t.same(codeInfo('2206014H'), { severity: 'error', category: '206', categoryName: 'module', parameter: '014H' });
  t.same(codeInfo('21000068'), { severity: 'error', category: '100', categoryName: 'module', parameter: '0068' });
  t.same(codeInfo('00000000'), { severity: 'success', category: '000', categoryName: 'none', parameter: '0000' });
  t.equal(codeInfo('40010000').severity, 'fatal');
  t.equal(codeInfo('60000000').severity, 'pending');
  t.equal(codeInfo('70000000').severity, 'info');
  t.equal(codeInfo('90000000').severity, 'unknown');
  const names: Record<string, string> = {
    '001': 'crypto', '010': 'missing', '011': 'format', '012': 'invalid', '013': 'too_short', '014': 'too_long',
    '015': 'value_missing', '016': 'value_not_allowed', '017': 'already_present', '018': 'expired', '019': 'not_allowed',
    '020': 'internal', '0FF': 'internal', '05A': 'internal', '100': 'module', 'FFF': 'module', '002': 'unknown', '01A': 'unknown', 'G00': 'unknown',
  };
  for (const [cat, name] of Object.entries(names)) t.equal(codeInfo(`2${cat}0000`).categoryName, name, cat);
});

t.test('parseKind', async (t) => {
  const table: [string, Operation][] = [
    ['mandate', 'mandate'], ['MANDATE', 'mandate'], ['MD', 'debtor'], ['debtor', 'debtor'], ['oc', 'open_position'],
    ['open-position', 'open_position'], ['OS', 'open_position_reversal'], ['open-position-reversal', 'open_position_reversal'],
    ['CR', 'credit'], ['credit', 'credit'], ['AN', 'prepayment'], ['prepayment', 'prepayment'], ['ST', 'prepayment_reversal'],
    ['prepayment-reversal', 'prepayment_reversal'], ['ZE', 'prepayment_paid'], ['prepayment-paid', 'prepayment_paid'],
    ['UP', 'prepayment_update'], ['Prepayment-Update', 'prepayment_update'], ['open_position', 'open_position'], ['payment', 'payment'],
  ];
  for (const [k, op] of table) t.equal(parseKind(k), op, k);
  for (const k of ['', 'xx', 'debtors', ' md', 'open position', '__proto__', 'constructor']) t.equal(parseKind(k), null, JSON.stringify(k));
});

t.test('resolveOperation', async (t) => {
  t.equal(resolveOperation('credit', { eventToken: 'MD', mandateId: 'M' }), 'credit', 'kind wins');
  t.equal(resolveOperation(undefined, { eventToken: 'oc' }), 'open_position');
  t.equal(resolveOperation(undefined, { eventToken: 'ZE', mandateId: 'M' }), 'prepayment_paid', 'token beats MandateID');
  t.equal(resolveOperation(undefined, { eventToken: 'Payment', mandateId: 'M' }), 'mandate', 'EasyCollect Payment token falls through');
  t.equal(resolveOperation(undefined, { eventToken: 'Payment' }), 'payment');
  t.equal(resolveOperation(undefined, { mandateId: 'M' }), 'mandate');
  t.equal(resolveOperation(undefined, { mandateId: '' }), 'payment');
  t.equal(resolveOperation(undefined, {}), 'payment');
  // Every debtor.aspx EventToken, written out from the protocol (MD, OC, OS, CR; prepayments AN, ST, ZE, UP).
  const tokens: [string, Operation][] = [
    ['MD', 'debtor'], ['OC', 'open_position'], ['OS', 'open_position_reversal'], ['CR', 'credit'],
    ['AN', 'prepayment'], ['ST', 'prepayment_reversal'], ['ZE', 'prepayment_paid'], ['UP', 'prepayment_update'],
  ];
  for (const [token, op] of tokens) {
    t.equal(resolveOperation(undefined, { eventToken: token, mandateId: 'M' }), op, `EventToken ${token}`);
    t.equal(resolveOperation(undefined, { eventToken: token.toLowerCase() }), op, `EventToken ${token.toLowerCase()}`);
  }
  for (const token of ['mandate', 'credit', 'open-position', '']) {
    t.equal(resolveOperation(undefined, { eventToken: token }), 'payment', `${JSON.stringify(token)} is a path kind, not an EventToken`);
  }
});

t.test('eventTypeOf covers exactly EVENT_TYPES', async (t) => {
  const ops: Operation[] = ['mandate', 'debtor', 'open_position', 'open_position_reversal', 'credit', 'prepayment', 'prepayment_reversal', 'prepayment_paid', 'prepayment_update', 'payment'];
  const outcomes: Outcome[] = ['succeeded', 'pending', 'failed'];
  const seen = new Set<string>();
  for (const op of ops) for (const o of outcomes) seen.add(eventTypeOf(op, o));
  t.same([...seen].sort(), [...EVENT_TYPES].sort());
  t.equal(new Set(EVENT_TYPES).size, EVENT_TYPES.length, 'no duplicates');
  t.equal(eventTypeOf('mandate', 'succeeded'), 'mandate.approved');
  t.equal(eventTypeOf('open_position_reversal', 'succeeded'), 'open_position.reversed');
  t.equal(eventTypeOf('open_position_reversal', 'failed'), 'open_position.failed');
  t.equal(eventTypeOf('prepayment_paid', 'succeeded'), 'prepayment.paid');
  t.equal(eventTypeOf('prepayment_update', 'pending'), 'prepayment.pending');
  t.equal(eventTypeOf('payment', 'succeeded'), 'payment.succeeded');
});

t.test('operationContradiction: EventToken or MandateID against the operation the URL names', async (t) => {
  const debtor: Operation[] = ['debtor', 'open_position', 'open_position_reversal', 'credit', 'prepayment', 'prepayment_reversal', 'prepayment_paid', 'prepayment_update'];
  // Written out from the debtor.aspx EventToken table.
  const tokenOf: Record<string, Operation> = { MD: 'debtor', OC: 'open_position', OS: 'open_position_reversal', CR: 'credit', AN: 'prepayment', ST: 'prepayment_reversal', ZE: 'prepayment_paid', UP: 'prepayment_update' };
  for (const [token, own] of Object.entries(tokenOf)) {
    t.equal(operationContradiction(own, { eventToken: token }), null, `${token} on its own kind`);
    t.equal(operationContradiction(own, { eventToken: token.toLowerCase() }), null, `${token} lower case`);
    for (const other of [...debtor, 'mandate', 'payment'] as Operation[]) {
      if (other !== own) t.ok(operationContradiction(other, { eventToken: token }), `${token} on ${other}`);
    }
  }
  t.ok(operationContradiction('prepayment_paid', { eventToken: 'AN' })?.includes('prepayment'), 'AN Data on a ZE URL');
  for (const op of ['mandate', 'payment'] as Operation[]) {
    t.equal(operationContradiction(op, { eventToken: 'Payment', mandateId: 'M-1' }), null, `EasyCollect EventToken=Payment with a MandateID on ${op}`);
    t.equal(operationContradiction(op, { mandateId: 'M-1' }), null, `a MandateID on ${op}`);
  }
  for (const op of debtor) {
    t.ok(operationContradiction(op, { mandateId: 'M-1' }), `a MandateID on ${op}`);
    t.ok(operationContradiction(op, { eventToken: 'Payment' }), `EventToken=Payment on ${op}`);
    t.equal(operationContradiction(op, {}), null, `nothing to judge on ${op}`);
    t.equal(operationContradiction(op, { eventToken: 'XY' }), null, `an unknown EventToken on ${op} is not judged`);
  }
  t.notMatch(operationContradiction('prepayment', { mandateId: 'SECRET-MANDATE' }) ?? '', /SECRET/, 'no decrypted value in the detail');
});
