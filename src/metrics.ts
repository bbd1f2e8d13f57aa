import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Hub } from './observe.js';
import { RETENTION_CLASSES, type RetentionClass, type RetentionStats } from './store/retention.js';
import type { Store } from './store/types.js';

/**
 * The relay's Prometheus metrics. Labels are bounded: merchants and endpoints
 * come from config, never from request input; no TransID, no URL.
 * Gauges that describe stored state are read from the store at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly callbacks: Counter<'channel' | 'result' | 'reason'>;
  readonly events: Counter<'type' | 'merchant'>;
  readonly decryptFailures: Counter<'merchant' | 'claimed'>;
  readonly conflicts: Counter<'merchant'>;
  readonly urlTokenRejections: Counter<'merchant' | 'reason'>;
  readonly macFailures: Counter<'merchant'>;
  readonly keySlotMatches: Counter<'merchant' | 'slot'>;
  readonly httpDuration: Histogram<'route' | 'method' | 'status_code'>;
  readonly deliveries: Counter<'endpoint' | 'result'>;
  readonly attemptDuration: Histogram<'endpoint' | 'result'>;
  readonly deliveryLatency: Histogram<'endpoint'>;
  readonly commitDuration: Histogram<never>;
  readonly deadLettersTotal: Counter<'endpoint'>;
  readonly endpointDisabledTotal: Counter<'endpoint' | 'reason'>;
  readonly collectmaxxRecords: Counter<never>;
  readonly collectmaxxRejects: Counter<'reason'>;
  readonly collectmaxxFiles: Counter<never>;
  readonly collectmaxxResultFiles: Counter<'result'>;
  readonly collectmaxxResultEvents: Counter<'type'>;
  readonly collectmaxxSftpCycles: Counter<'result'>;
  readonly collectmaxxSftpFiles: Counter<'direction'>;
  readonly rowsErased: Counter<'table'>;
  readonly retentionPurged: Counter<'class'>;
  readonly retentionArchived: Counter<'class'>;
  readonly ready: Gauge;
  /** Registered only with listen.tls: a relay behind a proxy exports no certificate expiry (not 0, which would alert). */
  readonly tlsExpiry: Gauge | null;

  constructor(opts: {
    version: string; merchants: string[]; endpoints: string[]; store: Store; isEndpointEnabled: (id: string) => boolean; isReady: () => boolean;
    tls?: boolean; now?: () => number;
    /** Callbacks taken in and not answered yet (src/net/admission.ts). */
    pendingCallbacks?: () => number;
    /** The sweeper's latest numbers (src/lifecycle/sweeper.ts); null until the first read. */
    retention?: () => { stats: RetentionStats | null; lastSweepAt: number | null; retentionMs: Record<RetentionClass, number> };
  }) {
    const r = this.registry;
    const now = opts.now ?? Date.now;
    const knownMerchants = new Set(opts.merchants);
    const merchantLabel = (m: string | undefined) => (m && knownMerchants.has(m) ? m : 'unknown');
    this.merchantLabel = merchantLabel;
    collectDefaultMetrics({ register: r });

    new Gauge({ name: 'paygate_relay_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node'], registers: [r] })
      .set({ version: opts.version, node: process.version }, 1);
    this.ready = new Gauge({ name: 'paygate_relay_ready', help: '1 when the relay takes callbacks (storage reachable, not draining).', registers: [r],
      collect() { this.set(opts.isReady() ? 1 : 0); } });
    this.tlsExpiry = opts.tls
      ? new Gauge({ name: 'paygate_relay_tls_certificate_expiry_timestamp_seconds', help: 'notAfter of the served TLS certificate (unix seconds); absent without listen.tls.', registers: [r] })
      : null;
    this.callbacks = new Counter({ name: 'paygate_relay_callbacks_total', help: 'Callbacks received, by channel, result (accepted, duplicate, conflict, returned, quarantined, forbidden, rate_limited, shed = refused with 503 under overload, not stored) and reason.', labelNames: ['channel', 'result', 'reason'], registers: [r] });
    this.events = new Counter({ name: 'paygate_relay_events_total', help: 'Events created, by type and merchant (none for events without one).', labelNames: ['type', 'merchant'], registers: [r] });
    this.decryptFailures = new Counter({ name: 'paygate_relay_decrypt_failures_total', help: 'Callbacks that could not be decrypted/parsed, by merchant (claimed="true": only named in the plain MerchantID, no key of it verified; unknown when not identified).', labelNames: ['merchant', 'claimed'], registers: [r] });
    this.conflicts = new Counter({ name: 'paygate_relay_callback_conflicts_total', help: 'Callbacks with the signed identity of a stored event but other content (a callback.conflict each), by merchant.', labelNames: ['merchant'], registers: [r] });
    this.urlTokenRejections = new Counter({ name: 'paygate_relay_url_token_rejections_total', help: 'Callbacks refused (401, quarantined) for a missing or wrong signed-URL token, by the merchant that decrypted them and reason.', labelNames: ['merchant', 'reason'], registers: [r] });
    this.macFailures = new Counter({ name: 'paygate_relay_mac_failures_total', help: 'Callbacks whose MAC was missing or wrong, by merchant.', labelNames: ['merchant'], registers: [r] });
    this.keySlotMatches = new Counter({ name: 'paygate_relay_key_slot_matches_total', help: 'Verified callbacks by the key slot that matched (0 = newest).', labelNames: ['merchant', 'slot'], registers: [r] });
    this.httpDuration = new Histogram({ name: 'paygate_relay_http_request_duration_seconds', help: 'HTTP request duration.', labelNames: ['route', 'method', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [r] });
    this.deliveries = new Counter({ name: 'paygate_relay_deliveries_total', help: 'Delivery attempts by endpoint and result (succeeded, failed = will retry, dead = dead-lettered).', labelNames: ['endpoint', 'result'], registers: [r] });
    this.attemptDuration = new Histogram({ name: 'paygate_relay_delivery_attempt_duration_seconds', help: 'Delivery attempt duration, by endpoint and result (succeeded, failed, dead).', labelNames: ['endpoint', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [r] });
    // Retries stretch this from milliseconds to days: the buckets follow the default retry schedule.
    this.deliveryLatency = new Histogram({ name: 'paygate_relay_delivery_latency_seconds', help: 'End to end: callback received (event stored) to the receiver\'s 2xx, by endpoint; includes every retry.', labelNames: ['endpoint'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 21600, 86400], registers: [r] });
    this.commitDuration = new Histogram({ name: 'paygate_relay_storage_commit_duration_seconds', help: 'Duration of one intake commit (a batch of callbacks written in one transaction).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [r] });
    this.deadLettersTotal = new Counter({ name: 'paygate_relay_dead_letters_total', help: 'Deliveries dead-lettered after the last retry.', labelNames: ['endpoint'], registers: [r] });
    this.endpointDisabledTotal = new Counter({ name: 'paygate_relay_endpoint_disabled_total', help: 'Endpoints disabled, by reason (gone = 410, failing = failed for the whole span, operator).', labelNames: ['endpoint', 'reason'], registers: [r] });

    this.collectmaxxRecords = new Counter({ name: 'paygate_relay_collectmaxx_records_exported_total', help: 'Collectmaxx delivery records written into delivery files.', registers: [r] });
    this.collectmaxxRejects = new Counter({ name: 'paygate_relay_collectmaxx_rejects_total', help: 'Events an export rule could not turn into a valid record, by reason code (a record counts once per distinct code).', labelNames: ['reason'], registers: [r] });
    this.collectmaxxFiles = new Counter({ name: 'paygate_relay_collectmaxx_files_written_total', help: 'Collectmaxx delivery files written to the outbox directory.', registers: [r] });
    this.collectmaxxResultFiles = new Counter({ name: 'paygate_relay_collectmaxx_result_files_total', help: 'Collectmaxx result files by result (imported, skipped = seen before, failed).', labelNames: ['result'], registers: [r] });
    this.collectmaxxSftpCycles = new Counter({ name: 'paygate_relay_collectmaxx_sftp_cycles_total', help: 'SFTP sync cycles by result (ok, error: connect/host key/transfer failure; files stay and are retried).', labelNames: ['result'], registers: [r] });
    this.collectmaxxSftpFiles = new Counter({ name: 'paygate_relay_collectmaxx_sftp_files_total', help: 'Files moved over SFTP: delivery files uploaded, result files downloaded.', labelNames: ['direction'], registers: [r] });
    this.collectmaxxResultEvents = new Counter({ name: 'paygate_relay_collectmaxx_result_events_total', help: 'Events made from Collectmaxx result files, by type.', labelNames: ['type'], registers: [r] });

    this.rowsErased = new Counter({ name: 'paygate_relay_rows_erased_total', help: 'Rows whose personal data an erasure removed, by table (archive = archived rows).', labelNames: ['table'], registers: [r] });
    this.retentionPurged = new Counter({ name: 'paygate_relay_retention_purged_total', help: 'Rows deleted by retention, by class (delivered, callbacks, quarantine, deadLetters).', labelNames: ['class'], registers: [r] });
    this.retentionArchived = new Counter({ name: 'paygate_relay_retention_archived_total', help: 'Rows written to archive files before their deletion, by class.', labelNames: ['class'], registers: [r] });
    for (const cls of RETENTION_CLASSES) {
      this.retentionPurged.inc({ class: cls }, 0);
      this.retentionArchived.inc({ class: cls }, 0);
    }
    const retention = opts.retention;
    if (retention) {
      new Gauge({ name: 'paygate_relay_retention_rows', help: 'Rows stored per retention class as of the last sweep (delivered: every stored event; callbacks: raw callbacks outside quarantine; quarantine; deadLetters: events with a dead delivery).',
        labelNames: ['class'], registers: [r],
        collect() {
          const s = retention().stats;
          if (s) for (const cls of RETENTION_CLASSES) this.set({ class: cls }, s[cls].rows);
        } });
      new Gauge({ name: 'paygate_relay_retention_oldest_age_seconds', help: 'Age of the oldest row of each class that nothing holds (an open delivery, a conflict, a feature), as found by the last sweep; 0 when none. Above twice the class\'s retention the sweeper is stuck.',
        labelNames: ['class'], registers: [r],
        collect() {
          const s = retention().stats;
          const t = now();
          if (s) for (const cls of RETENTION_CLASSES) this.set({ class: cls }, s[cls].oldestAt === null ? 0 : Math.max(0, (t - s[cls].oldestAt) / 1000));
        } });
      new Gauge({ name: 'paygate_relay_retention_seconds', help: 'The configured retention of each class (retention.*), for alerting on the oldest row\'s age.', labelNames: ['class'], registers: [r],
        collect() {
          const ms = retention().retentionMs;
          for (const cls of RETENTION_CLASSES) this.set({ class: cls }, ms[cls] / 1000);
        } });
      new Gauge({ name: 'paygate_relay_retention_last_sweep_timestamp_seconds', help: 'When the last retention sweep of this process ended (unix seconds); absent before the first.', registers: [r],
        collect() {
          const at = retention().lastSweepAt;
          if (at !== null) this.set(at / 1000);
        } });
    }
    new Gauge({ name: 'paygate_relay_database_size_bytes', help: 'Bytes the database takes on disk (SQLite: pages, free ones included, plus the WAL; PostgreSQL: pg_database_size).', registers: [r],
      async collect() { this.set((await opts.store.databaseSize()).bytes); } });

    const pendingCallbacks = opts.pendingCallbacks;
    if (pendingCallbacks) {
      new Gauge({ name: 'paygate_relay_intake_pending_callbacks', help: 'Callbacks taken in and not answered yet (being read, decoded or waiting for their commit); at limits.maxPendingCallbacks the next is refused with 503.', registers: [r],
        collect() { this.set(pendingCallbacks()); } });
    }

    const stats = async () => opts.store.queueStats();
    let pending: ReturnType<typeof stats> | null = null;
    // One store read per scrape, shared by the gauges below.
    const snapshot = () => (pending ??= stats().finally(() => setTimeout(() => (pending = null), 0)));
    new Gauge({ name: 'paygate_relay_delivery_queue_depth', help: 'Deliveries pending or in flight, by endpoint.', labelNames: ['endpoint'], registers: [r],
      async collect() {
        const s = new Map((await snapshot()).map((x) => [x.endpointId, x]));
        for (const id of opts.endpoints) this.set({ endpoint: id }, s.get(id)?.queueDepth ?? 0);
      } });
    new Gauge({ name: 'paygate_relay_delivery_queue_deliveries', help: 'Open deliveries by endpoint and state: pending (not tried yet), retry_waiting (failed, waiting for the next try), in_flight (being sent).',
      labelNames: ['endpoint', 'state'], registers: [r],
      async collect() {
        const s = new Map((await snapshot()).map((x) => [x.endpointId, x]));
        for (const id of opts.endpoints) {
          const x = s.get(id);
          this.set({ endpoint: id, state: 'pending' }, x?.pending ?? 0);
          this.set({ endpoint: id, state: 'retry_waiting' }, x?.retryWaiting ?? 0);
          this.set({ endpoint: id, state: 'in_flight' }, x?.inFlight ?? 0);
        }
      } });
    new Gauge({ name: 'paygate_relay_delivery_oldest_pending_age_seconds', help: 'Age of the oldest undelivered event, by endpoint (0 when none).', labelNames: ['endpoint'], registers: [r],
      async collect() {
        const s = new Map((await snapshot()).map((x) => [x.endpointId, x]));
        const t = now();
        for (const id of opts.endpoints) {
          const oldest = s.get(id)?.oldestPendingAt;
          this.set({ endpoint: id }, oldest ? Math.max(0, (t - oldest) / 1000) : 0);
        }
      } });
    // Not `paygate_relay_dead_letters`: OpenMetrics names the counter below by that family, and a gauge of the same name collides.
    new Gauge({ name: 'paygate_relay_dead_letter_deliveries', help: 'Deliveries currently in the dead-letter queue, by endpoint.', labelNames: ['endpoint'], registers: [r],
      async collect() {
        const s = new Map((await snapshot()).map((x) => [x.endpointId, x]));
        for (const id of opts.endpoints) this.set({ endpoint: id }, s.get(id)?.deadLetters ?? 0);
      } });
    new Gauge({ name: 'paygate_relay_endpoint_enabled', help: '1 when the endpoint receives deliveries, 0 when disabled.', labelNames: ['endpoint'], registers: [r],
      collect() {
        for (const id of opts.endpoints) this.set({ endpoint: id }, opts.isEndpointEnabled(id) ? 1 : 0);
      } });
    const quarantine = async () => opts.store.quarantineStats();
    let q: ReturnType<typeof quarantine> | null = null;
    const qSnapshot = () => (q ??= quarantine().finally(() => setTimeout(() => (q = null), 0)));
    new Gauge({ name: 'paygate_relay_quarantine_size', help: 'Callbacks in quarantine (rejected, kept for reprocessing).', registers: [r],
      async collect() { this.set((await qSnapshot()).size); } });
    new Gauge({ name: 'paygate_relay_quarantine_oldest_age_seconds', help: 'Age of the oldest callback in quarantine (0 when none).', registers: [r],
      async collect() {
        const oldest = (await qSnapshot()).oldestAt;
        this.set(oldest === null ? 0 : Math.max(0, (now() - oldest) / 1000));
      } });
  }

  readonly merchantLabel: (m: string | undefined) => string;

  /** Count what the relay reports; the only place that turns observations into numbers. */
  observe(hub: Hub): void {
    hub.on('callback', (e) => {
      this.callbacks.inc({ channel: e.channel, result: e.result, reason: e.reason ?? 'none' });
      const merchant = this.merchantLabel(e.merchantId);
      if (e.reason === 'mac_invalid' || e.reason === 'mac_missing') this.macFailures.inc({ merchant });
      else if (e.reason && ['invalid_hex', 'decrypt_failed', 'len_mismatch', 'malformed_plaintext', 'merchant_mismatch'].includes(e.reason)) {
        const claimed = e.merchantId === undefined && e.claimedMerchantId !== undefined;
        this.decryptFailures.inc({ merchant: claimed ? this.merchantLabel(e.claimedMerchantId) : merchant, claimed: String(claimed) });
      } else if (e.reason === 'url_token_missing' || e.reason === 'url_token_invalid') this.urlTokenRejections.inc({ merchant, reason: e.reason });
      if (e.keySlot !== undefined) this.keySlotMatches.inc({ merchant, slot: String(e.keySlot) });
    });
    hub.on('event:stored', (e) => this.events.inc({ type: e.type, merchant: e.merchantId ? this.merchantLabel(e.merchantId) : 'none' }));
    hub.on('store:commit', (e) => this.commitDuration.observe(e.durationMs / 1000));
    hub.on('conflict', (e) => this.conflicts.inc({ merchant: this.merchantLabel(e.merchantId) }));
    hub.on('attempt', (e) => {
      if (e.result === 'lease_lost') return;
      this.deliveries.inc({ endpoint: e.endpointId, result: e.result });
      this.attemptDuration.observe({ endpoint: e.endpointId, result: e.result }, e.durationMs / 1000);
      if (e.result === 'succeeded') this.deliveryLatency.observe({ endpoint: e.endpointId }, Math.max(0, e.finishedAt - e.createdAt) / 1000);
      if (e.result === 'dead') this.deadLettersTotal.inc({ endpoint: e.endpointId });
    });
    hub.on('retention:purged', (e) => this.retentionPurged.inc({ class: e.cls }, e.rows));
    hub.on('retention:archived', (e) => this.retentionArchived.inc({ class: e.cls }, e.rows));
    hub.on('endpoint:disabled', (e) => this.endpointDisabledTotal.inc({ endpoint: e.endpointId, reason: e.reason }));
    hub.on('collectmaxx:record', (e) => {
      for (const reason of new Set(e.reasons)) this.collectmaxxRejects.inc({ reason });
    });
    hub.on('collectmaxx:file', (e) => {
      this.collectmaxxFiles.inc();
      this.collectmaxxRecords.inc(e.records);
    });
    hub.on('collectmaxx:import', (e) => this.collectmaxxResultFiles.inc({ result: e.result }));
    hub.on('collectmaxx:result-event', (e) => this.collectmaxxResultEvents.inc({ type: e.type }));
    hub.on('erasure', (e) => {
      for (const [table, n] of Object.entries(e.rows)) if (n > 0) this.rowsErased.inc({ table }, n);
    });
    hub.on('collectmaxx:sftp', (e) => {
      this.collectmaxxSftpCycles.inc({ result: e.error === null ? 'ok' : 'error' });
      if (e.uploaded) this.collectmaxxSftpFiles.inc({ direction: 'upload' }, e.uploaded);
      if (e.downloaded) this.collectmaxxSftpFiles.inc({ direction: 'download' }, e.downloaded);
    });
  }
}
