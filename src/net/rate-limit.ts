// Per-client token bucket. Pure: the caller passes `now`. A client that stays
// at or under `perSecond` (with bursts up to `burst`) is never refused.

export interface RateLimiter {
  /** true when the request may proceed. */
  take(key: string, now: number): boolean;
  readonly size: number;
}

export function tokenBucket(opts: { perSecond: number; burst: number; maxKeys?: number }): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const maxKeys = opts.maxKeys ?? 50_000;
  return {
    take(key, now) {
      let b = buckets.get(key);
      if (b) {
        b.tokens = Math.min(opts.burst, b.tokens + ((now - b.at) / 1000) * opts.perSecond);
        b.at = now;
        // Re-insert to keep the Map in least-recently-used order for eviction.
        buckets.delete(key);
      } else {
        b = { tokens: opts.burst, at: now };
      }
      buckets.set(key, b);
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    get size() {
      return buckets.size;
    },
  };
}
