import formbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { CONSOLE_PREFIX, consoleRoutes } from './console/routes.js';
import { RelayError, errorBody, type ErrorCode } from './errors.js';
import { FEATURES } from './features.js';
import type { Relay } from './relay.js';
import { adminRoutes } from './routes/admin.js';
import { tokenTable } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { paygateRoutes } from './routes/paygate.js';

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

export interface AppOptions {
  /**
   * Which routes this listener serves: `public` = Paygate callbacks + health,
   * `admin` = admin API, console, /metrics + health, `all` = both (one port).
   */
  surface?: 'all' | 'public' | 'admin';
  https?: { cert: Buffer; key: Buffer };
}

/** The HTTP face of a relay: routes only; process concerns live in server.ts. */
export async function buildApp(relay: Relay, opts: AppOptions = {}): Promise<FastifyInstance> {
  const surface = opts.surface ?? 'all';
  const t = relay.config.listen.timeouts;
  const app = Fastify({
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key, minVersion: 'TLSv1.2' as const } } : {}),
    trustProxy: relay.config.trustProxy ?? false,
    connectionTimeout: t.requestMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    loggerInstance: relay.logger as unknown as FastifyBaseLogger,
    // Our own per-callback line replaces fastify's per-request pair (which would log URLs with query strings = Data).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: relay.config.limits.bodyBytes,
    return503OnClosing: true,
  });

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
    // The console's HTML pages are for people, not part of the API contract in openapi.yaml.
    if (r.url.startsWith(CONSOLE_PREFIX)) return;
    for (const m of [r.method].flat()) if (m !== 'HEAD') served.push({ method: m, url: r.url });
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send(errorBody('not_found')));

  app.addHook('onResponse', async (req, reply) => {
    relay.metrics.httpDuration.observe(
      { route: req.routeOptions.url ?? 'unmatched', method: req.method, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.server.headersTimeout = t.headersMs;

  await app.register(formbody);
  await app.register(healthRoutes, { relay, metrics: surface !== 'public' });
  if (surface !== 'admin') await app.register(paygateRoutes, { relay });
  const tokens = tokenTable(relay.config);
  if (surface !== 'public' && tokens.enabled) {
    await app.register(adminRoutes, { relay, tokens });
    // Features' admin routes: always registered (the API contract), 404 while a feature is not configured.
    for (const m of FEATURES) {
      if (m.adminRoutes) await app.register(m.adminRoutes, { feature: relay.feature(m), tokens, now: () => relay.now() });
    }
    // The operator console: same listener and same switch (admin tokens) as the admin API.
    await app.register(consoleRoutes, { relay, tokens, prefix: CONSOLE_PREFIX });
  }
  return app;
}
