// Several relay processes (`node dist/cli.js serve`) on one PostgreSQL schema,
// a real receiver verifying signatures, real Paygate callbacks:
// - 2 and 3 instances, a burst spread over them: every event delivered exactly
//   once, in order per TransID, and the same callback hitting two instances at
//   once is one event;
// - SIGKILL an instance while the receiver holds its deliveries: another
//   instance (started meanwhile, which must not steal live leases) delivers
//   them once the lease expired;
// - PostgreSQL restarted under load: intake answers 503 while it is down,
//   every callback answered 200 is exactly one event and is delivered, and the
//   relay recovers by itself.
// Needs the real PostgreSQL on 127.0.0.1:5432 and a built dist/ (`npm test` builds).
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { buildCallback } from '../../src/paygate/simulator.js';
import { buildIfStale, callback, post, sleep, startInstance, startReceiver, writeConfig } from '../helpers/cluster.js';
import { adminQuery, exclusivePostgres, freshSchema, requirePostgres, sharePostgres } from '../helpers/pg.js';
import { newSecret } from '../helpers/receiver.js';

type Tap = Parameters<Parameters<typeof t.test>[1]>[0];
// The relay's effective lease is max(delivery.leaseMs, endpoint timeoutMs + 30 s) (src/delivery/dispatcher.ts),
// so with leaseMs 3000 a lease lasts timeoutMs + 30 s.
const KILL_TIMEOUT_MS = 3000;
// The restart test waits until no other test file uses PostgreSQL; on a loaded 2-core CI box the
// store contract suite alone keeps it busy for over a minute.
const EXCLUSIVE_WAIT_MS = 180_000;
t.setTimeout(120_000 + EXCLUSIVE_WAIT_MS);

t.before(async () => {
  await requirePostgres();
  buildIfStale();
});

