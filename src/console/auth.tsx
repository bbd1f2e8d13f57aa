// The console's authentication as a plugin: the login form, sessions, CSRF and roles.
// Page groups declare it as a dependency and put `app.consoleAuth.viewer|operator` on
// their routes: the session is checked on request (before any body is read), the CSRF
// token and the role once the form is parsed.
//
// Cookies go through @fastify/cookie; CSRF tokens are @fastify/csrf tokens made from the
// session's secret (a fresh token per page, checked against the secret on every POST).
// @fastify/csrf-protection's hook is not used: it keeps its secret either in a cookie of
// its own or in @fastify/session/@fastify/secure-session, and our secret lives with the
// session (ConsoleSessions), in storage so that any instance accepts it.

import cookie from '@fastify/cookie';
import Tokens from '@fastify/csrf';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import type { Role, TokenTable } from '../routes/auth.js';
import { typed } from '../routes/type-provider.js';
import { ASSET_URLS, CONSOLE_PREFIX, type PageKit } from './kit.js';
import { LoginPage } from './pages/login.js';
import { safeEqual, type ConsoleSessions, type LoginThrottling, type Session } from './session.js';
import { qs } from './format.js';

export const SESSION_COOKIE = 'pgr_console';
export const LOGIN_COOKIE = 'pgr_login';
export const COOKIE_PATH = CONSOLE_PREFIX;
const LOGIN_FORM_SEC = 1800;

type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
export interface Guard {
  onRequest: Hook;
  preValidation: Hook;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Route options for console pages (plugin `console-auth`). */
    consoleAuth: { viewer: Guard; operator: Guard };
  }
  interface FastifyRequest {
    consoleSession?: Session;
  }
}

export interface ConsoleAuthOptions {
  tokens: TokenTable;
  sessions: ConsoleSessions;
  throttle: LoginThrottling;
  kit: PageKit;
}

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

/** True when the client reached us over TLS (directly or through a proxy that says so): the cookie is then Secure. */
export function overTls(req: FastifyRequest): boolean {
  const xf = req.headers['x-forwarded-proto'];
  return req.protocol === 'https' || (typeof xf === 'string' && xf.split(',')[0]!.trim().toLowerCase() === 'https');
}

const cookieOptions = (req: FastifyRequest, maxAge: number) =>
  ({ path: COOKIE_PATH, maxAge, httpOnly: true, sameSite: 'strict', secure: overTls(req) }) as const;

const loginQuery = z.object({ next: z.string().optional(), msg: z.string().optional() });
const loginForm = z.object({ _login: z.string().optional(), token: z.string().optional(), next: z.string().optional() });

async function consoleAuth(app: FastifyInstance, opts: ConsoleAuthOptions): Promise<void> {
  const { tokens, sessions, throttle, kit } = opts;
  const { logger } = kit.services;
  const csrf = Tokens();
  await app.register(cookie);

  const session: Hook = async (req, reply) => {
    const s = await sessions.read(req.cookies[SESSION_COOKIE]);
    if (!s) {
      if (req.method === 'GET' || req.method === 'HEAD') return reply.redirect(`${CONSOLE_PREFIX}/login${qs({ next: safeNext(req.url) })}`, 303);
      return kit.errorPage(reply, 401, 'Not logged in', 'Your session has ended. Log in again.', `${CONSOLE_PREFIX}/login`);
    }
    req.consoleSession = s;
    req.consolePage = { id: s.id, role: s.role, csrf: csrf.create(s.csrf) };
  };
  /** Every POST must carry a token made from its session's secret; `need` operator for state changes. */
  const check = (need: Role): Hook => async (req, reply) => {
    const s = req.consoleSession!;
    if (req.method === 'POST') {
      const token = (req.body as { _csrf?: unknown } | undefined)?._csrf;
      if (typeof token !== 'string' || !csrf.verify(s.csrf, token)) {
        logger.warn({ console: true, path: req.routeOptions.url, ip: req.ip }, 'console: POST without a valid CSRF token refused');
        return kit.errorPage(reply, 403, 'Refused', 'The form carried no valid CSRF token. Reload the page and try again.');
      }
    }
    if (need === 'operator' && s.role !== 'operator') {
      return kit.errorPage(reply, 403, 'Not allowed', "This token's role (viewer) may read but not change anything.");
    }
  };
  const guards = { viewer: { onRequest: session, preValidation: check('viewer') }, operator: { onRequest: session, preValidation: check('operator') } };
  app.decorate('consoleAuth', guards);

  const ttlHours = Math.round(sessions.ttlMs / 3600_000);
  const loginPage = (reply: FastifyReply, props: { nonce: string; next: string; error?: string; notice?: string }, status = 200) =>
    kit.html(reply, <LoginPage assets={ASSET_URLS} ttlHours={ttlHours} {...props} />, status);
  const freshNonce = (req: FastifyRequest, reply: FastifyReply) => {
    const n = randomBytes(18).toString('base64url');
    reply.setCookie(LOGIN_COOKIE, n, cookieOptions(req, LOGIN_FORM_SEC));
    return n;
  };
  const r = typed(app);

  r.get('/login', { schema: { hide: true, querystring: loginQuery } }, async (req, reply) => {
    const next = safeNext(req.query.next);
    if (await sessions.read(req.cookies[SESSION_COOKIE])) return reply.redirect(next, 303);
    return loginPage(reply, { nonce: freshNonce(req, reply), next, notice: req.query.msg === 'logged-out' ? 'Logged out.' : undefined });
  });

  // The login form carries a nonce that must equal its cookie: a cross-site form cannot log a browser in.
  r.post('/login', { schema: { hide: true, body: loginForm.optional() } }, async (req, reply) => {
    const body = req.body ?? {};
    const next = safeNext(body.next);
    const nonce = req.cookies[LOGIN_COOKIE];
    if (await throttle.blocked(req.ip)) {
      logger.warn({ console: true, ip: req.ip }, 'console: login refused, too many failures');
      return loginPage(reply, { nonce: freshNonce(req, reply), next, error: 'Too many failed logins from this address. Wait a few minutes.' }, 429);
    }
    if (!nonce || body._login === undefined || !safeEqual(body._login, nonce)) {
      return loginPage(reply, { nonce: freshNonce(req, reply), next, error: 'The login form expired. Please try again.' }, 403);
    }
    const token = body.token?.trim();
    const role = token === undefined ? null : tokens.roleOf(token);
    if (!role || token === undefined) {
      await throttle.failed(req.ip);
      logger.warn({ console: true, ip: req.ip }, 'console: login with an unknown token refused');
      return loginPage(reply, { nonce, next, error: 'That token is not valid.' }, 401);
    }
    await throttle.succeeded(req.ip);
    const { session: s, value } = await sessions.issue(role, token);
    reply.setCookie(SESSION_COOKIE, value, cookieOptions(req, Math.floor(sessions.ttlMs / 1000)));
    reply.setCookie(LOGIN_COOKIE, '', cookieOptions(req, 0));
    logger.info({ console: true, role, session: s.id, ip: req.ip }, 'console login');
    return reply.redirect(next, 303);
  });

  r.post('/logout', { ...guards.viewer, schema: { hide: true, body: z.object({ _csrf: z.string() }) } }, async (req, reply) => {
    await sessions.revoke(req.consoleSession!);
    reply.setCookie(SESSION_COOKIE, '', cookieOptions(req, 0));
    kit.audit(req, 'logout', {});
    return reply.redirect(`${CONSOLE_PREFIX}/login?msg=logged-out`, 303);
  });
}

export default fp(consoleAuth, { name: 'console-auth', fastify: '5.x' });
