// The operator console: server-rendered pages under /console on the admin listener,
// registered only when admin tokens are configured (like the admin API). Every read and
// every action goes through src/admin/queries.ts, the functions behind the JSON API.
//
// This plugin holds what all pages share (security headers, the error page, assets) and
// registers the auth plugin and one plugin per page group (routes/). A new page group is
// a file in routes/ exporting fp(plugin, { name, dependencies: ['console-auth'] }) whose
// routes put `app.consoleAuth.viewer|operator` in their options, declare their querystring/
// params/body as zod schemas with `hide: true` (HTML is not part of openapi.yaml), and
// render with the kit (ctxOf, html, flash, audit); then one register line below.

import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { ERROR_CODES, RelayError } from '../errors.js';
import type { TokenTable } from '../routes/auth.js';
import { typed } from '../routes/type-provider.js';
import consoleAuth from './auth.js';
import { ASSETS, pageKit, type ConsoleServices } from './kit.js';
import conflictPages from './routes/conflicts.js';
import deadLetterPages from './routes/dead-letters.js';
import endpointPages from './routes/endpoints.js';
import erasurePages from './routes/erasures.js';
import eventPages from './routes/events.js';
import overviewPages from './routes/overview.js';
import quarantinePages from './routes/quarantine.js';
import storagePages from './routes/storage.js';
import { StoredThrottle } from '../net/failure-throttle.js';
import { StoredSessions, type ConsoleSessions, type LoginThrottling } from './session.js';

export { CONSOLE_PREFIX } from './kit.js';

/** No inline script or style, nothing from elsewhere, no framing, forms post only to us. */
export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
].join('; ');

export interface ConsoleOptions {
  services: ConsoleServices;
  tokens: TokenTable;
  sessions?: ConsoleSessions;
  throttle?: LoginThrottling;
}

async function consolePlugin(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const kit = pageKit(opts.services);

  app.addHook('onRequest', async (req) => {
    req.consoleStart = performance.now();
  });
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('content-security-policy', CONSOLE_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (!reply.getHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (req.consoleStart !== undefined) {
      const prior = reply.getHeader('server-timing');
      const total = `total;dur=${(performance.now() - req.consoleStart).toFixed(1)}`;
      reply.header('server-timing', prior ? `${String(prior)}, ${total}` : total);
    }
    return payload;
  });

  app.setErrorHandler((err: FastifyError | RelayError, req, reply) => {
    if (err instanceof RelayError) return kit.errorPage(reply, err.status, ERROR_CODES[err.code].message, err.status < 500 ? err.detail : undefined);
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err }, 'console request failed');
      return kit.errorPage(reply, 500, ERROR_CODES.internal.message);
    }
    return kit.errorPage(reply, status, 'Bad request', err.message);
  });
  app.setNotFoundHandler((_req, reply) => kit.errorPage(reply, 404, 'Not found'));

  typed(app).get('/assets/:name', { schema: { hide: true, params: z.object({ name: z.string() }) } }, async (req, reply) => {
    const a = ASSETS[req.params.name];
    if (!a) return kit.errorPage(reply, 404, 'Not found');
    reply.header('cache-control', 'public, max-age=86400');
    return reply.type(a.type).send(a.body);
  });

  // In the store by default: every instance on it accepts a session made on another (see session.ts).
  const { store } = opts.services.admin;
  const now = () => opts.services.admin.now();
  await app.register(consoleAuth, {
    tokens: opts.tokens, kit,
    sessions: opts.sessions ?? new StoredSessions(store, opts.tokens, undefined, now),
    throttle: opts.throttle ?? new StoredThrottle(store, 'console-login', now),
  });
  await app.register(overviewPages, { kit });
  await app.register(eventPages, { kit });
  await app.register(quarantinePages, { kit });
  await app.register(conflictPages, { kit });
  await app.register(deadLetterPages, { kit });
  await app.register(endpointPages, { kit });
  await app.register(erasurePages, { kit });
  await app.register(storagePages, { kit });

  // The configured features' pages, behind the same session guards.
  const hooks = {
    viewer: app.consoleAuth.viewer, operator: app.consoleAuth.operator, ctxOf: kit.ctxOf, html: kit.html, audit: kit.audit,
    now: () => opts.services.admin.now(),
  };
  for (const f of opts.services.features) f.module.console?.pages(app, hooks, f.instance);
}

/** Register with `{ prefix: CONSOLE_PREFIX }`. */
export default fp(consolePlugin, { name: 'console', encapsulate: true, fastify: '5.x' });
