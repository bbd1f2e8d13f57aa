// Warm before ready: by the time the relay says ready, every HTTP endpoint has
// its connections open (no request sent), deliveries then use them, a
// receiver that is down does not hold readiness up, and the warm-up itself
// stores, counts and delivers nothing.
import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { createServer as httpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { baseConfig, startRelay, tmpDir } from './helpers/relay.js';
import { ep, freePort, metric, notify, until } from './delivery/_lib.js';

const SECRET = `whsec_${Buffer.alloc(24, 3).toString('base64')}`;

/** A plain receiver that counts TCP connections and the requests on each. */
async function countingReceiver(t: { teardown(fn: () => Promise<void>): void }) {
  const sockets = new Set<Socket>();
  const requests: { socket: Socket; body: string }[] = [];
  const server = httpServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ socket: req.socket, body });
      res.writeHead(204).end();
    });
  });
  server.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, sockets, requests };
}

t.test('connections to every HTTP endpoint are open before ready, and deliveries use them', async (t) => {
  const dir = tmpDir(t);
  const rx = await countingReceiver(t);
  const h = await startRelay(t, baseConfig(dir, { endpoints: [ep('rx', rx.url, SECRET, { concurrency: 3 })] }));
  // Accept events can arrive a moment after connect() returned on our side.
  await until('3 connections at the receiver', () => rx.sockets.size === 3, 2000);
  t.equal(rx.requests.length, 0, 'no request was sent to open them');
  t.equal((await fetch(`${h.url}/readyz`)).status, 200);
  t.match(h.logs.find((l) => l.includes('"warmed up"')) ?? '', /"connections":\[\{"endpointId":"rx","opened":3\}\]/, 'the start-up log says so');

  const p = await notify(h.url);
  t.equal(p.status, 200);
  await until('the delivery', () => rx.requests.length === 1);
  t.ok(rx.sockets.has(rx.requests[0]!.socket), 'delivered over a connection the receiver already had');
  t.equal(rx.sockets.size, 3, 'no new connection for it');
});

t.test('a receiver that is down does not keep the relay from becoming ready', async (t) => {
  const dir = tmpDir(t);
  const port = await freePort(); // nothing listens there
  const h = await startRelay(t, baseConfig(dir, { endpoints: [ep('down', `http://127.0.0.1:${port}/hook`, SECRET)] }));
  t.equal((await fetch(`${h.url}/readyz`)).status, 200);
  const log = h.logs.find((l) => l.includes('"warmed up"')) ?? '';
  t.match(log, /"endpointId":"down","opened":0,"error":"[^"]*ECONNREFUSED/);
  // The warm-up's own clock, not the whole start (a busy machine slows that): a refused
  // connection ends the wait at once instead of holding readiness for the 2 s connect budget.
  const { ms } = JSON.parse(log) as { ms: number };
  t.ok(ms < 2000, `the warm-up did not wait out the connect budget (${ms} ms)`);
  t.equal((await notify(h.url)).status, 200, 'intake works');
});

t.test('the warm-up stores, counts and delivers nothing', async (t) => {
  const dir = tmpDir(t);
  const rx = await countingReceiver(t);
  const h = await startRelay(t, baseConfig(dir, { endpoints: [ep('rx', rx.url, SECRET)] }));
  const log = h.logs.find((l) => l.includes('"warmed up"'));
  t.ok(log && JSON.parse(log).callbacks > 0, 'it did decode synthetic callbacks');
  t.equal((await h.relay.store.listEvents({}, 10)).items.length, 0, 'no events');
  const db = new Database(join(dir, 'relay.db'), { readonly: true });
  t.teardown(() => db.close());
  t.same(db.prepare('SELECT (SELECT COUNT(*) FROM callbacks) AS callbacks, (SELECT COUNT(*) FROM events) AS events').get(), { callbacks: 0, events: 0 }, 'no rows in storage');
  t.equal(await metric(h.url, 'paygate_relay_callbacks_total', { channel: 'notify', result: 'accepted', reason: 'none' }) ?? 0, 0, 'not counted');
  t.equal(rx.requests.length, 0, 'nothing delivered');
});
