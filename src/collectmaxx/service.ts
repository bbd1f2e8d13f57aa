// Collectmaxx wired into a relay: its store next to the relay's, the exporter
// behind an in-process outbox endpoint, the importer and the watched inbox.
// module.ts builds one when `collectmaxx` is configured; its routes, console
// page and CLI command reach the parts through it.

import { randomBytes } from 'node:crypto';
import { access, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_RETRY_SCHEDULE_MS, type Endpoint } from '../delivery/endpoints.js';
import type { FeatureContext, FeatureInstance } from '../feature.js';
import type { ErasureMatch } from '../store/extension.js';
import { COLLECTMAXX_ENDPOINT_ID, type CollectmaxxConfig, type ExportConfig } from './core/config.js';
import { deliveryBytes, Exporter, writeAtomically } from './exporter.js';
import { Importer } from './importer.js';
import { Inbox } from './inbox.js';
import { SftpSync, type SyncReport } from './sftp.js';
import type { CollectmaxxStore } from './store.js';


/**
 * The outbox endpoint that feeds the exporter: exactly the event types and merchants of the
 * export rules, unordered (records are independent), the default retry schedule.
 */
export function exporterEndpoint(config: ExportConfig, accept: (payload: string) => Promise<void>): Endpoint {
  const types = new Set<string>(config.rules.flatMap((r) => (Array.isArray(r.on) ? r.on : [r.on])));
  const everyMerchant = config.rules.some((r) => !r.merchants);
  return {
    id: COLLECTMAXX_ENDPOINT_ID,
    url: 'local:collectmaxx',
    secrets: [],
    timeoutMs: 30_000,
    ordering: 'none',
    enabledInConfig: true,
    concurrency: 4,
    retryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
    jitter: 0.2,
    disableAfterFailingMs: 5 * 24 * 3600_000,
    matchesType: (t) => types.has(t),
    merchants: everyMerchant ? null : new Set(config.rules.flatMap((r) => r.merchants ?? [])),
    local: ({ payload }) => accept(payload),
  };
}

export type CollectmaxxContext = FeatureContext<CollectmaxxConfig, CollectmaxxStore>;

export class Collectmaxx implements FeatureInstance {
  readonly store: CollectmaxxStore;
  readonly exporter: Exporter | null;
  readonly importer: Importer;
  /** collectmaxx.maxResultFileBytes: every channel refuses a bigger result file (the CLI warns). */
  readonly maxResultFileBytes: number;
  private inbox: Inbox | null = null;
  private sftp: SftpSync | null = null;
  private offFile: (() => void) | null = null;

  constructor(private readonly d: CollectmaxxContext) {
    this.store = d.storage;
    this.maxResultFileBytes = d.config.maxResultFileBytes;
    const logger = d.logger.child({ component: 'collectmaxx' });
    this.exporter = d.config.export
      ? new Exporter({ store: this.store, config: d.config.export, hub: d.hub, logger, owner: d.owner, clock: d.clock }, { takeOverOnStart: d.store.kind === 'sqlite' })
      : null;
    this.importer = new Importer({ cmx: this.store, publish: (e, now) => d.publish(e, now), hub: d.hub, logger });
  }

  /** The exporter's in-process endpoint, when exporting. */
  endpoints(): Endpoint[] {
    const exporter = this.exporter;
    return exporter && this.d.config.export ? [exporterEndpoint(this.d.config.export, (p) => exporter.accept(p))] : [];
  }

  /**
   * After erasure (its tables are done): the local copies of delivery files holding the subject's
   * records — still in the outbox or in its sent/ — are written again from the records as they are
   * now, with the person erased. Atomically, like a new file; what was uploaded is out of reach.
   */
  async erased(match: ErasureMatch): Promise<Record<string, number>> {
    const outboxDir = this.d.config.export?.outboxDir;
    let files = 0;
    if (outboxDir === undefined) return { collectmaxx_files: 0 };
    for (const file of await this.store.filesOf(match)) {
      const bytes = deliveryBytes(file);
      for (const dir of [outboxDir, join(outboxDir, 'sent')]) {
        const now = await readFile(join(dir, file.name)).catch(() => null);
        // Not here, or already as it should be (a repeat): nothing to write.
        if (now === null || now.equals(bytes)) continue;
        await writeAtomically(dir, file.name, bytes);
        files++;
      }
    }
    return { collectmaxx_files: files };
  }

  /** The flush loop and the inbox: only in the serving process (not in one-shot CLI commands). */
  async start(opts: { inboxPollMs?: number; sftpFirstRetryMs?: number } = {}): Promise<void> {
    await this.exporter?.start();
    if (this.d.config.import) {
      this.inbox = new Inbox({
        dir: this.d.config.import.inboxDir, importer: this.importer, logger: this.d.logger.child({ component: 'collectmaxx-inbox' }), clock: this.d.clock,
        pollMs: opts.inboxPollMs, maxFileBytes: this.maxResultFileBytes, hub: this.d.hub,
      });
      await this.inbox.start();
    }
    const { sftp, import: imp, export: exp } = this.d.config;
    if (sftp && imp) {
      const inboxDir = imp.inboxDir;
      this.sftp = new SftpSync({
        config: sftp,
        outboxDir: exp?.outboxDir ?? null,
        maxResultFileBytes: this.maxResultFileBytes,
        // Fetched once: imported or failed before, or still waiting in the inbox.
        isKnown: async (name) => (await this.store.hasImport(name)) || (await anyExists([join(inboxDir, name), join(inboxDir, 'processed', name), join(inboxDir, 'failed', name)])),
        // Into the inbox atomically, so the inbox never sees a half-written file.
        deliver: async (name, content) => {
          const tmp = join(inboxDir, `.${name}.${randomBytes(4).toString('hex')}.part`);
          await writeFile(tmp, content, { flush: true });
          await rename(tmp, join(inboxDir, name));
          this.inbox?.wake();
        },
        logger: this.d.logger.child({ component: 'collectmaxx-sftp' }),
        onCycle: (r: SyncReport) => this.d.hub.emit('collectmaxx:sftp', { uploaded: r.uploaded.length, downloaded: r.downloaded.length, error: r.error }),
        firstRetryMs: opts.sftpFirstRetryMs,
      });
      this.sftp.start();
      // A file the exporter just cut goes up without waiting for the poll.
      const sync = this.sftp;
      let queued = false;
      this.offFile = this.d.hub.on('collectmaxx:file', () => {
        if (queued) return;
        queued = true;
        setImmediate(() => {
          queued = false;
          void sync.runOnce();
        });
      });
    }
  }

  async stop(): Promise<void> {
    this.offFile?.();
    await this.sftp?.stop();
    await this.inbox?.stop();
    await this.exporter?.stop();
  }
}

async function anyExists(paths: string[]): Promise<boolean> {
  for (const p of paths) if (await access(p).then(() => true, () => false)) return true;
  return false;
}
