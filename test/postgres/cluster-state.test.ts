// One truth across instances: three `paygate-relay serve` processes on one
// PostgreSQL schema, a real receiver, real callbacks, the admin API and the
// console over HTTP.
// - disable on A: B and C deliver nothing to it from then on and show it disabled
//   (admin API, console, metrics) within 2 s; enable on C: all deliver again;
// - a console login made on A opens pages on B and C; logout on B ends it on A;
// - a 410 seen by one instance disables the endpoint for the others within 2 s.
// Needs the real PostgreSQL on 127.0.0.1:5432 and a built dist/ (`npm test` builds).
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIfStale, callback, post, sleep, startInstance, startReceiver, writeConfig, type Instance } from '../helpers/cluster.js';
import { adminQuery, freshSchema, requirePostgres, sharePostgres } from '../helpers/pg.js';
import { newSecret } from '../helpers/receiver.js';
import { ADMIN_TOKEN } from '../helpers/relay.js';

type Tap = Parameters<Parameters<typeof t.test>[1]>[0];
const WITHIN_MS = 2000;

t.before(async () => {
  await requirePostgres();
  buildIfStale();
});

async function admin(r: Instance, method: string, path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${r.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return { status: res.status, json: await res.json().catch(() => null) };
}

/** The endpoint as GET /admin/endpoints on this instance shows it. */
async function shown(r: Instance): Promise<{ enabled: boolean; disabledReason: string | null }> {
  return (await admin(r, 'GET', '/admin/endpoints')).json.items.find((e: { id: string }) => e.id === 'rcv');
}

async function metricEnabled(r: Instance): Promise<number> {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  return Number(/^paygate_relay_endpoint_enabled\{endpoint="rcv"\} (\d)/m.exec(text)?.[1]);
}

/** Poll until `pred` holds; the time it took, or a failure naming what was not reached. */
async function within<T>(t: Tap, ms: number, what: string, pred: () => Promise<T | false>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await pred()) return Date.now() - start;
    if (Date.now() - start > ms) {
      t.fail(`${what}: not within ${ms} ms`);
      return -1;
    }
    await sleep(50);
  }
}

let n = 0;
const cb = () => callback(`CS-${process.pid}-${++n}`, 0);

/** Log in through the console's form over HTTP; the session cookie and a CSRF token. */
async function consoleLogin(r: Instance): Promise<{ cookie: string; csrf: string }> {
  const form = await fetch(`${r.url}/console/login`);
  const nonce = /pgr_login=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')![1]!;
  const hidden = /name="_login" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${r.url}/console/login`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: `pgr_login=${nonce}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _login: hidden, token: ADMIN_TOKEN, next: '/console' }).toString(),
  });
  const cookie = `pgr_console=${/pgr_console=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!}`;
  const page = await (await fetch(`${r.url}/console`, { headers: { cookie } })).text();
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page)![1]! };
}

const page = async (r: Instance, path: string, cookie: string) => fetch(`${r.url}${path}`, { headers: { cookie }, redirect: 'manual' });

