import t from 'tap';
import { baseConfig, startRelay, tmpDir, ADMIN_TOKEN, TEST_BF, TEST_HMAC } from './helpers/relay.js';
import { SHOP, events, post, transId } from './helpers/paygate.js';
import { buildCallback } from '../src/paygate/simulator.js';
import type { MerchantKeys } from '../src/paygate/types.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

// Written out by hand from the issue, not derived from the code under test.
const EXPECTED: Record<string, [string, string, string]> = {
  mandate: ['mandate.approved', 'mandate.pending', 'mandate.failed'],
  MD: ['debtor.created', 'debtor.pending', 'debtor.failed'],
  debtor: ['debtor.created', 'debtor.pending', 'debtor.failed'],
  OC: ['open_position.created', 'open_position.pending', 'open_position.failed'],
  'open-position': ['open_position.created', 'open_position.pending', 'open_position.failed'],
  OS: ['open_position.reversed', 'open_position.pending', 'open_position.failed'],
  'Open-Position-Reversal': ['open_position.reversed', 'open_position.pending', 'open_position.failed'],
  CR: ['credit.created', 'credit.pending', 'credit.failed'],
  AN: ['prepayment.created', 'prepayment.pending', 'prepayment.failed'],
  ST: ['prepayment.reversed', 'prepayment.pending', 'prepayment.failed'],
  zE: ['prepayment.paid', 'prepayment.pending', 'prepayment.failed'],
  UP: ['prepayment.updated', 'prepayment.pending', 'prepayment.failed'],
  'prepayment-update': ['prepayment.updated', 'prepayment.pending', 'prepayment.failed'],
};
const CODES = [
  ['00000000', 'succeeded', 'OK'],
  ['60000041', 'pending', 'PENDING'],
  ['22060203', 'failed', 'FAILED'],
] as const;

t.test('every kind and outcome on notify yields the right typed event in storage', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  for (const [kind, types] of Object.entries(EXPECTED)) {
    for (const [i, [code, outcome, status]] of CODES.entries()) {
      const tid = transId(`K${kind}`);
      const res = await post(h, `/paygate/notify/${kind}`, { transId: tid, code, status }, { keyCase: i === 1 ? 'lower' : i === 2 ? 'upper' : 'canonical' });
      t.equal(res.statusCode, 200, `${kind} ${code} answered 200`);
      t.equal(res.body, 'OK');
      const [ev] = await events(h, `&transId=${tid}`);
      t.equal(ev?.type, types[i], `${kind} ${code} → ${types[i]}`);
      t.equal(ev?.outcome, outcome);
      t.equal(ev?.data.code, code);
      t.equal(ev?.merchantId, 'ShopTest');
    }
  }
});

t.test('without a kind: EventToken decides, else MandateID means mandate, else payment', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const cases = [
    [{ eventToken: 'OS' }, 'open_position.reversed', 'open_position_reversal'],
    [{ eventToken: 'cr' }, 'credit.created', 'credit'],
    [{ mandateId: 'MDT-991' }, 'mandate.approved', 'mandate'],
    [{ eventToken: 'Payment', mandateId: 'MDT-992' }, 'mandate.approved', 'mandate'],
    [{}, 'payment.succeeded', 'payment'],
  ] as const;
  for (const [extra, type, operation] of cases) {
    const tid = transId('NK');
    t.equal((await post(h, '/paygate/notify', { transId: tid, ...extra })).statusCode, 200);
    const [ev] = await events(h, `&transId=${tid}`);
    t.equal(ev?.type, type, JSON.stringify(extra));
    t.equal(ev?.operation, operation);
  }
  const [mandate] = await events(h, '&mandateId=MDT-991');
  t.equal(mandate?.data.mandateId, 'MDT-991', 'MandateID is searchable and carried');
});

