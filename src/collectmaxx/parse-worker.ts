// The worker thread of an import (parse-off-loop.ts starts one per file): hashes,
// parses and prepares the file (prepare.ts) so the relay's event loop keeps taking
// callbacks meanwhile. Answers: the hash first (a file imported before is not parsed
// at all), then the outcome, then the prepared drafts a chunk at a time, as asked.
import { parentPort, workerData } from 'node:worker_threads';
import { prepareFile, sha256Of, type PreparedDraft } from './prepare.js';

export interface ParseJob {
  name: string;
  content: Uint8Array;
  now: number;
  chunk: number;
}

export type ParseMessage =
  | { kind: 'hash'; sha256: string }
  | { kind: 'failed'; line: number; column: number; reason: string; message: string }
  | { kind: 'parsed'; fileKind: 'daily' | 'monthly' | 'paylink'; rows: number; drafts: number; unique: number }
  | { kind: 'items'; items: PreparedDraft[] }
  | { kind: 'end' }
  | { kind: 'error'; message: string };

const port = parentPort!;
const job = workerData as ParseJob;
const post = (m: ParseMessage) => port.postMessage(m);
let items: PreparedDraft[] | null = null;
let sent = 0;
// `go`: parse (after the hash, unless the main thread ended this worker: imported before).
// `more`: the next chunk. One chunk per request: messages waiting on a port are all taken in one
// turn of the receiving event loop, so sending every chunk at once would stall it after all.
// The worker lives until the main thread ends it, so no answer is lost to an early exit.
port.on('message', (m: 'go' | 'more') => {
  try {
    if (m === 'go' && items === null) {
      const content = Buffer.from(job.content.buffer, job.content.byteOffset, job.content.byteLength);
      const r = prepareFile(job.name, content, job.now);
      if (r.status === 'failed') {
        post({ kind: 'failed', line: r.line, column: r.column, reason: r.reason, message: r.message });
        return;
      }
      items = r.items;
      post({ kind: 'parsed', fileKind: r.kind, rows: r.rows, drafts: r.drafts, unique: r.items.length });
    } else if (m === 'more' && items !== null) {
      if (sent >= items.length) return post({ kind: 'end' });
      post({ kind: 'items', items: items.slice(sent, sent + job.chunk) });
      sent += job.chunk;
    }
  } catch (err) {
    post({ kind: 'error', message: (err as Error).message });
  }
});
post({ kind: 'hash', sha256: sha256Of(job.content) });
