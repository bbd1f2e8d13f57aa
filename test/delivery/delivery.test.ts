// End to end: a real relay (real SQLite, real socket) posts to real receivers on
// 127.0.0.1 that verify every request with the independent `standardwebhooks`
// package. Schedules are shrunk through config (jitter 0) instead of sleeping.
import t from 'tap';
import { Webhook } from 'standardwebhooks';
import { readFileSync } from 'node:fs';
import { USER_AGENT, VERSION } from '../../src/relay.js';
import { newSecret, startReceiver, type Received } from '../helpers/receiver.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, baseConfig, startRelay, tmpDir, type Harness } from '../helpers/relay.js';
import { api, delivery, detail, ep, eventIdOf, freePort, metric, notify, settled, sleep, tid, until } from './_lib.js';

type Tap = { teardown(fn: () => Promise<void> | void): void };

async function relayWith(t: Tap, endpoints: Record<string, unknown>[], extra: Record<string, unknown> = {}): Promise<Harness> {
  return startRelay(t, baseConfig(tmpDir(t), { endpoints, ...extra }));
}

const idsOf = (rs: Received[]) => rs.map((r) => r.id);

// First in the file on purpose: the receiver's hang timers are not unref'd, and the
// later subtests outlast them, so the file does not wait for them at the end.
t.test('a dead or hanging endpoint does not delay a healthy one or intake', async (t) => {
  const secret = newSecret();
  const healthy = await startReceiver(t, secret);
  const hanging = await startReceiver(t, secret);
  hanging.behave(() => ({ status: 200, hangMs: 8000 }));
  const closed = await freePort();
  const h = await relayWith(t, [
    ep('hanging', hanging.url, secret, { timeoutMs: 7000, concurrency: 2 }),
    ep('dead', `http://127.0.0.1:${closed}/x`, secret, { retryScheduleMs: [0, 10, 10, 10, 10, 10, 10, 10, 10, 10] }),
    ep('healthy', healthy.url, secret),
  ]);
  const latencies: number[] = [];
  const postedAt = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    const at = Date.now();
    const p = await notify(h.url);
    t.equal(p.status, 200);
    latencies.push(p.ms);
    postedAt.set(p.payId, at);
  }
  await healthy.waitFor((r) => r.length >= 20, 5000);
  const lags = healthy.received.map((r) => r.at - postedAt.get(String(r.event.data.payId))!).sort((a, b) => a - b);
  const maxLag = lags[lags.length - 1]!;
  t.ok(maxLag < 1000, `the healthy endpoint got each event within ${maxLag} ms of its callback while the others hang or refuse`);
  t.equal(hanging.received.length, 2, 'the hanging endpoint holds only its own 2 slots');
  latencies.sort((a, b) => a - b);
  const p95 = latencies[Math.floor(latencies.length * 0.95)]!;
  // A blocked intake would take seconds (the receiver hangs 8 s); allow for a loaded CI box.
  t.ok(p95 < 1000, `intake latency p95 ${p95.toFixed(1)} ms`);
  // The receiver has all 20; the relay commits the last answers a moment later (longer on a loaded box).
  await until('healthy queue drained', async () => (await api(h, 'GET', '/admin/endpoints')).json.items.find((e: any) => e.id === 'healthy').health.queueDepth === 0);
  const eps = (await api(h, 'GET', '/admin/endpoints')).json.items as any[];
  t.equal(eps.find((e) => e.id === 'hanging').health.queueDepth, 20, 'the hanging endpoint\'s queue keeps them all');
  t.equal(eps.find((e) => e.id === 'healthy').health.queueDepth, 0);
  t.comment(`intake latency: median ${latencies[10]!.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms; healthy delivery lag: median ${lags[10]} ms, max ${maxLag} ms`);
});

