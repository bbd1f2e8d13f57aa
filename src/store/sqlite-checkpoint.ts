// The embedded store's checkpointer thread (see checkpoint-thread.ts): its own
// connection, a PASSIVE checkpoint every `everyMs`.
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointData } from './checkpoint-thread.js';
import { openSqlite } from './sqlite-open.js';

const port = parentPort!;
const { file, everyMs } = workerData as CheckpointData;
const db = openSqlite(file);
// A checkpoint that finds another one under way (the writer's, an erasure's TRUNCATE) waits for the next turn.
db.pragma('busy_timeout = 0');

let timer: NodeJS.Timeout | null = null;

function turn(): void {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED') throw err;
  }
  timer = setTimeout(turn, everyMs);
}

port.on('message', (msg: unknown) => {
  if (msg !== 'close') return;
  if (timer) clearTimeout(timer);
  timer = null;
  db.close();
  port.close();
});

turn();
