// The store methods the console added (activity, attemptSummary, addEvent) and the
// listEvents rewrite for 1,000,000 events, checked against a plain reference.
import t from 'tap';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { EventDraft, EventFilter, IngestItem } from '../../src/store/types.js';
import { tmpDir } from '../helpers/relay.js';

let n = 0;
function draft(at: number, over: Partial<EventDraft> = {}): EventDraft {
  n++;
  const id = `evt_${String(n).padStart(26, '0')}`;
  return {
    id, type: 'mandate.approved', source: 'paygate', merchantId: 'ShopTest', operation: 'mandate', outcome: 'succeeded',
    transId: `T${n}`, payId: `P${n}`, mandateId: null, receivedAt: at, dedupeKey: `k${n}`, payload: JSON.stringify({ id }),
    deliveries: [{ endpointId: 'erp', orderKey: null }], ...over,
  };
}
function callback(at: number, state: 'accepted' | 'quarantined', event?: EventDraft): IngestItem {
  n++;
  return {
    callback: {
      id: `cb_${n}`, receivedAt: at, channel: 'notify', method: 'POST', path: '/paygate/notify', kind: null, contentType: null, remoteIp: null,
      headers: {}, body: Buffer.from('x'), merchantId: null, state, reason: state === 'quarantined' ? 'mac_invalid' : null, detail: null, decoded: null,
    },
    event,
  };
}

t.test('activity: dense buckets of callbacks, quarantined, events, attempts', async (t) => {
  const store = new SqliteStore(join(tmpDir(t), 'a.db'));
  await store.migrate();
  t.teardown(() => store.close());
  const T0 = 1_700_000_000_000;
  const M = 60_000;
  await store.ingest([
    callback(T0 + 5_000, 'accepted', draft(T0 + 5_000)),
    callback(T0 + 59_999, 'accepted', draft(T0 + 59_999)),
    callback(T0 + M, 'quarantined'),
    callback(T0 + 3 * M + 1, 'accepted', draft(T0 + 3 * M + 1)),
    callback(T0 - 1, 'accepted', draft(T0 - 1)), // before the window
    callback(T0 + 4 * M, 'quarantined'), // at `until`: outside
  ]);
  const claimed = await store.claim('erp', 'me', T0 + 10 * M, 60_000, 10);
  t.equal(claimed.length, 4);
  const att = (i: number, startedAt: number, statusCode: number | null, durationMs: number) => ({
    deliveryId: claimed[i]!.id, eventId: claimed[i]!.eventId, endpointId: 'erp', startedAt, durationMs, statusCode,
    errorClass: statusCode === 200 ? null : ('non_2xx' as const), responseBody: null,
  });
  await store.complete(claimed[0]!.id, 'me', att(0, T0 + 10, 200, 30), T0);
  await store.fail(claimed[1]!.id, 'me', att(1, T0 + 2 * M, 500, 100), { retryAt: T0 + 5 * M }, T0);
  await store.complete(claimed[2]!.id, 'me', att(2, T0 + 2 * M + 5, 204, 10), T0);

  const buckets = await store.activity(T0, T0 + 4 * M, M);
  t.same(buckets, [
    { start: T0, callbacks: 2, quarantined: 0, events: 2, attempts: 1, attemptsOk: 1 },
    { start: T0 + M, callbacks: 1, quarantined: 1, events: 0, attempts: 0, attemptsOk: 0 },
    { start: T0 + 2 * M, callbacks: 0, quarantined: 0, events: 0, attempts: 2, attemptsOk: 1 },
    { start: T0 + 3 * M, callbacks: 1, quarantined: 0, events: 1, attempts: 0, attemptsOk: 0 },
  ]);
  t.equal((await store.activity(T0, T0 + 4 * M + 1, M)).length, 5, 'a partial last bucket counts');
  t.same(await store.activity(T0, T0, M), [], 'empty window');

  t.same(await store.attemptSummary(T0, T0 + 4 * M), { attempts: 3, successes: 2, p50Ms: 30, p99Ms: 100 }, 'nearest rank: p50 = 2nd of 3');
  t.same(await store.attemptSummary(T0 + 5 * M, T0 + 6 * M), { attempts: 0, successes: 0, p50Ms: null, p99Ms: null });
});

