// Console sessions: after a login with an admin token the browser holds a cookie that
// names a session with a role, an expiry and a CSRF secret. Logout ends the session, so a
// copied cookie dies with it; repeated failed logins from one address are refused for a while.
//
// The auth plugin (auth.tsx) sees only the two interfaces below. Sessions and failed logins
// live in the relay's store, so any instance on the same store accepts a session made on
// another, a logout on one ends it on all, and a restart ends none.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role, TokenTable } from '../routes/auth.js';
import type { Store } from '../store/types.js';

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
  /** A session for a login with this (valid) admin token. */
  issue(role: Role, token: string): Awaitable<{ session: Session; value: string }>;
  /** The live session a cookie value names: null when unknown, tampered, expired, logged out or its token removed. */
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
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Sessions in the store. The cookie is `<id>.<secret>`: the id finds the row, the secret
 * proves the cookie (only its SHA-256 is stored, so reading the table opens no session).
 * The role is not stored: it is the role the configuration gives the session's token now,
 * so a token removed from the configuration ends its sessions on the next request.
 */
export class StoredSessions implements ConsoleSessions {
  constructor(
    private readonly store: Pick<Store, 'createSession' | 'getSession' | 'deleteSession'>,
    private readonly tokens: Pick<TokenTable, 'idOf' | 'roleOfId'>,
    readonly ttlMs: number = DEFAULT_SESSION_TTL_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  async issue(role: Role, token: string): Promise<{ session: Session; value: string }> {
    const now = this.clock();
    const secret = b64(randomBytes(32));
    const session: Session = { id: b64(randomBytes(16)), role, exp: now + this.ttlMs, csrf: b64(randomBytes(24)) };
    await this.store.createSession({
      id: session.id, secretHash: sha256(secret), tokenDigest: this.tokens.idOf(token), csrf: session.csrf, createdAt: now, expiresAt: session.exp,
    }, now);
    return { session, value: `${session.id}.${secret}` };
  }

  async read(value: string | undefined): Promise<Session | null> {
    if (!value) return null;
    const m = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return null;
    const row = await this.store.getSession(m[1]!);
    if (!row || !safeEqual(sha256(m[2]!), row.secretHash) || row.expiresAt <= this.clock()) return null;
    const role = this.tokens.roleOfId(row.tokenDigest);
    if (!role) return null;
    return { id: row.id, role, exp: row.expiresAt, csrf: row.csrf };
  }

  async revoke(s: Session): Promise<void> {
    await this.store.deleteSession(s.id);
  }
}
