// The watched inbox: result files dropped into `collectmaxx.import.inboxDir`
// are imported once and moved to `processed/` or `failed/` (the latter with
// `<name>.reason.txt`). fs.watch misses events on network and container
// filesystems, so a poll is the mechanism and the watch only makes it sooner.
// A file is taken only once its size and mtime held still between two looks,
// so a file still being copied in is not imported half-written; names that
// start with `.` or end in `.tmp`/`.part` are left alone.

import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Hub } from '../observe.js';
import { CoalescedPass } from './coalesced-pass.js';
import type { Importer } from './importer.js';

export interface InboxOptions {
  readonly dir: string;
  readonly importer: Importer;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly pollMs?: number;
  /** collectmaxx.maxResultFileBytes: a bigger file goes to failed/ unread. */
  readonly maxFileBytes: number;
  readonly hub: Hub;
}

const IGNORED = /^\.|\.(tmp|part|reason\.txt)$/i;

/** `dir/name`, or `dir/name.1`, `.2`, … when taken: a processed file is never overwritten. */
async function freeName(dir: string, name: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = join(dir, n === 0 ? name : `${name}.${n}`);
    const taken = await stat(candidate).then(() => true, () => false);
    if (!taken) return candidate;
  }
}

export class Inbox {
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private readonly loop = new CoalescedPass(
    () => this.scan(),
    (err) => this.o.logger.error({ err }, 'collectmaxx inbox scan failed'),
  );
  /** name → size:mtime at the previous look. */
  private readonly lastLook = new Map<string, string>();

  constructor(private readonly o: InboxOptions) {}

  async start(): Promise<void> {
    await Promise.all(['', 'processed', 'failed'].map((d) => mkdir(join(this.o.dir, d), { recursive: true })));
    try {
      this.watcher = watch(this.o.dir, () => this.wake());
      this.watcher.on('error', () => {});
    } catch {
      this.watcher = null; // the poll still runs
    }
    this.timer = setInterval(() => this.wake(), this.o.pollMs ?? 2000);
    this.timer.unref();
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  private async scan(): Promise<void> {
    const entries = await readdir(this.o.dir, { withFileTypes: true });
    const present = new Set<string>();
    for (const e of entries) {
      if (!this.loop.active) return;
      if (!e.isFile() || IGNORED.test(e.name)) continue;
      present.add(e.name);
      const path = join(this.o.dir, e.name);
      const s = await stat(path).catch(() => null);
      if (!s) continue;
      const look = `${s.size}:${s.mtimeMs}`;
      if (this.lastLook.get(e.name) !== look) {
        this.lastLook.set(e.name, look);
        // Look again soon rather than at the next poll.
        setTimeout(() => this.wake(), 250).unref();
        continue;
      }
      this.lastLook.delete(e.name);
      await this.take(e.name, path, s.size);
    }
    for (const name of this.lastLook.keys()) if (!present.has(name)) this.lastLook.delete(name);
  }

  private async fail(name: string, path: string, reason: string): Promise<void> {
    const target = await freeName(join(this.o.dir, 'failed'), name);
    await writeFile(`${target}.reason.txt`, `${reason}\n`);
    await rename(path, target);
  }

  private async take(name: string, path: string, size: number): Promise<void> {
    if (size > this.o.maxFileBytes) {
      const reason = `the file has ${size} bytes, over collectmaxx.maxResultFileBytes (${this.o.maxFileBytes}); nothing was imported (raise the cap, or import it with the CLI)`;
      this.o.logger.warn({ file: name, bytes: size, max: this.o.maxFileBytes }, 'collectmaxx result file over the size cap: moved to failed/ unread');
      this.o.hub.emit('collectmaxx:import', { name, result: 'failed', events: 0 });
      return this.fail(name, path, reason);
    }
    const content = await readFile(path);
    // An exception here (storage down) leaves the file in the inbox for the next scan.
    const outcome = await this.o.importer.importFile(name, content, this.o.clock());
    if (outcome.status === 'failed') return this.fail(name, path, outcome.message);
    await rename(path, await freeName(join(this.o.dir, 'processed'), name));
  }

  async stop(): Promise<void> {
    const stopping = this.loop.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
    await stopping;
  }
}
