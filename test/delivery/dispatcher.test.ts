// The dispatcher against a store whose calls take real time, as the planned
// PostgreSQL adapter's will (the Store contract is async for that reason). With
// SQLite every call resolves in the same tick, which hides scheduling races.
import t from 'tap';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.js';
import { Dispatcher } from '../../src/delivery/dispatcher.js';
import { buildEndpoint } from '../../src/delivery/endpoints.js';
import { Sender } from '../../src/delivery/sender.js';
import { newId } from '../../src/ids.js';
import { createLogger } from '../../src/logger.js';
import { Hub } from '../../src/observe.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { newSecret, startReceiver } from '../helpers/receiver.js';
import { baseConfig, tmpDir } from '../helpers/relay.js';
import { sleep, until } from './_lib.js';

type Tap = { teardown(fn: () => Promise<void> | void): void };

/** A real SQLite store whose listed methods answer only after `delayMs` (a network round trip); `calls` counts every method called. */
function slowStore(inner: SqliteStore, delays: Partial<Record<keyof Store, number>>, calls: Record<string, number> = {}): Store {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      const d = delays[prop as keyof Store];
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        if (d !== undefined) await sleep(d);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
}

function dispatcher(t: Tap, sqlite: SqliteStore, endpoint: Record<string, unknown>, delays: Partial<Record<keyof Store, number>>, pollIntervalMs: number,
  opts: { owner?: string; clock?: () => number } = {}) {
  const config = parseConfig(baseConfig(tmpDir(t), { endpoints: [endpoint] }), {});
  const logs: string[] = [];
  const logger = createLogger('info', new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }));
  const hub = new Hub();
  const calls: Record<string, number> = {};
  const d = new Dispatcher({
    store: slowStore(sqlite, delays, calls), endpoints: config.endpoints.map(buildEndpoint), hub, logger, sender: new Sender(),
    owner: opts.owner ?? 'test-owner', leaseMs: 60_000, pollIntervalMs, userAgent: 'paygate-relay/test', clock: opts.clock,
  });
  return { d, logs, hub, calls };
}

async function setup(t: Tap, endpoint: Record<string, unknown>, delays: Partial<Record<keyof Store, number>>, pollIntervalMs: number) {
  const sqlite = new SqliteStore(join(tmpDir(t), 'relay.db'));
  await sqlite.migrate();
  const h = dispatcher(t, sqlite, endpoint, delays, pollIntervalMs);
  t.teardown(async () => {
    await h.d.stop(500);
    await sqlite.close();
  });
  return { ...h, sqlite };
}

/** Store n events routed to endpoint `ep`, as intake would. */
async function ingest(store: SqliteStore, ep: string, n: number): Promise<string[]> {
  const now = Date.now();
  const items = Array.from({ length: n }, (_, i) => {
    const id = newId('evt', now);
    return {
      callback: {
        id: newId('cb', now), receivedAt: now, channel: 'notify' as const, method: 'POST', path: '/paygate/notify', kind: null, contentType: null,
        remoteIp: null, headers: {}, body: Buffer.from('x'), merchantId: 'ShopTest', state: 'accepted' as const, reason: null, detail: null, decoded: null,
      },
      event: {
        id, type: 'payment.succeeded', source: 'paygate', merchantId: 'ShopTest', operation: 'payment', outcome: 'succeeded', transId: `T${i}`,
        payId: `P${i}`, mandateId: null, receivedAt: now, dedupeKey: `${id}`, payload: JSON.stringify({ id, type: 'payment.succeeded', data: { transId: `T${i}` } }),
        deliveries: [{ endpointId: ep, orderKey: null }],
      },
    };
  });
  await store.ingest(items);
  return items.map((i) => i.event.id);
}

t.test('no lost wake-up: a slot freed while the pump arms its timer is refilled at once, not at the next poll', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  // concurrency 1 and a one-minute poll: only wake-ups move the queue.
  const { d, sqlite } = await setup(t, { id: 'a', url: rx.url, secret, concurrency: 1, retryScheduleMs: [0, 50], jitter: 0 }, { nextDueAt: 40 }, 60_000);
  const ids = await ingest(sqlite, 'a', 5);
  const started = Date.now();
  await d.start();
  await until('all 5 delivered', () => rx.delivered().length === 5, 3000).catch(() => undefined);
  t.equal(rx.delivered().length, 5, `all 5 delivered one after the other (${rx.delivered().length} within ${Date.now() - started} ms; the poll is 60 s)`);
  t.same(rx.delivered().map((r) => r.id).sort(), [...ids].sort());
});

t.test('stop() while a claim is in flight: nothing is sent after stop, the claimed delivery goes back to the outbox', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const { d, sqlite } = await setup(t, { id: 'a', url: rx.url, secret, retryScheduleMs: [0, 50], jitter: 0 }, { claim: 100, endpointStates: 0 }, 60_000);
  await ingest(sqlite, 'a', 1);
  await d.start(); // the first claim is now under way (100 ms)
  await sleep(20);
  await d.stop(500);
  const stoppedAt = Date.now();
  await sleep(300);
  t.equal(rx.received.length, 0, `no request after stop() returned${rx.received.length ? ` (one came ${rx.received[0]!.at - stoppedAt} ms after)` : ""}`);
  const row = sqlite.db.prepare('SELECT state, attempts, lease_owner FROM deliveries').get();
  t.same(row, { state: 'pending', attempts: 0, lease_owner: null }, 'the delivery is pending again, no attempt spent, no lease held');
});