t.test('signed delivery: body byte-equal to the stored event, Standard Webhooks headers, rotation', async (t) => {
  const oldSecret = newSecret();
  const newSecretValue = newSecret();
  // The receiver knows only the new secret; the relay signs with both during rotation.
  const rx = await startReceiver(t, newSecretValue);
  const h = await relayWith(t, [ep('shop', rx.url, [oldSecret, newSecretValue])]);
  const p = await notify(h.url, { userData: 'Müller + Söhne – 5 € 😀' }, 'OC');
  t.equal(p.status, 200, 'Paygate gets 200 once stored');
  t.equal(p.text, 'OK');
  const id = await eventIdOf(h, p);
  await rx.waitFor((r) => r.length >= 1);
  const [r] = rx.received;
  const stored = (await h.relay.store.getEvent(id))!;
  t.ok(r!.verified, 'standardwebhooks verifies with the one secret the receiver knows');
  t.equal(r!.body, stored.payload, 'body is the stored payload, byte for byte');
  t.ok(Buffer.from(r!.body, 'utf8').equals(Buffer.from(stored.payload, 'utf8')), 'also as bytes (multi-byte UTF-8 intact)');
  const viaApi = await detail(h, id);
  t.same(JSON.parse(r!.body), viaApi.event, 'the same event GET /admin/events/:id shows');
  t.equal(JSON.stringify(viaApi.event), r!.body, 'and its canonical serialization');
  t.equal(r!.event.id, id);
  t.equal(r!.event.type, 'open_position.created');
  t.equal(r!.event.data.transId, p.transId);
  t.equal(r!.event.data.userData, 'Müller + Söhne – 5 € 😀');

  t.equal(r!.headers['webhook-id'], id, 'webhook-id is the event id');
  const ts = Number(r!.headers['webhook-timestamp']);
  t.ok(Number.isInteger(ts) && Math.abs(ts - Date.now() / 1000) < 10, `webhook-timestamp is now in seconds (${ts})`);
  t.match(r!.headers['content-type'], /^application\/json\b/, 'content-type application/json');
  t.equal(r!.headers['user-agent'], USER_AGENT, 'user-agent names the relay and version');
  t.equal(USER_AGENT, `paygate-relay/${VERSION}`);
  t.equal(VERSION, JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  const expected = [oldSecret, newSecretValue].map((s) => new Webhook(s).sign(id, new Date(ts * 1000), r!.body)).join(' ');
  t.equal(r!.headers['webhook-signature'], expected, 'signature header byte-equal to Webhook.sign for each secret, in order');
  t.doesNotThrow(() => new Webhook(oldSecret).verify(r!.body, r!.headers as Record<string, string>), 'a receiver still on the old secret verifies too');
  t.throws(() => new Webhook(newSecret()).verify(r!.body, r!.headers as Record<string, string>), 'a wrong secret does not');

  const d = await settled(h, id, 'shop');
  t.equal(d.attempts, 1);
  t.equal(d.lastStatus, 200);
  t.equal(d.attemptLog.length, 1);
  t.match(d.attemptLog[0], { statusCode: 200, errorClass: null, responseBody: 'ok' });
  t.ok(d.attemptLog[0]!.durationMs >= 0 && !Number.isNaN(Date.parse(d.attemptLog[0]!.startedAt)), 'attempt has a time and a duration');
  t.equal(rx.received.length, 1, 'delivered once');
});

t.test('fails twice then succeeds: 3 attempts recorded, same webhook-id, first 1 KiB of each answer kept', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const big = Array.from({ length: 5 * 1024 }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
  rx.behave((_r, n) => (n === 1 ? { status: 500, body: big } : n === 2 ? { status: 502, body: 'bad gateway' } : { status: 204 }));
  const h = await relayWith(t, [ep('flaky', rx.url, secret, { retryScheduleMs: [0, 60, 120] })]);
  const p = await notify(h.url);
  const id = await eventIdOf(h, p);
  const d = await settled(h, id, 'flaky');
  t.equal(rx.received.length, 3, 'three requests reached the receiver');
  t.same(idsOf(rx.received), [id, id, id], 'the same webhook-id every time');
  t.ok(rx.received.every((r) => r.verified && r.body === rx.received[0]!.body), 'the same verified body every time');
  t.same(
    d.attemptLog.map((a) => [a.statusCode, a.errorClass]),
    [[500, 'non_2xx'], [502, 'non_2xx'], [204, null]],
    'each attempt with its status and error class',
  );
  t.equal(d.state, 'succeeded');
  t.equal(d.attempts, 3);
  t.equal(d.lastStatus, 204, '204 counts as success (any 2xx)');
  t.equal(d.lastError, null);
  t.equal(d.attemptLog[0]!.responseBody, big.slice(0, 1024), 'first 1 KiB of a 5 KiB answer');
  t.equal(d.attemptLog[0]!.responseBody!.length, 1024);
  t.equal(d.attemptLog[1]!.responseBody, 'bad gateway');
  const [a1, a2, a3] = rx.received.map((r) => r.at);
  t.ok(a2! - a1! >= 60, `second attempt waited the schedule's 60 ms (${a2! - a1!} ms)`);
  t.ok(a3! - a2! >= 120, `third attempt waited 120 ms (${a3! - a2!} ms)`);
  t.ok(a3! - a1! < 2000, 'and not much longer');
  const started = d.attemptLog.map((a) => Date.parse(a.startedAt));
  t.ok(started[0]! <= started[1]! && started[1]! <= started[2]!, 'attempt log in order');
});

t.test('error classes: timeout, connection refused, tls', async (t) => {
  const secret = newSecret();
  const slow = await startReceiver(t, secret);
  slow.behave((_r, n) => (n === 1 ? { status: 200, hangMs: 1500 } : undefined));
  const closed = await freePort();
  const h = await relayWith(t, [
    ep('slow', slow.url, secret, { timeoutMs: 200, retryScheduleMs: [0, 50] }),
    ep('gone-away', `http://127.0.0.1:${closed}/hook`, secret, { retryScheduleMs: [0, 30, 30] }),
    // https to a plain-HTTP server: the handshake fails.
    ep('not-tls', slow.url.replace('http:', 'https:'), secret, { retryScheduleMs: [0] }),
  ]);
  const id = await eventIdOf(h, await notify(h.url));

  const s = await settled(h, id, 'slow');
  t.equal(s.attemptLog.length, 2);
  t.match(s.attemptLog[0], { statusCode: null, errorClass: 'timeout', responseBody: null }, 'hanging past timeoutMs is a timeout');
  t.ok(s.attemptLog[0]!.durationMs >= 190 && s.attemptLog[0]!.durationMs < 1400, `cut at ~timeoutMs (${s.attemptLog[0]!.durationMs} ms), not when the receiver answered`);
  t.match(s.attemptLog[1], { statusCode: 200, errorClass: null });
  t.same(idsOf(slow.received), [id, id]);

  const c = await settled(h, id, 'gone-away', ['dead']);
  t.same(c.attemptLog.map((a) => a.errorClass), ['connection_refused', 'connection_refused', 'connection_refused'], 'a closed port is connection_refused');
  t.ok(c.attemptLog.every((a) => a.statusCode === null));
  t.equal(c.lastError, 'connection_refused');
  t.equal(c.attempts, 3, 'dead after the schedule\'s three attempts');
  const eps = (await api(h, 'GET', '/admin/endpoints')).json.items as any[];
  t.equal(eps.find((e) => e.id === 'gone-away').health.lastError, 'connection_refused', 'endpoint health shows the last error');

  const tls = await settled(h, id, 'not-tls', ['dead']);
  t.match(tls.attemptLog, [{ statusCode: null, errorClass: 'tls' }], 'a failed TLS handshake is tls');
});

t.test('Retry-After on 429/503 is honoured and clamped to the schedule; ignored on 500', async (t) => {
  const secret = newSecret();
  const honour = await startReceiver(t, secret);
  honour.behave((_r, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : undefined));
  const clamp = await startReceiver(t, secret);
  clamp.behave((_r, n) => (n === 1 ? { status: 503, headers: { 'retry-after': '3600' } } : undefined));
  const dated = await startReceiver(t, secret);
  // An HTTP-date two seconds ahead (the format has whole seconds: 1..2 s from now).
  dated.behave((_r, n) => (n === 1 ? { status: 429, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() } } : undefined));
  const ignored = await startReceiver(t, secret);
  ignored.behave((_r, n) => (n === 1 ? { status: 500, headers: { 'retry-after': '3600' } } : undefined));
  const h = await relayWith(t, [
    ep('honour', honour.url, secret, { retryScheduleMs: [0, 50, 5000] }),
    ep('clamp', clamp.url, secret, { retryScheduleMs: [0, 50, 600] }),
    ep('dated', dated.url, secret, { retryScheduleMs: [0, 50, 5000] }),
    ep('ignored', ignored.url, secret, { retryScheduleMs: [0, 50, 5000] }),
  ]);
  const id = await eventIdOf(h, await notify(h.url));
  await Promise.all([honour, clamp, dated, ignored].map((rx) => rx.waitFor((r) => r.length >= 2, 8000)));
  const gap = (rx: typeof honour) => rx.received[1]!.at - rx.received[0]!.at;
  t.ok(gap(honour) >= 1000, `429 Retry-After: 1 → next attempt not before 1 s (${gap(honour)} ms; the schedule said 50 ms)`);
  t.ok(gap(honour) < 2500, 'and not the next schedule step (5 s)');
  t.ok(gap(clamp) >= 600 && gap(clamp) < 2500, `503 Retry-After: 3600 clamped to the schedule's longest delay 600 ms (${gap(clamp)} ms)`);
  t.ok(gap(dated) >= 900, `HTTP-date Retry-After honoured (${gap(dated)} ms)`);
  t.ok(dated.received[1]!.at >= Math.floor((dated.received[0]!.at + 2000) / 1000) * 1000, 'not before the date sent');
  t.ok(gap(ignored) < 1000, `500 with Retry-After follows the schedule (${gap(ignored)} ms)`);
  for (const e of ['honour', 'clamp', 'dated', 'ignored']) {
    const d = await settled(h, id, e);
    t.equal(d.attempts, 2, `${e}: delivered on the second attempt`);
  }
  t.equal((await delivery(h, id, 'honour')).attemptLog[0]!.statusCode, 429);
  t.equal((await delivery(h, id, 'clamp')).attemptLog[0]!.statusCode, 503);
});

