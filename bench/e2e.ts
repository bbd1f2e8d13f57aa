// End-to-end benchmark: callbacks at fixed rates into a relay child process
// (SQLite, synchronous=FULL), delivered to a bare receiver on loopback.
// Latency = event receivedAt (relay got the callback) → receiver handler.
// Usage: node --import tsx bench/e2e.ts [rate ...] [--seconds N]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { buildCallback } from '../src/paygate/simulator.js';

const args = process.argv.slice(2);
const secIdx = args.indexOf('--seconds');
const seconds = secIdx >= 0 ? Number(args[secIdx + 1]) : 10;
const rates = args.filter((a, i) => !a.startsWith('--') && i !== secIdx + 1).map(Number);
if (rates.length === 0) rates.push(200, 500, 1000);

const BF = 'bench-bf-key';
const HMAC = 'bench-hmac-key';
const merchant = { id: 'ShopBench', encryption: 'blowfish' as const, keys: [{ blowfish: Buffer.from(BF), hmac: Buffer.from(HMAC) }] };

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export async function runE2E(rate: number, seconds: number) {
  const dir = mkdtempSync(join(tmpdir(), 'pgr-bench-'));
  const latencies: number[] = [];
  let received = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const ev = JSON.parse(Buffer.concat(chunks).toString()) as { receivedAt: string };
      latencies.push(Date.now() - Date.parse(ev.receivedAt));
      received++;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const rport = (receiver.address() as AddressInfo).port;
  const port = await freePort();
  const config = {
    listen: { host: '127.0.0.1', port },
    storage: `sqlite:${join(dir, 'relay.db')}`,
    merchants: [{ id: 'ShopBench', keys: [{ blowfish: BF, hmac: HMAC }] }],
    endpoints: [{ id: 'rx', url: `http://127.0.0.1:${rport}/hook`, secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, concurrency: 16 }],
    log: { level: 'warn' },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : []), 'dist/cli.js', 'serve', '--config', join(dir, 'config.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const total = rate * seconds;
  const bodies = Array.from({ length: total }, (_, i) => buildCallback({ transId: `B${rate}-${i}`, code: '00000000' }, merchant));
  const pool = new Pool(base, { connections: 50 });
  let sent = 0;
  let ok = 0;
  const started = Date.now();
  const inflight: Promise<void>[] = [];
  // Fixed arrival rate: every 10 ms send what the schedule says is due.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate));
      while (sent < due) {
        const cb = bodies[sent++]!;
        inflight.push(pool.request({ path: '/paygate/notify/OC', method: 'POST', headers: { 'content-type': cb.contentType }, body: cb.body })
          .then(async (r) => { await r.body.dump(); if (r.statusCode === 200) ok++; }));
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  await Promise.all(inflight);
  const sendSeconds = (Date.now() - started) / 1000;
  const deadline = Date.now() + 30_000;
  while (received < ok && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const drainSeconds = (Date.now() - started) / 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await pool.close();
  receiver.close();
  return {
    rate, seconds, sent: total, accepted: ok, delivered: received,
    offeredPerSec: Math.round(total / sendSeconds), deliveredPerSec: Math.round(received / drainSeconds),
    p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99), maxMs: pct(latencies, 100),
    backlogGrew: received < ok || drainSeconds > sendSeconds + 2,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = [];
  for (const rate of rates) rows.push(await runE2E(rate, seconds));
  console.table(rows);
}
