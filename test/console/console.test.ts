// The console over HTTP without a browser: sessions, roles, CSRF, escaping, headers and
// every action, against a real relay (real SQLite file) and a real receiver.
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { SHOP, post } from '../helpers/paygate.js';
import { newSecret, startReceiver } from '../helpers/receiver.js';
import { ADMIN_TOKEN, TEST_HMAC, VIEWER_TOKEN, baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { buildCallback } from '../../src/paygate/simulator.js';
import { csrfIn, login } from './_lib.js';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const PAGES = ['/console', '/console/events', '/console/quarantine', '/console/dead-letters', '/console/endpoints', '/console/storage'];

/** What the strict CSP would refuse anyway, checked in the markup itself. */
function assertCleanMarkup(t: any, html: string, where: string) {
  t.notMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/i, `${where}: no inline script`);
  t.notMatch(html, /\sstyle=/i, `${where}: no style attribute`);
  t.notMatch(html, /<[a-z][^>]*\son[a-z]+=/i, `${where}: no event handler attribute`);
}

t.test('the console exists only where the admin API does', async (t) => {
  const none = await startRelay(t, baseConfig(tmpDir(t), { admin: { tokens: [] } }), { listen: false, delivery: false });
  t.equal((await none.app.inject({ method: 'GET', url: '/console/login' })).statusCode, 404, 'no admin tokens: no console');
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const pub = await buildApp(h.relay, { surface: 'public' });
  t.teardown(() => pub.close());
  t.equal((await pub.inject({ method: 'GET', url: '/console/login' })).statusCode, 404, 'not on the Paygate-only listener');
  const adm = await buildApp(h.relay, { surface: 'admin' });
  t.teardown(() => adm.close());
  t.equal((await adm.inject({ method: 'GET', url: '/console/login' })).statusCode, 200, 'on the admin listener');
});

t.test('login, session cookie, logout', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const first = await h.app.inject({ method: 'GET', url: '/console/events?transId=X' });
  t.equal(first.statusCode, 303, 'no session: to the login');
  t.equal(first.headers.location, '/console/login?next=%2Fconsole%2Fevents%3FtransId%3DX');

  const bad = await login(h, 'wrong-token-wrong-token');
  t.equal(bad.status, 401, 'wrong token refused');
  t.match(bad.body, 'That token is not valid.');
  t.equal(h.logs.filter((l) => l.includes('login with an unknown token refused')).length, 1, 'and logged');
  t.notOk(h.logs.some((l) => l.includes('wrong-token-wrong-token')), 'the presented token is never logged');

  const noNonce = await h.app.inject({ method: 'POST', url: '/console/login', headers: form, payload: `token=${ADMIN_TOKEN}` });
  t.equal(noNonce.statusCode, 403, 'a login POST without the form nonce (e.g. cross-site) is refused');
  t.notOk(String(noNonce.headers['set-cookie'] ?? '').includes('pgr_console='), 'and gets no session');

  const form1 = await h.app.inject({ method: 'GET', url: '/console/login' });
  const nonce = /pgr_login=([^;]+)/.exec(String(form1.headers['set-cookie']))![1]!;
  const ok = await h.app.inject({
    method: 'POST', url: '/console/login', headers: { ...form, cookie: `pgr_login=${nonce}`, 'x-forwarded-proto': 'https' },
    payload: new URLSearchParams({ _login: nonce, token: ADMIN_TOKEN, next: '/console/endpoints' }).toString(),
  });
  t.equal(ok.statusCode, 303);
  t.equal(ok.headers.location, '/console/endpoints', 'back where the user wanted to go');
  const set = [ok.headers['set-cookie']].flat().map(String);
  const session = set.find((c) => c.startsWith('pgr_console='))!;
  t.same(session.split('; ').slice(1).sort(), ['HttpOnly', 'Max-Age=28800', 'Path=/console', 'SameSite=Strict', 'Secure'], 'HttpOnly, SameSite=Strict, Secure under TLS, 8 h');
  t.ok(set.some((c) => c.startsWith('pgr_login=;')), 'the login nonce is cleared');

  const { client } = await login(h, ADMIN_TOKEN);
  t.ok(client);
  const plain = await h.app.inject({ method: 'GET', url: '/console/login' });
  t.notMatch(String(plain.headers['set-cookie']), /Secure/, 'no Secure flag over plain HTTP');

  const page = await client!.get('/console/events');
  t.equal(page.status, 200);
  const tampered = await h.app.inject({ method: 'GET', url: '/console/events', headers: { cookie: client!.cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) } });
  t.equal(tampered.statusCode, 303, 'a tampered cookie is no session');

  t.equal((await client!.post('/console/logout', {})).status, 303);
  t.equal((await client!.get('/console/events')).status, 303, 'after logout the old cookie is dead, even if kept');
});

