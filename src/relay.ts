import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { buildEndpoint, type Endpoint } from './delivery/endpoints.js';
import { Sender } from './delivery/sender.js';
import { publishEvent, type OutgoingEvent, type PublishDeps } from './events/publish.js';
import { featureSection, type AnyFeatureModule, type FeatureInstance } from './feature.js';
import { FEATURES } from './features.js';
import { fingerprintStoredEvents } from './events/upgrade.js';
import { Erasure, type FeatureEraser } from './lifecycle/erasure.js';
import { Sweeper } from './lifecycle/sweeper.js';
import { Intake, type IntakeOptions } from './intake.js';
import { createLogger, logObservations } from './logger.js';
import { Metrics } from './metrics.js';
import { Admission } from './net/admission.js';
import { allowList } from './net/cidr.js';
import { Hub } from './observe.js';
import { prepareMerchant, type PreparedMerchant } from './paygate/merchant.js';
import type { MerchantKeys } from './paygate/types.js';
import { openStore } from './store/open.js';
import { atKey } from './startup.js';
import { SqliteStore } from './store/sqlite.js';
import { WriterThread } from './store/writer-thread.js';
import type { ErasureMatch } from './store/extension.js';
import type { StoreChanges } from './store/postgres-notify.js';
import type { Store } from './store/types.js';
import type { Tracing } from './tracing.js';
import { warmUp } from './warmup.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const USER_AGENT = `paygate-relay/${VERSION}`;

/** Key material from config: passwords are used as their UTF-8 bytes, as Paygate does. */
export function rawMerchantKeys(config: Config): MerchantKeys[] {
  return config.merchants.map((m) => ({
    id: m.id,
    encryption: m.encryption,
    keys: m.keys.map((k) => ({
      blowfish: k.blowfish !== undefined ? Buffer.from(k.blowfish, 'utf8') : undefined,
      aes: k.aes !== undefined ? Buffer.from(k.aes, 'utf8') : undefined,
      hmac: Buffer.from(k.hmac, 'utf8'),
    })),
  }));
}

/** paygate.urlSecret as bytes, newest first; null when callback URLs are not signed. */
export function urlSecrets(config: Config): Buffer[] | null {
  const s = config.paygate.urlSecret;
  if (s === undefined) return null;
  return (Array.isArray(s) ? s : [s]).map((x) => Buffer.from(x, 'utf8'));
}

/** How intake checks callbacks, from config (the relay's and each callback worker's). */
export function intakeOptions(config: Config): IntakeOptions {
  const browserReturns = new Map(config.merchants.map((m) => [m.id, m.browserReturns]));
  return {
    urlSecrets: urlSecrets(config),
    allowFrom: config.paygate.allowFrom ? allowList(config.paygate.allowFrom) : null,
    browserReturns: (id) => browserReturns.get(id) ?? 'events',
  };
}

export function merchantKeys(config: Config): PreparedMerchant[] {
  return rawMerchantKeys(config).map(prepareMerchant);
}

export interface RelayOptions {
  config: Config;
  logger?: Logger;
  store?: Store;
  /** Run the delivery dispatcher (off for tools that only read the store). */
  delivery?: boolean;
  clock?: () => number;
  random?: () => number;
  /** The archive directory erasure rewrites (default: retention's, see archiveDirOf; null: none). */
  archiveDir?: string | null;
}

/** What only `create` can build (it may need an async import). */
interface Parts {
  tracing: Tracing | null;
  /** Each configured feature's storage, opened on the store before it migrated. */
  storages: ReadonlyMap<AnyFeatureModule, unknown>;
}

/** Stores shared by several processes announce committed events and endpoint state changes (PostgreSQL LISTEN/NOTIFY). */
function hasListen(s: Store): s is Store & { listen(on: StoreChanges): Promise<() => Promise<void>> } {
  return typeof (s as { listen?: unknown }).listen === 'function';
}

/** A configured feature inside this relay. */
export interface RunningFeature {
  readonly module: AnyFeatureModule;
  readonly instance: FeatureInstance;
}

/** Everything the relay is made of, wired once; the HTTP app and the CLI both use it. */
export class Relay {
  readonly hub = new Hub();
  readonly merchants: PreparedMerchant[];
  readonly endpoints: Endpoint[];
  readonly intake: Intake;
  /** Backpressure: whether the next callback may come in (limits.maxPendingCallbacks, limits.maxEventLoopDelayMs). */
  readonly admission: Admission;
  readonly dispatcher: Dispatcher;
  readonly metrics: Metrics;
  /** Erasure of a person's data (docs/erasure.md). */
  readonly erasure: Erasure;
  /** Retention: archives and deletes what is past `retention` (runs only in a serving relay). */
  readonly retention: Sweeper;
  /** The configured features, in registry order. */
  readonly features: readonly RunningFeature[];
  private readonly publishing: PublishDeps;
  /** What minting signed callback URLs needs (admin API). */
  readonly urlSigning: { secrets: Buffer[] | null; merchantIds: readonly string[] };
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  draining = false;
  private started = false;
  private readonly sender = new Sender();
  private unlisten: (() => Promise<void>) | null = null;

