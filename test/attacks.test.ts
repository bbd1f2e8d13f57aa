// Attacks on what Paygate's MAC does not cover, each as an attacker holding
// genuine callbacks of one merchant would run it. Ciphertexts come from
// OpenSSL (test/oracle), plaintexts and MACs are written here by hand.
import t from 'tap';
import { createHmac, randomBytes } from 'node:crypto';
import { conflictEventSchema, paygateEventSchema } from '../src/events/schema.js';
import { Oracle } from './oracle/client.js';
import { ADMIN_TOKEN, TEST_BF, TEST_HMAC, baseConfig, startRelay, tmpDir, type Harness } from './helpers/relay.js';
import { events } from './helpers/paygate.js';
import { newSecret, startReceiver } from './helpers/receiver.js';
import { blocksAround, blowfishData, formOf, plaintextOf, spliceBlocks, type Fields } from './helpers/oracle-paygate.js';

const oracle = new Oracle();
t.teardown(() => oracle.close());
t.before(async () => {
  if (!(await oracle.ready())) throw new Error('oracle cannot use bf-ecb: --openssl-legacy-provider not effective');
});

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const URL_SECRET = 'url-secret-TEST-ONLY-0123456789abcdef';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const hex32 = () => randomBytes(16).toString('hex');

/** A token computed from the documented format, not by the relay: 1 + a|t + base64url(HMAC-SHA256[:16]). */
function token(secret: string, merchant: string, channel: string, operation: string, transId?: string): string {
  const marker = transId === undefined ? 'a' : 't';
  const msg = JSON.stringify(['paygate-relay/callback-url/1', marker, merchant, channel, operation, transId ?? '']);
  return `1${marker}${createHmac('sha256', secret).update(msg).digest().subarray(0, 16).toString('base64url')}`;
}

interface Genuine { fields: Fields; plaintext: string; ct: Buffer; body: Buffer }

async function genuine(fields: Fields, order?: string[]): Promise<Genuine> {
  const plaintext = plaintextOf(fields, TEST_HMAC, order);
  const ct = await blowfishData(oracle, TEST_BF, plaintext);
  return { fields, plaintext, ct, body: formOf('ShopTest', Buffer.byteLength(plaintext), ct.toString('hex').toUpperCase()) };
}

const bodyOf = (g: Genuine, ct: Buffer) => formOf('ShopTest', Buffer.byteLength(g.plaintext), ct.toString('hex').toUpperCase());
const send = (h: Harness, url: string, body: Buffer, extra: Record<string, string> = {}) => h.app.inject({ method: 'POST', url, headers: { ...FORM, ...extra }, payload: body });
const quarantine = async (h: Harness) => (await h.app.inject({ method: 'GET', url: '/admin/quarantine?limit=200', headers: auth })).json().items as Array<Record<string, any>>;
const callbackStates = (h: Harness) => ((h.relay.store as any).db.prepare('SELECT state, path FROM callbacks ORDER BY rowid').all() as { state: string; path: string }[]);