async function cluster(t: Tap, n: number, prefix: string) {
  await sharePostgres(t);
  const dir = mkdtempSync(join(tmpdir(), 'pgr-cluster-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const schema = freshSchema(t, prefix);
  const secret = newSecret();
  const rcv = await startReceiver(t, secret);
  const configs = Array.from({ length: n }, (_, i) => writeConfig(dir, `r${i}`, schema, rcv.url, secret));
  // Started together: the migrations' advisory lock is exercised for real.
  const relays = await Promise.all(configs.map((c, i) => startInstance(t, c, `r${i}`)));
  return { schema, rcv, relays, configs };
}

// ---------------------------------------------------------------- burst

for (const n of [2, 3]) {
  t.test(`${n} instances on one database: a burst of 300 callbacks, each event delivered exactly once, in order per TransID`, async (t) => {
    const { schema, rcv, relays } = await cluster(t, n, `burst${n}`);
    const chains = 60;
    const steps = 5;
    const started = Date.now();
    // 60 TransIDs at once; within one TransID the callbacks follow each other, each to the next instance.
    const statuses = await Promise.all(Array.from({ length: chains }, async (_, c) => {
      const out: number[] = [];
      for (let s = 0; s < steps; s++) out.push(await post(relays[(c + s) % n]!.url, callback(`B${n}-${process.pid}-${c}`, s)));
      return out;
    }));
    const flat = statuses.flat();
    t.equal(flat.filter((s) => s === 200).length, chains * steps, 'every callback answered 200');
    // The same callback hitting every instance at the same moment.
    const twins = Array.from({ length: 20 }, (_, i) => callback(`D${n}-${process.pid}-${i}`, 0));
    const twinAnswers = await Promise.all(twins.flatMap((cb) => relays.map((r) => post(r.url, cb))));
    t.ok(twinAnswers.every((s) => s === 200), 'duplicates answered 200 too');
    const total = chains * steps + twins.length;
    await rcv.waitFor(() => rcv.delivered().size >= total, 30_000, `${total} events delivered`);
    const elapsed = Date.now() - started;
    await sleep(1000); // anything extra would show up now
    const delivered = rcv.delivered();
    t.equal(delivered.size, total, 'one event per callback (duplicates merged across instances)');
    const failed = relays.flatMap((r) => r.out.filter((l) => l.includes('"delivery attempt failed"')));
    t.ok([...delivered.values()].every((k) => k === 1), 'each event delivered exactly once', { failedAttempts: failed.slice(0, 5), failedCount: failed.length });
    t.equal(rcv.got.length, total, 'and no other request reached the receiver');
    t.equal(rcv.badSignatures(), 0, 'every request signed correctly');
    const events = await adminQuery(`SELECT count(*)::int AS n, count(DISTINCT trans_id)::int AS t FROM ${schema}.events`);
    t.same(events.rows[0], { n: total, t: chains + twins.length }, 'one event row per callback in the database');
    const callbacks = await adminQuery(`SELECT state, count(*)::int AS n FROM ${schema}.callbacks GROUP BY 1 ORDER BY 1`);
    t.same(callbacks.rows, [{ state: 'accepted', n: total }, { state: 'duplicate', n: twins.length * (n - 1) }], 'every callback kept, the extra copies as duplicate');
    let outOfOrder = 0;
    for (let c = 0; c < chains; c++) {
      const seen = rcv.got.filter((g) => g.transId === `B${n}-${process.pid}-${c}`).map((g) => g.step).join('');
      if (seen !== '01234') outOfOrder++;
    }
    t.equal(outOfOrder, 0, 'per TransID, delivered in the order accepted, across instances');
    const perInstance = relays.map((r) => r.out.filter((l) => l.includes('"delivery succeeded"')).length);
    t.equal(perInstance.reduce((a, b) => a + b, 0), total, 'the instances logged one success per event in all');
    t.ok(perInstance.filter((x) => x > 0).length > 1, `the work is shared (${perInstance.join(' / ')})`);
    t.comment(`${n} instances: ${total} callbacks accepted and delivered in ${elapsed} ms`);
  });
}

// ---------------------------------------------------------------- SIGKILL

t.test('SIGKILL mid-delivery: the leased deliveries complete on another instance after the lease expires', async (t) => {
  await sharePostgres(t);
  const dir = mkdtempSync(join(tmpdir(), 'pgr-cluster-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const schema = freshSchema(t, 'kill');
  const secret = newSecret();
  const rcv = await startReceiver(t, secret);
  const a = await startInstance(t, writeConfig(dir, 'a', schema, rcv.url, secret, KILL_TIMEOUT_MS), 'a');
  rcv.setHold(true);
  const N = 8;
  const answers = await Promise.all(Array.from({ length: N }, (_, i) => post(a.url, callback(`K-${process.pid}-${i}`, 0))));
  t.same(answers, Array(N).fill(200));
  // The receiver holds every request: A is mid-delivery on all of them. Kill it before its requests time out.
  await rcv.waitFor(() => rcv.held.length === N, 10_000, 'A sending all deliveries');
  const claimedAt = Date.now();
  a.proc.kill('SIGKILL');
  await a.kill();
  const leased = await adminQuery(`SELECT count(*)::int AS n FROM ${schema}.deliveries WHERE state = 'in_flight' AND lease_owner LIKE $1`, [`%:${a.proc.pid}:%`]);
  t.equal(leased.rows[0].n, N, 'A died holding all the leases');
  rcv.setHold(false);
  // B starts within the lease: unlike SQLite it must not release leases at start (another instance may be alive).
  const b = await startInstance(t, writeConfig(dir, 'b', schema, rcv.url, secret, KILL_TIMEOUT_MS), 'b');
  await sleep(Math.max(1000, claimedAt + 5000 - Date.now()));
  t.equal(rcv.got.length, N, "nobody touches the dead instance's deliveries while their lease runs");
  await rcv.waitFor(() => rcv.delivered().size === N, 50_000, 'redelivery by B');
  const takenOver = Math.min(...rcv.got.filter((g) => g.status === 200).map((g) => g.at));
  t.ok(takenOver - claimedAt >= KILL_TIMEOUT_MS + 30_000 - 1500, `taken over only after the lease expired (${takenOver - claimedAt} ms after the claim)`);
  await sleep(300);
  t.ok([...rcv.delivered().values()].every((k) => k === 1), 'each event delivered once by B');
  const rows = (await adminQuery(`SELECT state, lease_owner, attempts FROM ${schema}.deliveries`)).rows;
  t.ok(rows.every((r) => r.state === 'succeeded' && r.lease_owner === null && r.attempts === 1), "all succeeded; A's lost attempts were never recorded");
  t.equal(b.proc.exitCode, null, 'B still running');
});

// ---------------------------------------------------------------- PostgreSQL restart

/** `pg_ctlcluster` without blocking the event loop: the load keeps going while PostgreSQL goes down and up. */
async function pgctl(action: 'restart' | 'stop' | 'start'): Promise<void> {
  const version = execFileSync('ls', ['/etc/postgresql']).toString().trim().split('\n')[0]!;
  await promisify(execFile)('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action]);
}

t.test('PostgreSQL restarted under load: 503 while down, nothing accepted is lost, recovery by itself', async (t) => {
  const { schema, rcv, relays } = await cluster(t, 2, 'restart');
  // No other test file may use PostgreSQL while we take it down.
  const release = await exclusivePostgres(EXCLUSIVE_WAIT_MS);
  let down = false;
  // Up again before the lock goes, so no waiting test file finds it down.
  t.teardown(async () => {
    if (down) await pgctl('start').catch(() => {});
    release();
  });

  const sent = new Map<string, { cb: ReturnType<typeof buildCallback>; status: number; phase: string }>();
  let phase = 'before';
  let stopLoad = false;
  let k = 0;
  const loader = async (w: number) => {
    while (!stopLoad) {
      const transId = `P-${process.pid}-${k++}`;
      const cb = callback(transId, 0);
      const p = phase;
      const status = await post(relays[w % relays.length]!.url, cb);
      sent.set(transId, { cb, status, phase: p === phase ? p : 'transition' });
      if (status !== 200) await sleep(20);
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, w) => loader(w)));
  await sleep(1000);

  // 1. `pg_ctlcluster … restart` under load.
  phase = 'restart';
  down = true;
  await pgctl('restart');
  down = false;
  phase = 'after-restart';
  await sleep(2500);

  // 2. The same as two steps, so there is a window known to be down.
  phase = 'transition';
  down = true;
  await pgctl('stop');
  phase = 'down';
  await sleep(1500);
  phase = 'transition';
  await pgctl('start');
  down = false;
  phase = 'recovering';
  const recoverStart = Date.now();
  let recoveredAfter = -1;
  while (Date.now() - recoverStart < 15_000) {
    const latest = [...sent.values()].filter((s) => s.phase === 'recovering' && s.status === 200);
    if (latest.length >= 10) {
      recoveredAfter = Date.now() - recoverStart;
      break;
    }
    await sleep(50);
  }
  phase = 'after';
  await sleep(1000);
  stopLoad = true;
  await load;

  const all = [...sent.entries()];
  const inDown = all.filter(([, s]) => s.phase === 'down');
  t.ok(inDown.length > 0, `callbacks were sent while PostgreSQL was down (${inDown.length})`);
  t.equal(inDown.filter(([, s]) => s.status === 200).length, 0, 'none of them answered 200');
  t.ok(inDown.every(([, s]) => s.status === 503), 'all answered 503 (Paygate retries)');
  t.ok(recoveredAfter >= 0, `intake recovered by itself (${recoveredAfter} ms after PostgreSQL was up)`);
  t.ok(all.filter(([, s]) => s.phase === 'after').every(([, s]) => s.status === 200), 'and stays up');
  const ready = await Promise.all(relays.map((r) => fetch(`${r.url}/readyz`).then((x) => x.status)));
  t.same(ready, [200, 200], 'both instances ready again');
  for (const r of relays) t.equal(r.proc.exitCode, null, `${r.name} never exited`);

  // Paygate retries what was not answered 200: same bytes, after recovery.
  const retried = all.filter(([, s]) => s.status !== 200);
  for (const [, s] of retried) s.status = await post(relays[0]!.url, s.cb);
  t.ok(retried.every(([, s]) => s.status === 200), `the ${retried.length} refused callbacks are accepted when retried`);

  const accepted = all.map(([transId]) => transId);
  await rcv.waitFor(() => accepted.every((id) => rcv.got.some((g) => g.transId === id && g.status === 200)), 30_000, 'every accepted callback delivered');
  const rows = (await adminQuery(`SELECT trans_id, count(*)::int AS n FROM ${schema}.events GROUP BY trans_id`)).rows as { trans_id: string; n: number }[];
  const events = new Map(rows.map((r) => [r.trans_id, r.n]));
  t.ok(accepted.every((id) => events.get(id) === 1), `each of the ${accepted.length} callbacks is exactly one event`);
  t.equal(rows.length, accepted.length, 'and there are no others');
  const perEvent = rcv.delivered();
  const extra = [...perEvent.values()].filter((n) => n > 1).length;
  t.comment(`${accepted.length} callbacks (${inDown.length} while down, ${retried.length} retried), ${extra} events delivered more than once (at-least-once across an outage)`);
  t.equal(rcv.badSignatures(), 0);
});
