// Origin and trust in events, browser returns, signed-URL minting, and what a
// rejected callback keeps (claimed merchant, 415, HEAD).
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildCallback } from '../src/paygate/simulator.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, baseConfig, startRelay, tmpDir } from './helpers/relay.js';
import { SHOP, events, post, transId } from './helpers/paygate.js';
import { login } from './console/_lib.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const URL_SECRET = 'url-secret-TEST-ONLY-0123456789abcdef';
const ROOT = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);

t.test('every event says where it came from and what authenticates which field', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t), { trustProxy: ['127.0.0.1'], paygate: { allowFrom: ['195.140.0.0/16'] } }), { listen: false, delivery: false });
  const cb = buildCallback({ transId: 'ORI-1', code: '00000000', extra: { Amount: '1999' } }, SHOP);
  const res = await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', remoteAddress: '127.0.0.1', headers: { 'content-type': cb.contentType, 'x-forwarded-for': '195.140.1.2' }, payload: cb.body });
  t.equal(res.statusCode, 200);
  const [ev] = await events(h);
  t.same(ev!.origin, { channel: 'notify', clientIp: '195.140.1.2', allowFrom: true, signedUrl: null, trusted: true }, 'a notify from allowFrom is trusted');
  t.same(ev!.authenticated.mac, ['payId', 'transId', 'merchantId', 'status', 'code']);
  t.same(ev!.authenticated.signedUrl, []);
  t.same(ev!.authenticated.encryptedOnly, ['xid', 'description', 'fields.amount'], 'the rest is only encrypted');
  // allowFrom is for Paygate's server-to-server notify: customers' browsers still come back.
  const ret = buildCallback({ transId: 'ORI-2', code: '00000000' }, SHOP);
  const back = await h.app.inject({ method: 'GET', url: `/paygate/success/OC?${ret.query}`, remoteAddress: '10.1.2.3' });
  t.same([back.statusCode, back.headers.location], [303, 'https://shop.example/ok']);
  const [rev] = await events(h, '&transId=ORI-2');
  t.same(rev!.origin, { channel: 'success', clientIp: '10.1.2.3', allowFrom: null, signedUrl: null, trusted: false }, 'a browser return is never trusted');
  const notify = await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', remoteAddress: '10.1.2.3', headers: { 'content-type': cb.contentType }, payload: cb.body });
  t.equal(notify.statusCode, 403, 'a notify from elsewhere is still refused');
});

t.test('with signed URLs a notify from allowFrom is trusted only on its signed URL; without urlSecret one warning', async (t) => {
  const unsigned = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  t.equal(unsigned.logs.filter((l) => l.includes('callback URLs are unsigned')).length, 1, 'warned once at start');
  const h = await startRelay(t, baseConfig(tmpDir(t), { paygate: { allowFrom: ['127.0.0.0/8'], urlSecret: URL_SECRET } }), { listen: false, delivery: false });
  t.equal(h.logs.filter((l) => l.includes('callback URLs are unsigned')).length, 0);
  const minted = await h.app.inject({ method: 'POST', url: '/admin/callback-urls', headers: auth, payload: { merchant: 'ShopTest', channel: 'notify', kind: 'OC', base: 'https://pay.shop.example/relay/' } });
  t.equal(minted.statusCode, 200);
  const { url, path, token, transIdBound } = minted.json();
  t.equal(url, `https://pay.shop.example/relay${path}`);
  t.match(path, /^\/paygate\/notify\/OC\/1a[A-Za-z0-9_-]{22}$/);
  t.same([token, transIdBound], [path.split('/')[4], false]);
  t.ok(url.length <= 256, "fits Paygate's URL fields");
  t.notMatch(url, /\?/, 'no query string');
  const res = await post(h, path, { transId: 'SIG-1' });
  t.equal(res.statusCode, 200);
  const [ev] = await events(h);
  t.same([ev!.origin.trusted, ev!.origin.signedUrl], [true, { transIdBound: false }]);
  for (const [body, error] of [
    [{ merchant: 'ShopTest', channel: 'notify' }, 'kind is required'],
    [{ merchant: 'Nobody', channel: 'notify', kind: 'OC' }, 'not configured'],
    [{ merchant: 'ShopTest', channel: 'refund', kind: 'OC' }, 'channel must be'],
    [{ merchant: 'ShopTest', channel: 'notify', kind: 'XX' }, 'not known'],
    [{ merchant: 'ShopTest', channel: 'notify', kind: 'OC', base: 'https://a.example/?x=1' }, 'query string'],
    [{ merchant: 'ShopTest', channel: 'notify', kind: 'OC', base: `https://${'a'.repeat(240)}.example` }, '256'],
  ] as const) {
    const r = await h.app.inject({ method: 'POST', url: '/admin/callback-urls', headers: auth, payload: body });
    t.equal(r.statusCode, 400, JSON.stringify(body));
    t.match(r.json().detail, error);
  }
  const viewer = await h.app.inject({ method: 'POST', url: '/admin/callback-urls', headers: { authorization: `Bearer ${VIEWER_TOKEN}` }, payload: { merchant: 'ShopTest', channel: 'notify', kind: 'OC' } });
  t.equal(viewer.statusCode, 403, 'operators only');
  const plain = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const none = await plain.app.inject({ method: 'POST', url: '/admin/callback-urls', headers: auth, payload: { merchant: 'ShopTest', channel: 'notify', kind: 'OC' } });
  t.match([none.statusCode, none.json().detail], [400, /urlSecret is not configured/]);
  const stray = await post(plain, path, { transId: 'SIG-2' });
  t.same([stray.statusCode, stray.json().error], [401, 'url_token_invalid'], 'a token the relay cannot check is not ignored');
});