t.test('AN Data on a ZE URL', async (t) => {
  const an = await genuine({ mid: 'ShopTest', PayID: hex32(), XID: hex32(), TransID: 'PRE-AN-1', Status: 'OK', Code: '00000000', Amount: '1999' });

  t.test('signed URLs: refused 401 and quarantined, whatever token the attacker has', async (t) => {
    const h = await startRelay(t, baseConfig(tmpDir(t), { paygate: { urlSecret: URL_SECRET } }), { listen: false, delivery: false });
    const anToken = token(URL_SECRET, 'ShopTest', 'notify', 'prepayment');
    const moved = await send(h, `/paygate/notify/ZE/${anToken}`, an.body);
    t.equal(moved.statusCode, 401);
    t.equal(moved.json().error, 'url_token_invalid', 'the AN URL\'s token does not fit the ZE kind');
    t.ok(moved.json().callbackId, 'the refusal names the stored callback');
    const bare = await send(h, '/paygate/notify/ZE', an.body);
    t.same([bare.statusCode, bare.json().error], [401, 'url_token_missing']);
    const browser = await send(h, `/paygate/success/ZE/${token(URL_SECRET, 'ShopTest', 'success', 'prepayment')}`, an.body);
    t.same([browser.statusCode, browser.headers.location], [303, 'https://shop.example/failed'], 'a browser is sent to the failure page');
    t.same((await quarantine(h)).map((c) => [c.reason, c.merchantId]).sort(), [['url_token_invalid', 'ShopTest'], ['url_token_invalid', 'ShopTest'], ['url_token_missing', 'ShopTest']],
      'every refused callback is kept with its reason');
    t.same(await events(h), [], 'no event at all');
    const ok = await send(h, `/paygate/notify/AN/${anToken}`, an.body);
    t.equal(ok.statusCode, 200, 'on its own signed URL the same Data is taken');
    const [ev] = await events(h);
    t.equal(ev?.type, 'prepayment.created');
    t.same(ev?.authenticated.signedUrl, ['operation', 'channel'], 'the receiver sees the operation is signed');
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    t.match(metrics, /paygate_relay_url_token_rejections_total\{merchant="ShopTest",reason="url_token_invalid"\} 2/);
    t.match(metrics, /paygate_relay_url_token_rejections_total\{merchant="ShopTest",reason="url_token_missing"\} 1/);
  });

  t.test('unsigned, redirect-only: a browser return makes no event; the return is stored', async (t) => {
    const cfg = baseConfig(tmpDir(t));
    (cfg.merchants as any[])[0].browserReturns = 'redirect-only';
    const h = await startRelay(t, cfg, { listen: false, delivery: false });
    const res = await send(h, '/paygate/success/ZE', an.body);
    t.same([res.statusCode, res.headers.location], [303, 'https://shop.example/ok'], 'redirected by the verified outcome');
    t.same(await events(h), [], 'no prepayment.paid');
    t.same(callbackStates(h).map((c) => c.state), ['returned'], 'kept as a browser return');
  });

  t.test('unsigned, events: what the receiver can tell; an EventToken that says AN is refused', async (t) => {
    const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
    t.equal((await send(h, '/paygate/notify/ZE', an.body)).statusCode, 200, 'without signed URLs the path is all the relay has');
    const [ev] = await events(h);
    t.equal(ev?.type, 'prepayment.paid');
    t.same([ev?.origin.trusted, ev?.origin.signedUrl, ev?.authenticated.signedUrl], [false, null, []], 'but the event says its operation is not authenticated');
    const tokenized = await genuine({ mid: 'ShopTest', PayID: hex32(), XID: hex32(), TransID: 'PRE-AN-2', Status: 'OK', Code: '00000000', EventToken: 'AN' });
    const res = await send(h, '/paygate/notify/ZE', tokenized.body);
    t.same([res.statusCode, res.json().error], [400, 'operation_mismatch']);
    t.equal((await events(h)).length, 1, 'no second event');
  });
});

