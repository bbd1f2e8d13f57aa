import formbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import type { AdminServices } from './admin/queries.js';
import type { Config } from './config/schema.js';
import consoleApp, { CONSOLE_PREFIX } from './console/index.js';
import type { ConsoleServices } from './console/kit.js';
import { RelayError, errorBody, type ErrorCode } from './errors.js';
import { FEATURES } from './features.js';
import type { Metrics } from './metrics.js';
import { renderOpenMetrics } from './openmetrics.js';
import type { Relay, RunningFeature } from './relay.js';
import adminRoutes from './routes/admin.js';
import { StoredThrottle } from './net/failure-throttle.js';
import { adminAuth, tokenTable, type TokenTable } from './routes/auth.js';
import healthRoutes, { type HealthServices } from './routes/health.js';
import paygateRoutes, { type CallbackServices } from './routes/paygate.js';
import { schemaErrorFormatter, serializerCompiler, validatorCompiler } from './routes/type-provider.js';

/** Fastify's own 4xx errors mapped onto our stable codes. */
function codeForFastifyError(err: FastifyError): ErrorCode {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'body_too_large';
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'unsupported_media_type';
  const status = err.statusCode ?? 500;
  if (status === 404) return 'not_found';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'internal';
}

declare module 'fastify' {
  interface FastifyInstance {
    servedRoutes: { method: string; url: string }[];
  }
}

/**
 * Which routes a listener serves: `public` = Paygate callbacks + health,
 * `admin` = admin API, console, /metrics + health, `all` = both (one port).
 */
export type Surface = 'all' | 'public' | 'admin';

/** Everything the routes may use, each plugin getting only its own slice. */
export interface AppServices {
  health: HealthServices;
  callbacks: CallbackServices;
  admin: AdminServices;
  tokens: TokenTable;
  /** null: no console (the OpenAPI document is built without it; its pages are not part of it). */
  console: ConsoleServices | null;
  /** The configured features (their admin routes and console pages). */
  features: readonly RunningFeature[];
  httpDuration: Pick<Metrics['httpDuration'], 'observe'>;
}

/** The slices of a relay. */
export function appServices(relay: Relay): AppServices {
  return {
    health: {
      isReady: () => relay.isReady(),
      get draining() {
        return relay.draining;
      },
      pingStorage: () => relay.store.ping(),
      metrics: {
        get contentType() { return relay.metrics.registry.contentType; },
        text: () => relay.metrics.registry.metrics(),
        openMetrics: async () => renderOpenMetrics(await relay.metrics.registry.getMetricsAsJSON()),
      },
    },
    // The relay itself has exactly the callback slice's shape (config, intake, metrics, draining, now).
    callbacks: relay,
    admin: relay,
    // Counted in storage: wrong tokens sent to any instance count for all.
    tokens: tokenTable(relay.config, new StoredThrottle(relay.store, 'admin-token', () => relay.now())),
    console: {
      admin: relay, merchantIds: relay.config.merchants.map((m) => m.id), logger: relay.logger,
      features: relay.features,
    },
    features: relay.features,
    httpDuration: relay.metrics.httpDuration,
  };
}

export interface AppOptions {
  services: AppServices;
  surface?: Surface;
}

/**
 * The HTTP face of a relay as a plugin: error mapping, schema compilers and the route
 * plugins for one surface. Listening, TLS and signals are server.ts's.
 */
async function relayApp(app: FastifyInstance, opts: AppOptions): Promise<void> {
  const { services } = opts;
  const surface = opts.surface ?? 'all';
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setSchemaErrorFormatter(schemaErrorFormatter);

  app.setErrorHandler((err: FastifyError | RelayError, req, reply) => {
    if (err instanceof RelayError) return reply.code(err.status).send(errorBody(err.code, err.detail));
    const code = codeForFastifyError(err as FastifyError);
    if (code === 'internal') req.log.error({ err }, 'request failed');
    const body = errorBody(code, code === 'internal' ? undefined : (err as Error).message);
    return reply.code(code === 'internal' ? 500 : ((err as FastifyError).statusCode ?? 400)).send(body);
  });
  // The served routes, for the OpenAPI drift test (HEAD twins of GET routes are Fastify's, not ours).
  const served: { method: string; url: string }[] = [];
  app.decorate('servedRoutes', served);
  app.addHook('onRoute', (r) => {
    // The console's HTML pages (and `/`, which leads there) are for people, not part of the API contract in openapi.yaml.
    if (r.url.startsWith(CONSOLE_PREFIX) || r.url === '/') return;
    for (const m of [r.method].flat()) if (m !== 'HEAD') served.push({ method: m, url: r.url });
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send(errorBody('not_found')));

  app.addHook('onResponse', async (req, reply) => {
    services.httpDuration.observe(
      { route: req.routeOptions.url ?? 'unmatched', method: req.method, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(formbody);
  await app.register(healthRoutes, { health: services.health, metrics: surface !== 'public' });
  if (surface !== 'admin') await app.register(paygateRoutes, { relay: services.callbacks });
  if (surface !== 'public' && services.tokens.enabled) {
    await app.register(adminAuth, { tokens: services.tokens });
    await app.register(adminRoutes, { admin: services.admin });
    // Features' admin routes: always registered (the API contract), 404 while a feature is not configured.
    for (const m of FEATURES) {
      if (!m.adminRoutes) continue;
      const feature = services.features.find((f) => f.module === m)?.instance ?? null;
      await app.register(m.adminRoutes, { feature, tokens: services.tokens, now: () => services.admin.now() });
    }
    // The operator console: same listener and same switch (admin tokens) as the admin API.
    if (services.console) {
      await app.register(consoleApp, { services: services.console, tokens: services.tokens, prefix: CONSOLE_PREFIX });
      // Someone who opens the relay's address in a browser lands in the console.
      app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect(CONSOLE_PREFIX, 302));
    }
  }
}

export const app = fp(relayApp, { name: 'paygate-relay', fastify: '5.x' });

/** A Fastify instance for one listener of a relay. */
export async function buildApp(relay: Relay, opts: { surface?: Surface; https?: { cert: Buffer; key: Buffer } } = {}): Promise<FastifyInstance> {
  return buildHttp(appServices(relay), relay.config, relay.logger, opts);
}

/** The same from the services alone: a callback worker process has no Relay (src/cluster/worker.ts). */
export async function buildHttp(
  services: AppServices, config: Pick<Config, 'listen' | 'trustProxy' | 'limits'>, logger: Logger,
  opts: { surface?: Surface; https?: { cert: Buffer; key: Buffer } } = {},
): Promise<FastifyInstance> {
  const t = config.listen.timeouts;
  // Node enforces headersTimeout only when it sweeps its connections, every 30 s by default: a
  // slowloris client would hold a socket for 30 s whatever headersMs says. Sweep often enough
  // that a slow header block is cut within about a tenth of headersMs of its deadline.
  const http = { headersTimeout: t.headersMs, connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(t.headersMs / 10))) };
  const fastify = Fastify({
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key, minVersion: 'TLSv1.2' as const, ...http } } : { http }),
    trustProxy: config.trustProxy ?? false,
    connectionTimeout: t.requestMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    loggerInstance: logger as unknown as FastifyBaseLogger,
    // Our own per-callback line replaces fastify's per-request pair (which would log URLs with query strings = Data).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.bodyBytes,
    return503OnClosing: true,
  });
  await fastify.register(app, { services, surface: opts.surface });
  return fastify;
}
