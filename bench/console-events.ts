// Console events page at scale: 1,000,000 events (plus their callbacks, deliveries and
// attempts) bulk-inserted into a temporary SQLite file with the relay's own migrations,
// then the real page (GET /console/events through Fastify, session and all) and the
// listEvents query behind it are timed with the filters an operator uses.
//
// Usage: node --import tsx bench/console-events.ts [--events N] [--runs N] [--db FILE] [--keep]
//   --db FILE  reuse (or create and keep) a database; the load takes about a minute per million.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as q from '../src/admin/queries.js';
import { buildApp } from '../src/app.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { EVENT_TYPES } from '../src/paygate/operation.js';
import { Relay } from '../src/relay.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { percentile } from './lib/harness.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const N = Number(opt('events', '1000000'));
const RUNS = Number(opt('runs', '15'));
const dbArg = args.includes('--db') ? opt('db', '') : '';
const keep = args.includes('--keep') || Boolean(dbArg);
const dir = dbArg ? null : mkdtempSync(join(tmpdir(), 'pgr-bench-console-'));
const file = dbArg || join(dir!, 'relay.db');

const DAY = 86_400_000;
const NOW = Date.now();
const SPAN = 30 * DAY;
const MERCHANTS = Array.from({ length: 20 }, (_, i) => `Shop${String(i + 1).padStart(2, '0')}`);
const TOKEN = 'bench-admin-token-0123456789';

