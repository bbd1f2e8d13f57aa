// listen.workers: several processes take callbacks on one port and one primary
// commits them. With the real CLI in a child process: every callback answered
// 200 is stored and delivered, a worker that dies is replaced, SIGTERM drains
// (503 while it drains, exit 0, nothing answered 200 lost).
// Needs a build (dist/cli.js): `npm test` runs `npm run build` before tap.
import t from 'tap';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { children, requireBuild, serveChild } from './helpers/child-relay.js';
import { newSecret, startReceiver } from './helpers/receiver.js';
import { baseConfig, tmpDir } from './helpers/relay.js';
import { freePort, notify, until, type Posted } from './delivery/_lib.js';

requireBuild((m) => t.fail(m));

function storedTransIds(dir: string): Set<string> {
  const db = new Database(join(dir, 'relay.db'), { readonly: true });
  try {
    return new Set((db.prepare('SELECT trans_id FROM events').pluck().all() as string[]));
  } finally {
    db.close();
  }
}

t.test('two workers on one port: every 200 stored and delivered, a dead worker replaced, SIGTERM drains', { timeout: 180_000 }, async (t) => {
  const dir = tmpDir(t);
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const adminPort = await freePort();
  const file = join(dir, 'relay.json');
  writeFileSync(file, JSON.stringify(baseConfig(dir, {
    listen: { host: '127.0.0.1', port: 0, workers: 2 },
    admin: { tokens: ['a'.repeat(32)], listen: { host: '127.0.0.1', port: adminPort } },
    endpoints: [{ id: 'hook', url: rx.url, secret, retryScheduleMs: [0, 100], jitter: 0 }],
    shutdown: { drainMs: 1500 },
  })));
  const p = await serveChild(t, file);
  await until('two workers', () => children(p.proc.pid!).length === 2, 10_000);
  t.ok(p.output.some((l) => l.includes('"workers":2') && l.includes('relay listening')), 'the primary says it listens with two workers');

  const posted: Posted[] = await Promise.all(Array.from({ length: 60 }, (_, i) => notify(p.url, { transId: `W1-${i}` })));
  t.same(posted.filter((x) => x.status !== 200).map((x) => x.status), [], 'every callback answered 200');
  const stored = storedTransIds(dir);
  t.same(posted.filter((x) => !stored.has(x.transId)).map((x) => x.transId), [], 'every 200 is in the database when it is answered');
  await until('every event delivered', () => new Set(rx.delivered().map((r) => r.id)).size >= 60, 10_000);
  t.equal(new Set(rx.delivered().map((r) => r.id)).size, 60, 'the primary routed and delivered each event once');
  const repeat = await notify(p.url, { transId: 'W1-0', payId: posted[0]!.payId });
  t.equal(repeat.status, 200, 'a repeat through any worker is a duplicate');
  t.equal([...storedTransIds(dir)].filter((x) => x === 'W1-0').length, 1, 'stored once');
  // Reports reach the primary within REPORT_MS (they are batched), so look until they are there.
  const counted = await until('callbacks counted', async () => {
    const m = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    return /paygate_relay_callbacks_total\{[^}]*result="accepted"[^}]*\} 60\b/.test(m) && m;
  }, 5000);
  t.ok(counted, "the workers' callbacks are counted by the primary's /metrics");

  const [victim] = children(p.proc.pid!);
  process.kill(victim!, 'SIGKILL');
  await until('the worker replaced', () => {
    const now = children(p.proc.pid!);
    return now.length === 2 && !now.includes(victim!);
  }, 10_000);
  t.ok(await until('the death logged', () => p.output.some((l) => l.includes('callback worker exited; starting a new one')), 5000), 'the death is logged');
  await until('ready again', async () => (await fetch(`${p.url}/readyz`)).status === 200, 10_000);
  const after = await Promise.all(Array.from({ length: 20 }, (_, i) => notify(p.url, { transId: `W2-${i}` })));
  t.same(after.map((x) => x.status), Array(20).fill(200), 'callbacks after the replacement are taken');

  // Hold a delivery so the drain has something to wait for: the port must answer 503 meanwhile.
  rx.behave(() => ({ status: 200, hangMs: 1000 }));
  const held = await notify(p.url, { transId: 'W3-held' });
  t.equal(held.status, 200);
  p.proc.kill('SIGTERM');
  await until('draining', async () => (await fetch(`${p.url}/readyz`).catch(() => null))?.status === 503, 5000);
  const during = await notify(p.url, { transId: 'W3-during' }).catch(() => null);
  t.ok(during === null || during.status === 503, `a callback during the drain is refused with 503 (got ${during?.status ?? 'no connection'})`);
  const exit = await p.exited;
  t.same(exit, { code: 0, signal: null }, 'the primary exits 0 after the drain');
  t.same(children(p.proc.pid!), [], 'no worker left');
  const final = storedTransIds(dir);
  t.same([...posted, ...after, held].filter((x) => !final.has(x.transId)).map((x) => x.transId), [], 'everything answered 200 is stored');
  t.notOk(final.has('W3-during'), 'the refused callback was not stored');
});

t.test('config: several workers need admin.listen (the admin surface would vanish)', async (t) => {
  const { parseConfig } = await import('../src/config/load.js');
  const dir = tmpDir(t);
  t.throws(() => parseConfig(baseConfig(dir, { listen: { host: '127.0.0.1', port: 0, workers: 2 } })), /listen\.workers.*admin\.listen/);
  t.equal(parseConfig(baseConfig(dir)).listen.workers, 1, 'one process by default');
});
