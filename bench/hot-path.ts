// The intake's hot path without HTTP: pre-built encrypted callbacks go through
// Intake.receive (decode, verify, event build, group commit on the SQLite writer
// thread, fsync) with a fixed number in flight, and the CPU of the main thread and
// of the writer thread is read from /proc/self/task/<tid>/stat. HTTP parsing and
// socket writes cost what they cost in bare Fastify too; leaving them out (and the
// load generator with them) makes the relay's own code's share measurable on a
// busy machine, where the full intake scenario moves by ±30 % from run to run.
// Prints the best of --rounds rounds (the one least disturbed by other work).
//
// Usage: node --import tsx bench/hot-path.ts [--callbacks N] [--rounds N] [--in-flight N]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { Relay } from '../src/relay.js';
import { buildBody, MERCHANT_CONFIG } from './lib/harness.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = opt('callbacks', 4000);
const ROUNDS = opt('rounds', 5);
const IN_FLIGHT = opt('in-flight', 50);

const TICK_US = 1e6 / 100; // USER_HZ
/** utime + stime per thread of this process, in µs. */
function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * TICK_US);
    } catch {
      // the thread ended
    }
  }
  return out;
}

const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'pgr-hot-'));
const bodies: { body: Buffer; contentType: string }[] = [];
for (let i = 0; i < N * ROUNDS; i++) bodies.push(buildBody(`H${i}`));
const config = parseConfig({ storage: `sqlite:${join(dir, 'relay.db')}`, merchants: [MERCHANT_CONFIG], endpoints: [], log: { level: 'warn' } });
const relay = await Relay.create({ config, logger: createLogger('warn'), delivery: false });
await relay.start();

const results: { main: number; writer: number; others: number; perSecond: number }[] = [];
let next = 0;
for (let round = 0; round < ROUNDS; round++) {
  const end = next + N;
  const before = threadCpu();
  const t0 = performance.now();
  const worker = async () => {
    while (next < end) {
      const b = bodies[next++]!;
      const now = Date.now();
      const out = await relay.intake.receive({
        channel: 'notify', method: 'POST', path: '/paygate/notify/OC', kind: 'OC', contentType: b.contentType, remoteIp: '127.0.0.1',
        headers: { 'content-type': b.contentType, 'content-length': String(b.body.length) }, body: b.body, receivedAt: now,
      }, now);
      if (out.result !== 'accepted') throw new Error(`callback not accepted: ${out.result}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const after = threadCpu();
  const delta = [...after].map(([tid, us]) => [tid, us - (before.get(tid) ?? 0)] as const);
  const main = delta.find(([tid]) => tid === process.pid)![1];
  // The writer is the busiest thread besides the main one.
  const others = delta.filter(([tid]) => tid !== process.pid).sort((a, b) => b[1] - a[1]);
  const writer = others[0]?.[1] ?? 0;
  const rest = others.slice(1).reduce((a, [, us]) => a + us, 0);
  results.push({ main: main / N, writer: writer / N, others: rest / N, perSecond: N / seconds });
}
await relay.stop(0);
rmSync(dir, { recursive: true, force: true });

const best = results.reduce((a, b) => (b.main + b.writer + b.others < a.main + a.writer + a.others ? b : a));
const fmt = (x: number) => x.toFixed(1).padStart(7);
console.log(`hot path: ${N} callbacks x ${ROUNDS} rounds, ${IN_FLIGHT} in flight; CPU µs per callback (main / writer / other threads / all), callbacks/s`);
for (const [i, r] of results.entries()) {
  console.log(`round ${i + 1}${r === best ? ' best' : '     '} ${fmt(r.main)} ${fmt(r.writer)} ${fmt(r.others)} ${fmt(r.main + r.writer + r.others)}  ${Math.round(r.perSecond)}/s`);
}
