// `npm run mutate [-- group…]`: StrykerJS, one run per group of
// test/mutation/stryker.config.mjs, then the score per module.
// `npm run mutate -- --planted [name…]`: the planted SQL and wiring bugs (planted.ts).
// `npm run mutate -- --summary`: the per-module table from the reports of earlier runs;
// `--survivors`: every surviving mutant in those reports, with the line it changes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const { GROUPS: GROUP_MAP } = (await import('./stryker.config.mjs')) as { GROUPS: Record<string, unknown> };
const GROUPS = Object.keys(GROUP_MAP);

interface Mutant {
  status: string;
  mutatorName: string;
  replacement: string;
  location: { start: { line: number; column: number } };
}
interface Report {
  files: Record<string, { mutants: Mutant[] }>;
}

export interface Score {
  file: string;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  errors: number;
  /** Detected (killed or timed out) per valid mutant, in percent. */
  score: number;
}

export function scores(report: Report): Score[] {
  return Object.entries(report.files).map(([file, { mutants }]) => {
    const n = (s: string) => mutants.filter((m) => m.status === s).length;
    const s = { file, killed: n('Killed'), timeout: n('Timeout'), survived: n('Survived'), noCoverage: n('NoCoverage'), errors: n('CompileError') + n('RuntimeError') };
    const valid = s.killed + s.timeout + s.survived + s.noCoverage;
    return { ...s, score: valid ? (100 * (s.killed + s.timeout)) / valid : 100 };
  });
}

function table(rows: Score[]): string {
  const out = ['| module | killed | timeout | survived | no coverage | errors | score |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) out.push(`| \`${r.file}\` | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.errors} | ${r.score.toFixed(1)} % |`);
  return out.join('\n');
}

function main(): number {
  const args = process.argv.slice(2);
  if (args.includes('--planted')) {
    return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/mutation/planted.ts'), ...args.filter((a) => a !== '--planted')], { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
  }
  if (args.includes('--survivors')) {
    // Each surviving mutant with the line it changes, to kill it or to explain it.
    const out: string[] = [];
    for (const g of GROUPS) {
      const f = join(ROOT, `reports/mutation/${g}.json`);
      if (!existsSync(f)) continue;
      for (const [file, { mutants }] of Object.entries((JSON.parse(readFileSync(f, 'utf8')) as Report).files)) {
        const src = readFileSync(join(ROOT, file), 'utf8').split('\n');
        for (const m of mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
          const { line, column } = m.location.start;
          out.push(`${file}:${line}:${column} ${m.mutatorName} → ${m.replacement.replace(/\s+/g, ' ').slice(0, 80)}\n    ${src[line - 1]?.trim()}`);
        }
      }
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  }
  if (args.includes('--summary')) {
    // The table from the reports already there (after runs of single groups).
    const rows = GROUPS.map((g) => join(ROOT, `reports/mutation/${g}.json`)).filter(existsSync)
      .flatMap((f) => scores(JSON.parse(readFileSync(f, 'utf8')) as Report));
    process.stdout.write(`${table(rows)}\n`);
    return 0;
  }
  const chosen = args.length ? args : GROUPS;
  const unknown = chosen.filter((g) => !GROUPS.includes(g));
  if (unknown.length) {
    process.stderr.write(`unknown group ${unknown.join(', ')} (one of ${GROUPS.join(', ')}, or --planted, --summary, --survivors)\n`);
    return 2;
  }
  const rows: Score[] = [];
  let failed = 0;
  for (const group of chosen) {
    const started = Date.now();
    const r = spawnSync(join(ROOT, 'node_modules/.bin/stryker'), ['run', 'test/mutation/stryker.config.mjs'], {
      // Test files run as plain node scripts, where tap's own default (30 s per file) applies: use
      // the suite's 120 s, or a loaded box turns slow runs into false kills.
      cwd: ROOT, stdio: 'inherit', env: { TAP_TIMEOUT: '120', ...process.env, MUTATE_GROUP: group },
    });
    const file = join(ROOT, `reports/mutation/${group}.json`);
    if (r.status !== 0 || !existsSync(file)) {
      process.stderr.write(`mutate: group ${group} failed (exit ${r.status})\n`);
      failed++;
      continue;
    }
    const s = scores(JSON.parse(readFileSync(file, 'utf8')) as Report);
    rows.push(...s);
    process.stdout.write(`\n${group}: ${Math.round((Date.now() - started) / 1000)} s\n${table(s)}\n`);
  }
  const summary = table(rows);
  mkdirSync(join(ROOT, 'reports/mutation'), { recursive: true });
  writeFileSync(join(ROOT, 'reports/mutation/summary.md'), `${summary}\n`);
  process.stdout.write(`\nAll groups (reports/mutation/summary.md, HTML per group beside it):\n${summary}\n`);
  return failed ? 1 : 0;
}

process.exitCode = main();
