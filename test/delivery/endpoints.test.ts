// Routing decided at intake: event-type globs, merchant filters, ordering keys.
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { buildEndpoint, compileGlob, DEFAULT_RETRY_SCHEDULE_MS, orderKeyFor, routeEvent, type Endpoint } from '../../src/delivery/endpoints.js';
import { EVENT_TYPES } from '../../src/paygate/operation.js';
import { baseConfig } from '../helpers/relay.js';
import { newSecret } from '../helpers/receiver.js';

/** Endpoints exactly as the relay builds them from a validated config. */
function endpoints(eps: Record<string, unknown>[], merchants: string[] = ['ShopTest']): Endpoint[] {
  const raw = baseConfig('/nonexistent', {
    merchants: merchants.map((id) => ({ id, keys: [{ blowfish: 'k', hmac: 'h' }] })),
    endpoints: eps.map((e, i) => ({ id: `ep${i}`, url: `http://127.0.0.1:9/${i}`, secret: newSecret(), ...e })),
  });
  return parseConfig(raw, {}).endpoints.map(buildEndpoint);
}

const matching = (ep: Endpoint) => EVENT_TYPES.filter((type) => ep.matchesType(type));

t.test('event globs against every event type the relay emits', async (t) => {
  const [mandates, failed, exact, all, many, mid] = endpoints([
    { events: ['mandate.*'] },
    { events: ['*.failed'] },
    { events: ['open_position.created'] },
    {},
    { events: ['mandate.approved', 'prepayment.*', 'credit.failed'] },
    { events: ['pre*.p*'] },
  ]);
  t.same(matching(mandates!), ['mandate.approved', 'mandate.pending', 'mandate.failed'], 'mandate.*');
  t.same(matching(failed!), EVENT_TYPES.filter((x) => x.endsWith('.failed')), '*.failed = every failure');
  t.equal(matching(failed!).length, 6, 'six families can fail');
  t.same(matching(exact!), ['open_position.created'], 'an exact type only');
  t.same(matching(all!), [...EVENT_TYPES], 'no filter = everything');
  t.same(matching(many!), ['mandate.approved', 'credit.failed', 'prepayment.created', 'prepayment.reversed', 'prepayment.paid', 'prepayment.updated', 'prepayment.pending', 'prepayment.failed'].sort((a, b) => EVENT_TYPES.indexOf(a as never) - EVENT_TYPES.indexOf(b as never)), 'a list is a union');
  t.same(matching(mid!), ['prepayment.paid', 'prepayment.pending'], '* inside a segment');
});

t.test('* stays within one dot segment', async (t) => {
  const rows: [glob: string, type: string, match: boolean][] = [
    ['mandate.*', 'mandate.approved', true],
    ['mandate.*', 'mandate.a.b', false],
    ['mandate.*', 'mandate', false],
    ['mandate.*', 'mandates.approved', false],
    ['mandate.*', 'xmandate.approved', false],
    ['*.failed', 'mandate.failed', true],
    ['*.failed', 'a.b.failed', false],
    ['*.failed', 'mandate.failed_twice', false],
    ['*', 'mandate', true],
    ['*', 'mandate.approved', true], // a bare * means every event type
    ['*.*', 'mandate.approved', true],
    ['*.*', 'a.b.c', false],
    ['open_position.created', 'open_position.created', true],
    ['open_position.created', 'open_positionXcreated', false], // the dot is literal
    ['open_position.created', 'open_position.created.x', false],
    ['open_position.created', 'x.open_position.created', false],
    ['m*e.*', 'mandate.failed', true],
    ['m*e.*', 'mandatex.failed', false],
  ];
  for (const [glob, type, match] of rows) t.equal(compileGlob(glob).test(type), match, `${glob} ${match ? 'matches' : 'does not match'} ${type}`);
});

