// A relay as a real process: `node dist/cli.js serve --config FILE` on a free port,
// for the tests that kill it (SIGKILL mid-work, SIGTERM drains, worker processes).
// Needs a build (dist/cli.js): `npm test` runs `npm run build` before tap.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../delivery/_lib.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// PAYGATE_RELAY_CLI: run another build of the CLI (e.g. a patched copy) against these tests.
export const CLI = process.env.PAYGATE_RELAY_CLI ?? join(ROOT, 'dist/cli.js');

type Tap = { teardown(fn: () => Promise<void> | void): void };

export interface ChildRelay {
  proc: ChildProcess;
  url: string;
  /** Its log lines so far (the last 2000). */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Fail the test file at once when there is no build to run. */
export function requireBuild(fail: (message: string) => void): void {
  if (existsSync(CLI)) return;
  fail(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  process.exit(1);
}

/** The pids of a process's children (a cluster's workers), from /proc. */
export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Start the relay on a free port (PORT overrides listen.port) and wait until /readyz answers 200. */
export async function serveChild(t: Tap, configFile: string, readyWithinMs = 60_000): Promise<ChildRelay> {
  const port = await freePort();
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', configFile], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let partial = '';
  const keep = (b: Buffer) => {
    const lines = (partial + b.toString('utf8')).split('\n');
    partial = lines.pop()!;
    output.push(...lines.filter(Boolean));
    if (output.length > 2000) output.splice(0, output.length - 2000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const workers = children(proc.pid!);
      proc.kill('SIGKILL');
      for (const c of workers) {
        try {
          process.kill(c, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    }
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`relay exited during start-up:\n${output.slice(-20).join('\n')}`);
    const r = await fetch(`${url}/readyz`).catch(() => null);
    await r?.arrayBuffer();
    if (r?.status === 200) return { proc, url, output, exited };
    if (Date.now() > deadline) throw new Error(`relay on ${port} not ready within ${readyWithinMs} ms:\n${output.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