t.test('attemptSummary percentiles are nearest-rank over the window', async (t) => {
  const store = new SqliteStore(join(tmpDir(t), 'p.db'));
  await store.migrate();
  t.teardown(() => store.close());
  const ins = store.db.prepare(`INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code) VALUES (1, 'e', 'erp', ?, ?, ?)`);
  // durations 1..200, shuffled; every 4th a 503
  const d = Array.from({ length: 200 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
  d.forEach((ms, i) => ins.run(1000 + i, ms, ms % 4 === 0 ? 503 : 200));
  t.same(await store.attemptSummary(1000, 1200), { attempts: 200, successes: 150, p50Ms: 100, p99Ms: 198 });
});

t.test('addEvent stores a callback-less event with its deliveries, deduplicated', async (t) => {
  const store = new SqliteStore(join(tmpDir(t), 'e.db'));
  await store.migrate();
  t.teardown(() => store.close());
  const e = draft(5000, { type: 'relay.test', source: 'relay', merchantId: null, operation: null, outcome: null, transId: null, payId: null });
  t.same(await store.addEvent(e, 6000), { eventId: e.id, duplicate: false });
  const stored = await store.getEvent(e.id);
  t.equal(stored?.callbackId, null);
  t.equal(stored?.type, 'relay.test');
  const ds = await store.deliveriesOf(e.id);
  t.same(ds.map((x) => [x.endpointId, x.state, x.createdAt]), [['erp', 'pending', 6000]]);
  t.same(await store.addEvent({ ...e, id: 'evt_other' }, 7000), { eventId: e.id, duplicate: true }, 'same dedupe key: the first event');
  t.equal((await store.deliveriesOf('evt_other')).length, 0);
  const claimed = await store.claim('erp', 'me', 7000, 1000, 5);
  t.same(claimed.map((c) => c.payload), [e.payload], 'it goes out through the outbox like any event');
});

t.test('listEvents at scale returns exactly what a plain filter would, across pages', async (t) => {
  const store = new SqliteStore(join(tmpDir(t), 'l.db'));
  await store.migrate();
  t.teardown(() => store.close());
  const types = ['mandate.approved', 'mandate.failed', 'open_position.created', 'credit.failed', 'relay.test', 'payment.succeeded'];
  const merchants = ['A', 'B', 'C', null];
  const outcomes = ['succeeded', 'failed', 'pending', null];
  let x = 7;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const ins = store.db.prepare(
    `INSERT INTO events (id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id, received_at, callback_id, payload)
     VALUES (@id, @id, @type, 'paygate', @merchantId, NULL, @outcome, @transId, @payId, @mandateId, @receivedAt, NULL, '{}')`,
  );
  const all: { seq: number; type: string; merchantId: string | null; outcome: string | null; transId: string; payId: string; mandateId: string | null; receivedAt: number }[] = [];
  const COUNT = 3 * SqliteStore.PROBE_ROWS + 517;
  store.db.transaction(() => {
    for (let i = 0; i < COUNT; i++) {
      // mostly in arrival order, some late (reprocessed quarantine keeps the original time)
      const receivedAt = i * 1000 - (rnd() < 0.05 ? Math.floor(rnd() * 2_000_000) : 0);
      // rare values concentrated in old rows, so the probe misses and the index path is needed
      const type = i < 300 && rnd() < 0.5 ? 'credit.failed' : types[Math.floor(rnd() * (types.length - 1))]!;
      const row = {
        id: `e${i}`, type, merchantId: merchants[Math.floor(rnd() * merchants.length)]!, outcome: outcomes[Math.floor(rnd() * outcomes.length)]!,
        transId: `T${Math.floor(i / 3)}`, payId: `P${i}`, mandateId: type.startsWith('mandate') ? `M${i % 50}` : null, receivedAt,
      };
      const seq = Number(ins.run(row).lastInsertRowid);
      all.push({ seq, ...row });
    }
  })();
  const glob = (g: string) => new RegExp(`^${g.split('.').map((s) => s.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')).join('\\.')}$`);
  const reference = (f: EventFilter) =>
    all.filter((e) =>
      (!f.type || glob(f.type).test(e.type)) && (f.transId === undefined || e.transId === f.transId) && (f.payId === undefined || e.payId === f.payId) &&
      (f.mandateId === undefined || e.mandateId === f.mandateId) && (f.merchantId === undefined || e.merchantId === f.merchantId) &&
      (f.outcome === undefined || e.outcome === f.outcome) && (f.since === undefined || e.receivedAt >= f.since) && (f.until === undefined || e.receivedAt < f.until),
    ).map((e) => e.seq).sort((a, b) => b - a);
  const filters: EventFilter[] = [
    {}, { type: 'mandate.*' }, { type: 'credit.failed' }, { type: '*.failed' }, { type: 'relay.*' }, { type: 'nothing.here' },
    { merchantId: 'A' }, { outcome: 'pending' }, { transId: 'T100' }, { payId: 'P7' }, { mandateId: 'M3' },
    { since: 2_000_000, until: 4_000_000 }, { since: 10_000_000 }, { until: 500_000 },
    { type: 'mandate.*', since: 1_000_000, until: 9_000_000 }, { merchantId: 'B', since: 3_000_000, until: 3_500_000 },
    { merchantId: 'C', type: 'credit.failed', outcome: 'failed' }, { type: 'credit.failed', since: 0, until: 300_000 },
    { merchantId: 'A', type: '*.approved', outcome: 'succeeded', since: 5_000_000 },
  ];
  for (const f of filters) {
    for (const limit of [7, 200]) {
      const got: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      let badPages = 0;
      do {
        const page = await store.listEvents(f, limit, cursor);
        got.push(...page.items.map((e) => e.seq));
        cursor = page.next ?? undefined;
        if (page.items.length > limit || (cursor && page.items.length !== limit)) badPages++;
        pages++;
      } while (cursor && pages < 5000);
      t.same(got, reference(f), `${JSON.stringify(f)} limit ${limit}: ${got.length} events`);
      t.equal(badPages, 0, 'full pages until the last');
    }
  }
});