t.test('410 Gone disables the endpoint at once; enabling via the API resumes delivery', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  let gone = true;
  rx.behave(() => (gone ? { status: 410, body: 'gone' } : undefined));
  const h = await relayWith(t, [ep('hook', rx.url, secret, { retryScheduleMs: [0, 50, 100, 100] })]);
  t.equal(await metric(h.url, 'paygate_relay_endpoint_enabled', { endpoint: 'hook' }), 1, 'enabled at start');
  const first = await eventIdOf(h, await notify(h.url));
  // Every answer while it happens: a disabled endpoint must always come with its reason.
  const seen: { enabled: boolean; disabledReason: string | null }[] = [];
  await until('endpoint disabled because of 410', async () => {
    const item = (await api(h, 'GET', '/admin/endpoints')).json.items[0];
    seen.push({ enabled: item.enabled, disabledReason: item.disabledReason });
    return item.disabledReason === 'gone' && item.enabled === false;
  });
  t.same(seen.filter((s) => !s.enabled && s.disabledReason !== 'gone'), [], 'never shown disabled without the reason');
  const view = (await api(h, 'GET', '/admin/endpoints', { token: VIEWER_TOKEN })).json.items[0];
  t.match(view, { id: 'hook', enabled: false, disabledReason: 'gone' }, 'GET /admin/endpoints shows it disabled because of 410');
  t.ok(view.disabledAt, 'with the time');
  t.equal(await metric(h.url, 'paygate_relay_endpoint_enabled', { endpoint: 'hook' }), 0, 'paygate_relay_endpoint_enabled 0');
  t.equal(await metric(h.url, 'paygate_relay_endpoint_disabled_total', { endpoint: 'hook', reason: 'gone' }), 1);

  const second = await eventIdOf(h, await notify(h.url));
  await sleep(400); // several retry steps and poll intervals: nothing may go out
  t.equal(rx.received.length, 1, 'a single attempt: no retries and no new deliveries while disabled');
  const d1 = await delivery(h, first, 'hook');
  t.equal(d1.state, 'pending', 'the 410 delivery is kept for later, not dead');
  t.match(d1.attemptLog, [{ statusCode: 410, errorClass: 'non_2xx', responseBody: 'gone' }]);
  t.equal((await delivery(h, second, 'hook')).attempts, 0);
  const queued = (await api(h, 'GET', '/admin/endpoints')).json.items[0].health;
  t.equal(queued.queueDepth, 2, 'queue depth counts both');
  t.ok(queued.oldestPendingAgeSeconds >= 0.3, `oldest pending age grows (${queued.oldestPendingAgeSeconds} s)`);
  t.equal(queued.lastError, 'HTTP 410');

  t.equal((await api(h, 'POST', '/admin/endpoints/hook/enable', { token: VIEWER_TOKEN })).status, 403, 'a viewer cannot enable');
  gone = false;
  const en = await api(h, 'POST', '/admin/endpoints/hook/enable');
  t.equal(en.status, 200);
  t.match(en.json, { id: 'hook', enabled: true, disabledReason: null });
  await settled(h, first, 'hook');
  await settled(h, second, 'hook');
  t.same(rx.delivered().map((r) => r.id).sort(), [first, second].sort(), 'both delivered after enabling');
  t.equal(await metric(h.url, 'paygate_relay_endpoint_enabled', { endpoint: 'hook' }), 1, 'metric back to 1');
  const after = (await api(h, 'GET', '/admin/endpoints')).json.items[0];
  t.equal(after.health.queueDepth, 0);
  t.ok(after.health.successRate24h > 0 && after.health.successRate24h < 1, `success rate reflects the 410 (${after.health.successRate24h})`);

  const dis = await api(h, 'POST', '/admin/endpoints/hook/disable');
  t.match(dis.json, { enabled: false, disabledReason: 'operator' }, 'an operator can disable it too');
  const third = await eventIdOf(h, await notify(h.url));
  await sleep(200);
  t.equal((await delivery(h, third, 'hook')).attempts, 0, 'nothing goes to an operator-disabled endpoint');
  await api(h, 'POST', '/admin/endpoints/hook/enable');
  await settled(h, third, 'hook');
  t.equal((await api(h, 'POST', '/admin/endpoints/nope/enable')).status, 404);
});