t.test('login attempts are throttled per address', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  for (let i = 0; i < 10; i++) t.equal((await login(h, `wrong-token-number-${i}`)).status, 401);
  t.equal((await login(h, ADMIN_TOKEN)).status, 429, 'even the right token waits after 10 failures');
});

t.test('every page: CSP and security headers, clean markup, escaping of stored values', async (t) => {
  const dir = tmpDir(t);
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  rx.behave(() => ({ status: 500, body: '<script>alert("answer")</script><b>busy</b>' }));
  const h = await startRelay(t, baseConfig(dir, { endpoints: [{ id: 'erp', url: rx.url, secret, retryScheduleMs: [0] }] }), { listen: false });
  const evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>';
  t.equal((await post(h, '/paygate/notify/mandate', { transId: 'XSS-1', userData: evil, mandateId: 'M<1>', custom: { note: '<svg onload=alert(3)>' } })).statusCode, 200);
  t.equal((await post(h, '/paygate/notify', { transId: 'Q<1>' }, { omitMac: true })).statusCode, 401);
  await rx.waitFor((r) => r.length >= 1);
  await new Promise((r) => setTimeout(r, 200));
  const { client } = await login(h, VIEWER_TOKEN);
  const id = (await h.relay.store.listEvents({ transId: 'XSS-1' }, 1)).items[0]!.id;
  const anonymous = async (path: string) => {
    const r = await h.app.inject({ method: 'GET', url: path });
    return { status: r.statusCode, body: r.body, headers: r.headers };
  };
  for (const path of [...PAGES, `/console/events/${id}`, '/console/events?transId=XSS-1', '/console/login']) {
    const r = path === '/console/login' ? await anonymous(path) : await client!.get(path);
    t.equal(r.status, 200, path);
    t.match(String(r.headers['content-security-policy']), "default-src 'none'; script-src 'self'; style-src 'self'", `${path}: CSP`);
    t.match(String(r.headers['content-security-policy']), "frame-ancestors 'none'");
    t.equal(r.headers['x-content-type-options'], 'nosniff');
    t.equal(r.headers['cache-control'], 'no-store', `${path}: pages are not cached`);
    t.match(String(r.headers['content-type']), /^text\/html; charset=utf-8/);
    assertCleanMarkup(t, r.body, path);
    t.notMatch(r.body, /<img src=x|<script>alert|<svg onload/, `${path}: no stored markup comes through`);
  }
  const detail = (await client!.get(`/console/events/${id}`)).body;
  t.match(detail, '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;', 'UserData as text');
  t.match(detail, '&lt;script&gt;alert(&quot;answer&quot;)&lt;/script&gt;&lt;b&gt;busy&lt;/b&gt;', "the receiver's answer as text");
  t.match(detail, '&lt;svg onload=alert(3)&gt;', 'custom (unauthenticated) fields as text');
  t.notMatch(detail, /\bmac\b<\/dt>/i, 'no MAC among the decoded fields');
  const cb = await h.relay.store.getCallback((await h.relay.store.getEvent(id))!.callbackId!);
  const data = new URLSearchParams(cb!.body.toString()).get('Data')!;
  t.notOk(detail.includes(data.slice(0, 40)), 'the encrypted Data is not on the page');
  const quarantine = (await client!.get('/console/quarantine')).body;
  t.match(quarantine, 'mac_missing');

  const asset = await h.app.inject({ method: 'GET', url: '/console/assets/console.js' });
  t.equal(asset.statusCode, 200);
  t.match(String(asset.headers['content-type']), /^text\/javascript/);
  t.match(String(asset.headers['cache-control']), /max-age/);
  t.equal((await h.app.inject({ method: 'GET', url: '/console/assets/console.css' })).statusCode, 200);
  t.equal((await h.app.inject({ method: 'GET', url: '/console/assets/../app.js' })).statusCode, 404);
  const missing = await client!.get('/console/events/evt_00000000000000000000000000');
  t.equal(missing.status, 404, 'an unknown event is a 404 page');
  t.match(missing.body, '<h1>404');
  const badFilter = await client!.get('/console/events?type=<script>');
  t.equal(badFilter.status, 200, 'a bad filter is shown on the page');
  t.match(badFilter.body, 'Filter not applied: type must be an event type or glob');
  t.match(badFilter.body, 'value="&lt;script&gt;"', 'and the input keeps what was typed, escaped');
});