t.test('three instances, one database: endpoint state and console sessions are the same everywhere', async (t) => {
  await sharePostgres(t);
  const dir = mkdtempSync(join(tmpdir(), 'pgr-cluster-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const schema = freshSchema(t, 'state');
  const secret = newSecret();
  const rcv = await startReceiver(t, secret);
  const [A, B, C] = await Promise.all(['A', 'B', 'C'].map((name) => startInstance(t, writeConfig(dir, name, schema, rcv.url, secret), name))) as [Instance, Instance, Instance];
  const all = [A, B, C];

  // Warm: every instance takes callbacks and the receiver gets them.
  t.same(await Promise.all(all.map((r) => post(r.url, cb()))), [200, 200, 200]);
  await rcv.waitFor(() => rcv.delivered().size === 3, 10_000, 'first events delivered');

  await t.test('a console login made on A opens pages on B and C', async (t) => {
    const s = await consoleLogin(A);
    for (const r of [B, C]) t.equal((await page(r, '/console/endpoints', s.cookie)).status, 200, `${r.name} accepts A's session`);
    // The session is A's: its CSRF token works for a form posted to C.
    const test = await fetch(`${C.url}/console/endpoints/rcv/test`, {
      method: 'POST', redirect: 'manual', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: s.csrf, message: 'from C' }).toString(),
    });
    t.equal(test.status, 303, "C takes a form with A's session and CSRF token");

    await t.test('logout on B ends it on A (and C)', async (t) => {
      const out = await fetch(`${B.url}/console/logout`, {
        method: 'POST', redirect: 'manual', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: s.csrf }).toString(),
      });
      t.equal(out.status, 303);
      for (const r of [A, C]) {
        const res = await page(r, '/console/endpoints', s.cookie);
        t.equal(res.status, 303, `${r.name}: the session is gone`);
        t.match(res.headers.get('location'), /^\/console\/login/);
      }
    });
  });
  await rcv.waitFor(() => rcv.delivered().size === 4, 10_000, 'the test event sent from C delivered');

  await t.test('disable on A: B and C deliver nothing from then on and show it disabled within 2 s; enable on C: all deliver', async (t) => {
    const before = rcv.got.length;
    const disabled = await admin(A, 'POST', '/admin/endpoints/rcv/disable');
    t.equal(disabled.status, 200);
    t.match(disabled.json, { enabled: false, disabledReason: 'operator' });
    // Callbacks arriving at every instance right after the disable: stored, not delivered.
    const held = await Promise.all(all.flatMap((r) => [post(r.url, cb()), post(r.url, cb())]));
    t.ok(held.every((s) => s === 200), 'callbacks are still taken');
    const s = await consoleLogin(C);
    for (const r of [B, C]) {
      const took = await within(t, WITHIN_MS, `${r.name} shows it disabled`, async () => {
        const e = await shown(r);
        const html = await (await page(r, '/console/endpoints', s.cookie)).text();
        return !e.enabled && e.disabledReason === 'operator' && html.includes('disabled (operator)') && (await metricEnabled(r)) === 0;
      });
      t.ok(took >= 0, `${r.name}: admin API, console and metrics show it disabled (${took} ms)`);
    }
    await sleep(WITHIN_MS);
    t.equal(rcv.got.length, before, 'nothing reached the receiver from any instance');
    const queued = await adminQuery(`SELECT count(*)::int AS n FROM ${schema}.deliveries WHERE state = 'pending' AND attempts = 0`);
    t.equal(queued.rows[0].n, held.length, 'the held deliveries wait, untried');

    const enabled = await admin(C, 'POST', '/admin/endpoints/rcv/enable');
    t.match(enabled.json, { enabled: true, disabledReason: null });
    for (const r of [A, B]) {
      const took = await within(t, WITHIN_MS, `${r.name} shows it enabled`, async () => (await shown(r)).enabled && (await metricEnabled(r)) === 1);
      t.ok(took >= 0, `${r.name} follows the enable (${took} ms)`);
    }
    await rcv.waitFor(() => rcv.delivered().size === 4 + held.length, 10_000, 'the held events delivered');
    t.equal(rcv.got.length, before + held.length, 'each once');
    for (const r of [A, B]) t.ok(r.out.some((l) => l.includes('endpoint enabled in storage')), `${r.name} logged that it learned of the enable`);
  });

  await t.test('a 410 seen by one instance stops the others within 2 s', async (t) => {
    const goneId = `CS-${process.pid}-gone`;
    rcv.answerWith((g) => (g.transId === goneId ? 410 : 200));
    const before = rcv.got.length;
    t.equal(await post(B.url, callback(goneId, 0)), 200);
    await rcv.waitFor(() => rcv.got.length === before + 1, 10_000, 'the 410');
    const seer = await (async () => {
      for (const end = Date.now() + 5000; Date.now() < end; await sleep(50)) {
        const r = all.find((x) => x.out.some((l) => l.includes('"endpoint disabled"') && l.includes('"reason":"gone"')));
        if (r) return r;
      }
      return null;
    })();
    t.ok(seer, `the instance that got the 410 disabled the endpoint (${seer?.name})`);
    const others = all.filter((r) => r !== seer);
    for (const r of others) {
      const took = await within(t, WITHIN_MS, `${r.name} shows it gone`, async () => {
        const e = await shown(r);
        return !e.enabled && e.disabledReason === 'gone' && (await metricEnabled(r)) === 0;
      });
      t.ok(took >= 0, `${r.name} shows it disabled (gone) (${took} ms)`);
    }
    const more = await Promise.all(all.map((r) => post(r.url, cb())));
    t.same(more, [200, 200, 200]);
    await sleep(WITHIN_MS);
    t.equal(rcv.got.length, before + 1, 'after the 410 nothing more reached the receiver');
    t.equal(rcv.badSignatures(), 0);
  });
});
