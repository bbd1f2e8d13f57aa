// Import-stall row: intake latency at a fixed rate while a ~16 MiB Collectmaxx
// result file is imported through the admin API, against the same relay's
// intake latency just before, without an import. The file is generated here
// (lib/result-file.ts); its rows carry the relay's own identifiers, so every
// row becomes events, as a real answer to our export would.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BodyPool, latencySummary, round, sleep, startRelay, type BenchContext, type LatencySummary } from '../lib/harness.js';
import { runPaced } from '../lib/load.js';
import { resultFile } from '../lib/result-file.js';

const TOKEN = 'bench-admin-token-0123456789abcdef';

export interface ImportStallResult {
  rate: number;
  fileBytes: number;
  fileRows: number;
  /** Admin API answer to the upload (0: none within the window, or the request failed: see importError). */
  importStatus: number;
  importAnswer: unknown;
  importError?: string;
  /** Seconds from the upload's start to its answer, or to the end of the window when it had not answered by then. */
  importSeconds: number;
  /** The import was still running when the window closed (the window is capped: a big file can take minutes). */
  windowCut: boolean;
  windowSeconds: number;
  baseline: LatencySummary & { n: number; non200: number };
  /** non200 and statuses here include socket errors of the whole run (they carry no time stamp). */
  duringImport: LatencySummary & { n: number; non200: number; statuses: Record<string, number> };
  /** duringImport p99 / baseline p99. */
  p99Ratio: number;
}

export async function importStallScenario(ctx: BenchContext, pool: BodyPool, opts: { bytes: number; rate: number; baselineSeconds: number; windowSeconds: number }): Promise<ImportStallResult> {
  const file = resultFile(opts.bytes);
  ctx.log(`import-stall: ${(file.body.length / 2 ** 20).toFixed(1)} MiB result file (${file.rows} rows) imported while ${opts.rate}/s callbacks arrive`);
  const dir = join(ctx.workDir, 'import-stall');
  mkdirSync(join(dir, 'inbox'), { recursive: true });
  await pool.ensure(opts.rate * (opts.baselineSeconds + opts.windowSeconds + 4));
  pool.reset(false);
  const relay = await startRelay({
    dir, name: 'import-stall', storage: `sqlite:${join(dir, 'relay.db')}`, relay: ctx.relay, profDir: ctx.profDir,
    extraConfig: {
      admin: { tokens: [TOKEN] }, collectmaxx: { import: { inboxDir: join(dir, 'inbox') } },
      // The default 30 s request timeout closes the upload's connection while the import goes on; the window measures the import, not the timeout.
      listen: { timeouts: { headersMs: 10_000, requestMs: 300_000, keepAliveMs: 5_000 } },
    },
  });
  try {
    // A warm-up at the same rate, not counted.
    await runPaced({ url: relay.url, connections: ctx.connections, seconds: 2, overallRate: opts.rate, pool });
    let importStart = NaN;
    let importEnd = NaN;
    let importStatus = 0;
    let importAnswer: unknown = null;
    let importError: string | undefined;
    let windowCut = false;
    const upload = (async () => {
      await sleep(opts.baselineSeconds * 1000);
      importStart = Date.now();
      const ac = new AbortController();
      const cap = setTimeout(() => ((windowCut = true), ac.abort()), opts.windowSeconds * 1000);
      try {
        const res = await fetch(`${relay.url}/admin/collectmaxx/results?name=${encodeURIComponent(file.name)}`, {
          method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv; charset=utf-8' }, body: new Uint8Array(file.body), signal: ac.signal,
        });
        importStatus = res.status;
        importAnswer = await res.json().catch(() => null);
      } catch (e) {
        if (!windowCut) importError = (e as Error).message;
      } finally {
        clearTimeout(cap);
        importEnd = Date.now();
      }
      // One more second of callbacks after the answer, so the window's tail is measured too.
      await sleep(1000);
    })();
    const run = await runPaced({ url: relay.url, connections: ctx.connections, seconds: opts.baselineSeconds + 600, overallRate: opts.rate, pool, until: upload, keepSamples: true });
    await upload;
    if (windowCut) ctx.log(`import-stall: the import had not answered after ${opts.windowSeconds} s; the window ends there`);
    const { due, ms, status } = run.samples!;
    const base: number[] = [];
    const during: number[] = [];
    let baseBad = 0;
    let duringBad = 0;
    const duringStatuses: Record<string, number> = {};
    // Requests due within the upload (from its first byte to its answer): what Paygate sees meanwhile.
    for (let i = 0; i < due.length; i++) {
      if (due[i]! < importStart) (base.push(ms[i]!), (baseBad += status[i] === 200 ? 0 : 1));
      else if (due[i]! <= importEnd) {
        during.push(ms[i]!);
        duringBad += status[i] === 200 ? 0 : 1;
        duringStatuses[status[i]!] = (duringStatuses[status[i]!] ?? 0) + 1;
      }
    }
    const baseline = { n: base.length, non200: baseBad, ...latencySummary(base) };
    if (run.errors > 0) duringStatuses.error = run.errors;
    const duringImport = { n: during.length, non200: duringBad + run.errors, statuses: duringStatuses, ...latencySummary(during) };
    return {
      rate: opts.rate, fileBytes: file.body.length, fileRows: file.rows, importStatus, importAnswer, ...(importError ? { importError } : {}),
      importSeconds: round((importEnd - importStart) / 1000, 2), windowCut, windowSeconds: opts.windowSeconds,
      baseline, duringImport, p99Ratio: round(duringImport.p99Ms / baseline.p99Ms, 2),
    };
  } finally {
    await relay.stop();
  }
}