t.test('repeats and the notify/return race produce one event', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const cb = buildCallback({ transId: 'DUP-1', code: '00000000', payId: 'a'.repeat(32), xid: 'b'.repeat(32) }, SHOP);
  const send = (url: string) => h.app.inject({ method: 'POST', url, headers: { 'content-type': cb.contentType }, payload: cb.body });
  const answers = await Promise.all([send('/paygate/notify/OC'), send('/paygate/success/OC'), send('/paygate/notify/OC')]);
  t.same(answers.map((a) => a.statusCode), [200, 303, 200]);
  t.equal(answers[1]!.headers.location, 'https://shop.example/ok');
  const again = await h.app.inject({ method: 'GET', url: `/paygate/success/OC?${cb.query}` });
  t.equal(again.statusCode, 303, 'a browser GET of the same result still redirects');
  const evs = await events(h, '&transId=DUP-1');
  t.equal(evs.length, 1, 'one event');
  const states = (h.relay.store as any).db.prepare('SELECT state, event_id FROM callbacks ORDER BY rowid').all() as { state: string; event_id: string }[];
  t.same(states.map((s) => s.state), ['accepted', 'duplicate', 'duplicate', 'duplicate'], 'every callback is kept, repeats marked duplicate');
  t.ok(states.every((s) => s.event_id === evs[0]!.id), 'all point at the one event');
});

t.test('browser returns: the verified Code decides the redirect, never the URL', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const failed = buildCallback({ transId: transId('R'), code: '22060203' }, SHOP);
  // Fraud: Data that went to URLFailure, posted to URLSuccess.
  const r1 = await h.app.inject({ method: 'POST', url: '/paygate/success/mandate', headers: { 'content-type': failed.contentType }, payload: failed.body });
  t.equal(r1.statusCode, 303);
  t.equal(r1.headers.location, 'https://shop.example/failed');
  const ok = buildCallback({ transId: transId('R'), code: '00000000', userData: 'secret<script>' }, SHOP);
  const r2 = await h.app.inject({ method: 'GET', url: `/paygate/failure/mandate?${ok.query}` });
  t.equal(r2.headers.location, 'https://shop.example/ok', 'success data on the failure URL still goes to success');
  t.notMatch(String(r2.headers.location), /secret|script/, 'no decrypted data in the redirect');
  const pending = buildCallback({ transId: transId('R'), code: '60000041', status: 'PENDING' }, SHOP);
  const r3 = await h.app.inject({ method: 'GET', url: `/paygate/success?${pending.query}` });
  t.equal(r3.headers.location, 'https://shop.example/pending');
  const tampered = ok.query.replace(/Data=([0-9A-F])/, (_m, c: string) => `Data=${c === 'A' ? 'B' : 'A'}`);
  const r4 = await h.app.inject({ method: 'GET', url: `/paygate/success/mandate?${tampered}` });
  t.equal(r4.statusCode, 303);
  t.equal(r4.headers.location, 'https://shop.example/failed', 'tampered return goes to failure');
  const r5 = await h.app.inject({ method: 'GET', url: '/paygate/success' });
  t.equal(r5.headers.location, 'https://shop.example/failed', 'empty return goes to failure');
  const evs = await events(h);
  t.same(evs.map((e) => e.outcome).sort(), ['failed', 'pending', 'succeeded']);
  t.equal(evs.find((e) => e.outcome === 'failed')?.channel, 'success', 'the channel records where it arrived');
});

t.test('rejected callbacks are answered 4xx and kept in quarantine with the reason', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const other: MerchantKeys = { id: 'ShopTest', encryption: 'blowfish', keys: [{ blowfish: Buffer.from(TEST_BF), hmac: Buffer.from('another-merchants-hmac') }] };
  const form = (s: string) => h.app.inject({ method: 'POST', url: '/paygate/notify', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: s });
  const good = buildCallback({ transId: 'Q-1', code: '00000000' }, SHOP);
  const cases: [string, Promise<{ statusCode: number; json(): any }>, number][] = [
    ['missing_data', form('MerchantID=ShopTest&Len=10'), 400],
    ['missing_len', form(`MerchantID=ShopTest&Data=${good.data}`), 400],
    ['len_mismatch', form(`MerchantID=ShopTest&Len=${good.len + 40}&Data=${good.data}`), 400],
    ['invalid_hex', form('MerchantID=ShopTest&Len=8&Data=XYZ123'), 400],
    ['unknown_merchant', form(`MerchantID=Nobody&Len=${good.len}&Data=${good.data}`), 400],
    ['mac_invalid', post(h, '/paygate/notify', { transId: 'Q-2' }, { merchant: other }), 401],
    ['mac_missing', post(h, '/paygate/notify', { transId: 'Q-3' }, { omitMac: true }), 401],
    ['invalid_code', post(h, '/paygate/notify', { transId: 'Q-4', code: 'ok' }), 400],
    ['unknown_kind', post(h, '/paygate/notify/refund', { transId: 'Q-5' }), 404],
    ['unsupported_media_type', h.app.inject({ method: 'POST', url: '/paygate/notify', headers: { 'content-type': 'application/json' }, payload: '{"Data":"x"}' }), 415],
  ];
  for (const [reason, p, status] of cases) {
    const res = await p;
    t.equal(res.statusCode, status, `${reason} → ${status}`);
    t.equal(res.json().error, reason);
    t.match(res.json().callbackId, /^cb_/);
  }
  const q = await h.app.inject({ method: 'GET', url: '/admin/quarantine?limit=50', headers: auth });
  const items = q.json().items as { reason: string; channel: string; path: string; detail: string }[];
  t.same(items.map((i) => i.reason).sort(), cases.map((c) => c[0]).sort(), 'every rejected callback is in quarantine');
  t.notOk(JSON.stringify(items).includes(good.data), 'quarantine listing never shows Data');
  t.equal((await events(h)).length, 0, 'no event from a rejected callback');
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /paygate_relay_mac_failures_total\{merchant="ShopTest"\} 2/);
  t.match(metrics, /paygate_relay_quarantine_size 10/);
  t.match(metrics, /paygate_relay_callbacks_total\{channel="notify",result="quarantined",reason="mac_invalid"\} 1/);
});