t.test('paygate-relay url prints the signed URL; bad arguments exit 2 with a message', async (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(baseConfig(dir, { paygate: { urlSecret: [URL_SECRET] } })));
  const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'url', '--config', file, ...args], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } })
    .then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
  const ok = await cli('--merchant', 'ShopTest', '--channel', 'success', '--kind', 'ZE', '--trans-id', 'T-42', '--base', 'https://pay.shop.example');
  t.equal(ok.code, 0);
  t.match(ok.stdout.trim(), /^https:\/\/pay\.shop\.example\/paygate\/success\/ZE\/1t[A-Za-z0-9_-]{22}$/);
  const h = await startRelay(t, baseConfig(dir, { paygate: { urlSecret: URL_SECRET } }), { listen: false, delivery: false });
  const path = new URL(ok.stdout.trim()).pathname;
  const res = await post(h, path, { transId: 'T-42' });
  t.same([res.statusCode, res.headers.location], [303, 'https://shop.example/ok'], 'the relay takes what the CLI minted');
  t.equal((await post(h, path, { transId: 'T-43' })).headers.location, 'https://shop.example/failed', 'for its TransID only');
  const bad = [
    [['--channel', 'notify', '--kind', 'OC'], /--merchant is required/],
    [['--merchant', 'ShopTest', '--channel', 'notify', '--kind', 'nope'], /not known/],
    [['--merchant', 'ShopTest', '--channel', 'web', '--kind', 'OC'], /channel must be/],
    [['--merchant', 'ShopTest', '--channel', 'notify', '--kind', 'OC', '--bogus'], /Unknown option/],
  ] as const;
  const answers = await Promise.all(bad.map(([args]) => cli(...args)));
  for (const [i, [args, msg]] of bad.entries()) {
    t.equal(answers[i]!.code, 2, args.join(' '));
    t.match(answers[i]!.stderr, msg);
  }
});

t.test('a callback that names a configured merchant but does not verify keeps that merchant as a claim', async (t) => {
  const cfg = baseConfig(tmpDir(t));
  (cfg.merchants as any[]).push({ id: 'ShopTwo', keys: [{ blowfish: 'other-bf-key', hmac: 'other-hmac-key' }], returnUrls: { success: 'https://two.example/ok', failure: 'https://two.example/failed' } });
  const h = await startRelay(t, cfg, { listen: false, delivery: false });
  // Encrypted with a key ShopTest no longer has (a rotation mistake).
  const stale = { ...SHOP, keys: [{ blowfish: Buffer.from('retired-key'), hmac: Buffer.from('retired-hmac') }] };
  t.equal((await post(h, '/paygate/notify/OC', {}, { merchant: stale })).statusCode, 400);
  const back = await post(h, '/paygate/success/OC', {}, { merchant: stale });
  t.same([back.statusCode, back.headers.location], [303, 'https://shop.example/failed'], "an undecryptable browser return goes to the claimed merchant's failure page");
  const other = await post(h, '/paygate/success/OC', {}, { merchant: { ...stale, id: 'ShopTwo' } });
  t.equal(other.headers.location, 'https://two.example/failed');
  const items = (await h.app.inject({ method: 'GET', url: '/admin/quarantine?claimedMerchantId=ShopTest', headers: auth })).json().items;
  t.same(items.map((c: any) => [c.merchantId, c.claimedMerchantId, c.reason]), [[null, 'ShopTest', 'decrypt_failed'], [null, 'ShopTest', 'decrypt_failed']]);
  t.same((await h.app.inject({ method: 'GET', url: '/admin/quarantine?merchantId=ShopTest', headers: auth })).json().items, [], 'the claim is not the merchant');
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /paygate_relay_decrypt_failures_total\{merchant="ShopTest",claimed="true"\} 2/);
  t.match(metrics, /paygate_relay_decrypt_failures_total\{merchant="ShopTwo",claimed="true"\} 1/);
  const { client } = await login(h, ADMIN_TOKEN);
  const page = await client!.get('/console/quarantine?claimedMerchantId=ShopTest');
  t.equal(page.status, 200);
  t.equal([...page.body.matchAll(/ShopTest <span class="badge warn">claimed<\/span>/g)].length, 2, 'the console labels and filters it');
});

