// Backpressure: past limits.maxPendingCallbacks (or the event-loop delay bound) a
// callback is answered 503 with Retry-After at once and nothing of it is stored;
// every callback answered 200 is stored. Behaviour only: the timing target is
// measured in `npm run bench`, never asserted here.
import t from 'tap';
import { Admission } from '../src/net/admission.js';
import { buildCallback } from '../src/paygate/simulator.js';
import type { IngestItem, IngestResult } from '../src/store/types.js';
import { SHOP, metric, tid } from './delivery/_lib.js';
import { baseConfig, startRelay, tmpDir } from './helpers/relay.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('over maxPendingCallbacks: 503 + Retry-After at once, nothing stored; every 200 stored', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t), { limits: { maxPendingCallbacks: 3, overloadRetryAfterSeconds: 7 } }), { delivery: false });
  // Commits that take a while (a slow disk): callbacks pile up behind them.
  const store = h.relay.store;
  const ingest = store.ingest.bind(store);
  store.ingest = async (items: IngestItem[]): Promise<IngestResult[]> => {
    await sleep(150);
    return ingest(items);
  };
  const sent = Array.from({ length: 40 }, () => {
    const transId = tid('BP');
    return { transId, cb: buildCallback({ transId, code: '00000000', payId: transId.padEnd(32, '0') }, SHOP) };
  });
  const answers = await Promise.all(sent.map(async ({ transId, cb }) => {
    const res = await fetch(`${h.url}/paygate/notify/OC`, { method: 'POST', headers: { 'content-type': cb.contentType }, body: new Uint8Array(cb.body) });
    return { transId, status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
  }));
  const ok = answers.filter((a) => a.status === 200);
  const shed = answers.filter((a) => a.status === 503);
  t.equal(ok.length + shed.length, answers.length, 'every answer is a 200 or a 503');
  t.ok(ok.length >= 3, `some are taken (${ok.length})`);
  t.ok(shed.length > 0, `the excess is refused (${shed.length})`);
  t.ok(shed.every((a) => a.retryAfter === '7'), 'each 503 carries Retry-After (limits.overloadRetryAfterSeconds)');
  t.ok(shed.every((a) => JSON.parse(a.body).error === 'overloaded'), 'with the error code overloaded');
  for (const a of ok) t.equal((await store.listEvents({ transId: a.transId }, 5)).items.length, 1, `200 ${a.transId}: stored`);
  for (const a of shed) t.equal((await store.listEvents({ transId: a.transId }, 5)).items.length, 0, `503 ${a.transId}: nothing stored`);
  const callbacks = (h.relay.store as unknown as { db: { prepare(s: string): { get(): { n: number } } } }).db.prepare('SELECT count(*) AS n FROM callbacks').get().n;
  t.equal(callbacks, ok.length, 'no callback row for a refused callback, not even a quarantined one');
  t.equal(await metric(h.url, 'paygate_relay_callbacks_total', { result: 'shed', reason: 'pending_callbacks' }), shed.length, 'refusals counted');
  t.equal(await metric(h.url, 'paygate_relay_intake_pending_callbacks', {}), 0, 'nothing pending once all are answered');

  // Paygate retries a 503: the same bytes, now with room, are taken.
  const retried = sent.find((s) => s.transId === shed[0]!.transId)!;
  const again = await fetch(`${h.url}/paygate/notify/OC`, { method: 'POST', headers: { 'content-type': retried.cb.contentType }, body: new Uint8Array(retried.cb.body) });
  t.equal(again.status, 200, 'the retry is accepted');
  t.equal((await store.listEvents({ transId: retried.transId }, 5)).items.length, 1, 'and stored once');
});

t.test('answered callbacks leave the count, also through app.inject and for rejected ones', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t), { limits: { maxPendingCallbacks: 2 } }), { listen: false, delivery: false });
  for (let i = 0; i < 5; i++) {
    const cb = buildCallback({ transId: tid('SEQ'), code: '00000000' }, SHOP);
    t.equal((await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', headers: { 'content-type': cb.contentType }, payload: cb.body })).statusCode, 200);
    t.equal((await h.app.inject({ method: 'POST', url: '/paygate/notify/OC', payload: 'Data=zz&Len=1' })).statusCode, 400, 'a quarantined one');
  }
  t.equal(h.relay.admission.pendingCallbacks, 0, 'one at a time never hits a bound of 2, and none is left counted');
});

t.test('event-loop delay: refused while the loop runs late and a quarter of the bound is pending; taken again once it keeps time', async (t) => {
  let now = 1000;
  const a = new Admission({ maxPendingCallbacks: 8, maxEventLoopDelayMs: 100 }, () => now);
  a.sample();
  now += 20;
  a.sample();
  t.equal(a.eventLoopDelayMs, 0, 'on time');
  const first = a.admit();
  t.type(first, 'function');
  now += 320; // the loop was stuck for 300 ms
  a.sample();
  t.equal(a.eventLoopDelayMs, 300);
  const second = a.admit();
  t.type(second, 'function', 'a one-off stall with little queued: still taken');
  t.equal(a.admit(), 'event_loop_delay', 'late with 2 of 8 pending: refused');
  (first as () => void)();
  (first as () => void)();
  t.equal(a.pendingCallbacks, 1, 'done twice counts once');
  now += 20;
  a.sample();
  const more = Array.from({ length: 7 }, () => a.admit());
  t.ok(more.every((x) => typeof x === 'function'), 'back on time: taken up to the bound');
  t.equal(a.admit(), 'pending_callbacks', 'and refused past it');
  t.equal(a.pendingCallbacks, 8);
});
