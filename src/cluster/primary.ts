// The primary of a relay with listen.workers > 1 (node:cluster; Node 20 has no
// reusePort). It owns everything a single relay owns except the callback port:
// storage (the one SQLite writer, or the PostgreSQL pool), delivery, features,
// the admin listener. Workers take the callbacks on the shared port and send each
// commit-queue turn's rows here; batches from all workers join the same group
// commit, and every worker answers 200 only after the commit that holds its rows.
// Ordering, dedupe and conflict detection happen in the one ingest transaction,
// as with one process. A worker that dies is replaced; SIGTERM drains.
import cluster, { type Worker } from 'node:cluster';
import { buildApp } from '../app.js';
import type { Config } from '../config/schema.js';
import { routeEvent } from '../delivery/endpoints.js';
import { CONFLICT_EVENT_TYPE } from '../events/schema.js';
import { Relay } from '../relay.js';
import { atKey } from '../startup.js';
import { decodeIngest, encodeIngestResults } from '../store/ingest-wire.js';
import type { IngestItem, IngestResult } from '../store/types.js';
import type { PrimaryMessage, WorkerMessage } from './protocol.js';

export interface RunningPrimary {
  relay: Relay;
  /** Drain and stop: workers 503 first, deliveries drain, workers close, then storage. */
  stop(): Promise<void>;
  /** SIGHUP: every worker re-reads the certificate and key. */
  reloadWorkersTls(): void;
}

/** Route the rows a worker built (it knows no endpoints) the way publishEvent would have. */
function route(relay: Relay, items: IngestItem[]): void {
  for (const it of items) {
    const e = it.event;
    if (!e) continue;
    e.deliveries = routeEvent(relay.endpoints, { type: e.type, merchantId: e.merchantId, transId: e.transId });
    if (it.conflict) it.conflict.deliveries = routeEvent(relay.endpoints, { type: CONFLICT_EVENT_TYPE, merchantId: it.conflict.merchantId, transId: it.conflict.transId });
  }
}

/** What publishEvent and Intake announce in a single process, for a committed batch: the dispatcher wakes, metrics count. */
function announce(relay: Relay, items: IngestItem[], results: IngestResult[]): void {
  results.forEach((r, i) => {
    const it = items[i]!;
    const e = it.event;
    if (!e) return;
    if (!r.duplicate) relay.hub.emit('event:stored', { eventId: e.id, type: e.type, endpointIds: e.deliveries.map((d) => d.endpointId), merchantId: e.merchantId });
    const cf = r.conflict;
    if (!cf || !it.conflict) return;
    if (cf.created) {
      relay.hub.emit('event:stored', { eventId: cf.conflictEventId, type: CONFLICT_EVENT_TYPE, endpointIds: it.conflict.deliveries.map((d) => d.endpointId), merchantId: it.conflict.merchantId });
    }
    relay.hub.emit('conflict', { merchantId: it.conflict.merchantId, firstEventId: r.eventId!, conflictEventId: cf.conflictEventId, fields: cf.fields });
  });
}

export async function startPrimary(config: Config): Promise<RunningPrimary> {
  const relay = await Relay.create({ config });
  const log = relay.logger;
  const admin = await buildApp(relay, { surface: 'admin' });
  await relay.start();
  await atKey('admin.listen.port', () => admin.listen({ host: config.admin!.listen!.host, port: config.admin!.listen!.port }));

  let stopping = false;
  const status = async (): Promise<PrimaryMessage> => {
    let storage = true;
    try {
      await relay.store.ping();
    } catch {
      storage = false;
    }
    return { t: 'status', ready: relay.isReady(), storage };
  };
  const tell = (w: Worker, m: PrimaryMessage) => {
    if (w.isConnected()) w.send(m, undefined, () => {});
  };
  const tellAll = (m: PrimaryMessage) => Object.values(cluster.workers ?? {}).forEach((w) => w && tell(w, m));

  const onMessage = (w: Worker) => async (m: WorkerMessage) => {
    if (m.t === 'report') {
      for (const e of m.callbacks) relay.hub.emit('callback', e);
      for (const c of m.counted) relay.metrics.callbacks.inc(c);
      for (const [labels, seconds] of m.http) relay.metrics.httpDuration.observe(labels, seconds);
      return;
    }
    const items = decodeIngest(m.wire);
    route(relay, items);
    const t0 = performance.now();
    let ok = false;
    try {
      const results = await relay.store.ingest(items);
      ok = true;
      tell(w, { t: 'ingested', id: m.id, results: encodeIngestResults(results, items) });
      announce(relay, items, results);
    } catch (err) {
      tell(w, { t: 'ingest-failed', id: m.id, message: (err as Error).message });
    } finally {
      relay.hub.emit('store:commit', { items: items.length, durationMs: performance.now() - t0, ok });
    }
  };

  // Workers run this same program (the CLI's serve); the cluster IPC carries Buffers and typed arrays.
  cluster.setupPrimary({ serialization: 'advanced' });
  const fork = () => {
    const w = cluster.fork();
    w.on('message', onMessage(w));
    w.once('online', () => void status().then((s) => tell(w, s)));
    return w;
  };
  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    log.error({ worker: w.id, code, signal }, 'callback worker exited; starting a new one');
    fork();
  });
  for (let i = 0; i < config.listen.workers; i++) fork();
  const listening = new Promise<string>((resolve) => cluster.once('listening', (_w, a) => resolve(`${config.listen.tls ? 'https' : 'http'}://${a.address ?? config.listen.host}:${a.port}`)));
  const url = await listening;
  const ticker = setInterval(() => void status().then(tellAll), 1000);
  log.info({ url, workers: config.listen.workers, adminUrl: admin.server.address(), storage: relay.store.kind, endpoints: relay.endpoints.length }, 'relay listening');

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      relay.draining = true;
      tellAll({ t: 'drain' });
      // The port stays open while deliveries drain: callbacks get 503 (Paygate retries), not refused connections.
      await relay.dispatcher.stop(config.shutdown.drainMs);
      const exits = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w).map((w) => new Promise<void>((r) => {
        if (w.isDead()) return r();
        w.once('exit', () => r());
      }));
      tellAll({ t: 'close' });
      // Their last batches still commit here until they are gone.
      await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, Math.max(5000, config.shutdown.drainMs)))]);
      clearInterval(ticker);
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      await admin.close();
      await relay.stop();
    })());
  return { relay, stop, reloadWorkersTls: () => tellAll({ t: 'reload-tls' }) };
}
