// The retention sweeper: every `retention.sweepEvery`, per class, the rows past
// their retention and held by nothing are archived (when `archiveDir` is set)
// and then deleted. See docs/lifecycle.md for the guarantees.
//
// Protocol of one chunk: scan (bounded steps, read only) → append to the day's
// archive file (durable: fsynced and renamed) → delete in small batches, each
// asking again whether its units are still due and unchanged. The next chunk's
// scan runs meanwhile; it only reads. A crash between
// the archive and the delete leaves the rows in the database and in the file;
// the next sweep finds them again and appendToArchive skips the keys the file
// already holds, so nothing is lost unarchived and nothing is archived twice.
import type { Logger } from 'pino';
import type { RetentionConfig } from '../config/schema.js';
import type { Hub } from '../observe.js';
import { RETENTION_CLASSES, unitSizes, type DueUnit, type RetentionClass, type RetentionStats, type ScanCursor } from '../store/retention.js';
import type { Store } from '../store/types.js';
import { appendToArchive, dayOf, listArchives, type ArchiveLine } from './archive.js';

/** What the last sweep did, for the console and the logs. */
export interface SweepReport {
  startedAt: number;
  finishedAt: number;
  /** False when another instance had the turn (PostgreSQL): nothing was purged here. */
  swept: boolean;
  purged: Record<RetentionClass, number>;
  archived: Record<RetentionClass, number>;
  /** Slowest delete batch, in milliseconds (how long one batch held the write lock, commit included). */
  slowestBatchMs: number;
  error: string | null;
}

export interface SweeperOptions {
  store: Store;
  config: RetentionConfig;
  /** archiveDir resolved to an absolute path, or null when the archive is off. */
  archiveDir: string | null;
  clock: () => number;
  logger: Logger;
  hub: Hub;
  /** Units per delete batch (one transaction each). */
  batch?: number;
  /** Units scanned before they are archived together (one file rewrite per day and class). */
  chunk?: number;
}

const zero = (): Record<RetentionClass, number> => ({ delivered: 0, callbacks: 0, quarantine: 0, deadLetters: 0 });

/** A row for the archive: as stored, bytes as base64. */
export function archiveLine(table: string, id: string, row: Record<string, unknown>): ArchiveLine {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'bigint' ? v.toString() : v;
  return { table, id, row: out };
}

/** The archive lines of units, grouped by the UTC day of each unit's time; the event loop gets a turn every `slice` units. */
export async function linesByDay(units: readonly DueUnit[], slice = 250): Promise<Map<string, ArchiveLine[]>> {
  const days = new Map<string, ArchiveLine[]>();
  for (const [i, u] of units.entries()) {
    if (i > 0 && i % slice === 0) await new Promise((r) => setImmediate(r));
    const day = dayOf(u.at);
    let list = days.get(day);
    if (!list) days.set(day, (list = []));
    for (const r of u.rows) list.push(archiveLine(r.table, r.id, r.row));
  }
  return days;
}

export class Sweeper {
  static readonly BATCH = 200;
  static readonly CHUNK = 2000;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepReport> | null = null;
  private stopping = false;
  last: SweepReport | null = null;
  stats: RetentionStats | null = null;
  statsAt: number | null = null;
  private readonly batch: number;
  private readonly chunk: number;

  constructor(private readonly o: SweeperOptions) {
    this.batch = o.batch ?? Sweeper.BATCH;
    this.chunk = o.chunk ?? Sweeper.CHUNK;
  }

  get config(): RetentionConfig {
    return this.o.config;
  }

  get archiveDir(): string | null {
    return this.o.archiveDir;
  }

  /** How soon after the start the first sweep runs: a relay restarted more often than sweepEvery must still sweep. */
  static readonly FIRST_SWEEP_MS = 60_000;

  /** Sweep every sweepEvery, the first one a minute after the start (or sooner); read the numbers now. */
  start(): void {
    this.stopping = false;
    void this.refreshStats();
    this.schedule(Math.min(this.o.config.sweepEvery, Sweeper.FIRST_SWEEP_MS));
  }

