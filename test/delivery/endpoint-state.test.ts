// Endpoint state is one truth in storage. Two dispatchers on one database (own
// connections, as two processes would have) through the same code path the
// PostgreSQL cluster uses: a disable made by one stops the other's deliveries
// within its state refresh, an enable by the other starts both again, and a
// dispatcher that has not heard of a disable yet still claims nothing (the claim
// itself skips endpoints disabled in storage).
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
import { newSecret, startReceiver } from '../helpers/receiver.js';
import { baseConfig, tmpDir } from '../helpers/relay.js';
import { sleep, until } from './_lib.js';

type Tap = { teardown(fn: () => Promise<void> | void): void };

async function instance(t: Tap, file: string, endpoint: Record<string, unknown>, name: string, stateRefreshMs: number) {
  const config = parseConfig(baseConfig(join(file, '..'), { endpoints: [endpoint] }), {});
  const store = new SqliteStore(file);
  await store.migrate();
  const logs: string[] = [];
  const d = new Dispatcher({
    store, endpoints: config.endpoints.map(buildEndpoint), hub: new Hub(), sender: new Sender(), owner: name,
    logger: createLogger('info', new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } })),
    leaseMs: 60_000, pollIntervalMs: 100, stateRefreshMs, userAgent: 'paygate-relay/test',
  });
  t.teardown(async () => {
    await d.stop(500);
    await store.close();
  });
  return { d, store, logs };
}

let seq = 0;
async function ingest(store: SqliteStore, n: number): Promise<string[]> {
  const now = Date.now();
  const items = Array.from({ length: n }, () => {
    const id = newId('evt', now);
    seq++;
    return {
      callback: {
        id: newId('cb', now), receivedAt: now, channel: 'notify' as const, method: 'POST', path: '/paygate/notify', kind: null, contentType: null,
        remoteIp: null, headers: {}, body: Buffer.from('x'), merchantId: 'ShopTest', state: 'accepted' as const, reason: null, detail: null, decoded: null,
      },
      event: {
        id, type: 'payment.succeeded', source: 'paygate', merchantId: 'ShopTest', operation: 'payment', outcome: 'succeeded', transId: `S${seq}`,
        payId: `P${seq}`, mandateId: null, receivedAt: now, dedupeKey: id, payload: JSON.stringify({ id, type: 'payment.succeeded', data: { transId: `S${seq}` } }),
        deliveries: [{ endpointId: 'a', orderKey: null }],
      },
    };
  });
  await store.ingest(items);
  return items.map((i) => i.event.id);
}

t.test('a disable made through one dispatcher stops the other within its refresh; an enable through the other starts both', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const file = join(tmpDir(t), 'relay.db');
  const ep = { id: 'a', url: rx.url, secret, retryScheduleMs: [0, 50], jitter: 0, concurrency: 2 };
  const a = await instance(t, file, ep, 'A', 200);
  const b = await instance(t, file, ep, 'B', 200);
  await Promise.all([a.d.start(), b.d.start()]);
  await ingest(a.store, 6);
  await until('first batch delivered', () => rx.delivered().length === 6, 5000);

  await a.d.disable('a', 'operator');
  t.ok(a.d.isDisabled('a'), 'A shows it disabled at once');
  await until('B follows storage', () => b.d.isDisabled('a'), 1000);
  t.match(b.logs.join(''), /"reason":"operator".*endpoint disabled in storage/, 'B logs what it learned and why');
  await ingest(b.store, 4);
  await sleep(600);
  t.equal(rx.received.length, 6, 'nothing more reaches the receiver from either');

  await b.d.enable('a');
  await until('A follows the enable', () => !a.d.isDisabled('a'), 1000);
  await until('the held events delivered', () => rx.delivered().length === 10, 5000);
  t.equal(new Set(rx.delivered().map((r) => r.id)).size, 10, 'each once');
});

t.test('a dispatcher that has not read the disable yet claims nothing: the claim skips endpoints disabled in storage', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const file = join(tmpDir(t), 'relay.db');
  const ep = { id: 'a', url: rx.url, secret, retryScheduleMs: [0, 50], jitter: 0 };
  const a = await instance(t, file, ep, 'A', 60_000);
  const b = await instance(t, file, ep, 'B', 60_000); // its state refresh never comes within the test
  await b.d.start();
  await a.store.setEndpointDisabled('a', true, 'operator', Date.now()); // another instance's disable, not yet heard of
  t.notOk(b.d.isDisabled('a'), 'B still believes the endpoint enabled');
  await ingest(a.store, 3);
  await sleep(500); // five of B's polls
  t.equal(rx.received.length, 0, 'yet B sent nothing');
  t.same(b.store.db.prepare(`SELECT DISTINCT state FROM deliveries`).pluck().all(), ['pending'], 'nothing leased either');
  await b.d.syncStates();
  t.ok(b.d.isDisabled('a'), 'once it reads storage it shows the endpoint disabled');
  await a.store.setEndpointDisabled('a', false, null, Date.now());
  await b.d.syncStates();
  await until('delivered after the enable', () => rx.delivered().length === 3, 5000);
  t.pass('delivered once enabled in storage');
});
