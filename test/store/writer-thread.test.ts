// The SQLite writer thread dying must not take the relay with it: writes in
// flight fail (their callers retry), the thread is restarted, later writes
// commit; a thread that keeps dying turns readiness off instead of looping.
import t from 'tap';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { SqliteStore } from '../../src/store/sqlite.js';
import { WriterThread } from '../../src/store/writer-thread.js';
import { baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { notify, until } from '../delivery/_lib.js';

const killWriter = (w: unknown) => (w as { worker: Worker }).worker.terminate();
const threadOf = (s: SqliteStore) => s.writer as WriterThread;

t.test('relay: the writer thread is killed between two callbacks; the second still commits, the crash is logged', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)));
  const store = h.relay.store as SqliteStore;
  const first = await notify(h.url);
  t.equal(first.status, 200);
  await killWriter(store.writer);
  await until('the crash logged', () => h.logs.find((l) => l.includes('writer thread crashed and was restarted')), 5000);
  const second = await notify(h.url);
  t.equal(second.status, 200, 'a callback after the crash is stored by the restarted thread');
  for (const p of [first, second]) t.equal((await store.listEvents({ payId: p.payId }, 1)).items.length, 1, `event for ${p.payId} is in the database`);
  t.equal((await fetch(`${h.url}/readyz`)).status, 200, 'still ready');
});

t.test('store: a write in flight when the thread dies settles (rejects or commits), never hangs', async (t) => {
  const s = new SqliteStore(join(tmpDir(t), 'w.db'), { writer: 'thread' });
  await s.migrate();
  t.teardown(() => s.close());
  const pending = s.recordEndpointSuccess('a', 1000).then(() => 'committed', () => 'rejected');
  await killWriter(s.writer);
  const outcome = await Promise.race([pending, new Promise((r) => setTimeout(() => r('hung'), 3000))]);
  t.not(outcome, 'hung', `the caller heard back (${outcome})`);
  await s.recordEndpointSuccess('a', 2000);
  t.equal((await s.endpointStates()).find((e) => e.endpointId === 'a')?.lastSuccessAt, 2000, 'the restarted thread commits');
});

t.test('store: a thread that keeps dying is given up; writes fail fast and ping() fails (readiness 503)', async (t) => {
  const s = new SqliteStore(join(tmpDir(t), 'w.db'), { writer: 'thread' });
  await s.migrate();
  t.teardown(() => s.close());
  const crashes: boolean[] = [];
  threadOf(s).onCrash = (_err, restarted) => crashes.push(restarted);
  for (let i = 0; i <= WriterThread.MAX_CRASHES_PER_MINUTE; i++) {
    await s.recordEndpointSuccess('a', i);
    await killWriter(s.writer);
    await until(`crash ${i + 1} seen`, () => crashes.length === i + 1, 5000);
  }
  t.same(crashes, [...Array(WriterThread.MAX_CRASHES_PER_MINUTE).fill(true), false], 'restarted five times, then given up');
  t.equal(s.writer.healthy, false);
  await t.rejects(s.recordEndpointSuccess('a', 99), /exited|writer/, 'writes fail instead of waiting');
  await t.rejects(s.ping(), /writer thread is down/);
});