t.test('an endpoint failing for disableAfterFailingMs is disabled; one that also succeeds is not', async (t) => {
  const secret = newSecret();
  const failing = await startReceiver(t, secret);
  failing.behave(() => ({ status: 500 }));
  const flaky = await startReceiver(t, secret);
  flaky.behave((_r, n) => (n % 2 === 1 ? { status: 500 } : undefined));
  const schedule = [0, ...Array(40).fill(80)];
  const h = await relayWith(t, [
    ep('failing', failing.url, secret, { retryScheduleMs: schedule, disableAfterFailingMs: 1000 }),
    ep('flaky', flaky.url, secret, { retryScheduleMs: schedule, disableAfterFailingMs: 1000 }),
  ]);
  const started = Date.now();
  const ids: string[] = [];
  // Steady traffic for longer than the span.
  while (Date.now() - started < 1400) {
    ids.push(await eventIdOf(h, await notify(h.url)));
    await sleep(150);
  }
  const eps = await until('failing endpoint disabled', async () => {
    const items = (await api(h, 'GET', '/admin/endpoints')).json.items as any[];
    return items.find((e) => e.id === 'failing').enabled === false ? items : null;
  }, 3000);
  const f = eps.find((e) => e.id === 'failing');
  t.equal(f.disabledReason, 'failing', 'disabled because every delivery failed for the whole span');
  t.ok(Date.parse(f.disabledAt) - Date.parse(f.health.failingSince) >= 1000, 'not before the span was over');
  t.equal(f.health.lastError, 'HTTP 500');
  t.equal(f.health.successRate24h, 0);
  t.equal(await metric(h.url, 'paygate_relay_endpoint_enabled', { endpoint: 'failing' }), 0);
  const fl = eps.find((e) => e.id === 'flaky');
  t.equal(fl.enabled, true, 'an endpoint with successes in between stays enabled');
  t.ok(Date.now() - flaky.received[0]!.at > 1000, 'although its first failure is older than the span');
  t.ok(flaky.delivered().length >= 3, `flaky got deliveries through (${flaky.delivered().length})`);
  const n = failing.received.length;
  await sleep(300);
  t.equal(failing.received.length, n, 'no more attempts to the disabled endpoint');
});

