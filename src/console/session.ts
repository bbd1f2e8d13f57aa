// Console sessions: after a login with an admin token the browser holds a cookie that
// names a session with a role, an expiry and a CSRF secret. Logout revokes the session for
// the rest of its lifetime, so a copied cookie dies with it; repeated failed logins from one
// address are refused for a while.
//
// The auth plugin (auth.tsx) sees only the two interfaces below. The implementations here
// keep everything in this process: a signed, expiring cookie whose key is random per process
// (every session ends when the relay restarts) and in-memory revocations and login failures.
// Sessions that any instance accepts are a store-backed implementation of the same interfaces.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../routes/auth.js';

export const DEFAULT_SESSION_TTL_MS = 8 * 3600_000;

export interface Session {
  id: string;
  role: Role;
  /** Expiry, epoch ms. */
  exp: number;
  /** The session's CSRF secret: forms carry tokens made from it (never the secret itself). */
  csrf: string;
}

type Awaitable<T> = T | Promise<T>;

/** Where console sessions live. `value` is what the cookie carries. */
export interface ConsoleSessions {
  readonly ttlMs: number;
  issue(role: Role): Awaitable<{ session: Session; value: string }>;
  /** The live session a cookie value names: null when unknown, tampered, expired or revoked. */
  read(value: string | undefined): Awaitable<Session | null>;
  revoke(session: Session): Awaitable<void>;
}

/** Failed logins per client address. */
export interface LoginThrottling {
  blocked(ip: string): Awaitable<boolean>;
  failed(ip: string): Awaitable<void>;
  succeeded(ip: string): Awaitable<void>;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Sessions of this process: a signed cookie carries the session; logouts are remembered until expiry. */
export class SessionKeeper implements ConsoleSessions {
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
}

/** Per-address failed logins: after `max` failures within `windowMs`, logins are refused until the window passes. */
export { FailureThrottle as LoginThrottle } from '../net/failure-throttle.js';
