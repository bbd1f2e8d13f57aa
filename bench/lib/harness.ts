// Shared pieces of every benchmark: ports, percentiles, callback bodies, child
// processes (relay, bare Fastify servers), machine info. Load generators: load.ts.
// Servers always run in their own child process so the load generator (this
// process) never competes with them inside one event loop.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCallback, type SimulatedCallback } from '../../src/paygate/simulator.js';
import type { MerchantKeys } from '../../src/paygate/types.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BF = 'bench-bf-key';
const HMAC = 'bench-hmac-key';
/** The one merchant every benchmark uses, as MerchantKeys (simulator, decoder) and as config. */
export const MERCHANT: MerchantKeys = { id: 'ShopBench', encryption: 'blowfish', keys: [{ blowfish: Buffer.from(BF), hmac: Buffer.from(HMAC) }] };
export const MERCHANT_CONFIG = { id: 'ShopBench', keys: [{ blowfish: BF, hmac: HMAC }] };
export const ENDPOINT_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
export const NOTIFY_PATH = '/paygate/notify/OC';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Nearest-rank percentile (p in 0..100); NaN for no samples. Sorts a copy. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const round = (x: number, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Latencies split at `splitAt` by their time stamps: before (cold) and from it on (warm). */
export function splitSummary(latencies: readonly number[], at: readonly number[], splitAt: number): { cold: LatencySummary & { n: number }; warm: LatencySummary & { n: number } } {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < latencies.length; i++) (at[i]! < splitAt ? cold : warm).push(latencies[i]!);
  return { cold: { n: cold.length, ...latencySummary(cold) }, warm: { n: warm.length, ...latencySummary(warm) } };
}

/** Latency summaries of consecutive windows of `windowMs` from `from` (by the time each sample was taken). */
export function windowSummaries(latencies: readonly number[], at: readonly number[], from: number, windowMs: number): (LatencySummary & { n: number; fromSeconds: number })[] {
  const buckets: number[][] = [];
  for (let i = 0; i < latencies.length; i++) {
    const k = Math.floor((at[i]! - from) / windowMs);
    if (k >= 0) (buckets[k] ??= []).push(latencies[i]!);
  }
  return [...buckets.entries()].map(([k, xs]) => ({ fromSeconds: (k * windowMs) / 1000, n: xs?.length ?? 0, ...latencySummary(xs ?? []) }));
}

export function latencySummary(xs: readonly number[]): LatencySummary {
  if (xs.length === 0) return { p50Ms: NaN, p99Ms: NaN, maxMs: NaN };
  const s = Float64Array.from(xs).sort();
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  return { p50Ms: round(at(50), 2), p99Ms: round(at(99), 2), maxMs: round(s[s.length - 1]!, 2) };
}

/**
 * A typical Paygate notify: the standard fields plus RefNr, UserData and two
 * extras, so the plaintext is about 300 bytes, like a real EasyCollect callback.
 * Distinct TransIDs: the relay cannot take its duplicate shortcut.
 */
export function buildBody(transId: string): SimulatedCallback {
  return buildCallback(
    { transId, code: '00000000', refNr: `R-${transId}`, userData: `order ${transId} for customer 4711 via bench`, extra: { amount: '1999', currency: 'EUR', Language: 'de' } },
    MERCHANT,
  );
}

/** Form bodies of distinct callbacks (TransID = prefix + index), handed out in order. */
export class BodyPool {
  readonly contentType = buildBody('probe').contentType;
  readonly bodies: Buffer[] = [];
  next = 0;
  /** Bodies built inside the load generator because the pool ran dry (costs it CPU). */
  builtLate = 0;
  /** `cycle`: start over at the end (for servers that do not care about repeats, like the bare anchor). */
  constructor(readonly prefix: string, public cycle = false) {}

  /** Hand out from the first body again (for a fresh relay with an empty database). */
  reset(cycle = false): void {
    this.next = 0;
    this.cycle = cycle;
  }

  /** Grows the pool to `count` bodies, built in two child processes in parallel. */
  async ensure(count: number): Promise<void> {
    const missing = count - this.bodies.length;
    if (missing <= 0) return;
    const from = this.bodies.length;
    const half = Math.ceil(missing / 2);
    const parts = await Promise.all([0, 1].map((k) => makeBodies(this.prefix, from + k * half, Math.max(0, Math.min(half, missing - k * half)))));
    for (const part of parts) for (const b of part) this.bodies.push(b);
  }

  take(): { index: number; body: Buffer } {
    if (this.next >= this.bodies.length) {
      if (this.cycle && this.bodies.length > 0) this.next = 0;
      else {
        // Not kept: a soak would hold millions of them, and the load generator's garbage
        // collector would slow down as the run goes on.
        this.builtLate++;
        const index = this.next++;
        return { index, body: buildBody(this.transId(index)).body };
      }
    }
    const index = this.next++;
    return { index, body: this.bodies[index]! };
  }

