// The export side around the pure core: accept() turns a stored Paygate event
// into records or rejects (called by the dispatcher through the `collectmaxx`
// local endpoint, so it inherits the outbox's retries and dead letters), and
// the flush loop cuts delivery files when planFlush says so.
//
// Writing a file: allocate (name + records, one commit, leased) → write
// `.<name>.tmp`, fsync, rename to `<name>`, fsync the directory → mark written.
// A crash after the allocation leaves a file row without `written_at`; the
// next pass (at start, or when the lease expires for another process) takes it
// over: if `<name>` is already in the outbox (or its sent/ after an upload) the
// rename happened and the file is complete, so it is only MARKED — never rewritten, because an uploader may
// already be reading it; otherwise it is WRITTEN again from the same records in
// the same order, which gives the same bytes.

import { constants } from 'node:fs';
import { CoalescedPass } from './coalesced-pass.js';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Hub } from '../observe.js';
import { planFlush } from './core/batch.js';
import type { ExportConfig } from './core/config.js';
import { writeDeliveryCsv } from './core/csv.js';
import { buildDeliveryRecord, matchingRules, type SourceEvent } from './core/record.js';
import type { AllocatedFile, CollectmaxxStore } from './store.js';
import { writeDeliveryXml } from './core/xml.js';

export const EXPORT_LEASE_MS = 60_000;

export interface ExporterDeps {
  readonly store: CollectmaxxStore;
  readonly config: ExportConfig;
  readonly hub: Hub;
  readonly logger: Logger;
  /** Lease owner: unique per process. */
  readonly owner: string;
  readonly clock: () => number;
}

/** The export day: the UTC calendar day of `now` (file names, DUEDATE checks, `{today}`). */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Write bytes so that `<dir>/<name>` appears complete or not at all, and survives a power cut. */
export async function writeAtomically(dir: string, name: string, bytes: Buffer): Promise<void> {
  const tmp = join(dir, `.${name}.tmp`);
  const fh = await open(tmp, 'w', 0o640);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  // The rename lives in the directory: without this fsync a crash could forget it.
  const d = await open(dir, constants.O_RDONLY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

export function deliveryBytes(file: AllocatedFile): Buffer {
  const records = file.records.map((r) => r.record);
  return file.format === 'xml' ? writeDeliveryXml(records) : writeDeliveryCsv(records);
}

export class Exporter {
  private timer: NodeJS.Timeout | null = null;
  private readonly loop = new CoalescedPass(
    () => this.pass(),
    (err) => {
      // Disk full, storage down: nothing is lost (records stay pending), try again shortly.
      this.d.logger.error({ err }, 'collectmaxx flush failed; retrying');
      this.arm(this.d.clock() + 5_000);
    },
  );
  private firstPass = true;

  constructor(private readonly d: ExporterDeps, private readonly opts: { takeOverOnStart: boolean }) {}

  /**
   * The local endpoint: every matching rule gives a pending record or a reject. Idempotent per
   * (event, rule) — the identifier is derived from both and unique in storage — so a redelivery
   * (retry, console, dead-letter bulk) never makes a second record. Throws only when storage fails,
   * which the dispatcher retries.
   */
  async accept(payload: string): Promise<void> {
    const event = JSON.parse(payload) as SourceEvent & { source?: string };
    // Only Paygate events are exported: our own collectmaxx result events never loop back.
    if (event.source !== 'paygate') return;
    const now = this.d.clock();
    const rules = this.d.config.rules;
    let queued = 0;
    for (const rule of matchingRules(event, rules)) {
      const ruleIndex = rules.indexOf(rule);
      const built = buildDeliveryRecord(event, rule, { today: utcDay(now), defaultCountryCode: this.d.config.defaultCountryCode });
      const base = { identifier: built.identifier, eventId: event.id, merchantId: event.merchantId, transId: event.data.transId, flowId: rule.flowId, ruleIndex };
      if (built.ok) {
        if (await this.d.store.addExport({ ...base, format: this.d.config.format, record: built.record, queuedAt: now })) {
          queued++;
          this.d.hub.emit('collectmaxx:record', { result: 'queued', reasons: [] });
        }
      } else if (await this.d.store.addReject({ ...base, reasons: built.reasons, record: built.record, createdAt: now })) {
        this.d.logger.warn(
          { eventId: event.id, flowId: rule.flowId, identifier: built.identifier, reasons: built.reasons.map((r) => `${r.field}:${r.code}`) },
          'collectmaxx record rejected',
        );
        this.d.hub.emit('collectmaxx:record', { result: 'rejected', reasons: built.reasons.map((r) => r.code) });
      }
    }
    if (queued > 0) this.wake();
  }

  async start(): Promise<void> {
    await mkdir(this.d.config.outboxDir, { recursive: true });
    this.loop.start();
  }

  /** Look at the pending records now (coalesced with a pass already running). */
  wake(): void {
    this.loop.wake();
  }

  /** Write what is due; returns when nothing more is due now. */
  private async pass(): Promise<void> {
    const { store, config, owner } = this.d;
    const takeAll = this.firstPass && this.opts.takeOverOnStart;
    this.firstPass = false;
    for (const file of await store.takeUnwritten(owner, this.d.clock(), EXPORT_LEASE_MS, takeAll)) await this.recover(file);
    for (;;) {
      if (!this.loop.active) return;
      const now = this.d.clock();
      const pending = await store.pendingSummary();
      const plan = planFlush({ count: pending.count, oldestQueuedAtMs: pending.oldestQueuedAt }, now, config.batch);
      if (plan.take === 0) {
        this.arm(plan.wakeAtMs);
        return;
      }
      const file = await store.allocateFile({
        day: utcDay(now), clientNumber: config.clientNumber, format: config.format, limit: plan.take, owner, now, leaseMs: EXPORT_LEASE_MS,
      });
      if (!file) continue; // another process took them
      await this.write(file);
    }
  }

  private async write(file: AllocatedFile): Promise<void> {
    await writeAtomically(this.d.config.outboxDir, file.name, deliveryBytes(file));
    await this.finish(file);
  }

  private async recover(file: AllocatedFile): Promise<void> {
    // Also in sent/: the SFTP uploader may have taken it between the rename and the crash.
    const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);
    const dir = this.d.config.outboxDir;
    const exists = (await isFile(join(dir, file.name))) || (await isFile(join(dir, 'sent', file.name)));
    this.d.logger.warn({ file: file.name, records: file.records.length, onDisk: exists }, 'collectmaxx file allocated before a stop: completing it');
    if (exists) await this.finish(file);
    else await this.write(file);
  }

  private async finish(file: AllocatedFile): Promise<void> {
    if (await this.d.store.markWritten(file.name, this.d.owner, this.d.clock())) {
      this.d.logger.info({ file: file.name, records: file.records.length }, 'collectmaxx delivery file written');
      this.d.hub.emit('collectmaxx:file', { name: file.name, records: file.records.length });
    }
  }

  private arm(at: number | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.loop.active) return;
    // Look again at least every minute even when idle: records or files left by another process (PostgreSQL) whose lease expired.
    const delay = at === null ? 60_000 : Math.min(Math.max(0, at - this.d.clock()), 60_000);
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    const stopping = this.loop.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await stopping;
  }
}
