// Result files are parsed on a worker thread (parse-worker.ts): a 16 MiB file takes
// seconds of CPU, which on the event loop would hold up every Paygate callback the
// relay takes meanwhile. The importer asks for the prepared drafts one chunk at a
// time and stores each before it asks for the next, between callbacks.

import { Worker } from 'node:worker_threads';
import type { ParseJob, ParseMessage } from './parse-worker.js';
import type { PreparedDraft } from './prepare.js';

/** Prepared drafts per message: small enough that taking one is a short turn of the event loop. */
const CHUNK = 250;

export type ParseOutcome =
  | { readonly status: 'failed'; readonly line: number; readonly column: number; readonly reason: string; readonly message: string }
  | {
    readonly status: 'parsed'; readonly kind: 'daily' | 'monthly' | 'paylink'; readonly rows: number; readonly drafts: number;
    /** The prepared drafts, chunk by chunk, as the worker sends them. */
    readonly chunks: AsyncIterable<PreparedDraft[]>;
  };

/** One file on its own worker thread: its hash first, then (if asked) its parse. */
export class FileParse {
  private readonly worker: Worker;
  private readonly queue: ParseMessage[] = [];
  private waiting: ((m: ParseMessage) => void) | null = null;
  private done = false;

  constructor(name: string, content: Buffer, now: number) {
    const job: ParseJob = { name, content, now, chunk: CHUNK };
    // The same line from dist/ and from sources (see store/writer-thread.ts).
    this.worker = new Worker(new URL('./parse-worker.js', import.meta.url), { workerData: job });
    this.worker.on('message', (m: ParseMessage) => this.deliver(m));
    this.worker.on('error', (err) => this.deliver({ kind: 'error', message: err.message }));
    this.worker.on('exit', (code) => this.deliver({ kind: 'error', message: `the parse worker exited (${code}) before it finished` }));
  }

  private deliver(m: ParseMessage): void {
    if (this.done) return;
    if (m.kind === 'end' || m.kind === 'error' || m.kind === 'failed') this.done = true;
    const w = this.waiting;
    this.waiting = null;
    if (w) w(m);
    else this.queue.push(m);
  }

  private next(): Promise<ParseMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.done) return Promise.resolve({ kind: 'error', message: 'the parse worker is gone' });
    return new Promise((r) => (this.waiting = r));
  }

  private async expect<K extends ParseMessage['kind']>(...kinds: K[]): Promise<Extract<ParseMessage, { kind: K }>> {
    const m = await this.next();
    if (m.kind === 'error') {
      await this.stop();
      throw new Error(`collectmaxx result file parse: ${m.message}`);
    }
    if (!(kinds as string[]).includes(m.kind)) throw new Error(`collectmaxx result file parse: unexpected ${m.kind}`);
    return m as Extract<ParseMessage, { kind: K }>;
  }

  /** The file's SHA-256 (computed on the worker). */
  async sha256(): Promise<string> {
    return (await this.expect('hash')).sha256;
  }

  /** Parse it (after sha256()). The chunks must be read to the end, or stop() called. */
  async parse(): Promise<ParseOutcome> {
    this.worker.postMessage('go');
    const m = await this.expect('failed', 'parsed');
    if (m.kind === 'failed') {
      void this.stop();
      return { status: 'failed', line: m.line, column: m.column, reason: m.reason, message: m.message };
    }
    const self = this;
    async function* chunks(): AsyncIterable<PreparedDraft[]> {
      try {
        for (;;) {
          self.worker.postMessage('more');
          const c = await self.expect('items', 'end');
          if (c.kind === 'end') return;
          yield c.items;
        }
      } finally {
        await self.stop();
      }
    }
    return { status: 'parsed', kind: m.fileKind, rows: m.rows, drafts: m.drafts, chunks: chunks() };
  }

  async stop(): Promise<void> {
    this.done = true;
    await this.worker.terminate();
  }
}