t.test('dead letters: exhaust the schedule, list, dry-run count, bulk redeliver', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  let healthy = false;
  rx.behave(() => (healthy ? undefined : { status: 500, body: 'down' }));
  const other = await startReceiver(t, secret);
  const h = await relayWith(t, [ep('hook', rx.url, secret), ep('other', other.url, secret, { events: ['mandate.*'] })]);
  const a = await eventIdOf(h, await notify(h.url, {}, 'OC'));
  const b = await eventIdOf(h, await notify(h.url, {}, 'mandate'));
  const before = Date.now();
  await settled(h, a, 'hook', ['dead']);
  await settled(h, b, 'hook', ['dead']);
  t.equal(rx.received.length, 6, 'three attempts each ([0, 50, 100])');
  await settled(h, b, 'other');

  const list = await api(h, 'GET', '/admin/dead-letters', { token: VIEWER_TOKEN });
  t.equal(list.status, 200, 'viewers can read dead letters');
  t.equal(list.json.items.length, 2);
  const byId = Object.fromEntries(list.json.items.map((x: any) => [x.eventId, x]));
  t.match(byId[a], { endpointId: 'hook', type: 'open_position.created', attempts: 3, lastStatus: 500, lastError: 'non_2xx' });
  t.match(byId[b], { endpointId: 'hook', type: 'mandate.approved', attempts: 3 });
  t.ok(Date.parse(byId[a].deadSince) >= before - 1000);
  t.equal((await api(h, 'GET', '/admin/dead-letters?endpoint=other')).json.items.length, 0, 'filter by endpoint');
  t.same((await api(h, 'GET', '/admin/dead-letters?type=mandate.*')).json.items.map((x: any) => x.eventId), [b], 'filter by type glob');
  t.equal((await api(h, 'GET', `/admin/dead-letters?since=${Date.now() + 60_000}`)).json.items.length, 0, 'filter by since');
  t.equal(await metric(h.url, 'paygate_relay_dead_letter_deliveries', { endpoint: 'hook' }), 2, 'dead-letter gauge');
  const dl = (await api(h, 'GET', '/admin/endpoints')).json.items.find((e: any) => e.id === 'hook');
  t.equal(dl.health.deadLetters, 2);
  t.equal(dl.health.queueDepth, 0, 'dead letters are not in the queue');

  t.equal((await api(h, 'POST', '/admin/dead-letters/redeliver?dryRun=true', { token: VIEWER_TOKEN })).status, 403, 'a viewer cannot redeliver');
  const dry = await api(h, 'POST', '/admin/dead-letters/redeliver', { body: { endpoint: 'hook', dryRun: true } });
  t.same(dry.json, { count: 2, dryRun: true }, 'dry run counts');
  t.same((await api(h, 'POST', '/admin/dead-letters/redeliver?dryRun=true&type=mandate.*')).json, { count: 1, dryRun: true }, 'dry run with a type filter');
  t.same((await api(h, 'POST', '/admin/dead-letters/redeliver', { body: { dryRun: true, until: before - 60_000 } })).json, { count: 0, dryRun: true }, 'until before they died: none');
  t.same((await api(h, 'POST', '/admin/dead-letters/redeliver', { body: { dryRun: 'true', since: new Date(before - 60_000).toISOString() } })).json, { count: 2, dryRun: true }, 'since (ISO 8601): both');
  await sleep(200);
  t.equal(rx.received.length, 6, 'a dry run sends nothing');
  t.equal((await api(h, 'GET', '/admin/dead-letters')).json.items.length, 2, 'and changes nothing');

  healthy = true;
  const real = await api(h, 'POST', '/admin/dead-letters/redeliver', { body: { endpoint: 'hook' } });
  t.same(real.json, { count: 2, dryRun: false });
  const da = await settled(h, a, 'hook');
  await settled(h, b, 'hook');
  t.same(rx.delivered().map((r) => r.id).sort(), [a, b].sort(), 'both delivered, with their original webhook-ids');
  t.equal(da.attempts, 1, 'a fresh round');
  t.equal(da.attemptLog.length, 4, 'the earlier attempts stay in the log');
  t.equal((await api(h, 'GET', '/admin/dead-letters')).json.items.length, 0, 'no dead letters left');
  t.equal(other.received.length, 1, 'the other endpoint was not redelivered to');
});