t.test('ISO-8859-1 and UTF-8 bodies both decode; plaintext Custom is kept apart and unauthenticated', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  for (const charset of ['iso-8859-1', 'utf-8'] as const) {
    const tid = transId(charset);
    const res = await post(h, '/paygate/notify/MD', { transId: tid, userData: 'Müller Söhne', custom: { lastname: 'Müller', order: '991' }, extra: { Amount: '1999' } }, { charset });
    t.equal(res.statusCode, 200, charset);
    const [ev] = await events(h, `&transId=${tid}`);
    t.equal(ev?.data.userData, 'Müller Söhne', `${charset}: decrypted multi-byte text kept`);
    t.equal(ev?.data.custom.lastname, 'Müller', `${charset}: custom decoded`);
    t.equal(ev?.data.customAuthenticated, false);
    t.equal(ev?.data.fields.amount, '1999', 'unknown decrypted keys land lower-cased in fields');
  }
});

t.test('a body over the limit gets a clear 413', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t), { limits: { bodyBytes: 2048 } }), { listen: false, delivery: false });
  const res = await h.app.inject({ method: 'POST', url: '/paygate/notify', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `Data=${'A'.repeat(4096)}` });
  t.equal(res.statusCode, 413);
  t.equal(res.json().error, 'body_too_large');
});

t.test('key rotation: an older key slot is accepted and counted', async (t) => {
  const cfg = baseConfig(tmpDir(t));
  (cfg.merchants as any)[0].keys = [{ blowfish: 'NEW-bf-key-2026', hmac: 'NEW-hmac-key-2026' }, { blowfish: TEST_BF, hmac: TEST_HMAC }];
  const h = await startRelay(t, cfg, { listen: false, delivery: false });
  const rotated: MerchantKeys = { ...SHOP, keys: [{ blowfish: Buffer.from('NEW-bf-key-2026'), hmac: Buffer.from('NEW-hmac-key-2026') }, SHOP.keys[0]!] };
  t.equal((await post(h, '/paygate/notify', {}, { merchant: rotated, keySlot: 1 })).statusCode, 200, 'old key still accepted');
  t.equal((await post(h, '/paygate/notify', {}, { merchant: rotated, keySlot: 0 })).statusCode, 200, 'new key accepted');
  t.equal((await post(h, '/paygate/notify', {}, { merchant: rotated, keySlot: 0, plainMerchantId: false })).statusCode, 200, 'found without a plain MerchantID');
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /paygate_relay_key_slot_matches_total\{merchant="ShopTest",slot="1"\} 1/);
  t.match(metrics, /paygate_relay_key_slot_matches_total\{merchant="ShopTest",slot="0"\} 2/);
});

