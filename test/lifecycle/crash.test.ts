// Retention against SIGKILL, with the real CLI in a child process: a sweep killed
// between archiving and deleting, and again in the middle of its deletes, then a
// restart. Every purged row must be in the archive exactly once, and the archive
// must hold nothing that was not purged. `archive read` prints what zlib reads.
// Needs a build (dist/cli.js): `npm test` runs `npm run build` before tap.
import t from 'tap';
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { SqliteStore } from '../../src/store/sqlite.js';
import { freePort, until } from '../delivery/_lib.js';
import { baseConfig, tmpDir } from '../helpers/relay.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
if (!existsSync(CLI)) {
  t.fail(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  process.exit(1);
}

const EVENTS = 3000;

/** Old delivered events as an earlier relay left them: each with a delivery, an attempt and its callback. */
async function seed(file: string): Promise<string[]> {
  const store = new SqliteStore(file);
  await store.migrate();
  await store.close();
  const db = new Database(file);
  const old = Date.now() - 3_600_000;
  const keys: string[] = [];
  db.transaction(() => {
    const ev = db.prepare(`INSERT INTO events (id, dedupe_key, type, source, merchant_id, trans_id, received_at, callback_id, payload) VALUES (?, ?, 'payment.succeeded', 'paygate', 'ShopTest', ?, ?, ?, ?)`);
    const dl = db.prepare(`INSERT INTO deliveries (event_seq, event_id, endpoint_id, state, attempts, next_attempt_at, created_at, updated_at, completed_at, last_status) VALUES (?, ?, 'erp', 'succeeded', 1, ?, ?, ?, ?, 200)`);
    const at = db.prepare(`INSERT INTO attempts (delivery_id, event_id, endpoint_id, started_at, duration_ms, status_code) VALUES (?, ?, 'erp', ?, 12, 200)`);
    const cb = db.prepare(`INSERT INTO callbacks (id, received_at, channel, method, path, headers, body, merchant_id, state, event_id) VALUES (?, ?, 'notify', 'POST', '/paygate/notify/OC', '{}', ?, 'ShopTest', 'accepted', ?)`);
    for (let i = 0; i < EVENTS; i++) {
      const id = `evt_${String(i).padStart(6, '0')}`;
      const cbId = `cb_${String(i).padStart(6, '0')}`;
      const when = old + i;
      const seq = ev.run(id, `k${i}`, `T${i}`, when, cbId, JSON.stringify({ id, n: i })).lastInsertRowid;
      const d = dl.run(seq, id, when, when, when, when).lastInsertRowid;
      const a = at.run(d, id, when).lastInsertRowid;
      cb.run(cbId, when, Buffer.from(`MerchantID=ShopTest&Len=1&Data=${i.toString(16)}`), id);
      keys.push(`events:${id}`, `deliveries:${d}`, `attempts:${a}`, `callbacks:${cbId}`);
    }
  })();
  db.close();
  return keys.sort();
}

function archiveLines(dir: string): { table: string; id: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith('.jsonl.gz'))
    .flatMap((n) => gunzipSync(readFileSync(join(dir, n))).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { table: string; id: string }));
}

function count(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return Number(db.prepare('SELECT (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM callbacks)').pluck().get());
  } finally {
    db.close();
  }
}

/** Archived events and callbacks that are still in the database (archived, not yet deleted). */
function stillStored(file: string, lines: { table: string; id: string }[]): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const ev = db.prepare('SELECT 1 FROM events WHERE id = ?').pluck();
    const cb = db.prepare('SELECT 1 FROM callbacks WHERE id = ?').pluck();
    return lines.filter((l) => (l.table === 'events' ? ev.get(l.id) : l.table === 'callbacks' ? cb.get(l.id) : undefined) !== undefined).length;
  } finally {
    db.close();
  }
}

async function serve(t: Tap, configFile: string) {
  const port = await freePort();
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { cwd: ROOT, env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  proc.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
  proc.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  return { proc, exited, output };
}
type Tap = { teardown(fn: () => Promise<void> | void): void };

/** Poll tightly (not through timers): the window between an archive write and the last delete is short. */
async function whenever(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setImmediate(r));
  }
  return false;
}

t.test('SIGKILL during sweeps, then a restart: every purged row archived exactly once, nothing else', async (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'relay.db');
  const archiveDir = join(dir, 'archive');
  const seeded = await seed(file);
  const config = join(dir, 'relay.json');
  writeFileSync(config, JSON.stringify(baseConfig(dir, {
    retention: { delivered: '1s', callbacks: '1s', quarantine: '1s', deadLetters: '1s', sweepEvery: '1s', archiveDir },
    log: { level: 'warn' },
  })));

  // 1: killed as soon as the first archive file is there (its rows are not all deleted yet).
  const first = await serve(t, config);
  t.ok(await whenever(() => existsSync(archiveDir) && readdirSync(archiveDir).some((n) => n.endsWith('.jsonl.gz')), 15_000), 'the sweep archived');
  first.proc.kill('SIGKILL');
  await first.exited;
  const left1 = count(file);
  const both = stillStored(file, archiveLines(archiveDir));
  t.comment(`after the first kill: ${left1} of ${2 * EVENTS} events and callbacks left, ${archiveLines(archiveDir).length} rows archived, ${both} of them still stored`);
  t.ok(both > 0, 'killed between archiving and deleting: archived rows are still stored');

  // 2: killed in the middle of the deletes.
  const second = await serve(t, config);
  await whenever(() => count(file) < left1 - 200, 15_000);
  second.proc.kill('SIGKILL');
  await second.exited;
  t.comment(`after the second kill: ${count(file)} left`);

  // 3: left to finish.
  const third = await serve(t, config);
  await until('everything purged', () => count(file) === 0, 20_000);
  third.proc.kill('SIGTERM');
  await third.exited;

  const lines = archiveLines(archiveDir);
  const keys = lines.map((l) => `${l.table}:${l.id}`).sort();
  t.equal(new Set(keys).size, keys.length, 'no row archived twice');
  t.same(keys, seeded, 'every purged row is in the archive, and nothing else');

  // `archive read` prints what zlib reads, line for line.
  const name = readdirSync(archiveDir).find((n) => n.startsWith('delivered-'))!;
  const r = spawnSync(process.execPath, [CLI, 'archive', 'read', join(archiveDir, name)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  t.equal(r.status, 0);
  const printed = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
  const direct = gunzipSync(readFileSync(join(archiveDir, name))).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
  t.same(printed, direct, 'archive read prints the file\'s lines');
  const missing = spawnSync(process.execPath, [CLI, 'archive', 'read', join(dir, 'nope.jsonl.gz')], { encoding: 'utf8' });
  t.equal(missing.status, 1);
  t.match(missing.stderr, /^paygate-relay: archive read .*nope\.jsonl\.gz: ENOENT/);
  t.notMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  t.equal(spawnSync(process.execPath, [CLI, 'archive'], { encoding: 'utf8' }).status, 2, 'without read FILE: a usage error');
});