  private schedule(delayMs = this.o.config.sweepEvery): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      void this.sweep().finally(() => this.schedule());
    }, delayMs);
    this.timer.unref();
  }

  /** Stop scheduling; a sweep under way ends after its current batch. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** One sweep now (or the one under way). */
  sweep(): Promise<SweepReport> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  async refreshStats(): Promise<void> {
    try {
      this.stats = await this.o.store.retentionStats();
      this.statsAt = this.o.clock();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'retention: reading storage statistics failed');
    }
  }

  async archives(): Promise<{ file: string; cls: string; day: string }[]> {
    return this.o.archiveDir ? listArchives(this.o.archiveDir) : [];
  }

  private async run(): Promise<SweepReport> {
    const report: SweepReport = { startedAt: this.o.clock(), finishedAt: 0, swept: false, purged: zero(), archived: zero(), slowestBatchMs: 0, error: null };
    try {
      const lock = await this.o.store.retentionLock();
      if (lock) {
        report.swept = true;
        try {
          for (const cls of RETENTION_CLASSES) {
            if (this.stopping) break;
            await this.sweepClass(cls, report);
          }
          if (Object.values(report.purged).some((n) => n > 0)) await this.o.store.retentionReclaim();
        } finally {
          await lock.release();
        }
      }
    } catch (err) {
      report.error = (err as Error).message;
      this.o.logger.error({ err: report.error }, 'retention sweep failed; the next sweep starts over where it left rows');
    }
    report.finishedAt = this.o.clock();
    this.last = report;
    const purged = Object.values(report.purged).reduce((a, b) => a + b, 0);
    if (purged > 0) {
      this.o.logger.info({ purged: report.purged, archived: report.archived, ms: report.finishedAt - report.startedAt, slowestBatchMs: Math.round(report.slowestBatchMs) }, 'retention sweep');
    }
    if (!this.stopping) await this.refreshStats();
    return report;
  }

  private async sweepClass(cls: RetentionClass, report: SweepReport): Promise<void> {
    const cutoff = this.o.clock() - this.o.config[cls];
    // The next chunk is read while this one is archived and deleted: reads run on their own
    // connection (a reader thread or a pool client) and never wait for the writer, so at 1000
    // callbacks a second a sweep no longer takes longer than the minute of data it purges.
    const reading = { on: true };
    let next: Promise<Chunk> | null = this.scanChunk(cls, cutoff, null, reading, []);
    try {
      while (next) {
        const chunk: Chunk = await next;
        next = chunk.cursor && !this.stopping ? this.scanChunk(cls, cutoff, chunk.cursor, reading, chunk.units) : null;
        if (chunk.units.length === 0 || this.stopping) continue;
        await this.archiveAndPurge(cls, cutoff, chunk.units, report);
      }
    } finally {
      // Failed with a read under way: it stops after its current step, and its answer (or error) goes nowhere.
      reading.on = false;
      next?.catch(() => {});
    }
  }

  /**
   * Scan from `cursor` until `chunk` units are due or the class is walked (or the sweep no longer
   * reads), leaving out the units of the chunk before: it may not be deleted yet.
   */
  private async scanChunk(cls: RetentionClass, cutoff: number, cursor: ScanCursor, reading: { on: boolean }, before: readonly DueUnit[]): Promise<Chunk> {
    const units: DueUnit[] = [];
    const seen = new Set(before.map((u) => u.key));
    do {
      const t0 = performance.now();
      const step = await this.o.store.retentionScan(cls, cutoff, cursor, this.batch);
      // A dead-letter event with two dead deliveries can turn up on two pages, also in two chunks.
      for (const u of step.units) {
        if (seen.has(u.key)) continue;
        seen.add(u.key);
        units.push(u);
      }
      cursor = step.next;
      await breathe(performance.now() - t0);
    } while (cursor && units.length < this.chunk && !this.stopping && reading.on);
    return { units, cursor };
  }

  private async archiveAndPurge(cls: RetentionClass, cutoff: number, units: DueUnit[], report: SweepReport): Promise<void> {
    if (this.o.archiveDir) {
      for (const [day, lines] of await linesByDay(units)) {
        const n = await appendToArchive(this.o.archiveDir, cls, day, lines);
        report.archived[cls] += n;
        this.o.hub.emit('retention:archived', { cls, rows: n });
      }
    }
    for (let i = 0; i < units.length && !this.stopping; i += this.batch) {
      const t0 = performance.now();
      const r = await this.o.store.retentionPurge(cls, cutoff, unitSizes(units.slice(i, i + this.batch)));
      const took = performance.now() - t0;
      report.slowestBatchMs = Math.max(report.slowestBatchMs, took);
      report.purged[cls] += r.rows;
      this.o.hub.emit('retention:purged', { cls, rows: r.rows });
      // The writer's own time when the store knows it: waiting for its turn and for the group
      // commit holds nobody up, and pausing that long too halved what a sweep could delete.
      await breathe(r.busyMs ?? took);
    }
  }
}

/** Due units read ahead, and where the class's scan goes on (null: walked). */
interface Chunk {
  units: DueUnit[];
  cursor: ScanCursor;
}

/**
 * Between steps the event loop (intake, deliveries) and the writer get their turn: at least as
 * long as the step took, so a sweep uses at most about half of what it runs on. Keeping up needs
 * far less (~0.03 ms of work per unit: 30 ms a second at 1000 callbacks a second).
 */
const breathe = (tookMs: number) => new Promise<void>((r) => setTimeout(r, Math.max(2, Math.min(tookMs, 200))));