t.test('a token minted for another kind, merchant, channel or transaction is refused; rotation keeps old URLs working', async (t) => {
  const OLD = 'old-url-secret-TEST-ONLY-abcdefghijklmn';
  const cfg = baseConfig(tmpDir(t), { paygate: { urlSecret: [URL_SECRET, OLD] } });
  (cfg.merchants as any[]).push({ id: 'ShopTwo', keys: [{ blowfish: 'other-bf-key', hmac: 'other-hmac-key' }] });
  const h = await startRelay(t, cfg, { listen: false, delivery: false });
  const ze = await genuine({ mid: 'ShopTest', PayID: hex32(), XID: hex32(), TransID: 'ZE-1', Status: 'OK', Code: '00000000' });
  const refused: [string, string][] = [
    [token(URL_SECRET, 'ShopTest', 'notify', 'prepayment'), 'kind AN'],
    [token(URL_SECRET, 'ShopTwo', 'notify', 'prepayment_paid'), 'merchant ShopTwo'],
    [token(URL_SECRET, 'ShopTest', 'success', 'prepayment_paid'), 'channel success'],
    [token(URL_SECRET, 'ShopTest', 'notify', 'prepayment_paid', 'ZE-2'), 'another TransID'],
    [token('unknown-secret-TEST-ONLY-0123456789abc', 'ShopTest', 'notify', 'prepayment_paid'), 'another relay'],
    [token(URL_SECRET, 'ShopTest', 'notify', 'prepayment_paid').replace(/^1a/, '1t'), 'the binding marker flipped'],
    ['1aAAAAAAAAAAAAAAAAAAAAAA', 'forged'],
    ['not-a-token', 'malformed'],
  ];
  for (const [tok, what] of refused) {
    const res = await send(h, `/paygate/notify/ZE/${tok}`, ze.body);
    t.same([res.statusCode, res.json().error], [401, 'url_token_invalid'], what);
  }
  t.equal((await quarantine(h)).length, refused.length, 'all kept in quarantine');
  t.same(await events(h), [], 'none became an event');
  t.equal((await send(h, `/paygate/notify/ZE/${token(URL_SECRET, 'ShopTest', 'notify', 'prepayment_paid', 'ZE-1')}`, ze.body)).statusCode, 200, 'bound to its TransID');
  t.equal((await send(h, `/paygate/notify/prepayment-paid/${token(OLD, 'ShopTest', 'notify', 'prepayment_paid')}`, ze.body)).statusCode, 200, 'the older secret still verifies; the long kind name shares the token');
  const evs = await events(h);
  t.equal(evs.length, 1, 'one event (the second is a repeat)');
  t.same(evs[0]!.origin.signedUrl, { transIdBound: true });
});

/** Two genuine callbacks of the merchant with the same layout, so ECB blocks line up. */
async function pair(amounts: [string, string], transIds: [string, string]): Promise<[Genuine, Genuine, number]> {
  const order = ['mid', 'PayID', 'TransID', 'Status', 'Code', 'Description', 'Amount', 'XID'];
  for (let pad = 1; pad <= 8; pad++) {
    const mk = (amount: string, transId: string) => ({ mid: 'ShopTest', PayID: hex32(), TransID: transId, Status: 'OK', Code: '00000000', Description: 'x'.repeat(pad), Amount: amount, XID: hex32() });
    const f1 = mk(amounts[0], transIds[0]);
    const f2 = mk(amounts[1], transIds[1]);
    const p1 = plaintextOf(f1, TEST_HMAC, order);
    const p2 = plaintextOf(f2, TEST_HMAC, order);
    const at = p1.indexOf('&Amount=') + 8;
    // The splice may change the amount digits and nothing else.
    if (blocksAround(p1, at, at + 4).replace(amounts[0], amounts[1]) === blocksAround(p2, at, at + 4)) {
      return [await genuine(f1, order), await genuine(f2, order), at];
    }
  }
  throw new Error('no alignment found');
}

t.test('a spliced XID block is no second event: it is a conflict', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const [g1, g2] = await pair(['1999', '1999'], ['XID-0001', 'XID-0002']);
  const at = g1.plaintext.indexOf('&XID=') + 5;
  // Only whole blocks inside the XID value: the rest of the record stays g1's, MAC included.
  const from = Math.ceil(at / 8) * 8;
  const spliced = spliceBlocks(g1.ct, g2.ct, from, Math.floor((at + 32) / 8) * 8);
  t.equal((await send(h, '/paygate/notify/OC', g1.body)).statusCode, 200);
  t.equal((await send(h, '/paygate/notify/OC', bodyOf(g1, spliced))).statusCode, 200, 'answered 200: Paygate must not retry it');
  const evs = await events(h, '&transId=XID-0001');
  t.same(evs.map((e) => e.type), ['callback.conflict', 'open_position.created'], 'no second plain event, one conflict');
  t.same(evs[0]!.data.fields, ['xid']);
  t.equal(evs[0]!.data.firstEventId, evs[1]!.id);
  t.same(callbackStates(h).map((c) => c.state), ['accepted', 'conflict']);
});