t.test('merchant filter', async (t) => {
  const [onlyA, any, both] = endpoints([{ merchants: ['ShopA'] }, {}, { merchants: ['ShopA', 'ShopB'], events: ['payment.*'] }], ['ShopA', 'ShopB']);
  const route = (type: string, merchantId: string | null) => routeEvent([onlyA!, any!, both!], { type, merchantId, transId: 'T1' }).map((r) => r.endpointId);
  t.same(route('mandate.approved', 'ShopA'), ['ep0', 'ep1'], 'ShopA: its own endpoint and the unfiltered one');
  t.same(route('mandate.approved', 'ShopB'), ['ep1'], 'ShopB: not the ShopA-only endpoint');
  t.same(route('payment.succeeded', 'ShopB'), ['ep1', 'ep2'], 'type and merchant filters combine');
  t.same(route('payment.succeeded', null), ['ep1'], 'an unknown merchant only reaches unfiltered endpoints');
  t.throws(() => endpoints([{ merchants: ['Nobody'] }]), /unknown merchant Nobody/, 'a filter naming an unconfigured merchant is a config error');
});

t.test('order keys', async (t) => {
  const [tx, none, dflt] = endpoints([{ ordering: 'transaction' }, { ordering: 'none' }, {}]);
  t.equal(dflt!.ordering, 'transaction', 'transaction ordering is the default');
  t.equal(orderKeyFor(tx!, 'ShopTest', 'T1'), 'ShopTest\u0000T1');
  t.equal(orderKeyFor(tx!, 'ShopTest', 'T1'), orderKeyFor(tx!, 'ShopTest', 'T1'), 'stable');
  t.not(orderKeyFor(tx!, 'ShopTest', 'T1'), orderKeyFor(tx!, 'ShopTest', 'T2'), 'other transaction, other key');
  t.not(orderKeyFor(tx!, 'ShopA', 'T1'), orderKeyFor(tx!, 'ShopB', 'T1'), 'same TransID at two merchants: two keys');
  t.not(orderKeyFor(tx!, 'Shop', 'AT1'), orderKeyFor(tx!, 'ShopA', 'T1'), 'no ambiguity from concatenation');
  t.equal(orderKeyFor(tx!, 'ShopTest', null), null, 'no TransID: unordered');
  t.equal(orderKeyFor(tx!, 'ShopTest', ''), null, 'empty TransID: unordered');
  t.equal(orderKeyFor(none!, 'ShopTest', 'T1'), null, 'ordering none: never a key');
  t.same(
    routeEvent([tx!, none!], { type: 'mandate.approved', merchantId: 'ShopTest', transId: 'T9' }),
    [{ endpointId: 'ep0', orderKey: 'ShopTest\u0000T9' }, { endpointId: 'ep1', orderKey: null }],
    'routeEvent stores the key per endpoint',
  );
});

t.test('config defaults as the dispatcher sees them', async (t) => {
  const [d, c] = endpoints([{}, { secret: [newSecret(), newSecret()], retryScheduleMs: [0, 50, 100], jitter: 0, concurrency: 3, timeoutMs: 300, enabled: false }]);
  t.same(
    { timeoutMs: d!.timeoutMs, concurrency: d!.concurrency, jitter: d!.jitter, schedule: d!.retryScheduleMs, enabled: d!.enabledInConfig, secrets: d!.secrets.length, disableAfter: d!.disableAfterFailingMs },
    { timeoutMs: 10_000, concurrency: 8, jitter: 0.2, schedule: DEFAULT_RETRY_SCHEDULE_MS, enabled: true, secrets: 1, disableAfter: 5 * 24 * 3600_000 },
  );
  t.same({ schedule: c!.retryScheduleMs, jitter: c!.jitter, concurrency: c!.concurrency, timeoutMs: c!.timeoutMs, enabled: c!.enabledInConfig, secrets: c!.secrets.length }, { schedule: [0, 50, 100], jitter: 0, concurrency: 3, timeoutMs: 300, enabled: false, secrets: 2 });
  t.throws(() => endpoints([{ secret: 'whsec_c2hvcnQ=' }]), /24\.\.64 bytes/, 'a too-short secret is rejected');
  t.throws(() => endpoints([{ events: ['Mandate.*'] }]), /event filter/, 'globs are lower-case dot segments');
});
