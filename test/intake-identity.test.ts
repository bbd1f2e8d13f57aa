// What makes two callbacks one event, and what a callback's outcome is, seen
// through intake (a real relay on a real SQLite file): the bugs a payment team
// loses money over are a final result swallowed as a repeat of its pending
// one, one merchant's callback swallowed by another's, and a failure counted
// as paid because Status said OK.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { buildCallback, type CallbackSpec } from '../src/paygate/simulator.js';
import type { MerchantKeys } from '../src/paygate/types.js';
import { SHOP, events, post, transId } from './helpers/paygate.js';
import { baseConfig, startRelay, tmpDir } from './helpers/relay.js';

const TWO: MerchantKeys = {
  id: 'ShopTwo',
  encryption: 'blowfish',
  keys: [{ blowfish: Buffer.from('TEST-ONLY-second-bf'), hmac: Buffer.from('TEST-ONLY-second-hmac-key') }],
};

function twoMerchants(dir: string): Record<string, unknown> {
  const cfg = baseConfig(dir);
  (cfg.merchants as unknown[]).push({ id: TWO.id, keys: [{ blowfish: 'TEST-ONLY-second-bf', hmac: 'TEST-ONLY-second-hmac-key' }] });
  return cfg;
}

/** The stored callbacks' states in arrival order (what an operator sees in the callback log). */
function callbackStates(h: { relay: { store: unknown } }): string[] {
  const db = (h.relay.store as { db: { prepare(sql: string): { all(): { state: string }[] } } }).db;
  return db.prepare('SELECT state FROM callbacks ORDER BY rowid').all().map((r) => r.state);
}

t.test('a pending result and then the final result of one payment are two events', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  // Everything Paygate keeps between the two callbacks stays the same, XID included:
  // only Status and Code tell them apart.
  const same = { payId: randomBytes(16).toString('hex'), xid: randomBytes(16).toString('hex'), transId: transId('PF') };
  const pending = await post(h, '/paygate/notify/OC', { ...same, status: 'PENDING', code: '60000041' });
  t.equal(pending.statusCode, 200);
  let evs = await events(h, `&transId=${same.transId}`);
  t.same(evs.map((e) => [e.type, e.outcome]), [['open_position.pending', 'pending']], 'the pending result is an event');

  const final = await post(h, '/paygate/notify/OC', { ...same, status: 'OK', code: '00000000' });
  t.equal(final.statusCode, 200);
  evs = await events(h, `&transId=${same.transId}`);
  t.same(evs.map((e) => [e.type, e.outcome]), [['open_position.created', 'succeeded'], ['open_position.pending', 'pending']],
    'the final result is a second event, not a repeat of the pending one');
  t.equal(new Set(evs.map((e) => e.id)).size, 2);
  t.ok(evs.every((e) => e.data.payId === same.payId && e.data.transId === same.transId), 'both carry the one PayID/TransID');

  // Paygate repeats the final notify: still two events.
  t.equal((await post(h, '/paygate/notify/OC', { ...same, status: 'OK', code: '00000000' })).statusCode, 200);
  t.equal((await events(h, `&transId=${same.transId}`)).length, 2, 'a repeat of the final result adds nothing');
  t.same(callbackStates(h), ['accepted', 'accepted', 'duplicate'], 'all three callbacks kept; only the repeat is a duplicate');
});

t.test('a failure after a pending result is its own event too', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const same = { payId: randomBytes(16).toString('hex'), xid: randomBytes(16).toString('hex'), transId: transId('PX') };
  await post(h, '/paygate/notify/mandate', { ...same, status: 'PENDING', code: '60000041' });
  await post(h, '/paygate/notify/mandate', { ...same, status: 'FAILED', code: '22060203' });
  const evs = await events(h, `&transId=${same.transId}`);
  t.same(evs.map((e) => e.type), ['mandate.failed', 'mandate.pending']);
});

