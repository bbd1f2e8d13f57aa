import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config/schema.js';
import { readTls, watchTls, type TlsMaterial } from './net/tls.js';
import { createLogger } from './logger.js';
import { Relay } from './relay.js';
import { atKey, checkPlainHttpEndpoints } from './startup.js';
import { CONSOLE_PREFIX } from './console/index.js';
import { adminTokensConfigured } from './routes/auth.js';

export interface RunningServer {
  relay: Relay;
  /** Paygate-facing listener (and everything else unless admin.listen is set). */
  app: FastifyInstance;
  /** Separate admin listener, when configured. */
  admin: FastifyInstance | null;
  url: string;
  adminUrl: string | null;
  /** Re-read the certificate and key; new connections get them, open ones are untouched. */
  reloadTls(onlyIfChanged?: boolean): boolean;
  /** Drain and stop: intake 503 and readiness false first, then listeners, deliveries, storage. */
  stop(): Promise<void>;
}

/** Where the operator console is served (with admin tokens), for the start log; null without one. */
function consoleLocation(relay: Relay, base: string | null): string | null {
  if (!base || !adminTokensConfigured(relay.config)) return null;
  return `${base}${CONSOLE_PREFIX}`;
}

/** Process-level wiring without process-global side effects (tests call this directly). */
export async function startServer(config: Config, opts: { logger?: Logger } = {}): Promise<RunningServer> {
  await checkPlainHttpEndpoints(config);
  const tlsPaths = config.listen.tls;
  let tls: TlsMaterial | null = tlsPaths ? await atKey('listen.tls', () => readTls(tlsPaths)) : null;
  const relay = await Relay.create({ config, logger: opts.logger });
  const log = relay.logger;
  const separateAdmin = config.admin?.listen !== undefined;
  const app = await buildApp(relay, { surface: separateAdmin ? 'public' : 'all', https: tls ?? undefined });
  const admin = separateAdmin ? await buildApp(relay, { surface: 'admin' }) : null;
  if (tls) relay.metrics.tlsExpiry?.set(tls.notAfter);

  const reloadTls = (onlyIfChanged = false): boolean => {
    if (!config.listen.tls) return false;
    try {
      const next = readTls(config.listen.tls);
      // The directory watcher fires for unrelated entries too; an explicit reload (SIGHUP) always applies and logs.
      if (onlyIfChanged && tls && next.cert.equals(tls.cert) && next.key.equals(tls.key)) return true;
      (app.server as unknown as import('node:tls').Server).setSecureContext({ cert: next.cert, key: next.key });
      tls = next;
      relay.metrics.tlsExpiry?.set(next.notAfter);
      log.info({ notAfter: new Date(next.notAfter * 1000).toISOString() }, 'TLS certificate reloaded');
      return true;
    } catch (err) {
      // Keep serving the old pair: a half-written or mismatched file must not take the port down.
      log.error({ err: (err as Error).message }, 'TLS reload failed; keeping the current certificate');
      return false;
    }
  };
  const unwatch = config.listen.tls ? watchTls(config.listen.tls, () => reloadTls(true)) : () => {};

  await relay.start();
  let url: string;
  let adminUrl: string | null;
  try {
    url = await atKey('listen.port', () => app.listen({ host: config.listen.host, port: config.listen.port }));
    adminUrl = admin ? await atKey('admin.listen.port', () => admin.listen({ host: config.admin!.listen!.host, port: config.admin!.listen!.port })) : null;
  } catch (err) {
    unwatch();
    await Promise.all([app.close(), admin?.close()]);
    await relay.stop(0);
    throw err;
  }
  const consoleUrl = consoleLocation(relay, admin ? adminUrl : url);
  log.info({ url, adminUrl, console: consoleUrl ?? undefined, tls: tls !== null, storage: relay.store.kind, endpoints: relay.endpoints.length }, 'relay listening');

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      relay.draining = true;
      unwatch();
      // Listeners stay open during the delivery drain so readiness and intake answer 503
      // (load balancers move away, Paygate retries) instead of refusing connections.
      await relay.dispatcher.stop(config.shutdown.drainMs);
      await Promise.all([app.close(), admin?.close()]);
      await relay.stop();
    })());
  return { relay, app, admin, url, adminUrl, reloadTls, stop };
}

/**
 * `paygate-relay serve`: signals on top of startServer. With listen.workers > 1 this process is
 * the cluster's primary (storage, delivery, admin listener) and forks the callback workers,
 * which run this same command and land in runWorker.
 */
export async function serve(config: Config): Promise<void> {
  if (config.listen.workers > 1 && cluster.isWorker) {
    const { runWorker } = await import('./cluster/worker.js');
    return runWorker(config, createLogger(config.log.level).child({ worker: cluster.worker!.id }));
  }
  const s = config.listen.workers > 1 ? await (await import('./cluster/primary.js')).startPrimary(config) : await startServer(config);
  const log = s.relay.logger;
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal, drainMs: config.shutdown.drainMs }, 'draining');
    s.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => ('reloadTls' in s ? s.reloadTls() : s.reloadWorkersTls()));
}
