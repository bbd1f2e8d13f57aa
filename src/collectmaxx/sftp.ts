// SFTP transport to Alphacomm: uploads finished delivery files from the
// outbox and fetches Collectmaxx result files for the importer. Every cycle
// opens one connection, verifies the server's host key against the configured
// fingerprint before any credential is sent, and closes it again; files are
// only moved or deleted once the other side holds them safely, so a failure
// at any point leaves everything in place for the next cycle.

import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Logger } from 'pino';
import SftpClient from 'ssh2-sftp-client';
import type { SftpConfig } from './core/config.js';
import { parseResultFileName } from './core/filename.js';

export interface SyncReport {
  uploaded: string[];
  downloaded: string[];
  /** Code-like text of the first failure in the cycle (no secrets), null when all went well. */
  error: string | null;
}

export interface SftpSyncOptions {
  config: SftpConfig;
  /** Finished delivery files (*.csv, *.xml); dotfiles, temp files and subdirectories are ignored. Null: download only. */
  outboxDir: string | null;
  /** collectmaxx.maxResultFileBytes: a bigger result file is not downloaded (the cycle reports result_too_large). */
  maxResultFileBytes: number;
  /** True when this remote result file was already fetched/imported. */
  isKnown(name: string): Promise<boolean>;
  /** Hands a downloaded result file over; the remote copy is only deleted after this resolves. */
  deliver(name: string, content: Buffer): Promise<void>;
  logger: Logger;
  onCycle?(r: SyncReport): void;
  /** First retry delay after a failed cycle, doubling up to pollIntervalMs. Default 5000; tests shorten it. */
  firstRetryMs?: number;
}

export class HostKeyMismatchError extends Error {
  readonly code = 'host_key_mismatch';
  constructor(readonly expected: string, readonly actual: string) {
    super(`SFTP host key ${actual} does not match the configured ${expected}`);
    this.name = 'HostKeyMismatchError';
  }
}

/** A step failed for a reason worth a code of its own (the file is left where it was). */
class StepError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** OpenSSH's notation: "SHA256:" + unpadded base64 of the SHA-256 of the key blob. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Delay before the next cycle: the poll interval, or a doubling retry delay after consecutive failures. */
export function nextDelayMs(consecutiveFailures: number, pollIntervalMs: number, firstRetryMs: number): number {
  if (consecutiveFailures <= 0) return pollIntervalMs;
  return Math.min(pollIntervalMs, firstRetryMs * 2 ** Math.min(consecutiveFailures - 1, 30));
}