t.test('prefetched deliveries: a 410 disables the endpoint and the claimed-but-unsent ones go back untouched', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  rx.behave(() => ({ status: 410 }));
  // concurrency 1 claims two at a time (the free slot plus one buffered).
  const { d, sqlite } = await setup(t, { id: 'a', url: rx.url, secret, concurrency: 1, retryScheduleMs: [0, 50], jitter: 0 }, {}, 60_000);
  await ingest(sqlite, 'a', 3);
  await d.start();
  await until('disabled', () => d.isDisabled('a'), 3000);
  await sleep(100);
  t.equal(rx.received.length, 1, 'only the first delivery was sent');
  const rows = sqlite.db.prepare('SELECT state, attempts, lease_owner FROM deliveries ORDER BY id').all();
  t.same(rows.slice(1), [
    { state: 'pending', attempts: 0, lease_owner: null },
    { state: 'pending', attempts: 0, lease_owner: null },
  ], 'the buffered one and the unclaimed one are pending, no attempt spent, no lease held');
  await d.enable('a');
  rx.behave(() => undefined);
  await until('the rest delivered after re-enable', () => rx.received.length >= 3, 3000);
  t.ok(rx.received.length >= 3, 'after enable both remaining deliveries go out');
});

t.test('a 410 shows the endpoint disabled only once the reason is stored, and sends nothing more meanwhile', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  rx.behave(() => ({ status: 410 }));
  // Storing the disable takes 300 ms (a slow disk or a PostgreSQL round trip): long enough to be seen.
  const { d, sqlite, hub } = await setup(t, { id: 'a', url: rx.url, secret, concurrency: 2, retryScheduleMs: [0, 50], jitter: 0 }, { setEndpointDisabled: 300 }, 60_000);
  const disabledEvents: string[] = [];
  hub.on('endpoint:disabled', (e) => disabledEvents.push(e.reason));
  await ingest(sqlite, 'a', 6);
  await d.start();
  // What an operator reads: `enabled` from the dispatcher, the reason from the store (GET /admin/endpoints).
  const seen: { disabled: boolean; reason: string | null }[] = [];
  await until('disabled', async () => {
    const disabled = d.isDisabled('a');
    const reason = (await sqlite.endpointStates()).find((s) => s.endpointId === 'a')?.disabledReason ?? null;
    seen.push({ disabled, reason });
    return disabled;
  }, 3000);
  t.same(seen.filter((s) => s.disabled && s.reason !== 'gone'), [], `never shown disabled without its reason (${seen.length} samples)`);
  t.ok(seen.some((s) => !s.disabled), 'sampled while the disable was being stored');
  await sleep(150);
  t.equal(rx.received.length, 2, 'only the two requests already in flight hit the gone endpoint');
  t.same(disabledEvents, ['gone'], 'disabled once, although both answers were 410');
  const rows = sqlite.db.prepare('SELECT state, attempts, lease_owner FROM deliveries ORDER BY id').all() as { state: string; attempts: number; lease_owner: string | null }[];
  t.same(rows.map((r) => [r.state, r.attempts, r.lease_owner]), [
    ['pending', 1, null], ['pending', 1, null], ['pending', 0, null], ['pending', 0, null], ['pending', 0, null], ['pending', 0, null],
  ], 'two attempts spent; the rest are back in the outbox, none leased');
});

t.test('a backlog is claimed in growing batches: a slow store round trip does not cap deliveries at twice the concurrency per trip', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  // Every claim takes 50 ms (a busy writer or a PostgreSQL round trip). At concurrency 2 a claim of
  // twice the concurrency would move 4 deliveries per 50 ms: 150 claims for this backlog.
  const { d, sqlite, calls } = await setup(t, { id: 'a', url: rx.url, secret, concurrency: 2, retryScheduleMs: [0, 50], jitter: 0 }, { claim: 50 }, 60_000);
  const ids = await ingest(sqlite, 'a', 600);
  await d.start();
  await until('all 600 delivered', () => rx.delivered().length >= 600, 20_000);
  t.ok(calls.claim! <= 15, `claims: ${calls.claim} for 600 deliveries`);
  t.same(rx.delivered().map((r) => r.id).sort(), [...ids].sort(), 'each delivered once');
});

t.test('a claimed delivery whose lease ran short in the buffer goes back instead of out, so no other instance sends it too', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  rx.behave(() => ({ status: 200, hangMs: 300 }));
  const sqlite = new SqliteStore(join(tmpDir(t), 'relay.db'));
  await sqlite.migrate();
  let offset = 0;
  const clock = () => Date.now() + offset;
  const endpoint = { id: 'a', url: rx.url, secret, concurrency: 1, timeoutMs: 1000, retryScheduleMs: [0, 50], jitter: 0 };
  const a = dispatcher(t, sqlite, endpoint, {}, 60_000, { owner: 'a', clock });
  const b = dispatcher(t, sqlite, endpoint, {}, 60_000, { owner: 'b', clock });
  t.teardown(async () => {
    await Promise.all([a.d.stop(500), b.d.stop(500)]);
    await sqlite.close();
  });
  const ids = await ingest(sqlite, 'a', 4);
  await a.d.start(); // claims two (concurrency 1 plus one buffered) under a 60 s lease
  await until('the first request is being answered', () => rx.received.length === 1, 3000);
  // While it is answered, the leases of what A holds run out (the clock moves on 61 s); B
  // claims deliveries whose lease has expired, as it would after A had died.
  offset = 61_000;
  const succeeded = () => Number(sqlite.db.prepare(`SELECT COUNT(*) FROM deliveries WHERE state = 'succeeded'`).pluck().get());
  await until('the first delivery recorded', () => succeeded() >= 1, 3000);
  await b.d.start();
  await until('all 4 delivered', () => succeeded() === 4, 10_000);
  await sleep(400);
  const sent = rx.received.map((r) => r.id);
  t.same([...sent].sort(), [...ids].sort(), `each event sent once (sent: ${sent.length})`);
});