t.test('roles and CSRF: viewers read, operators act, every POST carries the token', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const h = await startRelay(t, baseConfig(tmpDir(t), { endpoints: [{ id: 'erp', url: rx.url, secret }] }), { listen: false });
  await post(h, '/paygate/notify/OC', { transId: 'R-1' });
  await rx.waitFor((r) => r.length === 1);
  const id = (await h.relay.store.listEvents({ transId: 'R-1' }, 1)).items[0]!.id;
  const viewer = (await login(h, VIEWER_TOKEN)).client!;
  const operator = (await login(h, ADMIN_TOKEN)).client!;

  const vPage = await viewer.get(`/console/events/${id}`);
  t.notMatch(vPage.body, /data-testid="redeliver-/, 'no redeliver button for a viewer');
  t.notMatch((await viewer.get('/console/endpoints')).body, /\/disable"|\/test"/, 'no endpoint actions for a viewer');
  const oPage = await operator.get(`/console/events/${id}`);
  t.match(oPage.body, /data-testid="redeliver-erp"/, 'operators get the button');

  const actions: [string, Record<string, string>][] = [
    [`/console/events/${id}/redeliver`, { endpoint: 'erp' }],
    ['/console/quarantine/cb_x/reprocess', {}],
    ['/console/quarantine/reprocess', {}],
    ['/console/dead-letters/redeliver', {}],
    ['/console/endpoints/erp/disable', {}],
    ['/console/endpoints/erp/enable', {}],
    ['/console/endpoints/erp/test', {}],
  ];
  for (const [path, body] of actions) {
    const v = await viewer.post(path, body);
    t.equal(v.status, 403, `viewer: ${path} refused`);
    const noToken = await operator.post(path, body, { csrf: false });
    t.equal(noToken.status, 403, `operator without CSRF: ${path} refused`);
    t.match(noToken.body, 'CSRF');
    const otherSession = await operator.post(path, { ...body, _csrf: viewer.csrf });
    t.equal(otherSession.status, 403, `operator with another session's CSRF token: ${path} refused`);
  }
  t.equal((await viewer.get('/console/dead-letters/redeliver')).status, 403, 'the bulk confirmation is for operators');
  const anon = await h.app.inject({ method: 'POST', url: `/console/events/${id}/redeliver`, headers: form, payload: 'endpoint=erp' });
  t.equal(anon.statusCode, 401, 'no session: refused');
  await new Promise((r) => setTimeout(r, 150));
  t.equal(rx.received.length, 1, 'none of the refused POSTs sent anything');
  t.notOk(h.relay.dispatcher.isDisabled('erp'), 'or disabled anything');

  const done = await operator.post(`/console/events/${id}/redeliver`, { endpoint: 'erp' });
  t.equal(done.status, 303);
  t.match(String(done.headers.location), `/console/events/${id}?msg=redelivered&ep=erp`);
  await rx.waitFor((r) => r.length === 2);
  t.ok(h.logs.some((l) => l.includes('"action":"redeliver"') && l.includes('"role":"operator"')), 'actions are in the log');
});

