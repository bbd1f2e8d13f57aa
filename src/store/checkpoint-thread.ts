// The embedded store's checkpointer thread, seen from the caller. A checkpoint
// copies the pages committed to the WAL into the database file and fsyncs the
// file. SQLite runs it on the connection that commits (autocheckpoint: every
// 1000 WAL pages), i.e. on the writer thread, and every write queued behind it
// (intake, claims, completions) waited: at 1000 callbacks/s that was several
// times a second, longer the bigger and colder the file. Here a thread of its
// own copies the WAL every CHECKPOINT_EVERY_MS while the writer goes on
// committing (PASSIVE: it never blocks a writer or a reader).
// The WAL starts over only when a write begins with every page of it copied;
// under steady load the writer has committed again before a copy ends, so the
// writer keeps SQLite's autocheckpoint at a higher mark
// (WRITER_AUTOCHECKPOINT_PAGES): there it copies what is left (what came in
// since this thread's last turn) and the WAL starts over. That mark is also
// the WAL's bound when this thread is gone. What runs there: sqlite-checkpoint.ts.
import { Worker } from 'node:worker_threads';

export const CHECKPOINT_EVERY_MS = 100;

/** The writer's own autocheckpoint mark, in pages of WAL since it last started over (32 MiB of 4 KiB pages). */
export const WRITER_AUTOCHECKPOINT_PAGES = 8192;

export interface CheckpointData {
  file: string;
  everyMs: number;
}

export class CheckpointThread {
  private worker: Worker | null = null;
  private closed = false;
  private restart: NodeJS.Timeout | null = null;
  /** Told when the thread died; it is started again a second later (the writer checkpoints meanwhile). */
  onCrash: ((err: Error) => void) | null = null;

  constructor(private readonly file: string, private readonly everyMs = CHECKPOINT_EVERY_MS) {}

  start(): void {
    if (this.worker || this.closed) return;
    const w = new Worker(new URL('./sqlite-checkpoint.js', import.meta.url), { workerData: { file: this.file, everyMs: this.everyMs } satisfies CheckpointData });
    this.worker = w;
    let error: Error | null = null;
    w.on('error', (err) => (error = err));
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      this.worker = null;
      if (this.closed) return;
      this.onCrash?.(error ?? new Error(`sqlite checkpointer thread exited (${code})`));
      this.restart = setTimeout(() => {
        this.restart = null;
        this.start();
      }, 1000);
      this.restart.unref();
    });
    // It never keeps the process alive on its own.
    w.unref();
  }

  /** Stop after the checkpoint under way; the thread closes its connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.restart) clearTimeout(this.restart);
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    const exited = new Promise((r) => w.once('exit', r));
    // Closing is awaited: it keeps the process alive until the thread has closed its connection.
    w.ref();
    w.postMessage('close');
    await exited;
  }
}