t.test('an unparsable Content-Type is stored; HEAD on a return is read like GET and stored as HEAD', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const cb = buildCallback({ transId: transId('CT'), code: '00000000' }, SHOP);
  for (const ct of [';;;', 'text', 'a/b/c', 'application/x-www-form-urlencoded,text/plain']) {
    const res = await h.app.inject({ method: 'POST', url: '/paygate/notify', headers: { 'content-type': ct }, payload: cb.body });
    t.same([res.statusCode, res.json().error], [415, 'unsupported_media_type'], ct);
    t.ok(res.json().callbackId, 'stored');
  }
  const browser = await h.app.inject({ method: 'POST', url: '/paygate/failure/OC', headers: { 'content-type': ';;;' }, payload: cb.body });
  t.same([browser.statusCode, browser.headers.location], [303, 'https://shop.example/failed']);
  const q = (await h.app.inject({ method: 'GET', url: '/admin/quarantine', headers: auth })).json().items;
  t.equal(q.length, 5);
  t.equal(q[0].contentType, ';;;', 'the Content-Type as sent');
  const head = buildCallback({ transId: 'HEAD-1', code: '00000000' }, SHOP);
  const res = await h.app.inject({ method: 'HEAD', url: `/paygate/success/OC?${head.query}` });
  t.same([res.statusCode, res.headers.location], [303, 'https://shop.example/ok']);
  const [ev] = await events(h, '&transId=HEAD-1');
  t.equal(ev?.type, 'open_position.created', 'the query string was the result');
  const detail = (await h.app.inject({ method: 'GET', url: `/admin/events/${ev!.id}`, headers: auth })).json();
  t.same([detail.callback.method, detail.callback.bodyBytes], ['HEAD', head.query.length]);
});