t.test('actions: test event, disable/enable, dead letters with a count first, quarantine reprocess', async (t) => {
  const dir = tmpDir(t);
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const h = await startRelay(t, baseConfig(dir, {
    endpoints: [
      { id: 'erp', url: rx.url, secret },
      { id: 'crm', url: rx.url.replace('/hook', '/nope'), secret, retryScheduleMs: [0], events: ['open_position.*'] },
    ],
  }), { listen: false });
  const op = (await login(h, ADMIN_TOKEN)).client!;

  const sent = await op.post('/console/endpoints/erp/test', { message: 'ping <b>' });
  t.equal(sent.status, 303);
  const eventId = /\/console\/events\/(evt_[0-9A-Z]{26})\?msg=test-sent&ep=erp/.exec(String(sent.headers.location))?.[1];
  t.ok(eventId, 'to the new event');
  await rx.waitFor((r) => r.some((x) => x.event.type === 'relay.test'));
  const got = rx.received.find((x) => x.event.type === 'relay.test')!;
  t.ok(got.verified, 'signed like every event');
  t.same(got.event, { id: eventId, type: 'relay.test', source: 'relay', receivedAt: got.event.receivedAt, data: { message: 'ping <b>' } });
  t.equal(rx.received.filter((x) => x.event.type === 'relay.test').length, 1, 'only to the chosen endpoint');
  const page = (await op.get(String(sent.headers.location))).body;
  t.match(page, 'Test event sent to erp');
  t.match(page, 'Not from a callback: relay created this event.');

  t.equal((await op.post('/console/endpoints/erp/disable', {})).status, 303);
  t.ok(h.relay.dispatcher.isDisabled('erp'));
  t.match((await op.get('/console/endpoints?msg=disabled&ep=erp')).body, 'Endpoint erp disabled.');
  t.match((await op.get('/console/endpoints?msg=disabled&ep=<evil>')).body, /<h1>Endpoints<\/h1><section/, 'flash parameters are checked: unknown endpoint, no message');
  t.equal((await op.post('/console/endpoints/erp/enable', {})).status, 303);
  t.notOk(h.relay.dispatcher.isDisabled('erp'));
  t.equal((await op.post('/console/endpoints/nope/enable', {})).status, 404);

  for (let i = 0; i < 3; i++) await post(h, '/paygate/notify/OC', { transId: `D-${i}` });
  await rx.waitFor((r) => r.filter((x) => x.event.type === 'open_position.created').length === 6);
  const deadline = Date.now() + 5000;
  while ((await h.relay.store.countDeadLetters({})) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const confirm = await op.get('/console/dead-letters/redeliver?endpoint=crm');
  t.match(confirm.body, /data-testid="dry-run-count">3</, 'shows how many it will send');
  t.equal(await h.relay.store.countDeadLetters({}), 3, 'showing the count changed nothing');
  const go = await op.post('/console/dead-letters/redeliver', { endpoint: 'crm', _csrf: csrfIn(confirm.body) });
  t.equal(go.status, 303);
  t.match(String(go.headers.location), 'msg=dlq&n=3');
  await rx.waitFor((r) => r.filter((x) => x.event.type === 'open_position.created').length === 9);

  // A callback for a merchant we have no key for yet; after a restart with the key, reprocess it.
  const newShop = { id: 'ShopNew', encryption: 'blowfish' as const, keys: [{ blowfish: Buffer.from('new-bf-key'), hmac: Buffer.from('new-hmac') }] };
  const cbk = buildCallback({ transId: 'NEW-1', code: '00000000' }, newShop);
  t.equal((await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': cbk.contentType }, payload: cbk.body })).statusCode, 400);
  const stillBad = await op.post('/console/quarantine/reprocess', {});
  t.match(String(stillBad.headers.location), 'msg=bulk&n=1&a=0&d=0&s=1');
  await h.close();
  const cfg = baseConfig(dir, { endpoints: [{ id: 'erp', url: rx.url, secret }] });
  (cfg.merchants as unknown[]).push({ id: 'ShopNew', keys: [{ blowfish: 'new-bf-key', hmac: 'new-hmac' }] });
  const h2 = await startRelay(t, cfg, { listen: false });
  // Sessions live in the store: a restart ends none (test/console/shared-sessions.test.ts covers instances and token removal).
  t.equal((await h2.app.inject({ method: 'GET', url: '/console', headers: { cookie: op.cookie } })).statusCode, 200, 'the session outlives the restart');
  const op2 = (await login(h2, ADMIN_TOKEN)).client!;
  const q = (await h2.relay.store.listQuarantine({}, 10)).items[0]!;
  const r = await op2.post(`/console/quarantine/${q.id}/reprocess`, {});
  t.equal(r.status, 303);
  t.match(String(r.headers.location), /^\/console\/events\/evt_[0-9A-Z]{26}\?msg=reprocessed$/);
  t.match((await op2.get(String(r.headers.location))).body, 'NEW-1');
  t.equal((await op2.post(`/console/quarantine/${q.id}/reprocess`, {})).status, 404, 'not twice');
});

t.test('overview numbers', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  for (let i = 0; i < 4; i++) await post(h, '/paygate/notify/OC', { transId: `O-${i}` });
  await post(h, '/paygate/notify', { transId: 'O-q' }, { omitMac: true });
  const viewer = (await login(h, VIEWER_TOKEN)).client!;
  const page = (await viewer.get('/console')).body;
  t.match(page, /Callbacks · 1 h<\/div><div class="value">5</);
  t.match(page, /Events · 1 h<\/div><div class="value">4</);
  t.match(page, /Quarantine<\/div><div class="value">1</);
  t.match(page, /aria-label="Callbacks · last hour: 4 taken, 1 quarantined"/);
  t.match(page, /data-refresh="10000"/, 'the overview refreshes itself');
  t.match(page, /server time [\d.]+ ms/);
});

t.test('quarantine: Reprocess only where a fix can help; the API refuses the rest, the bulk skips and counts them', async (t) => {
  const dir = tmpDir(t);
  const h = await startRelay(t, baseConfig(dir), { listen: false, delivery: false });
  const raw = (payload: string) => h.app.inject({ method: 'POST', url: '/paygate/notify', headers: form, payload });
  // ShopTest switched to AES at Paygate while the relay still has it as Blowfish: Data is
  // `iv-cipher`, not Blowfish hex, so invalid_hex, which a configuration change fixes.
  const AES_KEY = 'aes-key-16-bytes';
  const aesShop = { id: 'ShopTest', encryption: 'aes' as const, keys: [{ aes: Buffer.from(AES_KEY), hmac: Buffer.from(TEST_HMAC) }] };
  t.equal((await post(h, '/paygate/notify/OC', { transId: 'AES-1' }, { merchant: aesShop })).statusCode, 400);
  t.equal((await raw('MerchantID=ShopTest&Len=12')).statusCode, 400, 'missing_data');
  t.equal((await raw('MerchantID=ShopTest&Len=12&Data=%zz')).statusCode, 400, 'malformed_body');
  t.equal((await post(h, '/paygate/notify/OC', { transId: 'NOMAC-1' }, { omitMac: true })).statusCode, 401, 'mac_missing');
  const all = (await h.relay.store.listQuarantine({}, 10)).items;
  const byReason = Object.fromEntries(all.map((c) => [c.reason, c.id]));
  t.same(Object.keys(byReason).sort(), ['invalid_hex', 'mac_missing', 'malformed_body', 'missing_data']);

  const op = (await login(h, ADMIN_TOKEN)).client!;
  const page = (await op.get('/console/quarantine')).body;
  const rows = page.split('data-testid="quarantine-row"').slice(1);
  const row = (reason: string) => rows.find((r) => r.includes(`>${reason}<`)) ?? '';
  t.match(row('invalid_hex'), 'data-testid="reprocess"', 'invalid_hex: a configuration change can fix it');
  for (const reason of ['missing_data', 'malformed_body', 'mac_missing']) {
    t.notMatch(row(reason), 'data-testid="reprocess"', `${reason}: no Reprocess button`);
    t.match(row(reason), 'data-testid="not-reprocessable"', `${reason}: says why instead`);
  }
  t.match(page, 'data-testid="reprocess-all"', 'the bulk action is offered while something can be helped');
  t.notMatch((await op.get('/console/quarantine?reason=missing_data')).body, 'data-testid="reprocess-all"', 'but not for a reason that can never succeed');

  const api = (method: 'POST', url: string) => h.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const refused = await api('POST', `/admin/quarantine/${byReason.missing_data}/reprocess`);
  t.equal(refused.statusCode, 409, 'the API refuses a hopeless reason');
  t.equal(refused.json().error, 'not_reprocessable', 'with a stable code');
  t.match(refused.json().detail, /^missing_data: /, 'naming the reason');
  t.equal((await op.post(`/console/quarantine/${byReason.malformed_body}/reprocess`, {})).status, 409, 'so does the console, even without a button');

  const bulk = await op.post('/console/quarantine/reprocess', {});
  t.match(String(bulk.headers.location), 'msg=bulk&n=1&a=0&d=0&s=1&k=3', 'one decoded again, three skipped');
  t.match((await op.get(String(bulk.headers.location))).body, 'Skipped 3 quarantined for a reason no fix can change.');
  const apiBulk = await api('POST', '/admin/quarantine/reprocess');
  t.match(apiBulk.json(), { processed: 1, stillQuarantined: 1, skipped: 3 });

  // The fix: the merchant's encryption and key in the configuration; the same bytes now verify.
  await h.close();
  const h2 = await startRelay(t, baseConfig(dir, { merchants: [{ id: 'ShopTest', encryption: 'aes', keys: [{ aes: AES_KEY, hmac: TEST_HMAC }] }] }), { listen: false, delivery: false });
  const fixed = await h2.app.inject({ method: 'POST', url: `/admin/quarantine/${byReason.invalid_hex}/reprocess`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.equal(fixed.statusCode, 200);
  t.equal(fixed.json().result, 'accepted', 'invalid_hex became an event after the configuration fix');
  t.equal(await h2.relay.store.quarantineSize(), 3, 'the hopeless ones stay, visible');
});

t.test('events list: a delivery-status column per event, from one query for the page', async (t) => {
  const secret = newSecret();
  const ok = await startReceiver(t, secret);
  const busy = await startReceiver(t, secret);
  busy.behave(() => ({ status: 500, body: 'busy' }));
  const h = await startRelay(t, baseConfig(tmpDir(t), {
    endpoints: [
      { id: 'erp', url: ok.url, secret, events: ['open_position.*', 'mandate.*'] },
      { id: 'crm', url: ok.url.replace('/hook', '/gone'), secret, retryScheduleMs: [0], events: ['mandate.*'] },
      { id: 'bi', url: busy.url, secret, retryScheduleMs: [0, 600_000], events: ['credit.*'] },
      { id: 'off', url: ok.url, secret, enabled: false, events: ['prepayment.*'] },
    ],
  }), { listen: false });
  for (const [kind, transId] of [['OC', 'S-OC'], ['mandate', 'S-MDT'], ['CR', 'S-CR'], ['AN', 'S-AN'], ['MD', 'S-MD']]) {
    t.equal((await post(h, `/paygate/notify/${kind}`, { transId: transId!, ...(kind === 'mandate' ? { mandateId: 'M-S' } : {}) })).statusCode, 200);
  }
  const deadline = Date.now() + 5000;
  const settled = async () => (await h.relay.store.countDeadLetters({})) === 1 && busy.received.length >= 1 && ok.delivered().length >= 2;
  while (!(await settled()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

  const store = h.relay.store;
  let aggregated = 0;
  let perEvent = 0;
  const counts = store.deliveryCounts.bind(store);
  const of = store.deliveriesOf.bind(store);
  store.deliveryCounts = (ids) => ((aggregated++), counts(ids));
  store.deliveriesOf = (id) => ((perEvent++), of(id));
  const viewer = (await login(h, VIEWER_TOKEN)).client!;
  const page = (await viewer.get('/console/events')).body;
  t.equal(aggregated, 1, 'one aggregated query for the page');
  t.equal(perEvent, 0, 'none per event');
  t.match(page, '<th>Delivery</th>');
  const cell = (transId: string) => {
    const r = page.split('data-testid="event-row"').find((x) => x.includes(`>${transId}<`)) ?? '';
    return /data-testid="delivery-status" data-status="([a-z_]+)"><span class="[^"]*">([^<]*)</.exec(r)?.slice(1) ?? [];
  };
  t.same(cell('S-OC'), ['delivered', 'delivered']);
  t.same(cell('S-MDT'), ['dead', 'dead 1/2'], 'the worst of two endpoints, and how many');
  t.same(cell('S-CR'), ['retrying', 'retrying'], 'failed once, another try scheduled');
  t.same(cell('S-AN'), ['pending', 'pending'], 'waiting for a disabled endpoint');
  t.same(cell('S-MD'), ['no_endpoint', 'no endpoint'], 'no endpoint subscribes to debtor events');
  t.match(page, 'title="2 endpoints: 1 delivered, 1 dead"', 'every count in the tooltip');
});

t.test('dead letters: newest death first, whatever order the events came in', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t), { endpoints: [{ id: 'erp', url: 'http://127.0.0.1:9/hook', secret: newSecret() }] }), { listen: false, delivery: false });
  for (const transId of ['DL-1', 'DL-2', 'DL-3']) await post(h, '/paygate/notify/OC', { transId });
  const store = h.relay.store;
  const claimed = await store.claim('erp', 'test', Date.now(), 60_000, 10);
  t.equal(claimed.length, 3);
  // The first event dies last: "dead since" decides the order, not the delivery's age.
  const deathAt = [3_000, 1_000, 2_000].map((d) => Date.now() + d);
  for (const [i, d] of claimed.entries()) {
    await store.fail(d.id, 'test', { deliveryId: d.id, eventId: d.eventId, endpointId: 'erp', startedAt: deathAt[i]!, durationMs: 1, statusCode: 500, errorClass: 'non_2xx', responseBody: '' }, { dead: true }, deathAt[i]!);
  }
  const trans = async (id: string) => JSON.parse((await store.getEvent(id))!.payload).data.transId as string;
  const expected = await Promise.all([0, 2, 1].map((i) => trans(claimed[i]!.eventId)));
  const page = (await (await login(h, VIEWER_TOKEN)).client!.get('/console/dead-letters')).body;
  const ids = [...page.matchAll(/href="\/console\/events\/(evt_[0-9A-Z]+)"/g)].map((m) => m[1]!);
  t.same(await Promise.all(ids.map(trans)), expected, 'newest death first');
  t.match(page, 'newest first');
});

t.test('time filters are UTC in ISO 8601, parsed on the server; anything else is refused, not guessed', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  await post(h, '/paygate/notify/OC', { transId: 'TIME-1' });
  const viewer = (await login(h, VIEWER_TOKEN)).client!;
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const rows = (body: string) => (body.match(/data-testid="event-row"/g) ?? []).length;
  const hourAgo = iso(now - 3_600_000).slice(0, 16);
  const page = (await viewer.get(`/console/events?since=${encodeURIComponent(hourAgo)}`)).body;
  t.equal(rows(page), 1, 'a time without a zone is UTC');
  t.match(page, `name="since" value="${hourAgo}Z"`, 'and is written back with its Z');
  t.match(page, /<input type="text" name="since"[^>]*placeholder="YYYY-MM-DDTHH:MMZ"[^>]*pattern=/, 'a text input showing the format, not datetime-local');
  t.notMatch(page, 'datetime-local');
  t.equal(rows((await viewer.get(`/console/events?since=${encodeURIComponent(iso(now + 3_600_000).slice(0, 16).replace('T', ' '))}Z`)).body), 0, 'a space for the T, an hour ahead: nothing yet');
  const offset = (await viewer.get(`/console/events?until=${encodeURIComponent('2020-01-01T12:00+02:00')}`)).body;
  t.match(offset, 'name="until" value="2020-01-01T10:00Z"', 'an explicit offset is honoured and shown in UTC');
  for (const bad of ['Jan 31 2026 10:00', '31/01/2026 10:00', '2026-02-30T10:00Z']) {
    const r = (await viewer.get(`/console/events?since=${encodeURIComponent(bad)}`)).body;
    t.match(r, 'Filter not applied: since must be a UTC time as YYYY-MM-DDTHH:MM[:SS]Z', `${bad}: refused`);
    t.equal(rows(r), 0, `${bad}: not read in some local zone`);
  }
  t.match((await viewer.get('/console/dead-letters?until=yesterday')).body, 'Filter not applied: until must be a UTC time');
  t.match((await viewer.get('/console/quarantine?since=2026-01-31')).body, 'name="since" value="2026-01-31T00:00Z"', 'a date alone is its midnight UTC');
});
