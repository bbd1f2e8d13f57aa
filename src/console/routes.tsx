/** @jsxRuntime classic */
/** @jsx h */
/** @jsxFrag Fragment */
// The operator console: server-rendered pages under /console on the admin listener,
// registered only when admin tokens are configured (like the admin API). Every read and
// every action goes through src/admin/queries.ts, the functions behind the JSON API.

import { createHash, randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as q from '../admin/queries.js';
import { ERROR_CODES, RelayError } from '../errors.js';
import { VERSION, type Relay } from '../relay.js';
import type { Role, TokenTable } from '../routes/auth.js';
import { CLIENT_JS } from './assets/client.js';
import { ICON_SVG } from './assets/icon.js';
import { STYLE_CSS } from './assets/style.js';
import { qs, utcInput } from './format.js';
import { documentHtml, h, type Html } from './jsx-runtime.js';
import { collectmaxxPages } from './pages/collectmaxx.js';
import { ConfirmRedeliverPage, DeadLettersPage, type DeadQuery } from './pages/dead-letters.js';
import { EndpointsPage } from './pages/endpoints.js';
import { EventPage } from './pages/event.js';
import { EVENT_FILTER_KEYS, EventsPage, type EventQuery } from './pages/events.js';
import { ErrorPage, LoginPage } from './pages/login.js';
import { OverviewPage } from './pages/overview.js';
import { QuarantinePage, type QuarantineQuery } from './pages/quarantine.js';
import { ConflictPage, ConflictsPage, type ConflictQuery } from './pages/conflicts.js';
import { LOGIN_COOKIE, LoginThrottle, SessionKeeper, cookie, parseCookies, safeEqual, type Session } from './session.js';
import type { PageCtx } from './ui.js';

export const CONSOLE_PREFIX = '/console';
const PAGE_SIZE = 50;

/** No inline script or style, nothing from elsewhere, no framing, forms post only to us. */
export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
].join('; ');

export interface ConsoleOptions {
  relay: Relay;
  tokens: TokenTable;
  sessionTtlMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: Session;
    consoleStart?: number;
  }
}

interface Asset {
  body: string;
  type: string;
  url: string;
}

function asset(name: string, body: string, type: string): Asset {
  const v = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { body, type, url: `${CONSOLE_PREFIX}/assets/${name}?v=${v}` };
}