t.test('events stored before conflict detection are rekeyed at start: a repeat stays one event, a conflict is found', async (t) => {
  const dir = tmpDir(t);
  const cfg = baseConfig(dir);
  const cb = buildCallback({ transId: 'OLD-1', code: '00000000', payId: 'a'.repeat(32), xid: 'b'.repeat(32), extra: { Amount: '1999' } }, SHOP);
  {
    // What an older relay stored: the dedupe key held XID, no fingerprint, no origin.
    const h = await startRelay(t, cfg, { listen: false, delivery: false });
    t.equal((await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': cb.contentType }, payload: cb.body })).statusCode, 200);
    const oldKey = createHash('sha256').update(['ShopTest', 'a'.repeat(32), 'b'.repeat(32), 'OLD-1', 'OK', '00000000'].join('\u0000')).digest('hex');
    await h.close();
    const raw = new SqliteStore(join(dir, 'relay.db'));
    raw.db.prepare('UPDATE events SET dedupe_key = ?, fingerprint = NULL').run(oldKey);
    await raw.close();
  }
  const h = await startRelay(t, cfg, { listen: false, delivery: false });
  t.ok(h.logs.some((l) => l.includes('identity key and fingerprint')), 'the upgrade is logged');
  t.equal((await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': cb.contentType }, payload: cb.body })).statusCode, 200);
  t.equal((await events(h)).length, 1, 'a repeat of a callback from before the upgrade is still one event');
  const other = buildCallback({ transId: 'OLD-1', code: '00000000', payId: 'a'.repeat(32), xid: 'c'.repeat(32), extra: { Amount: '1999' } }, SHOP);
  t.equal((await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': other.contentType }, payload: other.body })).statusCode, 200);
  t.same((await events(h)).map((e) => [e.type, e.data.fields ?? null]), [['callback.conflict', ['xid']], ['open_position.created', { amount: '1999' }]]);
});

t.test('PostgreSQL: a conflicting version through the whole relay is kept and announced, not a second event', async (t) => {
  const { freshSchema, pgUrl, sharePostgres } = await import('./helpers/pg.js');
  await sharePostgres(t);
  const h = await startRelay(t, baseConfig(tmpDir(t), { storage: pgUrl(freshSchema(t, 'trust')) }), { listen: false, delivery: false });
  const same = { transId: 'PG-1', code: '00000000', payId: 'a'.repeat(32) };
  const a = buildCallback({ ...same, xid: 'b'.repeat(32) }, SHOP);
  const b = buildCallback({ ...same, xid: 'c'.repeat(32) }, SHOP);
  const answers = await Promise.all([a, a, b].map((cb) => h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': cb.contentType }, payload: cb.body })));
  t.same(answers.map((r) => r.statusCode), [200, 200, 200]);
  const evs = await events(h);
  t.equal(evs.filter((e) => e.type === 'open_position.created').length, 1, 'one event');
  const conflicts = evs.filter((e) => e.type === 'callback.conflict');
  t.equal(conflicts.length, 1, 'one conflict event');
  t.same(conflicts[0]!.data.fields, ['xid']);
  t.equal((await h.app.inject({ method: 'GET', url: '/admin/conflicts?transId=PG-1', headers: auth })).json().items.length, 1);
});

t.test('reprocessing never turns a redirect-only browser return into an event', async (t) => {
  const cfg = baseConfig(tmpDir(t), { paygate: { urlSecret: URL_SECRET } });
  (cfg.merchants as any[])[0].browserReturns = 'redirect-only';
  const h = await startRelay(t, cfg, { listen: false, delivery: false });
  t.equal((await post(h, '/paygate/success/OC', { transId: 'RO-1' })).headers.location, 'https://shop.example/failed', 'no token: quarantined');
  t.equal((await post(h, '/paygate/notify/OC', { transId: 'RO-2' })).statusCode, 401);
  const [ret, notify] = (await h.app.inject({ method: 'GET', url: '/admin/quarantine', headers: auth })).json().items.reverse();
  // The operator decides the missing token is fine after all: reprocess with signing off.
  await h.close();
  const h2 = await startRelay(t, { ...cfg, paygate: {} }, { listen: false, delivery: false });
  const r1 = (await h2.app.inject({ method: 'POST', url: `/admin/quarantine/${ret.id}/reprocess`, headers: auth })).json();
  t.same([r1.result, r1.reason], ['still_quarantined', 'url_token_missing']);
  t.match(r1.detail, /redirect-only/);
  const r2 = (await h2.app.inject({ method: 'POST', url: `/admin/quarantine/${notify.id}/reprocess`, headers: auth })).json();
  t.equal(r2.result, 'accepted', 'a notify becomes its event');
  t.same((await events(h2)).map((e) => e.data.transId), ['RO-2']);
});

t.test('console: the Conflicts page lists a conflict and compares both values', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const same = { transId: 'CON-1', code: '00000000', payId: 'd'.repeat(32), xid: 'e'.repeat(32) };
  for (const amount of ['1999', '9999']) {
    const cb = buildCallback({ ...same, extra: { Amount: amount } }, SHOP);
    t.equal((await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': cb.contentType }, payload: cb.body })).statusCode, 200);
  }
  const { client } = await login(h, VIEWER_TOKEN);
  const list = await client!.get('/console/conflicts?transId=CON-1');
  t.equal(list.status, 200);
  t.equal([...list.body.matchAll(/data-testid="conflict-row"/g)].length, 1);
  t.match(list.body, /<span class="badge bad">fields\.amount<\/span>/);
  const link = /href="(\/console\/conflicts\/cb_[0-9A-Z]+)"/.exec(list.body)?.[1];
  const page = await client!.get(link!);
  t.equal(page.status, 200);
  t.match(page.body, /<td class="mono">fields\.amount<\/td>\s*<td class="mono">1999<\/td>\s*<td class="mono">9999<\/td>/, 'both values side by side');
});