t.test('a spliced amount block, then the genuine notify: the receiver never gets the spliced amount without a callback.conflict', async (t) => {
  for (const order of ['spliced first', 'genuine first'] as const) {
    t.test(order, async (t) => {
      const secret = newSecret();
      const rx = await startReceiver(t, secret);
      const h = await startRelay(t, baseConfig(tmpDir(t), { endpoints: [{ id: 'erp', url: rx.url, secret }] }));
      const [g1, g2, at] = await pair(['1999', '9999'], ['AMT-0001', 'AMT-0002']);
      const spliced = spliceBlocks(g1.ct, g2.ct, at, at + 4);
      const forged = () => send(h, '/paygate/success/ZE', bodyOf(g1, spliced)); // the payer's own browser return
      const real = () => send(h, '/paygate/notify/ZE', g1.body);
      const answers = order === 'spliced first' ? [await forged(), await real()] : [await real(), await forged()];
      t.same(answers.map((a) => a.statusCode), order === 'spliced first' ? [303, 200] : [200, 303]);
      await rx.waitFor((r) => r.length >= 2);
      await new Promise((r) => setTimeout(r, 300)); // nothing else arrives
      const got = rx.received.map((r) => r.event);
      t.equal(got.length, 2, 'one event and one conflict');
      t.ok(rx.received.every((r) => r.verified), 'signed deliveries');
      const [first, conflict] = got as any[];
      paygateEventSchema.parse(first);
      conflictEventSchema.parse(conflict);
      t.equal(first.data.fields.amount, order === 'spliced first' ? '9999' : '1999');
      t.equal(conflict.type, 'callback.conflict', 'the conflict comes after the event of its TransID');
      t.same([conflict.data.transId, conflict.data.firstEventId, conflict.data.fields], ['AMT-0001', first.id, ['fields.amount']]);
      t.same([conflict.data.first.origin.channel, conflict.data.second.origin.channel], order === 'spliced first' ? ['success', 'notify'] : ['notify', 'success'], 'both origins');
      t.notMatch(JSON.stringify(conflict), order === 'spliced first' ? /1999/ : /9999/, 'names the field, never its other value');
      const detail = (await h.app.inject({ method: 'GET', url: `/admin/conflicts/${(await h.app.inject({ method: 'GET', url: '/admin/conflicts', headers: auth })).json().items[0].callbackId}`, headers: auth })).json();
      t.same([detail.first.values['fields.amount'], detail.second.values['fields.amount']], order === 'spliced first' ? ['9999', '1999'] : ['1999', '9999'], 'operators see both values');
      t.match((await h.app.inject({ method: 'GET', url: '/metrics' })).body, /paygate_relay_callback_conflicts_total\{merchant="ShopTest"\} 1/);
    });
  }

  t.test('redirect-only: the spliced browser return never reaches the receiver', async (t) => {
    const secret = newSecret();
    const rx = await startReceiver(t, secret);
    const cfg = baseConfig(tmpDir(t), { endpoints: [{ id: 'erp', url: rx.url, secret }] });
    (cfg.merchants as any[])[0].browserReturns = 'redirect-only';
    const h = await startRelay(t, cfg);
    const [g1, g2, at] = await pair(['1999', '9999'], ['AMT-0003', 'AMT-0004']);
    t.equal((await send(h, '/paygate/success/ZE', bodyOf(g1, spliceBlocks(g1.ct, g2.ct, at, at + 4)))).statusCode, 303);
    t.equal((await send(h, '/paygate/notify/ZE', g1.body)).statusCode, 200);
    await rx.waitFor((r) => r.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    t.same(rx.received.map((r) => [r.event.type, (r.event.data as any).fields.amount]), [['prepayment.paid', '1999']]);
  });
});

t.test('AES-CBC bit flips: a clean flip is a conflict with the genuine notify, the rest are quarantined; never a silent second version', async (t) => {
  const AES_KEY = 'TEST-ONLY-aes-16';
  const AES_HMAC = 'TEST-ONLY-aes-hmac-key';
  const cfg = baseConfig(tmpDir(t));
  (cfg.merchants as any[]).push({ id: 'ShopAes', encryption: 'aes', keys: [{ aes: AES_KEY, hmac: AES_HMAC }] });
  const h = await startRelay(t, cfg, { listen: false, delivery: false });
  const fields: Fields = { mid: 'ShopAes', PayID: hex32(), XID: hex32(), TransID: 'AES-1', Status: 'OK', Code: '00000000', Amount: '1999' };
  const plaintext = plaintextOf(fields, AES_HMAC, ['Amount', 'mid', 'PayID', 'XID', 'TransID', 'Status', 'Code']);
  const iv = randomBytes(16);
  const ct = await oracle.run('encrypt', 'aes-128-cbc', Buffer.from(AES_KEY), Buffer.from(plaintext), iv);
  const body = (v: Buffer, c: Buffer) => formOf('ShopAes', Buffer.byteLength(plaintext), `${v.toString('hex')}-${c.toString('hex')}`.toUpperCase());
  // Flipping IV bits flips the same plaintext bits of block 0, nothing else: Amount=1999 → 9999.
  const flipped = Buffer.from(iv);
  flipped[7]! ^= '1'.charCodeAt(0) ^ '9'.charCodeAt(0);
  t.equal((await send(h, '/paygate/notify/OC', body(flipped, ct))).statusCode, 200, 'the flip verifies: the MAC does not cover Amount');
  t.equal((await send(h, '/paygate/notify/OC', body(iv, ct))).statusCode, 200, 'the genuine notify');
  let evs = await events(h, '&transId=AES-1');
  t.same(evs.map((e) => e.type), ['callback.conflict', 'open_position.created'], 'the genuine notify is not dropped as a duplicate');
  t.equal(evs[1]!.data.fields.amount, '9999');
  t.same(evs[0]!.data.fields, ['fields.amount']);
  // Bits flipped inside the ciphertext garble a whole block: refused, or a conflict, never a new event.
  for (let i = 0; i < 28; i++) {
    const c = Buffer.from(ct);
    c[(i * 7) % (c.length - 16)]! ^= 1 << (i % 8);
    const res = await send(h, '/paygate/notify/OC', body(iv, c));
    t.ok(res.statusCode >= 400 || res.statusCode === 200, `flip ${i}: ${res.statusCode}`);
  }
  evs = await events(h, '&transId=AES-1');
  t.equal(evs.filter((e) => e.type !== 'callback.conflict').length, 1, 'still one event for the transaction');
  const states = callbackStates(h).slice(2).map((c) => c.state);
  t.ok(states.every((s) => s === 'quarantined' || s === 'conflict'), `every flipped callback is quarantined or a conflict (${[...new Set(states)].join(', ')})`);
});

t.test('Len +1..+3 reaches into the padding: refused with len_mismatch', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  for (const k of [1, 2, 3]) {
    // A plaintext length that leaves room for three bytes of zero padding.
    let desc = 'd';
    let g: Genuine;
    do {
      g = await genuine({ mid: 'ShopTest', PayID: hex32(), XID: hex32(), TransID: `LEN-${k}`, Status: 'OK', Code: '00000000', Description: desc });
      desc += 'd';
    } while (g.ct.length - Buffer.byteLength(g.plaintext) < 3);
    const len = Buffer.byteLength(g.plaintext);
    const res = await send(h, '/paygate/notify/OC', formOf('ShopTest', len + k, g.ct.toString('hex')));
    t.same([res.statusCode, res.json().error], [400, 'len_mismatch'], `Len +${k}`);
    t.equal((await send(h, '/paygate/notify/OC', formOf('ShopTest', len, g.ct.toString('hex')))).statusCode, 200, 'the exact Len is taken');
  }
  t.same((await quarantine(h)).map((c) => c.reason), ['len_mismatch', 'len_mismatch', 'len_mismatch']);
});