  private constructor(
    readonly config: Config,
    readonly store: Store,
    readonly logger: Logger,
    private readonly opts: RelayOptions,
    private readonly parts: Parts,
  ) {
    this.merchants = merchantKeys(config);
    this.urlSigning = { secrets: urlSecrets(config), merchantIds: config.merchants.map((m) => m.id) };
    this.endpoints = config.endpoints.map(buildEndpoint);
    this.publishing = { store, endpoints: () => this.endpoints, hub: this.hub };
    this.features = configuredFeatures(config).map((module) => ({
      module,
      instance: module.create({
        config: featureSection(config, module), storage: parts.storages.get(module), store, hub: this.hub, logger, owner: this.owner,
        clock: () => this.now(), endpoints: () => this.endpoints, publish: (e, now) => this.publish(e, now),
      }),
    }));
    // Before the dispatcher is built: it makes one lane per endpoint; intake routes through this same array.
    for (const f of this.features) this.endpoints.push(...(f.instance.endpoints?.() ?? []));
    this.admission = new Admission(config.limits);
    this.intake = new Intake(store, () => this.merchants, () => this.endpoints, this.hub, intakeOptions(config));
    this.dispatcher = new Dispatcher({
      store, endpoints: this.endpoints, hub: this.hub, logger, sender: this.sender, owner: this.owner,
      leaseMs: config.delivery.leaseMs, pollIntervalMs: config.delivery.pollIntervalMs, userAgent: USER_AGENT,
      clock: opts.clock, random: opts.random,
      traceIds: parts.tracing ? (eventId) => parts.tracing!.attemptIds(eventId) : undefined,
    });
    const archiveDir = archiveDirOf(config);
    this.retention = new Sweeper({ store, config: config.retention, archiveDir, clock: () => this.now(), logger, hub: this.hub });
    this.metrics = new Metrics({
      version: VERSION, merchants: config.merchants.map((m) => m.id), endpoints: this.endpoints.map((e) => e.id), store,
      isEndpointEnabled: (id) => !this.dispatcher.isDisabled(id), isReady: () => this.isReady(), now: opts.clock, tls: config.listen.tls !== undefined,
      pendingCallbacks: () => this.admission.pendingCallbacks,
      retention: () => ({ stats: this.retention.stats, lastSweepAt: this.retention.last?.finishedAt ?? null, retentionMs: config.retention }),
    });
    this.metrics.observe(this.hub);
    // Each configured feature: its tables first (StoreExtension.erase), then what it keeps outside the database.
    const erasers: FeatureEraser[] = this.features.flatMap((f) => {
      const tables = f.module.storage?.erase;
      const storage = parts.storages.get(f.module);
      const files = f.instance.erased?.bind(f.instance);
      if (!tables && !files) return [];
      return [{
        name: f.module.name,
        erase: async (match: ErasureMatch) => ({ ...(tables ? await tables(storage, match) : {}), ...(files ? await files(match) : {}) }),
      }];
    });
    this.erasure = new Erasure({ store, features: erasers, archiveDir: opts.archiveDir === undefined ? archiveDir : opts.archiveDir, hub: this.hub, now: () => this.now() });
    if (store instanceof SqliteStore && store.writer instanceof WriterThread) {
      store.writer.onCrash = (err, restarted) => logger.error({ err, restarted }, restarted
        ? 'sqlite writer thread crashed and was restarted; writes in flight failed and will be retried by their callers'
        : 'sqlite writer thread keeps crashing; writes fail and /readyz answers 503 until the process is restarted');
    }
    if (store instanceof SqliteStore && store.checkpointer) {
      store.checkpointer.onCrash = (err) => logger.error({ err }, 'sqlite checkpointer thread crashed; restarted in a second, the writer checkpoints meanwhile');
    }
    logObservations(this.hub, logger);
    parts.tracing?.observe(this.hub);
  }