t.test('ordering transaction: one TransID in order, behind a failing first event; other transactions not held up', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const seen = new Map<string, number>();
  let firstId = '';
  rx.behave((r) => {
    const k = (seen.get(r.id) ?? 0) + 1;
    seen.set(r.id, k);
    return r.id === firstId && k <= 2 ? { status: 503 } : undefined;
  });
  const h = await relayWith(t, [ep('hook', rx.url, secret, { retryScheduleMs: [0, 250, 250] })]);
  const X = tid('X');
  // The receiver must know the first id before it arrives: hold the relay's first attempt with a disabled endpoint.
  await api(h, 'POST', '/admin/endpoints/hook/disable');
  const e1 = await eventIdOf(h, await notify(h.url, { transId: X }, 'OC'));
  const e2 = await eventIdOf(h, await notify(h.url, { transId: X, code: '22060203' }, 'OC'));
  const e3 = await eventIdOf(h, await notify(h.url, { transId: X }, 'OS'));
  firstId = e1;
  await api(h, 'POST', '/admin/endpoints/hook/enable');
  await rx.waitFor((r) => r.length >= 1);
  const y = await eventIdOf(h, await notify(h.url, { transId: tid('Y') }, 'OC'));
  await settled(h, e3, 'hook');
  await settled(h, y, 'hook');
  const ok = rx.delivered();
  const xs = rx.received.filter((r) => r.event.data.transId === X).map((r) => r.id);
  t.same(xs, [e1, e1, e1, e2, e3], 'X: e1 three times (two failures), then e2, then e3; nothing of X overtakes e1');
  t.same(ok.filter((r) => r.event.data.transId === X).map((r) => r.id), [e1, e2, e3], 'delivered in the order received');
  const yAt = ok.find((r) => r.id === y)!.at;
  const e1At = ok.find((r) => r.id === e1)!.at;
  t.ok(yAt < e1At, `another transaction's event went out while e1 was retrying (${e1At - yAt} ms earlier)`);
  t.equal(ok[0]!.id, y, 'in fact it was the first successful delivery');
  t.same(rx.received.map((r) => r.event.type).filter((_, i) => rx.received[i]!.event.data.transId === X), ['open_position.created', 'open_position.created', 'open_position.created', 'open_position.failed', 'open_position.reversed']);
});

