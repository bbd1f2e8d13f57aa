// Failed authentication attempts per client address: after `max` failures within
// `windowMs`, the address is refused until its window has passed. Used by the
// console login and the admin API's bearer tokens, so guessing either costs the
// same. The counts live in storage: every instance on the same store refuses the
// same address, and a restart forgets nothing.

import type { AuthFailures, Store } from '../store/types.js';

type Awaitable<T> = T | Promise<T>;

/** What an authentication guard asks. */
export interface AuthThrottle {
  /** Milliseconds until the address may try again; 0 when it may now. */
  retryAfterMs(ip: string): Awaitable<number>;
  failed(ip: string): Awaitable<void>;
  succeeded(ip: string): Awaitable<void>;
}

export const DEFAULT_MAX_FAILURES = 10;
export const DEFAULT_FAILURE_WINDOW_MS = 5 * 60_000;

/** Pure: how long a client with these failures must wait at `now` (0: it may try). */
export function waitFor(f: AuthFailures | null, now: number, max: number, windowMs: number): number {
  if (!f || f.failures < max) return 0;
  const left = f.windowStart + windowMs - now;
  return left > 0 ? left : 0;
}

/** Scopes of the shared counts: a console login and an admin API token are counted apart. */
export type ThrottleScope = 'console-login' | 'admin-token';

/** The throttle on the relay's store (see Store.recordAuthFailure). */
export class StoredThrottle implements AuthThrottle {
  constructor(
    private readonly store: Pick<Store, 'authFailures' | 'recordAuthFailure' | 'clearAuthFailures'>,
    private readonly scope: ThrottleScope,
    private readonly clock: () => number = Date.now,
    private readonly max = DEFAULT_MAX_FAILURES,
    private readonly windowMs = DEFAULT_FAILURE_WINDOW_MS,
  ) {}

  async retryAfterMs(ip: string): Promise<number> {
    return waitFor(await this.store.authFailures(this.scope, ip), this.clock(), this.max, this.windowMs);
  }

  async blocked(ip: string): Promise<boolean> {
    return (await this.retryAfterMs(ip)) > 0;
  }

  async failed(ip: string): Promise<void> {
    await this.store.recordAuthFailure(this.scope, ip, this.clock(), this.windowMs);
  }

  async succeeded(ip: string): Promise<void> {
    await this.store.clearAuthFailures(this.scope, ip);
  }
}
