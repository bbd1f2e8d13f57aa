// Planted bugs: hand-written mutations that StrykerJS cannot make (it does not
// mutate SQL text) or that once slipped through the suite. Each is applied to a
// throw-away copy of the project, the test files that should catch it run there,
// and the table says whether they did. `npm run mutate -- --planted` (or
// `node --import tsx test/mutation/planted.ts [name…]`).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

interface Planted {
  name: string;
  file: string;
  /** Exact text that must occur once in `file`. */
  from: string;
  to: string;
  tests: string[];
}

const ROOT = resolve(import.meta.dirname, '../..');
const INTAKE = ['test/intake-identity.test.ts', 'test/intake.test.ts'];
const CONTRACT = ['test/store/contract.test.ts'];

export const PLANTED: Planted[] = [
  {
    name: 'Status=OK counts as success whatever the Code',
    file: 'src/paygate/decode.ts',
    from: 'const outcome = outcomeOf(record.code);',
    to: "const outcome = record.status.toUpperCase() === 'OK' ? 'succeeded' : outcomeOf(record.code);",
    tests: ['test/paygate/oracle.test.ts', ...INTAKE],
  },
  {
    name: 'dedupe key without Status/Code',
    file: 'src/events/identity.ts',
    from: 'i.transId, i.status, i.code].join',
    to: 'i.transId].join',
    tests: INTAKE,
  },
  {
    name: 'dedupe key without merchantId',
    file: 'src/events/identity.ts',
    from: "['paygate', i.merchantId, i.payId,",
    to: "['paygate', i.payId,",
    tests: INTAKE,
  },
  {
    name: 'production jitter fixed at 0.5',
    file: 'src/delivery/dispatcher.ts',
    from: 'd.random ?? Math.random',
    to: 'd.random ?? (() => 0.5)',
    tests: ['test/delivery/jitter.test.ts'],
  },
  {
    name: 'injected random ignored (jitter drawn from Math.random)',
    file: 'src/delivery/dispatcher.ts',
    from: 'random: this.random(), now',
    to: 'random: Math.random(), now',
    tests: ['test/delivery/jitter.test.ts'],
  },
  {
    name: 'sqlite fail() without the lease-owner guard',
    file: 'src/store/sqlite-outbox.ts',
    from: "last_error = @error\n       WHERE id = @id AND lease_owner = @owner AND state = 'in_flight'",
    to: "last_error = @error\n       WHERE id = @id AND (lease_owner = @owner OR 1) AND state = 'in_flight'",
    tests: CONTRACT,
  },
  {
    name: 'sqlite release() without the lease-owner guard',
    file: 'src/store/sqlite-outbox.ts',
    from: "WHERE id = ? AND lease_owner = ? AND state = 'in_flight'",
    to: "WHERE id = ? AND (lease_owner = ? OR 1) AND state = 'in_flight'",
    tests: CONTRACT,
  },
  {
    name: 'sqlite complete() without the lease-owner guard',
    file: 'src/store/sqlite-outbox.ts',
    from: "last_error = NULL\n       WHERE id = @id AND lease_owner = @owner AND state = 'in_flight'",
    to: "last_error = NULL\n       WHERE id = @id AND (lease_owner = @owner OR 1) AND state = 'in_flight'",
    tests: CONTRACT,
  },
  {
    name: 'postgres fail() without the lease-owner guard',
    file: 'src/store/postgres-outbox.ts',
    from: 'WHERE id = $14 AND lease_owner = $9',
    to: 'WHERE id = $14 AND (lease_owner = $9 OR true)',
    tests: CONTRACT,
  },
  {
    name: 'postgres release() without the lease-owner guard',
    file: 'src/store/postgres-outbox.ts',
    from: 'WHERE id = $2 AND lease_owner = $3',
    to: 'WHERE id = $2 AND (lease_owner = $3 OR true)',
    tests: CONTRACT,
  },
  {
    name: 'postgres complete() without the lease-owner guard',
    file: 'src/store/postgres-outbox.ts',
    from: 'WHERE id = $11 AND lease_owner = $9',
    to: 'WHERE id = $11 AND (lease_owner = $9 OR true)',
    tests: CONTRACT,
  },
  {
    name: 'an expired lease is never taken over (sqlite)',
    file: 'src/store/sqlite-outbox.ts',
    from: "d.state = 'in_flight' AND d.lease_expires_at < @now",
    to: "d.state = 'in_flight' AND d.lease_expires_at < 0",
    tests: CONTRACT,
  },
  {
    name: 'an expired lease is never taken over (postgres)',
    file: 'src/store/postgres-outbox.ts',
    from: "(d.state = 'in_flight' AND d.lease_expires_at < $2)",
    to: "(d.state = 'in_flight' AND d.lease_expires_at < 0)",
    tests: CONTRACT,
  },
  {
    name: '410 shows the endpoint disabled before its reason is stored',
    file: 'src/delivery/dispatcher.ts',
    from: 'lane.disabling = true;',
    to: 'lane.disabling = true;\n    lane.disabled = true;',
    tests: ['test/delivery/dispatcher.test.ts'],
  },
];

function runFile(dir: string, file: string): { failed: boolean; ms: number } {
  const started = Date.now();
  // As a plain node script tap's default is 30 s per file; the suite allows 120 s (package.json).
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/helpers/tsx-workers.mjs', file], { cwd: dir, encoding: 'utf8', timeout: 180_000, env: { TAP_TIMEOUT: '120', ...process.env } });
  return { failed: r.status !== 0, ms: Date.now() - started };
}

function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgr-planted-'));
  for (const p of ['src', 'test', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function main(): void {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  // --all: run every listed test file, not just up to the first that catches the bug.
  const all = process.argv.includes('--all');
  const chosen = only.length ? PLANTED.filter((p) => only.some((o) => p.name.includes(o))) : PLANTED;
  const rows: string[] = ['| planted bug | where | caught by |', '|---|---|---|'];
  let missed = 0;
  // The listed tests must pass on the unmodified copy, or a "caught" would mean nothing.
  const clean = sandbox();
  try {
    for (const f of new Set(chosen.flatMap((p) => p.tests))) {
      if (runFile(clean, f).failed) throw new Error(`${f} fails without any planted bug: fix it first`);
    }
  } finally {
    rmSync(clean, { recursive: true, force: true });
  }
  for (const p of chosen) {
    const dir = sandbox();
    try {
      const path = join(dir, p.file);
      const text = readFileSync(path, 'utf8');
      const count = text.split(p.from).length - 1;
      if (count !== 1) throw new Error(`${p.name}: expected the text once in ${p.file}, found ${count} times (the source changed; update the table)`);
      writeFileSync(path, text.replace(p.from, p.to));
      const caughtBy: string[] = [];
      for (const f of p.tests) {
        const r = runFile(dir, f);
        process.stderr.write(`${p.name}: ${f} ${r.failed ? 'FAILED (caught)' : 'passed'} in ${r.ms} ms\n`);
        if (r.failed) caughtBy.push(f);
        if (r.failed && !all) break;
      }
      if (!caughtBy.length) missed++;
      rows.push(`| ${p.name} | \`${p.file}\` | ${caughtBy.length ? caughtBy.map((f) => `\`${f}\``).join(', ') : '**not caught**'} |`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${rows.join('\n')}\n\n${chosen.length - missed} of ${chosen.length} caught\n`);
  process.exitCode = missed ? 1 : 0;
}

main();