t.test('the same callback from two merchants is two events, one per merchant', async (t) => {
  const h = await startRelay(t, twoMerchants(tmpDir(t)), { listen: false, delivery: false });
  // Two merchants can hand out the same TransID; PayID/XID collide here on purpose.
  const spec: CallbackSpec = { payId: 'c'.repeat(32), xid: 'd'.repeat(32), transId: transId('MM'), status: 'OK', code: '00000000' };
  const a = await post(h, '/paygate/notify/CR', spec, { merchant: SHOP });
  const b = await post(h, '/paygate/notify/CR', spec, { merchant: TWO });
  t.same([a.statusCode, b.statusCode], [200, 200]);
  const evs = await events(h, `&transId=${spec.transId}`);
  t.same(evs.map((e) => e.merchantId).sort(), ['ShopTest', 'ShopTwo'], 'each merchant gets its own event');
  t.ok(evs.every((e) => e.type === 'credit.created'));
  t.same(callbackStates(h), ['accepted', 'accepted'], 'neither is taken for a repeat of the other');
  // Each merchant's repeat is still recognised as that merchant's duplicate.
  await post(h, '/paygate/notify/CR', spec, { merchant: TWO });
  t.equal((await events(h, `&transId=${spec.transId}`)).length, 2);
  t.same(callbackStates(h), ['accepted', 'accepted', 'duplicate']);
});

t.test('two payments whose PayID and TransID run together the same way are two events', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  // 'a' + 'x' + 'xb' and 'ax' + 'x' + 'b' read the same once the fields are glued without a separator.
  const xid = 'x';
  const a = await post(h, '/paygate/notify/OC', { payId: 'a', xid, transId: 'xb', status: 'OK', code: '00000000' });
  const b = await post(h, '/paygate/notify/OC', { payId: 'ax', xid, transId: 'b', status: 'OK', code: '00000000' });
  t.same([a.statusCode, b.statusCode], [200, 200]);
  const evs = await events(h);
  t.same(evs.map((e) => `${e.data.payId}/${e.data.transId}`).sort(), ['a/xb', 'ax/b'], 'one event per payment');
  t.same(callbackStates(h), ['accepted', 'accepted']);
});

t.test('Status=OK with a failure Code is a failure: only Code 00000000 is a success', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  // Status as the sender claims it, Code as Paygate decided it; the outcome is written out by hand.
  const cases: [string, string, string, string][] = [
    ['OK', '22060203', 'failed', 'open_position.failed'],
    ['OK', '2206014H', 'failed', 'open_position.failed'],
    ['AUTHORIZED', '40000001', 'failed', 'open_position.failed'],
    ['OK', '60000041', 'pending', 'open_position.pending'],
    ['OK', '00000000', 'succeeded', 'open_position.created'],
  ];
  for (const [status, code, outcome, type] of cases) {
    const tid = transId('SC');
    const res = await post(h, '/paygate/notify/OC', { transId: tid, status, code });
    t.equal(res.statusCode, 200, `Status=${status} Code=${code} stored`);
    const [ev] = await events(h, `&transId=${tid}`);
    t.equal(ev?.outcome, outcome, `Status=${status} Code=${code} → ${outcome}`);
    t.equal(ev?.type, type);
    t.equal(ev?.data.code, code);
  }
  // The browser return of such a callback goes to the failure page, too.
  const cb = buildCallback({ transId: transId('SC'), status: 'OK', code: '22060203' }, SHOP);
  const ret = await h.app.inject({ method: 'GET', url: `/paygate/success/OC?${cb.query}` });
  t.equal(ret.statusCode, 303);
  t.equal(ret.headers.location, 'https://shop.example/failed');
});

t.test('media type: the form type in any case is accepted; a GET return is judged by its Data, whatever header it carries', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const cb = buildCallback({ transId: transId('MT'), code: '00000000' }, SHOP);
  const upper = await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded; Charset=UTF-8' }, payload: cb.body });
  t.equal(upper.statusCode, 200, 'media type names are case-insensitive');
  const spaced = await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': 'application/x-www-form-urlencoded ; charset=utf-8' }, payload: cb.body });
  t.equal(spaced.statusCode, 200, 'a space before the parameters is allowed');
  const ret = await h.app.inject({ method: 'GET', url: `/paygate/success/OC?${cb.query}`, headers: { 'content-type': 'text/plain' } });
  t.equal(ret.statusCode, 303);
  t.equal(ret.headers.location, 'https://shop.example/ok', 'a stray Content-Type on a GET does not turn a success into a failure');
  const long = `application/${'x'.repeat(300)}`;
  const refused = await h.app.inject({ method: 'POST', url: '/paygate/notify', headers: { 'content-type': long }, payload: cb.body });
  t.equal(refused.statusCode, 415);
  const q = await h.app.inject({ method: 'GET', url: '/admin/quarantine?limit=5', headers: { authorization: 'Bearer test-admin-token-0123456789' } });
  const [item] = q.json().items as { reason: string; detail: string }[];
  t.equal(item?.reason, 'unsupported_media_type');
  t.equal(item?.detail, `content type application/${'x'.repeat(48)}`, 'the stored detail names the type, cut to 60 characters');
});
