// `npm run bench`: every scenario next to its anchor, one table, and
// bench/results/latest.json. See bench/README.md for flags and meanings.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileReport } from './lib/profile.js';
import { BodyPool, machineInfo, planCores, prepareRelay, ROOT, round, type BenchContext } from './lib/harness.js';
import { cryptoScenario, type CryptoResult } from './scenarios/crypto.js';
import { e2eScenario, type E2EResult } from './scenarios/e2e.js';
import { importStallScenario, type ImportStallResult } from './scenarios/import-stall.js';
import { intakeScenario, type IntakeResult } from './scenarios/intake.js';
import { overloadScenario, type OverloadResult } from './scenarios/overload.js';
import { postgresScenario, type PgResult } from './scenarios/postgres.js';
import { soakScenario, type SoakResult } from './scenarios/soak.js';
import { storageScenario, type StorageResult } from './scenarios/storage.js';

const ALL = ['intake', 'storage', 'e2e', 'crypto', 'pg', 'overload', 'import', 'soak'] as const;
const DEFAULT_ONLY = 'intake,storage,e2e,crypto,pg,overload,import';
type Scenario = (typeof ALL)[number];
const USAGE = `usage: npm run bench -- [--only intake,storage,e2e,crypto,pg,overload,import,soak] [--soak [SECONDS]] [--prof] [--cores N] [--workers N]
  [--seconds N] [--intake-seconds N] [--warmup N] [--rates 200,500,1000,2000] [--connections N]
  [--overload-connections N] [--import-mib N] [--import-rate N] [--import-window SECONDS]
  [--rate-load paced|autocannon] [--pg-rate N] [--pg-seconds N] [--pg-instances 1,2,3] [--pg-url URL]
  [--relay auto|dist|build|src] [--no-intake-only] [--keep] [--out FILE]
  [--retention-delivered D] [--retention-callbacks D] [--retention-quarantine D] [--retention-dead-letters D] [--retention-sweep-every D]
                                  retention of the soaked relay (D: <n>s|m|h|d, e.g. --retention-delivered 5m)`;

/** Soak flags → retention config keys. */
const RETENTION_FLAGS: Record<string, string> = {
  'retention-delivered': 'delivered', 'retention-callbacks': 'callbacks', 'retention-quarantine': 'quarantine',
  'retention-dead-letters': 'deadLetters', 'retention-sweep-every': 'sweepEvery',
};

