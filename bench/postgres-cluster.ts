// Sizing: how many callbacks per second N relay processes on one PostgreSQL
// accept (answered 200 = committed), while they also deliver every event to a
// receiver on loopback. Closed loop: a fixed number of concurrent requests,
// spread round-robin over the instances, each sent as soon as the previous
// answer arrived, for a fixed time. Callbacks are built before the clock starts.
//
// Usage: node --import tsx bench/postgres-cluster.ts [--instances 1,2,3] [--seconds 10] [--concurrency 64] [--sqlite] [--intake-only]
//   PostgreSQL from PAYGATE_RELAY_BENCH_PG (default postgres://postgres@127.0.0.1:5432/postgres);
//   a fresh schema per run, dropped afterwards. --sqlite adds a one-process SQLite row for comparison;
//   --intake-only configures no endpoint (no deliveries), to see intake alone.
//   Needs a built dist/ (npm run build).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { buildCallback } from '../src/paygate/simulator.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const INSTANCES = opt('instances', '1,2,3').split(',').map(Number);
const SECONDS = Number(opt('seconds', '10'));
const CONCURRENCY = Number(opt('concurrency', '64'));
const PG_URL = process.env.PAYGATE_RELAY_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BF = 'bench-bf-key';
const HMAC = 'bench-hmac-key';
const merchant = { id: 'ShopBench', encryption: 'blowfish' as const, keys: [{ blowfish: Buffer.from(BF), hmac: Buffer.from(HMAC) }] };

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(sql);
  await c.end();
}

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function startRelay(config: { listen: object }, dir: string, name: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...config, listen: { host: '127.0.0.1', port } }));
  const out = process.env.BENCH_LOG ? openSync(join(tmpdir(), `pgr-bench-${name}.log`), 'w') : 'ignore';
  const proc = spawn(process.execPath, ['dist/cli.js', 'serve', '--config', file], { stdio: ['ignore', out, 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`${name} exited ${proc.exitCode}`);
    if (i > 300) throw new Error(`${name} not ready`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, proc };
}

async function run(n: number, storage: 'postgres' | 'sqlite') {
  const dir = mkdtempSync(join(tmpdir(), 'pgr-bench-pg-'));
  const schema = `bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  let delivered = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      delivered++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const config = {
    listen: { host: '127.0.0.1', port: 0 },
    storage: storage === 'postgres' ? `${PG_URL}?schema=${schema}` : `sqlite:${join(dir, 'relay.db')}`,
    merchants: [{ id: 'ShopBench', keys: [{ blowfish: BF, hmac: HMAC }] }],
    endpoints: args.includes('--intake-only') ? [] : [{ id: 'rx', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, concurrency: 16 }],
    log: { level: (process.env.BENCH_LOG ?? 'warn') as string },
  };
  const relays = await Promise.all(Array.from({ length: n }, (_, i) => startRelay(config, dir, `r${i}`)));
  const pools = relays.map((r) => new Pool(r.url, { connections: Math.ceil(CONCURRENCY / n) + 2 }));
  // Enough distinct callbacks for the run (each a new event), built before timing.
  const bodies = Array.from({ length: 8000 * SECONDS }, (_, i) => buildCallback({ transId: `S${n}-${i}`, code: '00000000' }, merchant));
  let next = 0;
  let ok = 0;
  let other = 0;
  const lat: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
    const pool = pools[w % n]!;
    while (Date.now() < end && next < bodies.length) {
      const cb = bodies[next++]!;
      const t0 = performance.now();
      const r = await pool.request({ path: '/paygate/notify/OC', method: 'POST', headers: { 'content-type': cb.contentType }, body: cb.body });
      await r.body.dump();
      lat.push(performance.now() - t0);
      if (r.statusCode === 200) ok++;
      else other++;
    }
  }));
  const elapsed = (Date.now() - started) / 1000;
  const drainStart = Date.now();
  while (!args.includes('--intake-only') && delivered < ok && Date.now() - drainStart < 60_000) await new Promise((r) => setTimeout(r, 50));
  const drained = (Date.now() - started) / 1000;
  for (const r of relays) r.proc.kill('SIGTERM');
  await Promise.all(relays.map((r) => new Promise((res) => (r.proc.exitCode !== null ? res(null) : r.proc.once('exit', res)))));
  await Promise.all(pools.map((p) => p.close()));
  receiver.close();
  if (storage === 'postgres') await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  const pct = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)]! * 10) / 10;
  return {
    storage, instances: n, seconds: SECONDS, concurrency: CONCURRENCY, accepted: ok, non200: other,
    acceptedPerSec: Math.round(ok / elapsed), p50Ms: pct(50), p99Ms: pct(99),
    delivered, deliveredAllAfterS: Math.round(drained * 10) / 10,
  };
}

const rows = [];
if (args.includes('--sqlite')) rows.push(await run(1, 'sqlite'));
for (const n of INSTANCES) rows.push(await run(n, 'postgres'));
console.log(`cpus: ${cpus().length} × ${cpus()[0]?.model ?? '?'}`);
console.table(rows);
