// PostgreSQL for tests: the real server on 127.0.0.1:5432 (trust auth, user
// postgres), a fresh schema per test, and a cross-process lock so the test that
// restarts PostgreSQL never does it under another test file's feet (tap runs
// files in parallel).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_BASE = process.env.PAYGATE_RELAY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const START_HINT = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start (CI must have it running before the tests)";

type Teardown = { teardown(fn: () => Promise<void> | void): void };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function pgUrl(schema: string): string {
  return `${PG_BASE}${PG_BASE.includes('?') ? '&' : '?'}schema=${schema}`;
}

/** Run SQL on a short-lived connection (no schema). */
export async function adminQuery(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Fail (never skip) with a clear message when PostgreSQL does not answer. */
async function checkPostgres(): Promise<void> {
  try {
    await adminQuery('SELECT 1');
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${PG_BASE} (${(err as Error).message}); these tests need it: ${START_HINT}`);
  }
}

/**
 * Fail (never skip) with a clear message when PostgreSQL is not there. Waits
 * first while another test file restarts it, so a check never lands in that
 * window. For a file's start; a test that uses PostgreSQL calls sharePostgres.
 */
export async function requirePostgres(): Promise<void> {
  for (const end = Date.now() + 180_000; ; await sleep(200)) {
    const holder = restartHolder();
    if (holder === null || holder === process.pid || Date.now() > end) break;
  }
  await checkPostgres();
}

/** A new schema name (created by the store's migrate), dropped when the test ends. */
export function freshSchema(t: Teardown, prefix: string): string {
  const name = `t_${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  t.teardown(async () => {
    for (let i = 0; i < 20; i++) {
      try {
        await adminQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
        return;
      } catch {
        await sleep(500); // PostgreSQL may be restarting
      }
    }
  });
  return name;
}

// ---- restart coordination: files in one directory, pids checked for liveness.

const LOCK_DIR = join(tmpdir(), 'paygate-relay-pg-tests');
const RESTART = join(LOCK_DIR, 'restart');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function restartHolder(): number | null {
  try {
    const pid = Number(readFileSync(join(RESTART, 'pid'), 'utf8'));
    return pid > 0 && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Declare that this test uses PostgreSQL: waits while another file restarts it,
 * keeps a restart from starting until the test ends, and then checks that
 * PostgreSQL answers. Register first, then check, so a restarter that took the
 * lock meanwhile sees us.
 */
export async function sharePostgres(t: Teardown): Promise<void> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const me = join(LOCK_DIR, `user-${process.pid}-${randomBytes(4).toString('hex')}`);
  for (const end = Date.now() + 120_000; ; ) {
    writeFileSync(me, String(process.pid));
    const holder = restartHolder();
    if (holder === null || holder === process.pid) break;
    rmSync(me, { force: true });
    if (Date.now() > end) throw new Error('waited 120 s for another test file that restarts PostgreSQL');
    await sleep(200);
  }
  t.teardown(() => rmSync(me, { force: true }));
  // Registered, so no restart can begin now (a restarter that takes the lock from here on
  // waits for us to finish): PostgreSQL must answer. Waiting on that restarter here would
  // wait for a test that waits for us.
  await checkPostgres();
}

/** Take the restart lock and wait until no other process's test uses PostgreSQL. Returns the release. */
export async function exclusivePostgres(timeoutMs = 60_000): Promise<() => void> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(RESTART);
      writeFileSync(join(RESTART, 'pid'), String(process.pid));
      break;
    } catch {
      // Held: by a live process wait, else (or the pid file not written yet for long) clear the stale lock.
      if (restartHolder() === null) {
        await sleep(300);
        if (restartHolder() === null) rmSync(RESTART, { recursive: true, force: true });
      }
      if (Date.now() > end) throw new Error('could not take the PostgreSQL restart lock');
      await sleep(200);
    }
  }
  const release = () => rmSync(RESTART, { recursive: true, force: true });
  for (;;) {
    const others = readdirSync(LOCK_DIR)
      .filter((f) => f.startsWith('user-'))
      .map((f) => Number(f.split('-')[1]))
      .filter((pid) => pid !== process.pid && alive(pid));
    if (others.length === 0) return release;
    if (Date.now() > end) {
      release();
      throw new Error(`other test processes (${others.join(', ')}) kept using PostgreSQL for ${timeoutMs} ms`);
    }
    await sleep(200);
  }
}
