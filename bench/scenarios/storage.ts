// Scenario 2, storage ceiling: raw better-sqlite3, one row per transaction,
// WAL + synchronous=FULL (the relay's pragmas), in the directory the relay's
// databases use. Each commit waits for its own fsync, so commits/s is what a
// relay that commits every callback alone could ever reach; the relay's
// durable callbacks/s divided by it shows what group commit buys.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { round, type BenchContext } from '../lib/harness.js';

export interface StorageResult {
  dir: string;
  seconds: number;
  commits: number;
  commitsPerSec: number;
  meanCommitMs: number;
}

export function storageScenario(ctx: BenchContext, body: Buffer, seconds = 3): StorageResult {
  ctx.log(`storage: raw better-sqlite3 single-row commits for ${seconds} s in ${ctx.workDir}`);
  const db = new Database(join(ctx.workDir, 'raw-commits.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, trans_id TEXT NOT NULL UNIQUE, body BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO t (trans_id, body) VALUES (?, ?)');
    for (let i = 0; i < 20; i++) insert.run(`warm${i}`, body);
    let n = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    // Autocommit: every run() is its own transaction and its own fsync.
    while (performance.now() < end) insert.run(`T${n++}`, body);
    const ms = performance.now() - start;
    return { dir: ctx.workDir, seconds: round(ms / 1000, 2), commits: n, commitsPerSec: round((n / ms) * 1000, 0), meanCommitMs: round(ms / n, 3) };
  } finally {
    db.close();
  }
}
