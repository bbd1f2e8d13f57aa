// Console sessions: after a login with an admin token the browser holds a signed,
// expiring cookie carrying the role and a CSRF secret. The signing key is random per
// process, so every session ends when the relay restarts. Logout revokes the session id
// for the rest of its lifetime, so a copied cookie dies with it.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../routes/auth.js';

export const SESSION_COOKIE = 'pgr_console';
export const LOGIN_COOKIE = 'pgr_login';
export const COOKIE_PATH = '/console';
export const DEFAULT_SESSION_TTL_MS = 8 * 3600_000;

export interface Session {
  id: string;
  role: Role;
  /** Expiry, epoch ms. */
  exp: number;
  /** Carried by every state-changing form as `_csrf`. */
  csrf: string;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

/** True when the client reached us over TLS (directly or through a proxy that says so). */
export function overTls(req: FastifyRequest): boolean {
  const xf = req.headers['x-forwarded-proto'];
  return req.protocol === 'https' || (typeof xf === 'string' && xf.split(',')[0]!.trim().toLowerCase() === 'https');
}

export function cookie(req: FastifyRequest, name: string, value: string, maxAgeSec: number): string {
  return [`${name}=${value}`, `Path=${COOKIE_PATH}`, `Max-Age=${maxAgeSec}`, 'HttpOnly', 'SameSite=Strict', ...(overTls(req) ? ['Secure'] : [])].join('; ');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionKeeper {
  private readonly key = randomBytes(32);
  /** Logged-out session ids until they would have expired anyway. */
  private readonly revoked = new Map<string, number>();

  constructor(
    readonly ttlMs: number = DEFAULT_SESSION_TTL_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  issue(role: Role): { session: Session; value: string } {
    const session: Session = { id: b64(randomBytes(12)), role, exp: this.clock() + this.ttlMs, csrf: b64(randomBytes(24)) };
    const body = b64(JSON.stringify({ i: session.id, r: session.role, e: session.exp, c: session.csrf }));
    return { session, value: `${body}.${this.sign(body)}` };
  }

  read(value: string | undefined): Session | null {
    if (!value) return null;
    const dot = value.indexOf('.');
    if (dot < 1) return null;
    const body = value.slice(0, dot);
    if (!safeEqual(value.slice(dot + 1), this.sign(body))) return null;
    let p: { i?: unknown; r?: unknown; e?: unknown; c?: unknown };
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as typeof p;
    } catch {
      return null;
    }
    if (typeof p.i !== 'string' || (p.r !== 'viewer' && p.r !== 'operator') || typeof p.e !== 'number' || typeof p.c !== 'string') return null;
    const now = this.clock();
    if (p.e <= now || this.revoked.has(p.i)) return null;
    return { id: p.i, role: p.r, exp: p.e, csrf: p.c };
  }

  revoke(s: Session): void {
    const now = this.clock();
    for (const [id, exp] of this.revoked) if (exp <= now) this.revoked.delete(id);
    this.revoked.set(s.id, s.exp);
  }

  fromRequest(req: FastifyRequest): Session | null {
    return this.read(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
  }

  setCookie(req: FastifyRequest, reply: FastifyReply, value: string): void {
    reply.header('set-cookie', cookie(req, SESSION_COOKIE, value, Math.floor(this.ttlMs / 1000)));
  }

  clearCookie(req: FastifyRequest, reply: FastifyReply): void {
    reply.header('set-cookie', cookie(req, SESSION_COOKIE, '', 0));
  }
}

/** Per-address failed logins: after `max` failures within `windowMs`, logins are refused until the window passes. */
export { FailureThrottle as LoginThrottle } from '../net/failure-throttle.js';
