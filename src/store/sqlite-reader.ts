// The embedded store's reader thread (see reader-thread.ts): its own read-only
// connection, one statement per message, rows back.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BUSY_TIMEOUT_MS } from './sqlite-open.js';
import { SqliteStatements } from './sqlite-statements.js';
import type { ReadRequest, ReadResponse } from './reader-thread.js';
import type { Row } from './rows.js';
import { toThreadError } from './thread-error.js';

const port = parentPort!;
const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
const sql = new SqliteStatements(db);

port.on('message', (msg: ReadRequest) => {
  let r: ReadResponse;
  try {
    r = { id: msg.id, rows: sql.st(msg.sql).all(...msg.params) as Row[] };
  } catch (err) {
    r = { id: msg.id, error: toThreadError(err) };
  }
  port.postMessage(r);
});