/** Delivery files in upload order: by name, with sequence numbers compared as numbers (…-2 before …-10). */
export function outboxUploadOrder(names: readonly string[]): string[] {
  return names.filter((n) => !n.startsWith('.') && /\.(csv|xml)$/i.test(n)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

const READY_TIMEOUT_MS = 10_000;

/** Code-like text for a connect failure; ssh2's raw error carries the level, the wrapper's only the message. */
function connectFailure(raw: (Error & { code?: unknown; level?: unknown }) | undefined, err: unknown): string {
  const e = (raw ?? err) as { code?: unknown; level?: unknown; message?: unknown };
  if (e.level === 'client-authentication') return 'connect_failed: auth_failed';
  if (e.level === 'client-timeout') return 'connect_failed: timeout';
  if (typeof e.message === 'string' && e.message.includes('Cannot parse privateKey')) return 'connect_failed: bad_private_key';
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return `connect_failed: ${e.code}`;
  return 'connect_failed: error';
}

function stepCode(prefix: string, err: unknown): string {
  if (err instanceof StepError) return err.code;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? `${prefix}: ${code}` : prefix;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class SftpSync {
  private readonly opts: SftpSyncOptions;
  private readonly log: Logger;
  private readonly firstRetryMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private failures = 0;
  /** Bumped by start(): a timer chain from before a stop()/start() must not keep running beside the new one. */
  private generation = 0;

  constructor(opts: SftpSyncOptions) {
    this.opts = opts;
    this.firstRetryMs = opts.firstRetryMs ?? 5000;
    const { host, port, username, uploadDir, resultsDir } = opts.config;
    this.log = opts.logger.child({ component: 'collectmaxx-sftp', host, port, username, uploadDir, resultsDir });
  }

  /** One cycle: connect, upload all, download new, disconnect. Never throws for transport errors. Cycles never overlap. */
  runOnce(): Promise<SyncReport> {
    const run = this.queue.then(() => this.cycle());
    this.queue = run.catch(() => undefined);
    return run;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.generation += 1;
    this.tick(this.generation);
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue;
  }

  private tick(generation: number): void {
    this.timer = undefined;
    void this.runOnce().then((r) => {
      this.failures = r.error ? this.failures + 1 : 0;
      if (!this.started || generation !== this.generation) return;
      const delay = nextDelayMs(this.failures, this.opts.config.pollIntervalMs, this.firstRetryMs);
      this.timer = setTimeout(() => this.tick(generation), delay);
      this.timer.unref();
    });
  }

  private async cycle(): Promise<SyncReport> {
    const report: SyncReport = { uploaded: [], downloaded: [], error: null };
    const fail = (code: string) => {
      report.error ??= code;
    };
    try {
      await this.session(report, fail);
    } catch (err) {
      // Only programming errors get here; the timer must survive them.
      this.log.error({ err: message(err) }, 'sftp cycle failed unexpectedly');
      fail('internal');
    }
    try {
      this.opts.onCycle?.(report);
    } catch (err) {
      this.log.warn({ err: message(err) }, 'sftp onCycle callback threw');
    }
    return report;
  }

  private async session(report: SyncReport, fail: (code: string) => void): Promise<void> {
    const c = this.opts.config;
    let lost = false;
    let rawError: (Error & { level?: unknown }) | undefined;
    const client = new SftpClient('collectmaxx', {
      // Errors outside an operation (e.g. the server dropping an idle link) only need a trace.
      error: (err) => this.log.debug({ err: message(err) }, 'sftp connection error'),
      end: () => undefined,
      close: () => undefined,
    });
    // Raw ssh2 events: they fire even when an operation's own listener handled them.
    client.on('error', (err: Error) => { rawError ??= err; });
    client.on('close', () => { lost = true; });
    let mismatch: HostKeyMismatchError | undefined;
    try {
      await client.connect({
        host: c.host, port: c.port, username: c.username,
        privateKey: c.privateKey, passphrase: c.passphrase, password: c.password,
        readyTimeout: READY_TIMEOUT_MS,
        // A stalled server must not hold the cycle (and stop()) forever.
        keepaliveInterval: 5000, keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          const actual = hostKeyFingerprint(key);
          const a = Buffer.from(actual);
          const b = Buffer.from(c.hostKeySha256);
          if (a.length === b.length && timingSafeEqual(a, b)) return true;
          mismatch = new HostKeyMismatchError(c.hostKeySha256, actual);
          return false;
        },
      });
    } catch (err) {
      if (mismatch) {
        this.log.error({ expected: mismatch.expected, actual: mismatch.actual }, 'sftp host key does not match hostKeySha256; not connecting');
        fail(mismatch.code);
      } else {
        const code = connectFailure(rawError, err);
        this.log.warn({ err: code, detail: message(rawError ?? err) }, 'sftp connect failed; will retry');
        fail(code);
      }
      await client.end().catch(() => undefined);
      return;
    }
    try {
      await this.uploadAll(client, report, fail, () => lost);
      if (!lost) await this.downloadNew(client, report, fail, () => lost);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async uploadAll(client: SftpClient, report: SyncReport, fail: (code: string) => void, isLost: () => boolean): Promise<void> {
    const { outboxDir } = this.opts;
    if (outboxDir === null) return;
    let names: string[];
    try {
      const entries = await readdir(outboxDir, { withFileTypes: true });
      names = outboxUploadOrder(entries.filter((e) => e.isFile()).map((e) => e.name));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return; // nothing written yet
      this.log.error({ err: message(err), outboxDir }, 'sftp cannot read the outbox');
      return fail(stepCode('outbox_unreadable', err));
    }
    for (const name of names) {
      if (isLost()) return fail('connection_lost');
      try {
        await this.uploadOne(client, outboxDir, name);
        report.uploaded.push(name);
      } catch (err) {
        this.log.warn({ file: name, err: message(err) }, 'sftp upload failed; file stays in the outbox');
        fail(stepCode('upload_failed', err));
      }
    }
  }

  private async uploadOne(client: SftpClient, outboxDir: string, name: string): Promise<void> {
    const { config } = this.opts;
    const local = join(outboxDir, name);
    const size = (await stat(local)).size;
    const final = posix.join(config.uploadDir, name);
    const part = posix.join(config.uploadDir, `.${name}.part`);
    const existing = await client.exists(final);
    if (existing) {
      // A previous cycle renamed but stopped before moving the local file.
      const remoteSize = existing === '-' ? (await client.stat(final)).size : -1;
      if (remoteSize !== size) throw new StepError('remote_name_conflict', `${final} exists on the server with ${remoteSize} bytes, local file has ${size}`);
      this.log.info({ file: name }, 'sftp file already on the server (earlier cycle); marking as sent');
    } else {
      await client.put(local, part);
      const sent = (await client.stat(part)).size;
      if (sent !== size) throw new StepError('upload_incomplete', `${part} has ${sent} bytes after upload, expected ${size}`);
      // Plain SFTP rename refuses to replace an existing file, so a name clash can never overwrite a delivery.
      await client.rename(part, final);
      this.log.info({ file: name, bytes: size }, 'sftp uploaded delivery file');
    }
    const sentDir = join(outboxDir, 'sent');
    await mkdir(sentDir, { recursive: true });
    await rename(local, join(sentDir, name));
  }

  private async downloadNew(client: SftpClient, report: SyncReport, fail: (code: string) => void, isLost: () => boolean): Promise<void> {
    const { config, isKnown } = this.opts;
    let files: SftpClient.FileInfo[];
    try {
      files = await client.list(config.resultsDir, (f) => f.type === '-' && parseResultFileName(f.name) !== null);
    } catch (err) {
      this.log.warn({ err: message(err) }, 'sftp cannot list the results directory');
      return fail(stepCode('list_failed', err));
    }
    files.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    for (const f of files) {
      if (isLost()) return fail('connection_lost');
      const remote = posix.join(config.resultsDir, f.name);
      try {
        if (await isKnown(f.name)) {
          // Imported earlier, but the delete after it failed: finish the job.
          if (config.deleteRemote) await this.deleteRemote(client, remote);
          continue;
        }
        if (f.size > this.opts.maxResultFileBytes) {
          throw new StepError('result_too_large', `${remote} has ${f.size} bytes, over collectmaxx.maxResultFileBytes (${this.opts.maxResultFileBytes}); left on the server`);
        }
        const got = await client.get(remote);
        // concat-stream yields an empty array, not a Buffer, for an empty file.
        const content = Buffer.isBuffer(got) ? got : Buffer.alloc(0);
        if (content.length !== f.size) {
          throw new StepError('result_changed', `${remote} changed during download (${content.length} of ${f.size} bytes); retrying next cycle`);
        }
        try {
          await this.opts.deliver(f.name, content);
        } catch (err) {
          throw new StepError('deliver_failed', message(err));
        }
        report.downloaded.push(f.name);
        this.log.info({ file: f.name, bytes: content.length }, 'sftp fetched result file');
        if (config.deleteRemote) await this.deleteRemote(client, remote);
      } catch (err) {
        this.log.warn({ file: f.name, err: message(err) }, 'sftp result download failed; will retry');
        fail(stepCode('download_failed', err));
      }
    }
  }

  private async deleteRemote(client: SftpClient, remote: string): Promise<void> {
    try {
      await client.delete(remote, true);
    } catch (err) {
      throw new StepError(stepCode('delete_failed', err), message(err));
    }
  }
}
