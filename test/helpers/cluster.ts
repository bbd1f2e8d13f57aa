// Relay processes (`node dist/cli.js serve`) on one PostgreSQL schema, a real
// receiver verifying signatures, real Paygate callbacks: what the cluster tests
// (test/postgres/cluster*.test.ts) share. Needs a built dist/ (`npm test` builds;
// buildIfStale() rebuilds for a direct `npx tap` of one file).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { buildCallback } from '../../src/paygate/simulator.js';
import type { MerchantKeys } from '../../src/paygate/types.js';
import { pgUrl } from './pg.js';
import { ADMIN_TOKEN, TEST_BF, TEST_HMAC } from './relay.js';

type Tap = { teardown(fn: () => Promise<void> | void): void };
export const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli.js');
const SHOP: MerchantKeys = { id: 'ShopTest', encryption: 'blowfish', keys: [{ blowfish: Buffer.from(TEST_BF), hmac: Buffer.from(TEST_HMAC) }] };
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const TIMEOUT_MS = 10_000; // generous: a busy CI machine must not turn the normal case into timeouts and retries

/** Rebuild dist/ (code and SQL files) when a source file is newer than its output, so the processes run this code. */
export function buildIfStale(): void {
  const stale = (dir: string): boolean => readdirSync(join(ROOT, 'src', dir), { withFileTypes: true }).some((e) => {
    const rel = join(dir, e.name);
    if (e.isDirectory()) return stale(rel);
    const out = join(ROOT, 'dist', rel.replace(/\.tsx?$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, 'src', rel)).mtimeMs;
  });
  if (stale('')) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

export interface Got { id: string; transId: string; step: string; status: number; at: number }

export type ClusterReceiver = Awaited<ReturnType<typeof startReceiver>>;

export async function startReceiver(t: Tap, secret: string) {
  const wh = new Webhook(secret);
  const got: Got[] = [];
  const held: ServerResponse[] = [];
  let hold = false;
  let bad = 0;
  /** The status to answer instead of 200 (e.g. 410), by event. */
  let answer: (g: Got) => number = () => 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        wh.verify(body, req.headers as Record<string, string>);
      } catch {
        bad++;
      }
      const ev = JSON.parse(body) as { id: string; data: { transId: string; userData?: string } };
      const g: Got = { id: ev.id, transId: ev.data.transId, step: ev.data.userData ?? '', status: 0, at: Date.now() };
      got.push(g);
      if (hold) {
        held.push(res);
        return;
      }
      g.status = answer(g);
      res.writeHead(g.status).end(g.status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => new Promise<void>((r) => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    server.close(() => r());
  });
  t.teardown(close);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    held,
    badSignatures: () => bad,
    setHold(v: boolean) { hold = v; },
    answerWith(f: (g: Got) => number) { answer = f; },
    /** Event ids answered 2xx, with how many times. */
    delivered(): Map<string, number> {
      const m = new Map<string, number>();
      for (const g of got) if (g.status === 200) m.set(g.id, (m.get(g.id) ?? 0) + 1);
      return m;
    },
    async waitFor(pred: () => boolean, timeoutMs: number, what: string) {
      const end = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`receiver: ${what} not reached within ${timeoutMs} ms (${got.length} requests so far)`);
        await sleep(25);
      }
    },
  };
}

// ---------------------------------------------------------------- relay processes

export interface Instance { name: string; url: string; proc: ChildProcess; out: string[]; kill(signal?: NodeJS.Signals): Promise<void> }

export function writeConfig(dir: string, name: string, schema: string, receiverUrl: string, secret: string, timeoutMs = TIMEOUT_MS, extra: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    listen: { host: '127.0.0.1', port: 0 },
    storage: pgUrl(schema),
    merchants: [{ id: 'ShopTest', keys: [{ blowfish: TEST_BF, hmac: TEST_HMAC }] }],
    endpoints: [{ id: 'rcv', url: receiverUrl, secret, timeoutMs, retryScheduleMs: [0, 300, 1000, 2000, 3000], jitter: 0, concurrency: 16 }],
    delivery: { pollIntervalMs: 500, leaseMs: 3000 },
    shutdown: { drainMs: 2000 },
    log: { level: 'info' },
    admin: { tokens: [ADMIN_TOKEN] },
    ...extra,
  }));
  return file;
}

export async function startInstance(t: Tap, config: string, name: string): Promise<Instance> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  let exited = false;
  const gone = new Promise<void>((r) => proc.once('exit', () => ((exited = true), r())));
  let partial = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out.join('\n')}`)), 20_000);
    const onData = (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (out.length < 5000) out.push(line);
        if (line.includes('"relay listening"')) {
          clearTimeout(timer);
          resolve(String((JSON.parse(line) as { url: string }).url));
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c: Buffer) => out.push(c.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${out.join('\n')}`));
    });
  });
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (exited) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  t.teardown(() => kill());
  return { name, url, proc, out, kill };
}

let seq = 0;
export function callback(transId: string, step: number) {
  seq++;
  // The counter at a fixed width: `x7` and `x70` padded with zeros would be one PayID, and two steps of a
  // TransID with one PayID are one identity with other content (a conflict, not an event).
  return buildCallback({ transId, code: '00000000', userData: String(step), payId: `${process.pid}x${String(seq).padStart(8, '0')}`.padEnd(32, '0') }, SHOP);
}

/** POST a callback; the status, or 0 when the relay did not answer. */
export async function post(base: string, cb: ReturnType<typeof buildCallback>): Promise<number> {
  try {
    const r = await fetch(`${base}/paygate/notify`, {
      method: 'POST', headers: { 'content-type': cb.contentType }, body: new Uint8Array(cb.body), signal: AbortSignal.timeout(15_000),
    });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}