t.test('ordering none: a failing event does not hold later ones of the same TransID', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  let firstId = '';
  rx.behave((r) => (r.id === firstId && rx.received.filter((x) => x.id === firstId).length <= 2 ? { status: 500 } : undefined));
  const h = await relayWith(t, [ep('hook', rx.url, secret, { ordering: 'none', retryScheduleMs: [0, 250, 250] })]);
  const X = tid('X');
  await api(h, 'POST', '/admin/endpoints/hook/disable');
  const e1 = await eventIdOf(h, await notify(h.url, { transId: X }, 'OC'));
  const e2 = await eventIdOf(h, await notify(h.url, { transId: X }, 'OS'));
  const e3 = await eventIdOf(h, await notify(h.url, { transId: X }, 'ZE'));
  firstId = e1;
  await api(h, 'POST', '/admin/endpoints/hook/enable');
  await settled(h, e1, 'hook');
  const order = rx.delivered().map((r) => r.id);
  t.same(order.slice(-1), [e1], 'e1 arrives last, after its retries');
  t.same(order.slice(0, 2).sort(), [e2, e3].sort(), 'e2 and e3 were not held behind it');
  t.equal(rx.received.filter((r) => r.id === e1).length, 3);
});

t.test('concurrency per endpoint is bounded', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  let now = 0;
  let max = 0;
  rx.behave(() => {
    now++;
    max = Math.max(max, now);
    // Decrement just before the receiver answers: the next request cannot arrive earlier.
    setTimeout(() => now--, 250);
    return { status: 200, hangMs: 250 };
  });
  const h = await relayWith(t, [ep('hook', rx.url, secret, { concurrency: 3 })]);
  const posts = await Promise.all(Array.from({ length: 12 }, () => notify(h.url)));
  t.ok(posts.every((p) => p.status === 200));
  await rx.waitFor((r) => r.length >= 12, 5000);
  await until('all delivered', () => rx.delivered().length === 12, 3000);
  t.equal(max, 3, `at most 3 requests in flight at once, and the bound is reached (max ${max})`);
  t.equal(new Set(rx.received.map((r) => r.id)).size, 12, 'each event once');
  t.equal(rx.received.length, 12, 'no duplicates under load');
});

