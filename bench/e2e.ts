// End-to-end benchmark on its own (scenario 3 of `npm run bench`): callbacks at
// fixed rates into a relay child (SQLite, synchronous=FULL), delivered to a bare
// receiver child on loopback. Latency = event receivedAt → receiver handler.
// Usage: node --import tsx bench/e2e.ts [rate ...] [--seconds N]   (BENCH_PROF=dir adds --cpu-prof)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BodyPool, prepareRelay } from './lib/harness.js';
import { e2eScenario } from './scenarios/e2e.js';

const args = process.argv.slice(2);
const secIdx = args.indexOf('--seconds');
const seconds = secIdx >= 0 ? Number(args[secIdx + 1]) : 10;
const rates = args.filter((a, i) => !a.startsWith('--') && i !== secIdx + 1).map(Number);
if (rates.length === 0) rates.push(200, 500, 1000);

const workDir = mkdtempSync(join(tmpdir(), 'pgr-bench-'));
const profDir = process.env.BENCH_PROF;
const relay = prepareRelay('auto');
if (profDir) mkdirSync(profDir, { recursive: true });
try {
  const result = await e2eScenario(
    {
      workDir, relay, ...(profDir ? { profDir } : {}), connections: 50, warmupSeconds: 1, intakeSeconds: seconds,
      e2eSeconds: seconds, rateLoad: 'paced', rates, pgUrl: '', log: (l) => console.log(l),
    },
    new BodyPool('B'),
  );
  console.table(result.rows.map(({ samples: _s, ...row }) => row));
} finally {
  relay.dispose();
  rmSync(workDir, { recursive: true, force: true });
}
