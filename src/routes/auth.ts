import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/schema.js';
import { RelayError } from '../errors.js';
import type { AuthThrottle } from '../net/failure-throttle.js';

export type Role = 'viewer' | 'operator';

export interface TokenTable {
  /** Role of the presented token, or null; constant time in the number of tokens. */
  roleOf(token: string): Role | null;
  readonly enabled: boolean;
  /**
   * A stable name of a token for what is stored about its logins (console sessions): a keyed
   * digest, never the token. The same token gives the same id on every instance.
   */
  idOf(token: string): string;
  /** The role of the configured token with this id now; null when no configured token has it (removed). */
  roleOfId(id: string): Role | null;
  /** Wrong tokens per client address, shared by every route of the listener (and every instance on the store). */
  readonly throttle: AuthThrottle;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const tokenId = (token: string) => createHmac('sha256', 'paygate-relay token id').update(token).digest('hex').slice(0, 32);

/** Whether the admin API and the console are on (admin tokens configured). */
export function adminTokensConfigured(config: Pick<Config, 'admin'>): boolean {
  return (config.admin?.tokens.length ?? 0) > 0;
}

export function tokenTable(config: Pick<Config, 'admin'>, throttle: AuthThrottle): TokenTable {
  const entries = (config.admin?.tokens ?? []).map((t) => {
    const token = typeof t === 'string' ? t : t.token;
    return { hash: digest(token), id: tokenId(token), role: typeof t === 'string' ? ('operator' as Role) : t.role };
  });
  return {
    enabled: adminTokensConfigured(config),
    throttle,
    idOf: tokenId,
    roleOfId: (id) => entries.find((e) => e.id === id)?.role ?? null,
    roleOf(token) {
      // Compare digests so the comparison length never depends on the secret.
      const h = digest(token);
      let role: Role | null = null;
      for (const e of entries) if (timingSafeEqual(h, e.hash) && role === null) role = e.role;
      return role;
    },
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    role?: Role;
    /** Which admin token authenticated the request (TokenTable.idOf: a keyed digest, never the token); audit rows name it. */
    adminTokenId?: string;
  }
  interface FastifyInstance {
    /** Bearer-token hooks for the admin API (plugin `admin-auth`). */
    adminAuth: { viewer: onRequestHookHandler; operator: onRequestHookHandler };
  }
}

/**
 * Hook for the admin API: bearer token required; `need` = operator for state changes.
 * An address that presented wrong tokens too often gets 429 with Retry-After, like the console login.
 */
export function requireRole(tokens: TokenTable, need: Role) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const wait = await tokens.throttle.retryAfterMs(req.ip);
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      throw new RelayError('rate_limited', 'too many wrong admin tokens from this address');
    }
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(.+)$/i.exec(h) : null;
    const role = m ? tokens.roleOf(m[1]!.trim()) : null;
    if (!role) {
      if (m) await tokens.throttle.failed(req.ip);
      throw new RelayError('unauthorized');
    }
    if (need === 'operator' && role !== 'operator') throw new RelayError('forbidden_role');
    req.role = role;
    req.adminTokenId = tokens.idOf(m![1]!.trim());
  };
}

/**
 * The admin API's authentication as a plugin: routes that need a token declare the
 * dependency and run `app.adminAuth.viewer|operator` on request, before the body is read
 * or the query validated, so a caller without a token learns nothing but 401.
 */
export const adminAuth = fp(async (app, opts: { tokens: TokenTable }) => {
  app.decorate('adminAuth', { viewer: requireRole(opts.tokens, 'viewer'), operator: requireRole(opts.tokens, 'operator') });
}, { name: 'admin-auth', fastify: '5.x' });

/** The openapi security requirement of token-protected routes. */
export const BEARER = [{ adminToken: [] }];
