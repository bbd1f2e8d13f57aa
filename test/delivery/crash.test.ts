// Crash and shutdown semantics with the real CLI in a child process:
// SIGKILL at awkward moments loses nothing that was answered 200, and SIGTERM
// drains in-flight deliveries before exiting 0.
// Needs a build (dist/cli.js): `npm test` runs `npm run build` before tap.
import t from 'tap';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBuild, serveChild } from '../helpers/child-relay.js';
import { newSecret, startReceiver, type Receiver } from '../helpers/receiver.js';
import { ADMIN_TOKEN, baseConfig, tmpDir } from '../helpers/relay.js';
import { freePort, notify, sleep, until, type Posted } from './_lib.js';

requireBuild((m) => t.fail(m));

function writeConfig(dir: string, endpoint: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const file = join(dir, 'relay.json');
  writeFileSync(file, JSON.stringify(baseConfig(dir, { endpoints: [endpoint], log: { level: 'info' }, ...extra }), null, 2));
  return file;
}

/** payId → event id for every stored event, through the admin API. */
async function storedEvents(url: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '';
  do {
    const r = await fetch(`${url}/admin/events?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const j = (await r.json()) as { items: Array<{ id: string; data: { payId: string } }>; next: string | null };
    for (const e of j.items) out.set(e.data.payId, e.id);
    cursor = j.next ?? '';
  } while (cursor);
  return out;
}

function deliveredIds(rx: Receiver): Set<string> {
  return new Set(rx.delivered().map((r) => r.id));
}

t.test('SIGKILL mid-delivery: after restart every accepted event is delivered, same webhook-ids', async (t) => {
  const dir = tmpDir(t);
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  let hang = true;
  // While `hang`, requests are held (well past the kill); afterwards answered at once.
  rx.behave(() => (hang ? { status: 200, hangMs: 6000 } : undefined));
  const config = writeConfig(dir, { id: 'hook', url: rx.url, secret, concurrency: 4, timeoutMs: 10_000, retryScheduleMs: [0, 100, 200], jitter: 0 });
  const first = await serveChild(t, config);

  const posted = await Promise.all(Array.from({ length: 20 }, () => notify(first.url)));
  const accepted = posted.filter((p) => p.status === 200);
  t.equal(accepted.length, 20, 'all 20 callbacks answered 200');
  await rx.waitFor((r) => r.length >= 4, 5000);
  const answered = deliveredIds(rx);
  const inFlightAtKill = new Set(rx.received.map((r) => r.id).filter((id) => !answered.has(id)));
  first.proc.kill('SIGKILL');
  t.equal(inFlightAtKill.size, 4, 'killed with 4 deliveries in flight (the endpoint\'s concurrency)');
  t.match(await first.exited, { signal: 'SIGKILL' });

  hang = false;
  const second = await serveChild(t, config);
  const stored = await storedEvents(second.url);
  t.equal(stored.size, 20, 'all 20 events are in storage after the kill');
  const want = accepted.map((p) => stored.get(p.payId));
  t.ok(want.every(Boolean), 'every accepted callback has its event');
  await until('every accepted event delivered', () => want.every((id) => deliveredIds(rx).has(id!)), 8000);
  t.pass(`all ${want.length} delivered after restart`);
  t.ok([...inFlightAtKill].every((id) => deliveredIds(rx).has(id)), `the ${inFlightAtKill.size} in flight at the kill went out again with the same webhook-id`);
  t.ok(rx.received.every((r) => r.verified), 'every request verifies');
  const perId = new Map<string, number>();
  for (const r of rx.received) perId.set(r.id, (perId.get(r.id) ?? 0) + 1);
  t.ok([...perId.entries()].every(([id, n]) => n === 1 || inFlightAtKill.has(id)), 'only the in-flight ones were sent twice');
  t.ok(second.output.some((l) => l.includes('released deliveries leased before the last stop')), 'the restart released the dead process\'s leases');
});

t.test('SIGKILL during a burst of intake: every callback answered 200 is stored and delivered', async (t) => {
  const dir = tmpDir(t);
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const config = writeConfig(dir, { id: 'hook', url: rx.url, secret, concurrency: 8, retryScheduleMs: [0, 100, 200], jitter: 0 });
  const first = await serveChild(t, config);

  const answered: Posted[] = [];
  let failed = 0;
  let killed = false;
  const burst = Array.from({ length: 160 }, async (_, i) => {
    await sleep(i % 80); // a ragged burst over ~80 ms
    try {
      const p = await notify(first.url);
      if (p.status === 200) answered.push(p);
      if (answered.length >= 30 && !killed) {
        killed = true;
        first.proc.kill('SIGKILL'); // right after receiving 200s, with more in flight
      }
    } catch {
      failed++;
    }
  });
  await Promise.all(burst);
  await first.exited;
  t.ok(killed, 'killed mid-burst');
  t.ok(answered.length >= 30, `${answered.length} callbacks answered 200 before the kill`);
  t.comment(`${answered.length} answered 200, ${failed} cut off by the kill`);

  const second = await serveChild(t, config);
  const stored = await storedEvents(second.url);
  const missing = answered.filter((p) => !stored.has(p.payId));
  t.same(missing.map((p) => p.payId), [], `every one of the ${answered.length} answered 200 is in storage (${stored.size} stored)`);
  const want = answered.map((p) => stored.get(p.payId)!).filter(Boolean);
  await until('every accepted event delivered', () => want.every((id) => deliveredIds(rx).has(id)), 10_000);
  t.pass('and delivered');
  await until('everything stored delivered', () => deliveredIds(rx).size >= stored.size, 10_000);
  t.equal(deliveredIds(rx).size, stored.size, 'events stored but not answered (cut off before the 200) are delivered too');
});

t.test('SIGTERM: readiness goes 503, the in-flight attempt finishes, exit 0; past the deadline it is released', async (t) => {
  const dir = tmpDir(t);
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  let hangMs = 600;
  rx.behave(() => ({ status: 200, hangMs }));
  const drainMs = 3000;
  const config = writeConfig(dir, { id: 'hook', url: rx.url, secret, retryScheduleMs: [0, 100, 200], jitter: 0 }, { shutdown: { drainMs } });
  const db = join(dir, 'relay.db');

  // 1. The receiver answers within the drain deadline.
  const first = await serveChild(t, config);
  const p = await notify(first.url);
  t.equal(p.status, 200);
  await rx.waitFor((r) => r.length >= 1);
  const sigAt = Date.now();
  first.proc.kill('SIGTERM');
  const readiness: (number | string)[] = [];
  let exited = false;
  void first.exited.then(() => (exited = true));
  while (!exited) {
    try {
      const r = await fetch(`${first.url}/readyz`, { signal: AbortSignal.timeout(500) });
      await r.arrayBuffer();
      readiness.push(r.status);
    } catch (err) {
      readiness.push(((err as Error).cause as { code?: string } | undefined)?.code ?? (err as Error).name);
    }
    await sleep(10);
  }
  const exit = await first.exited;
  const took = Date.now() - sigAt;
  t.same(exit, { code: 0, signal: null }, 'exit code 0');
  t.ok(took >= 400 && took < drainMs, `exited once the attempt finished (${took} ms), before the ${drainMs} ms deadline`);
  // The first probe may race the signal's delivery; once readiness dropped it must stay down.
  const dropped = readiness.findIndex((s) => s !== 200);
  const runs = readiness.reduce<string[]>((out, s, i) => (i > 0 && readiness[i - 1] === s ? out : [...out, `${s}×${readiness.slice(i).findIndex((x) => x !== s) === -1 ? readiness.length - i : readiness.slice(i).findIndex((x) => x !== s)}`]), []);
  t.ok(dropped >= 0 && !readiness.slice(dropped).includes(200), `not ready again once it dropped (saw: ${runs.join(' ')})`);
  t.ok(readiness.includes(503), `readiness answered 503 during the drain (saw: ${[...new Set(readiness)].join(', ')})`);
  t.equal(rx.delivered().length, 1, 'the receiver got its answer through');
  {
    const d = new Database(db, { readonly: true });
    const row = d.prepare('SELECT state, attempts, lease_owner FROM deliveries').get() as { state: string; attempts: number; lease_owner: string | null };
    const att = d.prepare('SELECT status_code, error_class FROM attempts').all();
    d.close();
    t.same(row, { state: 'succeeded', attempts: 1, lease_owner: null }, 'recorded as succeeded before exit');
    t.same(att, [{ status_code: 200, error_class: null }], 'one attempt, 200');
  }

  // 2. The receiver hangs past the deadline: the attempt is cut and handed back, not counted.
  hangMs = drainMs + 1500;
  const second = await serveChild(t, join(dir, 'relay.json'));
  const p2 = await notify(second.url);
  t.equal(p2.status, 200);
  await rx.waitFor((r) => r.length >= 2);
  const sig2 = Date.now();
  second.proc.kill('SIGTERM');
  const exit2 = await second.exited;
  const took2 = Date.now() - sig2;
  t.same(exit2, { code: 0, signal: null }, 'exit code 0 after the deadline');
  t.ok(took2 >= drainMs - 100 && took2 < drainMs + 3000, `waited for the drain deadline, then stopped (${took2} ms)`);
  {
    const d = new Database(db, { readonly: true });
    const row = d.prepare('SELECT state, attempts, lease_owner FROM deliveries ORDER BY id DESC LIMIT 1').get();
    const n = (d.prepare('SELECT COUNT(*) AS n FROM attempts').get() as { n: number }).n;
    d.close();
    t.same(row, { state: 'pending', attempts: 0, lease_owner: null }, 'released back to the outbox, no attempt spent');
    t.equal(n, 1, 'no attempt recorded for the cut one');
  }
  hangMs = 0;
  const third = await serveChild(t, config);
  const id2 = (await storedEvents(third.url)).get(p2.payId)!;
  await until('released delivery goes out after restart', () => deliveredIds(rx).has(id2), 5000);
  t.pass('delivered after restart with the same webhook-id');
  t.equal(rx.received.filter((r) => r.id === id2).length, 2, 'twice in total: the cut attempt and the real one');
  third.proc.kill('SIGTERM');
  t.match(await third.exited, { code: 0 });
});