t.test('an AES merchant round-trips', async (t) => {
  const cfg = baseConfig(tmpDir(t));
  const aesKey = '0123456789abcdef0123456789abcdef';
  (cfg.merchants as any).push({ id: 'ShopAes', encryption: 'aes', keys: [{ aes: aesKey, hmac: 'aes-shop-hmac' }] });
  const h = await startRelay(t, cfg, { listen: false, delivery: false });
  const aes: MerchantKeys = { id: 'ShopAes', encryption: 'aes', keys: [{ aes: Buffer.from(aesKey), hmac: Buffer.from('aes-shop-hmac') }] };
  const tid = transId('AES');
  t.equal((await post(h, '/paygate/notify/CR', { transId: tid }, { merchant: aes })).statusCode, 200);
  const [ev] = await events(h, `&transId=${tid}`);
  t.equal(ev?.type, 'credit.created');
  t.equal(ev?.merchantId, 'ShopAes');
});

t.test('admin read API: tokens, event detail without secrets, pagination', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const tids = [transId('P'), transId('P'), transId('P')];
  for (const tid of tids) await post(h, '/paygate/notify/OC', { transId: tid, userData: 'order 991' });
  t.equal((await h.app.inject({ method: 'GET', url: '/admin/events' })).statusCode, 401, 'no token');
  t.equal((await h.app.inject({ method: 'GET', url: '/admin/events', headers: { authorization: 'Bearer wrong-token-wrong-token' } })).statusCode, 401);
  const viewer = await h.app.inject({ method: 'GET', url: '/admin/events?limit=2', headers: { authorization: 'Bearer test-viewer-token-0123456789' } });
  t.equal(viewer.statusCode, 200, 'viewer reads');
  const page1 = viewer.json() as { items: any[]; next: string };
  t.same(page1.items.map((e) => e.data.transId), [tids[2], tids[1]], 'newest first');
  const page2 = (await h.app.inject({ method: 'GET', url: `/admin/events?limit=2&cursor=${page1.next}`, headers: auth })).json();
  t.same(page2.items.map((e: any) => e.data.transId), [tids[0]]);
  t.equal(page2.next, null);
  t.equal((await h.app.inject({ method: 'GET', url: '/admin/events?type=open_position.*', headers: auth })).json().items.length, 3, 'type glob');
  t.equal((await h.app.inject({ method: 'GET', url: '/admin/events?type=*.failed', headers: auth })).json().items.length, 0);
  t.equal((await h.app.inject({ method: 'GET', url: '/admin/events?type=bad%20glob', headers: auth })).statusCode, 400);
  const id = page1.items[0].id;
  const detail = await h.app.inject({ method: 'GET', url: `/admin/events/${id}`, headers: auth });
  t.equal(detail.statusCode, 200);
  const d = detail.json();
  t.equal(d.event.id, id);
  t.equal(d.callback.path, '/paygate/notify/OC');
  t.equal(d.callback.decoded.userData, 'order 991');
  t.notOk('mac' in d.callback.decoded, 'MAC never shown');
  t.notMatch(detail.body, /Data=|"MAC"/, 'raw Data never shown');
  t.equal((await h.app.inject({ method: 'GET', url: '/admin/events/evt_nope', headers: auth })).statusCode, 404);
});

t.test('logs: one line per callback, never Data, MAC or keys', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const cb = buildCallback({ transId: 'LOG-1', code: '00000000' }, SHOP);
  await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': cb.contentType }, payload: cb.body });
  await h.app.inject({ method: 'POST', url: '/paygate/notify', headers: { 'content-type': cb.contentType }, payload: cb.body.toString().replace('Len=', 'Len=9') });
  const mac = /MAC=([0-9A-F]{64})/.exec(cb.plaintext)![1]!;
  const all = h.logs.join('\n');
  const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.callbackId);
  t.equal(lines.length, 2, 'one line per callback');
  t.match(lines[0], { result: 'accepted', merchant: 'ShopTest', operation: 'open_position', outcome: 'succeeded', eventId: /^evt_/, durationMs: Number });
  t.match(lines[1], { result: 'quarantined', reason: 'len_mismatch' });
  for (const secret of [cb.data, cb.data.slice(0, 32), mac, TEST_BF, TEST_HMAC, ADMIN_TOKEN]) t.notOk(all.includes(secret), 'secret material not logged');
});

t.test('health and readiness', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  t.equal((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  t.equal((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  h.relay.draining = true;
  t.equal((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'draining is not ready');
  t.equal((await post(h, '/paygate/notify', {})).statusCode, 503, 'intake refuses while draining so Paygate retries');
});
