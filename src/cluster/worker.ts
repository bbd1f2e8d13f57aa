// A callback worker (listen.workers > 1): it takes callbacks on the shared port,
// decrypts, verifies and builds their events like a single relay, and sends each
// commit-queue turn's rows to the primary, which commits them with everyone
// else's in its group commit. A callback is answered 200 only after the primary
// reports the commit that holds it. The worker has no storage of its own and
// delivers nothing: its reports feed the primary's metrics and logs.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { buildHttp, type AppServices } from '../app.js';
import type { Config } from '../config/schema.js';
import { Intake } from '../intake.js';
import { Hub } from '../observe.js';
import { Admission } from '../net/admission.js';
import { readTls } from '../net/tls.js';
import { intakeOptions, merchantKeys, rawMerchantKeys } from '../relay.js';
import { decodeIngestResults, encodeIngest } from '../store/ingest-wire.js';
import type { IngestItem, IngestResult, Store } from '../store/types.js';
import { warmUp } from '../warmup.js';
import type { CallbackCount, HttpObservation, PrimaryMessage, WorkerMessage } from './protocol.js';
import type { RelayEventMap } from '../observe.js';

/** The primary's side of the IPC channel, as the worker uses it: ingest batches out, answers in, reports batched per turn. */
class PrimaryLink {
  private next = 1;
  private readonly pending = new Map<number, { items: IngestItem[]; resolve: (r: IngestResult[]) => void; reject: (e: Error) => void }>();
  private report: Extract<WorkerMessage, { t: 'report' }> | null = null;

  constructor(private readonly send: (m: WorkerMessage, sent?: () => void) => void) {}

  ingest(items: IngestItem[]): Promise<IngestResult[]> {
    return new Promise((resolve, reject) => {
      const id = this.next++;
      this.pending.set(id, { items, resolve, reject });
      this.send({ t: 'ingest', id, wire: encodeIngest(items) });
    });
  }

  answer(m: PrimaryMessage): void {
    if (m.t !== 'ingested' && m.t !== 'ingest-failed') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.t === 'ingested') p.resolve(decodeIngestResults(m.results, p.items));
    else p.reject(new Error(m.message));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Reports travel together, at most every REPORT_MS: each IPC message costs both processes a
   * write, a wake-up and a read, and reports only feed metrics and logs (an event loop turn per
   * callback made this one message per callback). The dispatcher is woken by the primary itself.
   */
  private queued(): Extract<WorkerMessage, { t: 'report' }> {
    if (!this.report) {
      const r = (this.report = { t: 'report', callbacks: [], counted: [], http: [] });
      setTimeout(() => this.flush(), PrimaryLink.REPORT_MS).unref();
    }
    return this.report;
  }

  /** Send what is queued; `sent` runs once it is written. */
  flush(sent: () => void = () => {}): void {
    const r = this.report;
    this.report = null;
    if (r) this.send(r, sent);
    else sent();
  }

  static readonly REPORT_MS = 50;

  callback(e: RelayEventMap['callback']): void {
    this.queued().callbacks.push(e);
  }

  count(c: CallbackCount): void {
    this.queued().counted.push(c);
  }

  http(o: HttpObservation): void {
    this.queued().http.push(o);
  }
}

export async function runWorker(config: Config, logger: Logger): Promise<void> {
  const send = (m: WorkerMessage, sent?: () => void) => void process.send!(m, undefined, undefined, sent);
  const link = new PrimaryLink(send);
  const hub = new Hub();
  // Logs and metrics of each callback are the primary's (one place to scrape and read).
  hub.on('callback', (e) => link.callback(e));
  const merchants = merchantKeys(config);
  // Only ingest() is reached from Intake.receive(); events are routed to the endpoints by the primary.
  const store = { kind: 'remote', ingest: (items: IngestItem[]) => link.ingest(items) } as unknown as Store;
  const intake = new Intake(store, () => merchants, () => [], hub, intakeOptions(config));
  let status = { ready: false, storage: false };
  let draining = false;
  let listening = false;

  const health = {
    isReady: () => status.ready && listening && !draining,
    get draining() {
      return draining;
    },
    pingStorage: async () => {
      if (!status.storage) throw new Error('storage unavailable (as the primary reports it)');
    },
    metrics: { contentType: 'text/plain', text: async () => '', openMetrics: async () => '' },
  };
  // limits.maxPendingCallbacks bounds the whole relay: each worker takes its share.
  const admission = new Admission({ ...config.limits, maxPendingCallbacks: Math.max(1, Math.ceil(config.limits.maxPendingCallbacks / config.listen.workers)) });
  admission.start();
  const services = {
    health,
    callbacks: {
      config, intake, admission, now: () => Date.now(),
      get draining() {
        return draining;
      },
      metrics: { callbacks: { inc: (labels: CallbackCount) => link.count(labels) } },
    },
    httpDuration: { observe: (labels: HttpObservation[0], seconds: number) => link.http([labels, seconds]) },
  } as unknown as AppServices;

  let tls = config.listen.tls ? readTls(config.listen.tls) : null;
  const app = await buildHttp(services, config, logger, { surface: 'public', https: tls ?? undefined });
  await warmUp({ merchantKeys: rawMerchantKeys(config), merchants, intake, endpoints: [], clock: () => Date.now() });

  let closing: Promise<void> | null = null;
  process.on('message', (m: PrimaryMessage) => {
    switch (m.t) {
      case 'status':
        status = { ready: m.ready, storage: m.storage };
        break;
      case 'drain':
        draining = true;
        break;
      case 'close':
        draining = true;
        // Requests in flight get their answers (their rows are committed by the primary first).
        closing ??= app.close().then(() => link.flush(() => process.exit(0)));
        break;
      case 'reload-tls':
        if (config.listen.tls && tls) {
          tls = readTls(config.listen.tls);
          (app.server as unknown as import('node:tls').Server).setSecureContext({ cert: tls.cert, key: tls.key });
        }
        break;
      default:
        link.answer(m);
    }
  });
  // The primary decides when to stop: a signal to the whole process group reaches it too.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => {});
  // Without the primary there is nobody to commit: stop at once (answers in flight fail, Paygate retries).
  process.on('disconnect', () => process.exit(1));

  await app.listen({ host: config.listen.host, port: config.listen.port });
  listening = true;
  logger.debug({ worker: cluster.worker?.id }, 'callback worker listening');
}