function parse(argv: string[]) {
  const o = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}\n${USAGE}`);
    const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    const flag = ['prof', 'keep', 'no-intake-only', 'help'].includes(k);
    if (inline !== undefined) o.set(k, inline);
    else if (flag) o.set(k, 'true');
    else if (k === 'soak') o.set(k, /^\d+$/.test(argv[i + 1] ?? '') ? argv[++i]! : '60');
    else if (argv[i + 1] === undefined) throw new Error(`--${k} needs a value\n${USAGE}`);
    else o.set(k, argv[++i]!);
  }
  const known = new Set(['cores', 'workers', 'overload-connections', 'import-mib', 'import-rate', 'import-window', 'only', 'soak', 'prof', 'seconds', 'intake-seconds', 'warmup', 'rates', 'connections', 'rate-load', 'pg-seconds', 'pg-rate', 'pg-instances', 'pg-url', 'relay', 'no-intake-only', 'keep', 'out', 'help', ...Object.keys(RETENTION_FLAGS)]);
  for (const k of o.keys()) if (!known.has(k)) throw new Error(`unknown flag --${k}\n${USAGE}`);
  const num = (k: string, env: string | undefined, d: number) => {
    const v = Number(o.get(k) ?? env ?? d);
    if (!(v > 0)) throw new Error(`--${k} must be a positive number`);
    return v;
  };
  const list = (k: string, d: string) => (o.get(k) ?? d).split(',').map((x) => x.trim()).filter(Boolean);
  const soak = o.has('soak') ? num('soak', undefined, 60) : null;
  const only = list('only', soak !== null && !o.has('only') ? 'soak' : DEFAULT_ONLY) as Scenario[];
  for (const s of only) if (!ALL.includes(s)) throw new Error(`--only: unknown scenario ${s} (${ALL.join(', ')})`);
  const relay = (o.get('relay') ?? 'auto') as 'auto' | 'dist' | 'build' | 'src';
  if (!['auto', 'dist', 'build', 'src'].includes(relay)) throw new Error('--relay must be auto, dist, build or src');
  const rateLoad = (o.get('rate-load') ?? 'paced') as 'paced' | 'autocannon';
  if (!['paced', 'autocannon'].includes(rateLoad)) throw new Error('--rate-load must be paced or autocannon');
  return {
    cores: o.has('cores') ? num('cores', undefined, 1) : null,
    workers: Math.floor(num('workers', undefined, 1)),
    overloadConnections: num('overload-connections', undefined, 800), importMiB: num('import-mib', undefined, 16), importRate: num('import-rate', undefined, 200), importWindow: num('import-window', undefined, 30),
    rateLoad, pgSeconds: num('pg-seconds', undefined, 10),
    help: o.has('help'), only, soakSeconds: soak ?? 60, prof: o.has('prof'), keep: o.has('keep'), intakeOnly: !o.has('no-intake-only'), relay,
    e2eSeconds: num('seconds', process.env.BENCH_SECONDS, 15), intakeSeconds: num('intake-seconds', process.env.BENCH_INTAKE_SECONDS, 10),
    warmup: num('warmup', undefined, 2), connections: num('connections', undefined, 50),
    rates: list('rates', '200,500,1000,2000').map(Number), pgRate: num('pg-rate', undefined, 500), pgInstances: list('pg-instances', '1,2,3').map(Number),
    pgUrl: o.get('pg-url') ?? process.env.PAYGATE_RELAY_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    out: o.get('out') ?? join(ROOT, 'bench/results/latest.json'),
    retention: Object.fromEntries(Object.entries(RETENTION_FLAGS).flatMap(([flag, key]) => {
      const v = o.get(flag);
      if (v === undefined) return [];
      if (!/^[1-9][0-9]*[smhd]$/.test(v)) throw new Error(`--${flag} must be a duration like 5m (<n>s|m|h|d)`);
      return [[key, v]];
    })),
  };
}

type Cell = string | number | boolean | null | undefined;
function table(title: string, headers: string[], rows: Cell[][]): string {
  const text = (c: Cell) => (c === null || c === undefined || (typeof c === 'number' && Number.isNaN(c)) ? '-' : String(c));
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => text(r[i]).length)));
  const line = (cs: string[]) => cs.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [`\n${title}`, line(headers), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map((r) => line(r.map(text)))].join('\n');
}
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

interface Results {
  intake?: IntakeResult;
  storage?: StorageResult & { relayDurablePerSec: number | null; ratio: number | null };
  e2e?: E2EResult;
  crypto?: CryptoResult;
  pg?: PgResult;
  overload?: OverloadResult;
  importStall?: ImportStallResult;
  soak?: SoakResult;
  errors: Record<string, string>;
}

function report(r: Results): { text: string; targets: { target: string; value: string; verdict: string }[] } {
  const out: string[] = [];
  const targets: { target: string; value: string; verdict: string }[] = [];
  if (r.intake) {
    const i = r.intake;
    const rows = [{ ...i.bare, durability: undefined }, i.relay, ...(i.intakeOnly ? [i.intakeOnly] : [])].map((x) => [
      x.server, x.reqPerSec, x.p50Ms, x.p99Ms, x.maxMs, x.non2xx + x.errors ? `${x.non2xx}/${x.errors} FLAG` : '0',
      x.durability ? (x.reqPerSec / i.bare.reqPerSec).toFixed(2) : 'anchor',
      x.serverCpuSeconds, x.cpuMicrosPer2xx, `${x.perThreadMicros.main} / ${x.perThreadMicros.busiestOther} / ${x.perThreadMicros.rest}`,
      x.durability ? `${(x.cpuMicrosPer2xx / i.bare.cpuMicrosPer2xx).toFixed(2)}x` : 'anchor', x.loadCpuSeconds,
      x.durability ? `${x.durability.answered200} 200s, ${x.durability.storedEvents} stored, ${x.durability.missing} missing` : '',
    ]);
    const late = i.relay.bodiesBuiltLate + (i.intakeOnly?.bodiesBuiltLate ?? 0);
    out.push(table(`1. Intake ceiling (autocannon, closed loop, ${i.bare.seconds} s; CPU = server process utime+stime from /proc, all threads)`,
      ['server', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'non2xx/err', 'req/s ratio', 'server CPU s', 'CPU µs per 2xx', 'main / writer* / rest µs', 'CPU ratio', 'loadgen CPU s', 'durability'], rows));
    out.push('* writer = the busiest thread besides the main one (the relay\'s SQLite writer; for bare Fastify a V8 helper); rest = V8 GC/compiler and libuv threads');
    if (late > 0) out.push(`note: ${late} bodies were built during the relay runs (pool ran dry; the load generator lost some time)`);
    targets.push({ target: 'intake >= 70 % of bare', value: `${(i.ratio * 100).toFixed(0)} %`, verdict: verdict(i.ratio >= 0.7) });
    targets.push({ target: 'intake p99 <= 20 ms (50 conns)', value: `${i.relay.p99Ms} ms`, verdict: verdict(i.relay.p99Ms <= 20) });
    targets.push({ target: 'CPU per durable callback <= 3x bare', value: `${i.cpuRatio}x (${i.relay.cpuMicrosPer2xx} vs ${i.bare.cpuMicrosPer2xx} µs)`, verdict: verdict(i.cpuRatio <= 3) });
    const lost = i.relay.durability.missing + (i.intakeOnly?.durability.missing ?? 0);
    const bad = i.relay.non2xx + i.relay.errors + (i.intakeOnly ? i.intakeOnly.non2xx + i.intakeOnly.errors : 0);
    targets.push({ target: 'every 200 stored; no non-2xx', value: `${lost} missing, ${bad} non-2xx/errors`, verdict: lost === 0 && bad === 0 ? 'PASS' : 'FLAG' });
  }
  if (r.storage) {
    const s = r.storage;
    out.push(table('2. Storage ceiling (same directory, WAL, synchronous=FULL)', ['what', 'per second', 'ratio'], [
      ['raw better-sqlite3 single-row commits', s.commitsPerSec, 'anchor'],
      ['relay durable callbacks (scenario 1)', s.relayDurablePerSec, s.ratio === null ? null : `${s.ratio.toFixed(2)}x`],
    ]));
  }
  if (r.e2e) {
    const cs = r.e2e.rows[0]?.windows?.coldSeconds ?? '-';
    out.push(table(`3. End to end (${r.e2e.rows[0]?.load ?? ''} load from right after /readyz, no warm-up; latency: relay receivedAt -> receiver handler; cold = first ${cs} s, warm = the rest)`,
      ['rate/s', 'offered/s', 'delivered/s', 'p50 ms', 'p99 ms', 'max ms', 'cold p99', 'warm p99', 'intake p99', 'cold intake p99', 'warm intake p99', 'backlog slope/s', 'max queue', 'drain s', 'growing', 'non2xx'],
      r.e2e.rows.map((x) => [x.rate, x.offeredPerSec, x.deliveredPerSec, x.p50Ms, x.p99Ms, x.maxMs, x.windows?.cold.p99Ms, x.windows?.warm.p99Ms, x.intakeP99Ms, x.windows?.cold.intakeP99Ms, x.windows?.warm.intakeP99Ms,
        x.backlogSlopePerSec, x.maxQueueDepth, x.drainSeconds, x.growing ? 'YES' : 'no', x.non2xx + x.errors])));
    out.push(`highest rate without a growing backlog: ${r.e2e.highestSteadyRate ?? 'none'}/s`);
    const at = r.e2e.rows.find((x) => x.rate === 1000);
    if (at) {
      targets.push({ target: 'e2e p99 <= 50 ms at 1000/s (whole run, cold start included)', value: `${at.p99Ms} ms`, verdict: verdict(at.p99Ms <= 50) });
      if (at.windows) targets.push({ target: `e2e cold p99 <= 50 ms at 1000/s (first ${at.windows.coldSeconds} s)`, value: `${at.windows.cold.p99Ms} ms`, verdict: verdict(at.windows.cold.p99Ms <= 50) });
      targets.push({ target: 'no growing backlog at 1000/s', value: `slope ${at.backlogSlopePerSec}/s, drain ${at.drainSeconds} s`, verdict: verdict(!at.growing) });
    }
  }
  if (r.crypto) {
    const c = r.crypto;
    const vs = (x: number | null) => (x === null || !c.opensslReusedPerSec ? null : `${(x / c.opensslReusedPerSec).toFixed(2)}x`);
    out.push(table(`4. Crypto (${c.inputs} callbacks, ${c.ciphertextBytes}-byte ciphertexts; the relay here uses the ${c.relayBackend} backend)`, ['what', 'ops/s', 'vs OpenSSL reused'], [
      [`Blowfish decrypt: OpenSSL bf-ecb, one keyed decipher reused (relay \`openssl\` backend; child, legacy provider)${c.sameOutput === false ? ' OUTPUT DIFFERS' : ''}`, c.opensslReusedPerSec ?? c.opensslNote, 'anchor'],
      ['Blowfish decrypt: relay `js` backend (round loop, cached key schedule)', c.jsPerSec, vs(c.jsPerSec)],
      ['Blowfish decrypt: blowfish-node decode, cached key schedule (fallback)', c.blowfishNodePerSec, vs(c.blowfishNodePerSec)],
      ['Blowfish decrypt: OpenSSL bf-ecb, new decipher per input (child)', c.opensslPerSec, vs(c.opensslPerSec)],
      ['relay decodeCallback (form, hex, decrypt, parse, MAC)', c.decodeCallbackPerSec, ''],
      ['HMAC-SHA256 MAC verify (mac.ts)', c.hmacVerifyPerSec, ''],
    ]));
  }
  if (r.pg) {
    if ('skipped' in r.pg) out.push(`\n5. PostgreSQL: skipped: ${r.pg.skipped}`);
    else out.push(table(`5. PostgreSQL (one schema; intake: the connections split over the instances; e2e at ${r.pg.rows[0]?.e2e.rate ?? '-'}/s)`,
      ['instances', 'intake req/s', 'vs bare', 'p99 ms', 'non2xx', 'missing', 'e2e p50', 'e2e p99', 'delivered/s', 'growing'],
      r.pg.rows.map((x) => [x.instances, x.intake.reqPerSec, x.intake.ratioToBare, x.intake.p99Ms, x.intake.non2xx + x.intake.errors, x.durability.missing, x.e2e.p50Ms, x.e2e.p99Ms, x.e2e.deliveredPerSec, x.e2e.growing ? 'YES' : 'no'])));
  }
  if (r.overload) {
    const o = r.overload;
    const st = Object.entries(o.statuses).map(([k, v]) => `${k}: ${v}`).join(', ');
    out.push(table(`7. Backpressure (${o.connections} connections, closed loop, one relay, intake only, ${o.seconds} s)`,
      ['200/s', '200s', 'p50 of 200s', 'p99 of 200s', 'max of 200s', 'p99 all', 'answers by status', 'not 200/503', 'durability', 'CPU µs per 200'],
      [[o.okPerSec, o.ok200, o.ok200Latency.p50Ms, o.ok200Latency.p99Ms, o.ok200Latency.maxMs, o.allLatency.p99Ms, st, o.otherThan503,
        `${o.durability.answered200} 200s, ${o.durability.storedEvents} stored, ${o.durability.missing} missing`, o.cpuMicrosPer200]]));
    targets.push({ target: `${o.connections} conns: p99 of 200s <= 1 s`, value: `${o.ok200Latency.p99Ms} ms`, verdict: verdict(o.ok200Latency.p99Ms <= 1000) });
    targets.push({ target: `${o.connections} conns: every 200 stored, every non-200 a 503`, value: `${o.durability.missing} missing, ${o.otherThan503} other`, verdict: verdict(o.durability.missing === 0 && o.otherThan503 === 0) });
  }
  if (r.importStall) {
    const m = r.importStall;
    out.push(table(`8. Import stall (${(m.fileBytes / 2 ** 20).toFixed(1)} MiB result file, ${m.fileRows} rows, admin API; callbacks at ${m.rate}/s, paced)`,
      ['window', 'callbacks', 'p50 ms', 'p99 ms', 'max ms', 'non-200', 'import'],
      [['before the import', m.baseline.n, m.baseline.p50Ms, m.baseline.p99Ms, m.baseline.maxMs, m.baseline.non200, ''],
        ['during the import', m.duringImport.n, m.duringImport.p50Ms, m.duringImport.p99Ms, m.duringImport.maxMs,
          m.duringImport.non200 ? `${m.duringImport.non200} (${Object.entries(m.duringImport.statuses).filter(([k]) => k !== '200').map(([k, v]) => `${k}: ${v}`).join(', ')})` : 0,
          m.windowCut ? `no answer within ${m.windowSeconds} s (window cut there)` : m.importError ? `FAILED: ${m.importError}` : `HTTP ${m.importStatus} after ${m.importSeconds} s`]]));
    targets.push({ target: 'intake p99 during a 16 MiB import <= 2x without', value: `${m.p99Ratio}x (${m.duringImport.p99Ms} vs ${m.baseline.p99Ms} ms)`, verdict: verdict(m.p99Ratio <= 2) });
  }
  if (r.soak) {
    const s = r.soak;
    const a = s.afterWarmup;
    out.push(table(`6. Memory soak (${s.rate}/s for ${s.seconds} s, relay VmRSS every 10 s, warm-up ${s.warmupSeconds} s)`, ['first-minute median MiB', 'last-minute median MiB', 'drift %', 'min MiB', 'max MiB', 'max single-sample dev %', 'e2e p99 ms', 'growing'],
      [[a.firstMinuteMedianMiB, a.lastMinuteMedianMiB, a.driftPct, a.minMiB, a.maxMiB, a.maxDeviationPct, s.e2e.p99Ms, s.e2e.growing ? 'YES' : 'no']]));
    targets.push({ target: 'RSS flat (last vs first minute, ±10 %)', value: `${a.driftPct} %`, verdict: verdict(s.withinTenPct) });
    const every = Math.max(1, Math.round(s.db.length / 12));
    out.push(table(`6b. Database size during the soak (SQLite file + WAL${Object.keys(s.retention).length ? `, retention ${JSON.stringify(s.retention)}` : ', default retention'})`, ['t s', 'MiB'],
      s.db.filter((_, i) => i % every === 0 || i === s.db.length - 1).map((x) => [x.t, x.mib])));
    out.push(`first post-warm-up minute median ${s.dbFirstMinuteMiB} MiB, last minute median ${s.dbLastMinuteMiB} MiB`);
    const level = s.dbLevel;
    if (level) targets.push({ target: `database levels off (last minute vs ${level.back} s before, <= +10 %)`, value: `${level.growthPct} % (${s.dbLastMinuteMiB} vs ${level.beforeMiB} MiB)`, verdict: verdict(level.growthPct <= 10) });
    const e = s.e2e.edges;
    if (e) {
      const ratio = round(e.last.p99Ms / e.first.p99Ms, 2);
      out.push(table(`6c. End-to-end latency, first and last ${e.seconds} s of the soak`, ['window', 'callbacks', 'p50 ms', 'p99 ms', 'max ms'],
        [['first', e.first.n, e.first.p50Ms, e.first.p99Ms, e.first.maxMs], ['last', e.last.n, e.last.p50Ms, e.last.p99Ms, e.last.maxMs]]));
      targets.push({ target: `e2e p99 of the last ${e.seconds} s <= 1.5x the first`, value: `${ratio}x (${e.last.p99Ms} vs ${e.first.p99Ms} ms)`, verdict: verdict(ratio <= 1.5) });
    }
    const series = s.e2e.series;
    if (series && e) {
      out.push(table(`6d. End-to-end latency per ${e.seconds} s window (steady state from ${s.warmupSeconds} s${Object.keys(s.retention).length ? ': retention has purged' : ''})`, ['from s', 'callbacks', 'p50 ms', 'p99 ms', 'max ms'],
        series.map((w) => [w.fromSeconds, w.n, w.p50Ms, w.p99Ms, w.maxMs])));
      // Whole windows only: the last one may be a few callbacks long.
      const steady = series.filter((w) => w.fromSeconds >= s.warmupSeconds && w.n >= (e.seconds * s.rate) / 2);
      if (steady.length >= 2) {
        const [f, l] = [steady[0]!, steady[steady.length - 1]!];
        const ratio = round(l.p99Ms / f.p99Ms, 2);
        targets.push({ target: `e2e p99, last vs first ${e.seconds} s window of the steady state`, value: `${ratio}x (${l.p99Ms} at ${l.fromSeconds} s vs ${f.p99Ms} ms at ${f.fromSeconds} s)`, verdict: verdict(ratio <= 1.5) });
      }
    }
  }
  for (const [k, v] of Object.entries(r.errors)) out.push(`\n${k}: FAILED: ${v}`);
  if (targets.length) out.push(table('Targets', ['target', 'measured', 'verdict'], targets.map((t) => [t.target, t.value, t.verdict])));
  return { text: out.join('\n'), targets };
}