t.test('POST /admin/events/:id/redeliver sends again with the same webhook-id; roles', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const rx2 = await startReceiver(t, secret);
  const h = await relayWith(t, [ep('hook', rx.url, secret), ep('audit', rx2.url, secret)]);
  const id = await eventIdOf(h, await notify(h.url));
  await settled(h, id, 'hook');
  await settled(h, id, 'audit');

  const noToken = await api(h, 'POST', `/admin/events/${id}/redeliver`, { token: null });
  t.equal(noToken.status, 401, 'no token: 401');
  const viewer = await api(h, 'POST', `/admin/events/${id}/redeliver`, { token: VIEWER_TOKEN });
  t.equal(viewer.status, 403, 'viewer token: 403');
  t.equal(viewer.json.error, 'forbidden_role');
  t.equal((await api(h, 'GET', `/admin/events/${id}`, { token: VIEWER_TOKEN })).status, 200, 'but a viewer may read');
  await sleep(100);
  t.equal(rx.received.length, 1, 'the refused request sent nothing');

  const one = await api(h, 'POST', `/admin/events/${id}/redeliver?endpoint=hook`);
  t.equal(one.status, 200);
  t.same(one.json, { scheduled: ['hook'], inFlight: [] });
  await rx.waitFor((r) => r.length >= 2);
  await settled(h, id, 'hook');
  t.same(idsOf(rx.received), [id, id], 'same webhook-id on redelivery');
  t.equal(rx.received[1]!.body, rx.received[0]!.body, 'same body');
  t.ok(rx.received[1]!.verified, 'freshly signed');
  t.equal(rx2.received.length, 1, '?endpoint= limits it to that endpoint');

  const all = await api(h, 'POST', `/admin/events/${id}/redeliver`, { token: ADMIN_TOKEN });
  t.same(all.json.scheduled.sort(), ['audit', 'hook']);
  await rx.waitFor((r) => r.length >= 3);
  await rx2.waitFor((r) => r.length >= 2);
  t.same(idsOf(rx2.received), [id, id]);
  t.equal((await api(h, 'POST', `/admin/events/${id}/redeliver?endpoint=nope`)).status, 404, 'unknown endpoint: 404');
  t.equal((await api(h, 'POST', '/admin/events/evt_00000000000000000000000000/redeliver')).status, 404, 'unknown event: 404');
  // The receiver has the third request; its answer is committed a moment later.
  const d = await until('third attempt recorded', async () => {
    const v = await delivery(h, id, 'hook');
    return v.state === 'succeeded' && v.attemptLog.length >= 3 ? v : null;
  });
  t.equal(d.attemptLog.length, 3, 'every attempt is in the log');
});