  static async create(opts: RelayOptions): Promise<Relay> {
    const logger = opts.logger ?? createLogger(opts.config.log.level);
    // Feature tables are registered before migrate(), which runs their migrations with the core's.
    const storages = new Map<AnyFeatureModule, unknown>();
    // A database that cannot be opened or reached is the operator's to fix: one line naming `storage`.
    const store = await atKey('storage', async () => {
      const s = opts.store ?? openStore(opts.config.storage);
      for (const m of configuredFeatures(opts.config)) if (m.storage) storages.set(m, s.extend(m.storage));
      await s.migrate();
      return s;
    });
    const upgraded = await fingerprintStoredEvents(store);
    if (upgraded.events > 0) {
      logger.info(upgraded, 'gave events stored before conflict detection their identity key and fingerprint');
      if (upgraded.rekeyed < upgraded.events) {
        logger.warn({ kept: upgraded.events - upgraded.rekeyed }, 'some stored events share a signed identity (stored before conflicts were detected); they keep their old dedupe key');
      }
    }
    // Loaded only when configured: without tracing none of the OpenTelemetry SDK is imported.
    const tracing = opts.config.tracing ? new (await import('./tracing.js')).Tracing(opts.config.tracing, VERSION, logger) : null;
    return new Relay(opts.config, store, logger, opts, { tracing, storages });
  }

  now(): number {
    return (this.opts.clock ?? Date.now)();
  }

  /** A configured feature's instance, typed by its module; null when its section is absent. */
  feature<F extends FeatureInstance>(module: { create(ctx: never): F }): F | null {
    return (this.features.find((f) => f.module === (module as unknown))?.instance as F | undefined) ?? null;
  }

  /** Route, store and announce an event that did not come from a callback (events/publish.ts). */
  publish(event: OutgoingEvent, now = this.now()): Promise<{ eventId: string; duplicate: boolean }> {
    return publishEvent(this.publishing, event, now);
  }

  isReady(): boolean {
    return this.started && !this.draining;
  }

  async start(): Promise<void> {
    if (!this.config.paygate.urlSecret) {
      this.logger.warn('callback URLs are unsigned (paygate.urlSecret is not set): the operation in the URL path is not authenticated; see README, Security');
    }
    // Before anything can say ready: hot paths compiled, receiver connections open (see warmup.ts).
    const warm = await warmUp({
      merchantKeys: rawMerchantKeys(this.config), merchants: this.merchants, intake: this.intake, endpoints: this.endpoints,
      sender: this.opts.delivery === false ? undefined : this.sender, clock: () => this.now(),
    });
    this.logger.info(warm, 'warmed up');
    if (this.store.kind === 'sqlite') {
      // One process owns a SQLite file: whatever it had leased before a crash is free now.
      const n = await this.store.releaseAllLeases(this.now());
      if (n > 0) this.logger.warn({ deliveries: n }, 'released deliveries leased before the last stop');
    }
    // PostgreSQL: no lease release at start (other instances hold theirs; a dead one's expire).
    this.admission.start();
    if (this.opts.delivery !== false) {
      await this.dispatcher.start();
      // Events committed by any instance wake our idle lanes at once, and an enable/disable made by
      // any instance is read at once; the polls (outbox and endpoint state) stay as the fallback.
      if (hasListen(this.store)) {
        this.unlisten = await this.store.listen({
          events: (ids) => ids.forEach((id) => this.dispatcher.wake(id)),
          endpointStates: () => void this.dispatcher.syncStates(),
        });
      }
      for (const f of this.features) await f.instance.start?.();
      this.retention.start();
    }
    this.started = true;
  }

  /** Drain: deliveries get until the deadline, then the store is closed. */
  async stop(drainMs = this.config.shutdown.drainMs): Promise<void> {
    this.draining = true;
    const unlisten = this.unlisten;
    this.unlisten = null;
    await unlisten?.();
    this.admission.stop();
    await this.dispatcher.stop(drainMs);
    await this.retention.stop();
    for (const f of [...this.features].reverse()) await f.instance.stop?.();
    await this.store.close();
    await this.parts.tracing?.shutdown().catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'tracing: final export failed'));
  }
}

/**
 * Where retention archives (null: off). Relative paths are taken from the working directory, like a
 * relative sqlite: path. Unset: `archive` beside the SQLite file, where the relay can write (the
 * default storage gives ./data/archive); with PostgreSQL ./data/archive.
 */
export function archiveDirOf(config: Config): string | null {
  const dir = config.retention.archiveDir;
  if (dir === false) return null;
  if (dir !== undefined) return resolve(dir);
  return config.storage.startsWith('sqlite:') && config.storage !== 'sqlite::memory:'
    ? join(dirname(resolve(config.storage.slice('sqlite:'.length))), 'archive')
    : resolve('data/archive');
}

function configuredFeatures(config: Config): AnyFeatureModule[] {
  return FEATURES.filter((m) => featureSection(config, m) !== undefined);
}