// A small deterministic PRNG (mulberry32) so every run builds the same data.
let seed = 42;
const rnd = () => {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const hex = (n: number) => {
  let s = '';
  while (s.length < n) s += Math.floor(rnd() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, n);
};
const ALPHA = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ulid = (prefix: string, t: number) => {
  let time = '';
  let x = t;
  for (let i = 0; i < 10; i++) (time = ALPHA[x % 32] + time), (x = Math.floor(x / 32));
  let r = '';
  for (let i = 0; i < 16; i++) r += ALPHA[Math.floor(rnd() * 32)];
  return `${prefix}_${time}${r}`;
};

/** Types weighted like a direct-debit shop: many mandates and open positions, few reversals. */
const TYPE_WEIGHTS: [string, number][] = EVENT_TYPES.map((t) => [
  t,
  t.endsWith('.failed') ? 0.4 : t.endsWith('.pending') ? 0.6 : t.startsWith('mandate') || t.startsWith('open_position.created') ? 8 : t.startsWith('payment') ? 5 : 1.5,
]);
const TOTAL_W = TYPE_WEIGHTS.reduce((a, [, w]) => a + w, 0);
const pickType = () => {
  let x = rnd() * TOTAL_W;
  for (const [t, w] of TYPE_WEIGHTS) if ((x -= w) <= 0) return t;
  return TYPE_WEIGHTS[0]![0];
};

interface Sample {
  transId: string;
  payId: string;
  mandateId: string;
}

async function load(): Promise<Sample> {
  const store = new SqliteStore(file);
  await store.migrate();
  const db = store.db;
  db.pragma('synchronous = OFF');
  const insEvent = db.prepare(
    `INSERT INTO events (id, dedupe_key, type, source, merchant_id, operation, outcome, trans_id, pay_id, mandate_id, received_at, callback_id, payload)
     VALUES (?, ?, ?, 'paygate', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insCallback = db.prepare(
    `INSERT INTO callbacks (id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body, merchant_id, state, reason, detail, event_id, decoded)
     VALUES (?, ?, 'notify', 'POST', ?, ?, 'application/x-www-form-urlencoded', '203.0.113.7', '{}', ?, ?, ?, ?, NULL, ?, NULL)`,
  );
  const insDelivery = db.prepare(
    `INSERT INTO deliveries (event_seq, event_id, endpoint_id, order_key, state, attempts, next_attempt_at, created_at, updated_at, completed_at, last_status, last_error)
     VALUES (?, ?, 'erp', NULL, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insAttempt = db.prepare(
    `INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code, error_class, response_body) VALUES (?, ?, 'erp', ?, ?, ?, ?, ?)`,
  );
  let sample: Sample = { transId: '', payId: '', mandateId: '' };
  let trans = 0;
  let left = 0;
  let transId = '';
  let merchant = MERCHANTS[0]!;
  const started = performance.now();
  const BATCH = 20_000;
  for (let base = 0; base < N; base += BATCH) {
    db.transaction(() => {
      for (let i = base; i < Math.min(N, base + BATCH); i++) {
        if (left === 0) {
          trans++;
          transId = `T${String(trans).padStart(9, '0')}`;
          merchant = MERCHANTS[Math.floor(rnd() * rnd() * MERCHANTS.length)]!; // a few big merchants, a long tail
          left = 1 + Math.floor(rnd() * 3);
        }
        left--;
        const at = NOW - SPAN + Math.floor((i / N) * SPAN);
        const type = pickType();
        const [family, verb] = type.split('.') as [string, string];
        const outcome = verb === 'failed' ? 'failed' : verb === 'pending' ? 'pending' : 'succeeded';
        const payId = hex(32);
        const mandateId = family === 'mandate' ? `MDT-${trans}` : null;
        const id = ulid('evt', at);
        const cbId = ulid('cb', at);
        const payload = JSON.stringify({
          id, type, source: 'paygate', merchantId: merchant, operation: family, outcome, channel: 'notify', receivedAt: new Date(at).toISOString(),
          data: {
            payId, xid: hex(32), transId, status: outcome === 'failed' ? 'FAILED' : 'OK', code: outcome === 'failed' ? '22060203' : '00000000',
            codeInfo: { severity: outcome === 'failed' ? 'error' : 'success', category: '000', categoryName: 'none', parameter: '0000' },
            description: outcome === 'failed' ? 'declined' : 'success', ...(mandateId ? { mandateId } : {}), refNr: `R${trans}`,
            userData: `order ${trans}`, fields: { amount: String(100 + (i % 9000)), currency: 'EUR' }, custom: {}, customAuthenticated: false,
          },
        });
        insCallback.run(cbId, at, `/paygate/notify/${family}`, family, Buffer.from(hex(320)), merchant, 'accepted', null, id);
        const seq = Number(insEvent.run(id, hex(64), type, merchant, family, outcome, transId, payId, mandateId, at, cbId, payload).lastInsertRowid);
        // The last 2,000 are still pending, one in 2,000 died, the rest were delivered (some on a retry).
        const pending = i >= N - 2000;
        const dead = !pending && i % 2000 === 7;
        const retried = !pending && !dead && i % 50 === 3;
        const state = pending ? 'pending' : dead ? 'dead' : 'succeeded';
        const tries = pending ? 0 : dead ? 8 : retried ? 2 : 1;
        const dId = Number(insDelivery.run(seq, id, state, tries, at, at, at + 1000, pending ? null : at + 1000, pending ? null : dead ? 503 : 200, dead ? 'non_2xx' : null).lastInsertRowid);
        for (let a = 0; a < tries; a++) {
          const ok = !dead && a === tries - 1;
          insAttempt.run(dId, id, at + a * 5000, Math.round(20 + rnd() * rnd() * 400), ok ? 200 : 503, ok ? null : 'non_2xx', ok ? 'ok' : 'busy');
        }
        if (i === Math.floor(N * 0.37)) sample = { ...sample, transId, payId };
        if (i >= Math.floor(N * 0.37) && !sample.mandateId && mandateId) sample.mandateId = mandateId;
      }
    })();
    if ((base / BATCH) % 10 === 0) process.stdout.write(`\r  loaded ${(base + BATCH).toLocaleString('en-US')} events`);
  }
  // A few quarantined callbacks so the overview has all its parts.
  for (let i = 0; i < 50; i++) insCallback.run(ulid('cb', NOW - i * 60_000), NOW - i * 60_000, '/paygate/notify', null, Buffer.from(hex(100)), null, 'quarantined', 'unknown_merchant', null);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const s = (performance.now() - started) / 1000;
  process.stdout.write(`\r  loaded ${N.toLocaleString('en-US')} events (+ callbacks, deliveries, attempts) in ${s.toFixed(0)} s\n`);
  await store.close();
  return sample;
}

function sampleFrom(file: string): Sample {
  const store = new SqliteStore(file);
  const r = store.db.prepare(`SELECT trans_id, pay_id FROM events WHERE seq = (SELECT MAX(seq) * 37 / 100 FROM events)`).get() as { trans_id: string; pay_id: string };
  const m = store.db.prepare(`SELECT mandate_id FROM events WHERE mandate_id IS NOT NULL AND seq > (SELECT MAX(seq) / 2 FROM events) LIMIT 1`).get() as { mandate_id: string };
  void store.close();
  return { transId: r.trans_id, payId: r.pay_id, mandateId: m.mandate_id };
}

/** p as a fraction (0.95), as the table below reads. */
const pct = (xs: number[], p: number) => percentile(xs, p * 100);

async function main() {
  console.log(`console events page benchmark: ${N.toLocaleString('en-US')} events in ${file}`);
  const fresh = !existsSync(file);
  const sample = fresh ? await load() : sampleFrom(file);
  const config = parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 }, storage: `sqlite:${file}`,
      merchants: MERCHANTS.map((id) => ({ id, keys: [{ blowfish: 'bench-bf-key', hmac: 'bench-hmac-key' }] })),
      endpoints: [{ id: 'erp', url: 'http://127.0.0.1:9/hook', secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}` }],
      admin: { tokens: [TOKEN] }, log: { level: 'silent' },
    },
    {},
  );
  const relay = await Relay.create({ config, delivery: false, logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })) });
  const app = await buildApp(relay);
  await relay.start();

  // Log in like a browser: the login form's nonce cookie, then the session cookie.
  const form = await app.inject({ method: 'GET', url: '/console/login' });
  const nonce = /pgr_login=([^;]+)/.exec(String(form.headers['set-cookie']))![1]!;
  const loggedIn = await app.inject({
    method: 'POST', url: '/console/login', headers: { cookie: `pgr_login=${nonce}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _login: nonce, token: TOKEN }).toString(),
  });
  const cookie = String(loggedIn.headers['set-cookie']).split(';')[0]!;

  const day = (d: number) => new Date(NOW - d * DAY).toISOString();
  const cases: [string, Record<string, string>][] = [
    ['newest page, no filter', {}],
    ['TransID', { transId: sample.transId }],
    ['PayID', { payId: sample.payId }],
    ['MandateID', { mandateId: sample.mandateId }],
    ['TransID not found', { transId: 'NO-SUCH-ORDER' }],
    ['type glob mandate.*', { type: 'mandate.*' }],
    ['type exact credit.failed (rare)', { type: 'credit.failed' }],
    ['type glob *.failed', { type: '*.failed' }],
    ['merchant (big)', { merchantId: 'Shop01' }],
    ['merchant (small)', { merchantId: 'Shop20' }],
    ['outcome failed', { outcome: 'failed' }],
    ['one day, 10 days ago', { since: day(11), until: day(10) }],
    ['one hour, 20 days ago', { since: day(20), until: new Date(NOW - 20 * DAY + 3600_000).toISOString() }],
    ['merchant + type + outcome', { merchantId: 'Shop03', type: 'open_position.*', outcome: 'failed' }],
    ['rare type + small merchant + week', { merchantId: 'Shop19', type: 'prepayment.updated', since: day(25), until: day(18) }],
    ['type glob + one day', { type: 'mandate.*', since: day(11), until: day(10) }],
    ['merchant (big) + one day', { merchantId: 'Shop01', since: day(11), until: day(10) }],
    ['exact type + 30 days', { type: 'credit.failed', since: day(30) }],
  ];

  // 10 pages deep, following the cursor like the "Older" link.
  let cursor: string | null = null;
  for (let i = 0; i < 10; i++) cursor = (await q.listEvents(relay, {}, 50, cursor ?? undefined)).next;
  cases.push(['page 11 (cursor)', { cursor: cursor! }]);

  console.log('\nGET /console/events: server time (whole handler: session, listEvents, delivery status, render), the listEvents query alone and the delivery-status query, ms');
  console.log(`${'filter'.padEnd(36)} ${'rows'.padStart(4)}  ${'page p50'.padStart(8)} ${'page p95'.padStart(8)} ${'page max'.padStart(8)}  ${'query p50'.padStart(9)} ${'query p95'.padStart(9)}  ${'status p95'.padStart(10)}`);
  const rows: { name: string; n: number; p50: number; p95: number; max: number; q50: number; q95: number; s95: number }[] = [];
  for (const [name, filter] of cases) {
    const url = `/console/events?${new URLSearchParams(filter).toString()}`;
    const page: number[] = [];
    const query: number[] = [];
    const status: number[] = [];
    let n = 0;
    for (let r = 0; r < RUNS + 2; r++) {
      const res = await app.inject({ method: 'GET', url, headers: { cookie } });
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`);
      const timing = String(res.headers['server-timing']);
      const total = Number(/total;dur=([\d.]+)/.exec(timing)![1]);
      const db = Number(/db;dur=([\d.]+)/.exec(timing)![1]);
      const st = Number(/status;dur=([\d.]+)/.exec(timing)![1]);
      n = (res.body.match(/data-testid="event-row"/g) ?? []).length;
      if (r >= 2) (page.push(total), query.push(db), status.push(st)); // two warm-up runs
    }
    const row = { name, n, p50: pct(page, 0.5), p95: pct(page, 0.95), max: Math.max(...page), q50: pct(query, 0.5), q95: pct(query, 0.95), s95: pct(status, 0.95) };
    rows.push(row);
    console.log(`${name.padEnd(36)} ${String(n).padStart(4)}  ${row.p50.toFixed(1).padStart(8)} ${row.p95.toFixed(1).padStart(8)} ${row.max.toFixed(1).padStart(8)}  ${row.q50.toFixed(1).padStart(9)} ${row.q95.toFixed(1).padStart(9)}  ${row.s95.toFixed(1).padStart(10)}`);
  }

  const ov: number[] = [];
  for (let r = 0; r < Math.max(5, Math.floor(RUNS / 3)) + 1; r++) {
    const res = await app.inject({ method: 'GET', url: '/console', headers: { cookie } });
    if (r > 0) ov.push(Number(/total;dur=([\d.]+)/.exec(String(res.headers['server-timing']))![1]));
  }
  console.log(`\nGET /console (overview: 24 h and 1 h buckets, p50/p99, health): p50 ${pct(ov, 0.5).toFixed(1)} ms, max ${Math.max(...ov).toFixed(1)} ms`);
  const worst = rows.reduce((a, b) => (b.p95 > a.p95 ? b : a));
  console.log(`worst events page p95: ${worst.p95.toFixed(1)} ms (${worst.name})`);

  await app.close();
  await relay.stop(0);
  if (!keep && dir) rmSync(dir, { recursive: true, force: true });
  else console.log(`database kept: ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