async function main() {
  const opts = parse(process.argv.slice(2));
  if (opts.help) return console.log(USAGE);
  const machine = machineInfo();
  const cores = planCores(opts.cores);
  const relay = prepareRelay(opts.relay);
  const workDir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'pgr-bench-'));
  const profDir = opts.prof ? join(ROOT, 'bench/results', `prof-${machine.date.replace(/[:.]/g, '-')}`) : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const started = Date.now();
  const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const ctx: BenchContext = {
    workDir, relay, ...(profDir ? { profDir } : {}), connections: opts.connections, warmupSeconds: opts.warmup,
    intakeSeconds: opts.intakeSeconds, e2eSeconds: opts.e2eSeconds, rateLoad: opts.rateLoad, rates: opts.rates, pgUrl: opts.pgUrl, log,
    workers: opts.workers,
  };
  console.log(`paygate-relay bench: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, commit ${machine.gitCommit.slice(0, 12)}${machine.gitDirty ? ' (dirty)' : ''}`);
  console.log(`relay child: ${relay.mode} (${relay.why}); databases in ${workDir}${profDir ? `; CPU profiles in ${profDir}` : ''}`);
  console.log(`cores: ${cores.note}. Other work on this machine shares the same cores: compare only numbers of one run.`);
  if (opts.workers > 1) console.log(`intake relays: listen.workers = ${opts.workers} (CPU counts the primary and its worker processes)`);
  log(`scenarios: ${opts.only.join(', ')}`);

  const intakePool = new BodyPool('I');
  await intakePool.ensure(20_000);
  const r: Results = { errors: {} };
  const attempt = async (name: Scenario, fn: () => Promise<void> | void) => {
    if (!opts.only.includes(name)) return;
    try {
      await fn();
    } catch (e) {
      r.errors[name] = (e as Error).stack ?? String(e);
      log(`${name} failed: ${(e as Error).message}`);
    }
  };
  await attempt('intake', async () => void (r.intake = await intakeScenario(ctx, intakePool, { intakeOnly: opts.intakeOnly })));
  await attempt('storage', () => {
    const s = storageScenario(ctx, intakePool.bodies[0]!);
    const relayDurablePerSec = r.intake && r.intake.relay.durability.missing === 0 ? r.intake.relay.reqPerSec : null;
    r.storage = { ...s, relayDurablePerSec, ratio: relayDurablePerSec === null ? null : Math.round((relayDurablePerSec / s.commitsPerSec) * 100) / 100 };
  });
  const e2ePool = new BodyPool('E');
  await attempt('e2e', async () => void (r.e2e = await e2eScenario(ctx, e2ePool)));
  await attempt('crypto', () => void (r.crypto = cryptoScenario(ctx, intakePool.bodies.slice(0, 2000), intakePool.contentType)));
  await attempt('pg', async () => void (r.pg = await postgresScenario(ctx, intakePool, { instances: opts.pgInstances, rate: opts.pgRate, seconds: opts.pgSeconds, bareReqPerSec: r.intake?.bare.reqPerSec ?? null })));
  await attempt('overload', async () => void (r.overload = await overloadScenario(ctx, intakePool, opts.overloadConnections)));
  await attempt('import', async () => void (r.importStall = await importStallScenario(ctx, new BodyPool('M'), { bytes: opts.importMiB * 2 ** 20, rate: opts.importRate, baselineSeconds: 6, windowSeconds: opts.importWindow })));
  await attempt('soak', async () => void (r.soak = await soakScenario(ctx, opts.soakSeconds, 1000, opts.retention)));

  const { text, targets } = report(r);
  console.log(text);
  if (profDir) {
    // Where the intake relays' CPU went, charged per callback they stored (warm-up included, as the profile is).
    for (const [name, row] of [['intake', r.intake?.relay], ['intake-only', r.intake?.intakeOnly]] as const) {
      if (!row || !existsSync(join(profDir, name))) continue;
      console.log(`\nCPU profile of the ${name} relay (whole life: start-up, warm-up, measured run; profiler overhead included)`);
      console.log(profileReport(join(profDir, name), row.durability.storedEvents));
    }
  }
  const totalSeconds = Math.round((Date.now() - started) / 1000);
  mkdirSync(join(opts.out, '..'), { recursive: true });
  const { errors, ...scenarios } = r;
  writeFileSync(opts.out, JSON.stringify({
    machine, cores, relay: { mode: relay.mode, why: relay.why }, totalSeconds,
    settings: { only: opts.only, connections: opts.connections, warmupSeconds: opts.warmup, intakeSeconds: opts.intakeSeconds, e2eSeconds: opts.e2eSeconds, rates: opts.rates, rateLoad: opts.rateLoad, overloadConnections: opts.overloadConnections, importMiB: opts.importMiB, importRate: opts.importRate, pgRate: opts.pgRate, pgSeconds: opts.pgSeconds, pgInstances: opts.pgInstances, soakSeconds: opts.only.includes('soak') ? opts.soakSeconds : null, loadGenerator: `autocannon (closed loop: intake); fixed rate: ${opts.rateLoad === 'paced' ? 'paced undici sender (uniform arrivals)' : 'autocannon overallRate'}` },
    scenarios, targets, errors,
  }, null, 2) + '\n');
  console.log(`\nwritten ${opts.out} (${totalSeconds} s)${profDir ? `; CPU profiles in ${profDir}` : ''}`);
  relay.dispose();
  if (opts.keep) console.log(`databases kept in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