type Body = Record<string, unknown>;
const bodyOf = (req: FastifyRequest): Body => (req.body && typeof req.body === 'object' ? (req.body as Body) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const int = (v: unknown): number => {
  const n = Number.parseInt(String(v ?? ''), 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
};

/** Only paths inside the console may be a post-login destination. */
export function safeNext(v: unknown): string {
  const s = typeof v === 'string' ? v : '';
  if (!s.startsWith('/console') || s.startsWith('//') || s.includes('\\')) return CONSOLE_PREFIX;
  try {
    const u = new URL(s, 'http://relay.invalid');
    if (u.origin !== 'http://relay.invalid' || !/^\/console(\/|$)/.test(u.pathname) || u.pathname.startsWith('/console/login')) return CONSOLE_PREFIX;
    return u.pathname + u.search;
  } catch {
    return CONSOLE_PREFIX;
  }
}

export async function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const { relay, tokens } = opts;
  const sessions = new SessionKeeper(opts.sessionTtlMs);
  const throttle = new LoginThrottle();
  const endpointIds = () => relay.endpoints.map((e) => e.id);
  const merchantIds = () => relay.config.merchants.map((m) => m.id);
  const files: Record<string, Asset> = {
    'console.css': asset('console.css', STYLE_CSS, 'text/css; charset=utf-8'),
    'console.js': asset('console.js', CLIENT_JS, 'text/javascript; charset=utf-8'),
    'icon.svg': asset('icon.svg', ICON_SVG, 'image/svg+xml'),
  };
  const assets: PageCtx['assets'] = { css: files['console.css']!.url, js: files['console.js']!.url, icon: files['icon.svg']!.url };
  const ttlHours = Math.round(sessions.ttlMs / 3600_000);

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

  const html = (reply: FastifyReply, page: Html, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(documentHtml(page));
  const errorPage = (reply: FastifyReply, status: number, title: string, detail?: string, back?: string) =>
    html(reply, <ErrorPage assets={assets} status={status} title={title} detail={detail} back={back} />, status);
  const ctxOf = (req: FastifyRequest, timings: Record<string, number> = {}): PageCtx => ({
    session: req.consoleSession!, now: relay.now(), startedAt: req.consoleStart ?? performance.now(), version: VERSION, assets, timings,
    collectmaxx: relay.collectmaxx !== null,
  });
  const audit = (req: FastifyRequest, action: string, detail: Record<string, unknown>) =>
    relay.logger.info({ console: true, action, role: req.consoleSession?.role, session: req.consoleSession?.id, ip: req.ip, ...detail }, 'console action');

  /** Session required; `need` operator for state changes; every POST must carry the session's CSRF token. */
  const guard = (need: Role) => async (req: FastifyRequest, reply: FastifyReply) => {
    const session = sessions.fromRequest(req);
    if (!session) {
      if (req.method === 'GET' || req.method === 'HEAD') return reply.redirect(`${CONSOLE_PREFIX}/login${qs({ next: safeNext(req.url) })}`, 303);
      return errorPage(reply, 401, 'Not logged in', 'Your session has ended. Log in again.', `${CONSOLE_PREFIX}/login`);
    }
    req.consoleSession = session;
    if (req.method === 'POST') {
      const token = bodyOf(req)._csrf;
      if (typeof token !== 'string' || !safeEqual(token, session.csrf)) {
        relay.logger.warn({ console: true, path: req.routeOptions.url, ip: req.ip }, 'console: POST without a valid CSRF token refused');
        return errorPage(reply, 403, 'Refused', 'The form carried no valid CSRF token. Reload the page and try again.');
      }
    }
    if (need === 'operator' && session.role !== 'operator') {
      return errorPage(reply, 403, 'Not allowed', "This token's role (viewer) may read but not change anything.");
    }
  };
  const viewer = { preHandler: guard('viewer') };
  const operator = { preHandler: guard('operator') };

  /** Messages after an action, from a fixed table: the query string only picks one and fills in checked values. */
  const flashFrom = (query: Body): { text: string; bad?: boolean } | null => {
    const known = (v: unknown) => String(v ?? '').split(',').filter((e) => endpointIds().includes(e));
    switch (query.msg) {
      case 'redelivered': {
        const ep = known(query.ep);
        const busy = known(query.busy);
        if (ep.length === 0 && busy.length === 0) return { text: 'Nothing to redeliver.', bad: true };
        return { text: [ep.length ? `Redelivery scheduled for ${ep.join(', ')}.` : '', busy.length ? `Still in flight, not reset: ${busy.join(', ')}.` : ''].join(' ').trim() };
      }
      case 'reprocessed':
        return { text: 'Reprocessed: the callback verified and this event was stored.' };
      case 'reprocessed-duplicate':
        return { text: 'Reprocessed: the callback verified; it repeats this event, which was already stored.' };
      case 'reprocessed-conflict':
        return { text: 'Reprocessed: the callback verified but conflicts with this event (same signed identity, other content); see Conflicts.', bad: true };
      case 'still': {
        const reason = String(query.reason ?? '');
        const entry = (ERROR_CODES as Record<string, { message: string }>)[reason];
        return { text: `Still quarantined${entry ? `: ${reason} (${entry.message})` : ''}.`, bad: true };
      }
      case 'bulk':
        return { text: `Reprocessed ${int(query.n)}: ${int(query.a)} accepted, ${int(query.d)} duplicates, ${int(query.s)} still quarantined.` };
      case 'dlq':
        return { text: `${int(query.n)} dead letter${int(query.n) === 1 ? '' : 's'} scheduled again.` };
      case 'enabled':
      case 'disabled': {
        const [ep] = known(query.ep);
        return ep ? { text: `Endpoint ${ep} ${query.msg}.` } : null;
      }
      case 'test-sent': {
        const [ep] = known(query.ep);
        if (!ep) return null;
        return relay.dispatcher.isDisabled(ep)
          ? { text: `Test event queued for ${ep}, which is disabled: it goes out when the endpoint is enabled.`, bad: true }
          : { text: `Test event sent to ${ep}: its attempts appear below.` };
      }
      default:
        return null;
    }
  };

  /** A filter the query functions reject (bad glob, bad time, bad cursor) shows on the page instead of an error page. */
  const orBadFilter = async <T,>(fn: () => Promise<T>, empty: T): Promise<{ value: T; error: { text: string; bad: true } | null }> => {
    try {
      return { value: await fn(), error: null };
    } catch (err) {
      if (err instanceof RelayError && err.code === 'bad_request') return { value: empty, error: { text: `Filter not applied: ${err.detail ?? err.message}`, bad: true } };
      throw err;
    }
  };
  const pick = <K extends string>(query: Body, keys: readonly K[]) =>
    Object.fromEntries(keys.map((k) => [k, str(query[k])]).filter(([, v]) => v !== undefined)) as Partial<Record<K, string>>;
  const withUtc = <T extends { since?: string; until?: string }>(f: T): T => ({ ...f, since: utcInput(f.since), until: utcInput(f.until) });

  app.setErrorHandler((err: FastifyError | RelayError, req, reply) => {
    if (err instanceof RelayError) return errorPage(reply, err.status, ERROR_CODES[err.code].message, err.status < 500 ? err.detail : undefined);
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err }, 'console request failed');
      return errorPage(reply, 500, ERROR_CODES.internal.message);
    }
    return errorPage(reply, status, 'Bad request', err.message);
  });
  app.setNotFoundHandler((_req, reply) => errorPage(reply, 404, 'Not found'));

  // ------------------------------------------------------------------ assets

  app.get('/assets/:name', async (req, reply) => {
    const a = files[(req.params as { name: string }).name];
    if (!a) return errorPage(reply, 404, 'Not found');
    reply.header('cache-control', 'public, max-age=86400');
    return reply.type(a.type).send(a.body);
  });

  // ------------------------------------------------------------------ login

  app.get('/login', async (req, reply) => {
    const query = req.query as Body;
    const next = safeNext(query.next);
    if (sessions.fromRequest(req)) return reply.redirect(next, 303);
    const nonce = randomBytes(18).toString('base64url');
    reply.header('set-cookie', cookie(req, LOGIN_COOKIE, nonce, 1800));
    return html(reply, <LoginPage assets={assets} nonce={nonce} next={next} ttlHours={ttlHours} notice={query.msg === 'logged-out' ? 'Logged out.' : undefined} />);
  });

  app.post('/login', async (req, reply) => {
    const body = bodyOf(req);
    const next = safeNext(body.next);
    const nonce = parseCookies(req.headers.cookie)[LOGIN_COOKIE];
    const fresh = () => {
      const n = randomBytes(18).toString('base64url');
      reply.header('set-cookie', cookie(req, LOGIN_COOKIE, n, 1800));
      return n;
    };
    if (throttle.blocked(req.ip)) {
      relay.logger.warn({ console: true, ip: req.ip }, 'console: login refused, too many failures');
      return html(reply, <LoginPage assets={assets} nonce={fresh()} next={next} ttlHours={ttlHours} error="Too many failed logins from this address. Wait a few minutes." />, 429);
    }
    if (!nonce || typeof body._login !== 'string' || !safeEqual(body._login, nonce)) {
      return html(reply, <LoginPage assets={assets} nonce={fresh()} next={next} ttlHours={ttlHours} error="The login form expired. Please try again." />, 403);
    }
    const role = typeof body.token === 'string' ? tokens.roleOf(body.token.trim()) : null;
    if (!role) {
      throttle.failed(req.ip);
      relay.logger.warn({ console: true, ip: req.ip }, 'console: login with an unknown token refused');
      return html(reply, <LoginPage assets={assets} nonce={nonce} next={next} ttlHours={ttlHours} error="That token is not valid." />, 401);
    }
    throttle.succeeded(req.ip);
    const { session, value } = sessions.issue(role);
    sessions.setCookie(req, reply, value);
    reply.header('set-cookie', cookie(req, LOGIN_COOKIE, '', 0));
    relay.logger.info({ console: true, role, session: session.id, ip: req.ip }, 'console login');
    return reply.redirect(next, 303);
  });

  app.post('/logout', viewer, async (req, reply) => {
    sessions.revoke(req.consoleSession!);
    sessions.clearCookie(req, reply);
    audit(req, 'logout', {});
    return reply.redirect(`${CONSOLE_PREFIX}/login?msg=logged-out`, 303);
  });

  // ------------------------------------------------------------------ overview

  app.get('/', viewer, async (req, reply) => {
    const t0 = performance.now();
    const o = await q.overview(relay);
    const ctx = ctxOf(req, { queries: performance.now() - t0 });
    return html(reply, <OverviewPage ctx={ctx} o={o} flash={flashFrom(req.query as Body)} />);
  });

  // ------------------------------------------------------------------ events

  app.get('/events', viewer, async (req, reply) => {
    const query = req.query as Body;
    const filters: EventQuery = pick(query, [...EVENT_FILTER_KEYS, 'cursor'] as const);
    const t0 = performance.now();
    const { value: page, error } = await orBadFilter(() => q.listEvents(relay, { ...withUtc(filters), limit: PAGE_SIZE }), { items: [], next: null });
    const queryMs = performance.now() - t0;
    reply.header('server-timing', `db;dur=${queryMs.toFixed(1)}`);
    const ctx = ctxOf(req, { query: queryMs });
    return html(reply, <EventsPage ctx={ctx} q={filters} items={page.items} next={page.next} merchants={merchantIds()} flash={error ?? flashFrom(query)} />);
  });

  app.get('/events/:id', viewer, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const t0 = performance.now();
    const detail = await q.eventDetail(relay, id);
    const ctx = ctxOf(req, { queries: performance.now() - t0 });
    return html(reply, <EventPage ctx={ctx} detail={detail} endpoints={endpointIds()} flash={flashFrom(req.query as Body)} />);
  });

  app.post('/events/:id/redeliver', operator, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const endpoint = str(bodyOf(req).endpoint);
    const r = await q.redeliverEvent(relay, id, endpoint);
    audit(req, 'redeliver', { eventId: id, endpoint: endpoint ?? 'all', scheduled: r.scheduled, inFlight: r.inFlight });
    return reply.redirect(`${CONSOLE_PREFIX}/events/${encodeURIComponent(id)}${qs({ msg: 'redelivered', ep: r.scheduled.join(','), busy: r.inFlight.join(',') })}`, 303);
  });

  // ------------------------------------------------------------------ quarantine

  const QUARANTINE_KEYS = ['merchantId', 'claimedMerchantId', 'reason', 'since', 'until'] as const;

  app.get('/quarantine', viewer, async (req, reply) => {
    const query = req.query as Body;
    const filters: QuarantineQuery = pick(query, [...QUARANTINE_KEYS, 'cursor'] as const);
    const t0 = performance.now();
    const [{ value: page, error }, total] = await Promise.all([
      orBadFilter(() => q.listQuarantine(relay, { ...withUtc(filters), limit: PAGE_SIZE }), { items: [], next: null }),
      relay.store.quarantineSize(),
    ]);
    const ctx = ctxOf(req, { queries: performance.now() - t0 });
    return html(reply, <QuarantinePage ctx={ctx} q={filters} items={page.items} next={page.next} total={total} merchants={merchantIds()} flash={error ?? flashFrom(query)} />);
  });

  app.post('/quarantine/:id/reprocess', operator, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const r = await q.reprocessOne(relay, id);
    audit(req, 'reprocess', { callbackId: id, result: r.result });
    if (r.result === 'still_quarantined') return reply.redirect(`${CONSOLE_PREFIX}/quarantine${qs({ msg: 'still', reason: r.reason })}`, 303);
    const msg = r.result === 'duplicate' ? 'reprocessed-duplicate' : r.result === 'conflict' ? 'reprocessed-conflict' : 'reprocessed';
    return reply.redirect(`${CONSOLE_PREFIX}/events/${encodeURIComponent(r.eventId)}${qs({ msg })}`, 303);
  });

  app.post('/quarantine/reprocess', operator, async (req, reply) => {
    const filters = pick(bodyOf(req), QUARANTINE_KEYS);
    const r = await q.reprocessMatching(relay, withUtc(filters));
    audit(req, 'reprocess-matching', { filters, ...r });
    return reply.redirect(`${CONSOLE_PREFIX}/quarantine${qs({ ...filters, msg: 'bulk', n: r.processed, a: r.accepted, d: r.duplicate, s: r.stillQuarantined })}`, 303);
  });

  // ------------------------------------------------------------------ conflicts

  const CONFLICT_KEYS = ['merchantId', 'transId', 'since', 'until'] as const;

  app.get('/conflicts', viewer, async (req, reply) => {
    const query = req.query as Body;
    const filters: ConflictQuery = pick(query, [...CONFLICT_KEYS, 'cursor'] as const);
    const t0 = performance.now();
    const { value: page, error } = await orBadFilter(() => q.listConflicts(relay, { ...withUtc(filters), limit: PAGE_SIZE }), { items: [], next: null });
    const ctx = ctxOf(req, { queries: performance.now() - t0 });
    return html(reply, <ConflictsPage ctx={ctx} q={filters} items={page.items} next={page.next} merchants={merchantIds()} flash={error} />);
  });

  app.get('/conflicts/:id', viewer, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const t0 = performance.now();
    const detail = await q.conflictDetail(relay, id);
    return html(reply, <ConflictPage ctx={ctxOf(req, { queries: performance.now() - t0 })} detail={detail} />);
  });

  // ------------------------------------------------------------------ dead letters

  const DEAD_KEYS = ['endpoint', 'type', 'since', 'until'] as const;

  app.get('/dead-letters', viewer, async (req, reply) => {
    const query = req.query as Body;
    const filters: DeadQuery = pick(query, [...DEAD_KEYS, 'cursor'] as const);
    const t0 = performance.now();
    const { value: page, error } = await orBadFilter(() => q.listDeadLetters(relay, { ...withUtc(filters), limit: PAGE_SIZE }), { items: [], next: null });
    const ctx = ctxOf(req, { queries: performance.now() - t0 });
    return html(reply, <DeadLettersPage ctx={ctx} q={filters} items={page.items} next={page.next} endpoints={endpointIds()} flash={error ?? flashFrom(query)} />);
  });

  // Step one of the bulk action is a read: how many would go. Step two (POST) sends them.
  app.get('/dead-letters/redeliver', operator, async (req, reply) => {
    const filters: DeadQuery = pick(req.query as Body, DEAD_KEYS);
    const r = await q.redeliverDeadLetters(relay, withUtc(filters), true);
    return html(reply, <ConfirmRedeliverPage ctx={ctxOf(req)} q={filters} count={r.count} />);
  });

  app.post('/dead-letters/redeliver', operator, async (req, reply) => {
    const filters = pick(bodyOf(req), DEAD_KEYS);
    const r = await q.redeliverDeadLetters(relay, withUtc(filters), false);
    audit(req, 'redeliver-dead-letters', { filters, count: r.count });
    return reply.redirect(`${CONSOLE_PREFIX}/dead-letters${qs({ ...filters, msg: 'dlq', n: r.count })}`, 303);
  });

  // ------------------------------------------------------------------ endpoints

  app.get('/endpoints', viewer, async (req, reply) => {
    const t0 = performance.now();
    const endpoints = await q.endpointHealth(relay);
    return html(reply, <EndpointsPage ctx={ctxOf(req, { queries: performance.now() - t0 })} endpoints={endpoints} flash={flashFrom(req.query as Body)} />);
  });

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post(`/endpoints/:id/${action}`, operator, async (req, reply) => {
      const id = (req.params as { id: string }).id;
      await q.setEndpointEnabled(relay, id, enabled);
      audit(req, action, { endpoint: id });
      return reply.redirect(`${CONSOLE_PREFIX}/endpoints${qs({ msg: enabled ? 'enabled' : 'disabled', ep: id })}#ep-${encodeURIComponent(id)}`, 303);
    });
  }

  app.post('/endpoints/:id/test', operator, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const r = await q.sendTestEvent(relay, id, str(bodyOf(req).message));
    audit(req, 'test-event', { endpoint: id, eventId: r.eventId });
    return reply.redirect(`${CONSOLE_PREFIX}/events/${encodeURIComponent(r.eventId)}${qs({ msg: 'test-sent', ep: id })}`, 303);
  });

  // ------------------------------------------------------------------ collectmaxx (only when configured)

  if (relay.collectmaxx) collectmaxxPages(app, { relay, viewer, operator, ctxOf, html, audit }, relay.collectmaxx);
}