  transId(index: number): string {
    return `${this.prefix}${index}`;
  }
}

async function makeBodies(prefix: string, from: number, count: number): Promise<Buffer[]> {
  if (count === 0) return [];
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/make-bodies.ts'), prefix, String(from), String(count)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  proc.stdout!.on('data', (c: Buffer) => chunks.push(c));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  if (code !== 0) throw new Error(`make-bodies exited with ${code}`);
  const lines = Buffer.concat(chunks).toString('latin1').split('\n').filter((l) => l !== '');
  if (lines.length !== count) throw new Error(`make-bodies: ${lines.length} bodies, expected ${count}`);
  return lines.map((l) => Buffer.from(l, 'latin1'));
}

// ---------------------------------------------------------------- child processes

// ---------------------------------------------------------------- CPU: pinning and accounting

/** How `--cores N` split the machine: the servers' CPU list, the load generator's, and what happened. */
export interface CorePlan {
  requested: number | null;
  machineCores: number;
  /** taskset CPU list for server children; null = not pinned. */
  server: string | null;
  /** taskset CPU list for this process (the load generator); null = not pinned. */
  load: string | null;
  note: string;
}

let serverCpus: string | null = null;

/**
 * `--cores N`: servers on CPUs 0..N-1, the load generator (this process, all
 * its threads) on the rest, both with taskset. With N >= the machine's cores
 * there is nothing left for the load generator: nothing is pinned and the
 * note says so (the numbers are then shared-core numbers, as without --cores).
 */
export function planCores(requested: number | null): CorePlan {
  const machineCores = cpus().length;
  if (requested === null) return { requested, machineCores, server: null, load: null, note: `not pinned: servers and load generator share all ${machineCores} cores` };
  if (!Number.isInteger(requested) || requested < 1) throw new Error('--cores must be a positive integer');
  if (requested >= machineCores) {
    return { requested, machineCores, server: null, load: null, note: `--cores ${requested} needs at least ${requested + 1} cores (one for the load generator); this machine has ${machineCores}: NOT pinned, servers and load generator share all cores` };
  }
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('--cores needs taskset (util-linux), which is not installed');
  }
  const server = requested === 1 ? '0' : `0-${requested - 1}`;
  const load = requested === machineCores - 1 ? String(requested) : `${requested}-${machineCores - 1}`;
  execFileSync('taskset', ['-a', '-p', '-c', load, String(process.pid)], { stdio: 'ignore' });
  serverCpus = server;
  return { requested, machineCores, server, load, note: `servers pinned to CPU ${server}, load generator to CPU ${load} (taskset)` };
}

/** Spawns a server child, under `taskset -c` when --cores pinned the servers (taskset execs: the pid is node's). */
function spawnServer(args: string[], options: Parameters<typeof spawn>[2]): ChildProcess {
  return serverCpus === null ? spawn(process.execPath, args, options) : spawn('taskset', ['-c', serverCpus, process.execPath, ...args], options);
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds a process has used so far, all its threads together: utime +
 * stime from /proc/<pid>/stat (Linux; clock ticks, 10 ms each at the usual
 * 100 Hz). NaN where /proc is not there.
 */
export function cpuSeconds(pid: number, file = `/proc/${pid}/stat`): number {
  try {
    const stat = readFileSync(file, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** CPU seconds of every thread of a process, by thread id (Linux: /proc/<pid>/task/<tid>/stat). */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const v = cpuSeconds(Number(tid), `/proc/${pid}/task/${tid}/stat`);
      if (Number.isFinite(v)) out.set(Number(tid), v);
    }
  } catch {
    // not Linux, or the process is gone
  }
  return out;
}

export interface CpuSplit {
  serverCpuSeconds: number;
  /** The main (event loop) thread: tid = pid. */
  mainThreadCpuSeconds: number;
  /** The busiest other thread: for a SQLite relay its writer thread (Node leaves all threads named "node"). */
  busiestOtherThreadCpuSeconds: number;
  /** Every other thread: V8 (GC, compiler), libuv pool. */
  restCpuSeconds: number;
  loadCpuSeconds: number;
  wallSeconds: number;
}

/** The child processes of a process (a relay's callback workers), from /proc. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds of a process's children (their own threads; children that ended in between are lost). */
function childrenCpu(pid: number): Map<number, number> {
  return new Map(childPids(pid).map((c) => [c, cpuSeconds(c)]));
}

/**
 * CPU used by a process (and per thread) between start() and stop(), and by this process (the load
 * generator) alongside. The process's children (a relay's callback workers) count in the total and in `rest`.
 */
export function cpuMeter(pid: number) {
  const c0 = childrenCpu(pid);
  const s0 = cpuSeconds(pid);
  const t0s = threadCpuSeconds(pid);
  const l0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop(): CpuSplit {
      const l = process.cpuUsage(l0);
      const workers = [...childrenCpu(pid)].reduce((a, [c, v]) => a + (Number.isFinite(v) ? v - (c0.get(c) ?? v) : 0), 0);
      const total = cpuSeconds(pid) - s0 + workers;
      const deltas = [...threadCpuSeconds(pid)].map(([tid, v]) => ({ tid, d: v - (t0s.get(tid) ?? 0) }));
      const main = deltas.find((x) => x.tid === pid)?.d ?? NaN;
      const others = deltas.filter((x) => x.tid !== pid).sort((a, b) => b.d - a.d);
      const busiest = others[0]?.d ?? 0;
      return {
        serverCpuSeconds: round(total, 2),
        mainThreadCpuSeconds: round(main, 2),
        busiestOtherThreadCpuSeconds: round(busiest, 2),
        // From the total, so threads that ended in the window still count.
        restCpuSeconds: round(Math.max(0, total - main - busiest), 2),
        loadCpuSeconds: round((l.user + l.system) / 1e6, 2),
        wallSeconds: round((performance.now() - t0) / 1000, 2),
      };
    },
  };
}

