import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Collectmaxx } from './collectmaxx/service.js';
import type { Config } from './config/schema.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { buildEndpoint, type Endpoint } from './delivery/endpoints.js';
import { Sender } from './delivery/sender.js';
import { Intake } from './intake.js';
import { createLogger, logObservations } from './logger.js';
import { Metrics } from './metrics.js';
import { Hub } from './observe.js';
import { prepareMerchant, type PreparedMerchant } from './paygate/merchant.js';
import type { MerchantKeys } from './paygate/types.js';
import { openStore } from './store/open.js';
import { SqliteStore } from './store/sqlite.js';
import type { Store } from './store/types.js';
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
}

/** Stores shared by several processes announce committed events (PostgreSQL LISTEN/NOTIFY). */
function hasListen(s: Store): s is Store & { listen(onEvent: (endpointIds: string[]) => void): Promise<() => Promise<void>> } {
  return typeof (s as { listen?: unknown }).listen === 'function';
}

/** Everything the relay is made of, wired once; the HTTP app and the CLI both use it. */
export class Relay {
  readonly hub = new Hub();
  readonly merchants: PreparedMerchant[];
  readonly endpoints: Endpoint[];
  readonly intake: Intake;
  readonly dispatcher: Dispatcher;
  readonly metrics: Metrics;
  /** Collectmaxx export/import, when configured. */
  readonly collectmaxx: Collectmaxx | null;
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
  ) {
    this.merchants = merchantKeys(config);
    this.endpoints = config.endpoints.map(buildEndpoint);
    this.collectmaxx = config.collectmaxx
      ? new Collectmaxx({ config: config.collectmaxx, store, hub: this.hub, logger, owner: this.owner, clock: () => this.now(), endpoints: () => this.endpoints })
      : null;
    // Before the dispatcher is built: it makes one lane per endpoint; intake routes through this same array.
    const exportEndpoint = this.collectmaxx?.endpoint();
    if (exportEndpoint) this.endpoints.push(exportEndpoint);
    this.intake = new Intake(store, () => this.merchants, () => this.endpoints, this.hub);
    this.dispatcher = new Dispatcher({
      store, endpoints: this.endpoints, hub: this.hub, logger, sender: this.sender, owner: this.owner,
      leaseMs: config.delivery.leaseMs, pollIntervalMs: config.delivery.pollIntervalMs, userAgent: USER_AGENT,
      clock: opts.clock, random: opts.random,
    });
    this.metrics = new Metrics({
      version: VERSION, merchants: config.merchants.map((m) => m.id), endpoints: this.endpoints.map((e) => e.id), store,
      isEndpointEnabled: (id) => !this.dispatcher.isDisabled(id), isReady: () => this.isReady(), now: opts.clock,
    });
    this.metrics.observe(this.hub);
    if (store instanceof SqliteStore && store.writer) {
      store.writer.onCrash = (err, restarted) => logger.error({ err, restarted }, restarted
        ? 'sqlite writer thread crashed and was restarted; writes in flight failed and will be retried by their callers'
        : 'sqlite writer thread keeps crashing; writes fail and /readyz answers 503 until the process is restarted');
    }
    logObservations(this.hub, logger);
  }

  static async create(opts: RelayOptions): Promise<Relay> {
    const logger = opts.logger ?? createLogger(opts.config.log.level);
    const store = opts.store ?? openStore(opts.config.storage);
    await store.migrate();
    const relay = new Relay(opts.config, store, logger, opts);
    await relay.collectmaxx?.migrate();
    return relay;
  }

  now(): number {
    return (this.opts.clock ?? Date.now)();
  }

  isReady(): boolean {
    return this.started && !this.draining;
  }

  async start(): Promise<void> {
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
    if (this.opts.delivery !== false) {
      await this.dispatcher.start();
      // Events committed by any instance wake our idle lanes at once; the poll stays as the fallback.
      if (hasListen(this.store)) this.unlisten = await this.store.listen((ids) => ids.forEach((id) => this.dispatcher.wake(id)));
      await this.collectmaxx?.start();
    }
    this.started = true;
  }

  /** Drain: deliveries get until the deadline, then the store is closed. */
  async stop(drainMs = this.config.shutdown.drainMs): Promise<void> {
    this.draining = true;
    const unlisten = this.unlisten;
    this.unlisten = null;
    await unlisten?.();
    await this.dispatcher.stop(drainMs);
    await this.collectmaxx?.stop();
    await this.store.close();
  }
}
