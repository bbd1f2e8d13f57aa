/**
 * Failed authentication attempts per client address: after `max` failures within
 * `windowMs`, the address is refused until its window has passed. Used by the
 * console login and the admin API's bearer tokens, so guessing either costs the same.
 */
export class FailureThrottle {
  private readonly fails = new Map<string, { n: number; since: number }>();
  constructor(
    private readonly max = 10,
    private readonly windowMs = 5 * 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Milliseconds until the address may try again; 0 when it may now. */
  retryAfterMs(ip: string): number {
    const f = this.fails.get(ip);
    if (!f) return 0;
    const left = f.since + this.windowMs - this.clock();
    if (left < 0) {
      this.fails.delete(ip);
      return 0;
    }
    return f.n >= this.max ? Math.max(1, left) : 0;
  }

  blocked(ip: string): boolean {
    return this.retryAfterMs(ip) > 0;
  }

  failed(ip: string): void {
    const now = this.clock();
    if (this.fails.size > 10_000) for (const [k, v] of this.fails) if (now - v.since > this.windowMs) this.fails.delete(k);
    const f = this.fails.get(ip);
    if (!f || now - f.since > this.windowMs) this.fails.set(ip, { n: 1, since: now });
    else f.n++;
  }

  succeeded(ip: string): void {
    this.fails.delete(ip);
  }
}