export interface Child {
  name: string;
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise((r) => proc.once('exit', r));
}

/** SIGTERM (so --cpu-prof profiles get written), SIGKILL after `graceMs`. */
export async function stopChild(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited(proc);
  clearTimeout(t);
}

export async function waitReady(url: string, proc: ChildProcess, name: string, path = '/readyz'): Promise<void> {
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with code ${proc.exitCode} before it was ready`);
    if (i > 400) throw new Error(`${name} not ready after 40 s`);
    try {
      if ((await fetch(`${url}${path}`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
}

export type RelayMode = 'dist' | 'build' | 'src';
export interface RelayEntry {
  mode: RelayMode;
  /** Node arguments before `serve`. */
  args: string[];
  why: string;
  /** Removes the private build (mode `build`); a no-op otherwise. */
  dispose(): void;
}

/**
 * How the relay child runs, so the benchmark never measures stale code:
 * `dist` (as in production) when dist/ is at least as new as every file under
 * src/; else `build`: src/ compiled by tsc into bench/results/build.tmp/dist
 * (type errors of a tree mid-edit do not stop the emit; dist/ is left alone);
 * `src` runs src/cli.ts through tsx. --relay forces one.
 */
export function prepareRelay(wanted: 'auto' | RelayMode): RelayEntry {
  const dist = join(ROOT, 'dist/cli.js');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  let mode: RelayMode;
  let why = `chosen by --relay ${wanted}`;
  if (wanted === 'auto') {
    const fresh = existsSync(dist) && newest(join(ROOT, 'src')) <= statSync(dist).mtimeMs;
    mode = fresh ? 'dist' : 'build';
    why = fresh ? 'dist/ is up to date' : 'src/ is newer than dist/: compiled into bench/results/build.tmp';
  } else mode = wanted;
  // The writer thread needs the TypeScript loader too (test/helpers/tsx-workers.mjs says why).
  const src = { args: ['--import', 'tsx', '--import', join(ROOT, 'test/helpers/tsx-workers.mjs'), join(ROOT, 'src/cli.ts')], dispose: () => {} };
  if (mode === 'dist') return { mode, args: [dist], why, dispose: () => {} };
  if (mode === 'src') return { mode, why, ...src };
  const out = join(ROOT, 'bench/results/build.tmp');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // The relay reads ../package.json (version) and needs "type": "module"; node_modules resolve from the repo.
  copyFileSync(join(ROOT, 'package.json'), join(out, 'package.json'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(out, 'dist')], { cwd: ROOT, stdio: 'ignore' });
  } catch {
    // tsc exits non-zero on type errors but still emits; only a missing cli.js is fatal.
  }
  // What `npm run build` copies besides the compiled code: the migrations' SQL files.
  cpSync(join(ROOT, 'src'), join(out, 'dist'), { recursive: true, filter: (f) => !/\.tsx?$/.test(f) });
  const dispose = () => rmSync(out, { recursive: true, force: true });
  if (!existsSync(join(out, 'dist/cli.js'))) return (dispose(), { mode: 'src', why: 'tsc emitted nothing: running src/ through tsx', ...src });
  return { mode, args: [join(out, 'dist/cli.js')], why, dispose };
}

export interface RelayOptions {
  dir: string;
  name: string;
  storage: string;
  /** Receiver URL, or none for intake only. */
  endpointUrl?: string;
  relay: RelayEntry;
  /** --cpu-prof into this directory. */
  profDir?: string;
  /** Relay stdout/stderr into <dir>/<name>.log instead of dropping it. */
  keepLog?: boolean;
  /** More top-level config (admin tokens, collectmaxx), merged over the generated one. */
  extraConfig?: Record<string, unknown>;
  /** listen.workers: callback worker processes (the admin surface then gets a port of its own). */
  workers?: number;
}

export async function startRelay(o: RelayOptions): Promise<Child> {
  const port = await freePort();
  const file = join(o.dir, `${o.name}.json`);
  const config = {
    storage: o.storage,
    merchants: [MERCHANT_CONFIG],
    endpoints: o.endpointUrl ? [{ id: 'rx', url: o.endpointUrl, secret: ENDPOINT_SECRET }] : [],
    // A short drain keeps shutdown quick; the benchmark waits for deliveries itself.
    shutdown: { drainMs: 2000 },
    log: { level: 'warn' },
    ...o.extraConfig,
    // Host and port are always ours; extraConfig may add listen timeouts.
    listen: { ...(o.extraConfig?.listen as object | undefined), host: '127.0.0.1', port, ...(o.workers && o.workers > 1 ? { workers: o.workers } : {}) },
    ...(o.workers && o.workers > 1 ? { admin: { ...(o.extraConfig?.admin as object | undefined), listen: { host: '127.0.0.1', port: await freePort() } } } : {}),
  };
  writeFileSync(file, JSON.stringify(config));
  const node = [
    // One directory per relay: Node names each thread's profile CPU.<date>.<time>.<pid>.<tid>.<seq> (the writer thread gets its own).
    ...(o.profDir ? ['--cpu-prof', '--cpu-prof-dir', join(o.profDir, o.name)] : []),
    ...o.relay.args,
  ];
  const out = o.keepLog ? openSync(join(o.dir, `${o.name}.log`), 'w') : 'ignore';
  const proc = spawnServer([...node, 'serve', '--config', file], { cwd: ROOT, stdio: ['ignore', out, o.keepLog ? out : 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, proc, o.name);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return { name: o.name, url, proc, stop: () => stopChild(proc) };
}

export interface ReceiverStats {
  count: number;
  /** ms from the event's receivedAt (the relay got the callback) to this handler. */
  latencies: number[];
  /** The events' receivedAt (epoch ms), one per latency. */
  receivedAts: number[];
}

export interface BareChild extends Child {
  /** Receiver only: deliveries so far; `take` moves the latencies out. */
  stats(take: boolean): Promise<ReceiverStats>;
}

/** A bare Fastify server in a child process: `intake` answers ok to the form body, `receiver` takes deliveries. */
export async function startBare(kind: 'intake' | 'receiver'): Promise<BareChild> {
  const proc = spawnServer(['--import', 'tsx', join(ROOT, 'bench/lib/bare-server.ts'), kind], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('message', (m) => resolve((m as { port: number }).port));
    proc.once('exit', (code) => reject(new Error(`bare ${kind} server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  let seq = 0;
  const stats = (take: boolean) =>
    new Promise<ReceiverStats>((resolve) => {
      const id = ++seq;
      const on = (m: unknown) => {
        const msg = m as ReceiverStats & { id: number };
        if (msg.id !== id) return;
        proc.off('message', on);
        resolve({ count: msg.count, latencies: msg.latencies, receivedAts: msg.receivedAts });
      };
      proc.on('message', on);
      proc.send({ id, take });
    });
  return { name: `bare-${kind}`, url, proc, stats, stop: () => stopChild(proc) };
}

/** Resident set size of a process in KiB (Linux). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Prometheus text → the value of one series (first match of name + label text). */
export async function scrapeGauge(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{${labels}`) || (labels === '' && line.startsWith(`${name} `))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return NaN;
}

export function machineInfo() {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return 'unknown';
    }
  };
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    gitCommit: git(['rev-parse', 'HEAD']),
    gitDirty: dirty !== '' && dirty !== 'unknown',
  };
}

/** What every scenario gets from run.ts. */
export interface BenchContext {
  /** Database files go here (a real disk, not tmpfs: fsync must cost what it costs). */
  workDir: string;
  relay: RelayEntry;
  profDir?: string;
  connections: number;
  warmupSeconds: number;
  intakeSeconds: number;
  e2eSeconds: number;
  /** Fixed-rate load: `paced` (uniform arrivals, default) or `autocannon` (overallRate: each second's quota as a burst). */
  rateLoad: 'paced' | 'autocannon';
  rates: number[];
  pgUrl: string;
  log(line: string): void;
  /** listen.workers of the intake scenario's relays (1 when absent). */
  workers?: number;
}
