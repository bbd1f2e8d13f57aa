import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CODE_TABLES, lookupCode, PAYLINK_STATUS_NAMES, type CodeTableName } from '../../src/collectmaxx/core/codes.js';
import { parseResultFile } from '../../src/collectmaxx/core/results.js';
import { fixture, FIXTURES } from './helpers.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

t.test('the tables hold exactly the codes of the specification', async (t) => {
  const expected: Record<CodeTableName, Array<number | string>> = {
    call: range(0, 14),
    sms: range(0, 2),
    mail: range(0, 8),
    paymailPaylinkV1: range(0, 9),
    smsPaylinkV1: range(0, 8),
    paylinkV2: ['created', 'visited', 'started', 'transaction_open', 'transaction_canceled', 'transaction_expired', 'paid', 'partially_paid', 'delayed', 'error'],
    emandate: range(0, 8),
    portalPaylink: [0, 1, 2, 3, 4, 5, 6, 8, 9],
    paymentMethod: ['ideal', 'barzahlen', 'bancontact', 'creditcard', 'sofort', 'paypal', 'eps', 'trustly'],
  };
  t.same(Object.keys(CODE_TABLES).sort(), Object.keys(expected).sort());
  for (const [table, codes] of Object.entries(expected)) {
    t.same(CODE_TABLES[table as CodeTableName].map((e) => e.code), codes, table);
    const names = CODE_TABLES[table as CodeTableName].map((e) => e.name);
    t.equal(new Set(names).size, names.length, `${table}: names are unique`);
  }
});

t.test('v1 PayLink codes map by their own table onto v2 names', async (t) => {
  const v1 = (table: 'paymailPaylinkV1' | 'smsPaylinkV1') => CODE_TABLES[table].map((e) => e.name);
  t.same(v1('paymailPaylinkV1'), ['created', 'visited', 'started', 'transaction_open', 'partially_paid', 'paid', 'transaction_expired', 'transaction_canceled', 'error', 'delayed']);
  t.same(v1('smsPaylinkV1'), ['created', 'error', 'started', 'transaction_canceled', 'paid', 'partially_paid', 'delayed', 'visited', 'transaction_expired']);
  for (const table of ['paymailPaylinkV1', 'smsPaylinkV1', 'portalPaylink'] as const) {
    for (const e of CODE_TABLES[table]) t.ok(PAYLINK_STATUS_NAMES.includes(e.name), `${table} ${e.code} → ${e.name} is a v2 name`);
  }
  t.same(lookupCode('smsPaylinkV1', 4), { table: 'smsPaylinkV1', code: 4, name: 'paid', description: 'Payment' });
  t.same(lookupCode('paymailPaylinkV1', 4)?.name, 'partially_paid');
  t.equal(lookupCode('call', 15), undefined);
  t.equal(lookupCode('call', '3'), undefined, 'codes are typed: "3" is not 3');
});

/** Every resolved code and payment method anywhere in a parsed file. */
function collect(value: unknown, seen: Map<CodeTableName, Set<number | string>>): void {
  if (Array.isArray(value)) return value.forEach((v) => collect(v, seen));
  if (value === null || typeof value !== 'object') return;
  const o = value as Record<string, unknown>;
  if (typeof o.table === 'string' && 'code' in o) {
    const set = seen.get(o.table as CodeTableName) ?? new Set();
    set.add(o.code as number | string);
    seen.set(o.table as CodeTableName, set);
    return;
  }
  if (typeof o.name === 'string' && 'fullName' in o && o.fullName !== null) {
    const set = seen.get('paymentMethod') ?? new Set();
    set.add(o.name);
    seen.set('paymentMethod', set);
    return;
  }
  Object.values(o).forEach((v) => collect(v, seen));
}

t.test('every code of every table appears in at least one fixture', async (t) => {
  const names = readdirSync(join(FIXTURES, 'results')).filter((n) => n.endsWith('.csv'));
  t.ok(names.length >= 5);
  const seen = new Map<CodeTableName, Set<number | string>>();
  for (const name of names) collect(parseResultFile(name, fixture('results', name)).rows, seen);
  for (const [table, entries] of Object.entries(CODE_TABLES)) {
    const missing = entries.map((e) => e.code).filter((c) => !seen.get(table as CodeTableName)?.has(c));
    t.same(missing, [], `${table}: no code missing from the fixtures`);
  }
});
