// Folding the adapters' aggregate rows (endpoint counts, activity buckets) into the shared shapes.
import { placeholders, type Dialect } from './retention.js';
import type { Query } from './retention-scan.js';
import type { Row } from './rows.js';
import type { ActivityBucket, EndpointStats, QueueStats } from './types.js';

/** A delivery not finished yet: waiting (first try or a retry) or leased by a sender. The same SQL on both adapters. */
export const OPEN = `state IN ('pending','in_flight')`;
// A pending delivery that was tried before waits for a retry; in_flight is leased by a sender.
const OPEN_SPLIT = `SUM(CASE WHEN state = 'in_flight' THEN 1 ELSE 0 END) AS in_flight, SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END) AS retry_waiting`;

/** The three reads behind EndpointStats; `attempts` is the one that grows with the traffic. */
const STATS_SQL = {
  open: `SELECT endpoint_id, COUNT(*) AS n, MIN(created_at) AS oldest, ${OPEN_SPLIT} FROM deliveries WHERE ${OPEN} GROUP BY endpoint_id`,
  dead: `SELECT endpoint_id, COUNT(*) AS n FROM deliveries WHERE state = 'dead' GROUP BY endpoint_id`,
  attempts: `SELECT endpoint_id, COUNT(*) AS n, SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok
       FROM attempts WHERE started_at >= ? GROUP BY endpoint_id`,
};

/** Per endpoint: open deliveries (count, oldest, split by state) and dead letters, read with `q` on either adapter. */
export async function readQueueStats(q: Query): Promise<QueueStats[]> {
  const [open, dead] = await Promise.all([q(STATS_SQL.open, []), q(STATS_SQL.dead, [])]);
  return endpointStatsOf(open, dead, []).map(({ attempts24h: _a, successes24h: _s, ...queue }) => queue);
}

/** readQueueStats plus each endpoint's attempts and successes of the 24 hours before `now`. */
export async function readEndpointStats(q: Query, d: Dialect, now: number): Promise<EndpointStats[]> {
  const [open, dead, attempts] = await Promise.all([
    q(STATS_SQL.open, []), q(STATS_SQL.dead, []), q(placeholders(d, STATS_SQL.attempts), [now - 24 * 3600_000]),
  ]);
  return endpointStatsOf(open, dead, attempts);
}

/** Per endpoint: open deliveries (count, oldest, split by state), dead letters, attempts and successes of the last 24 hours. */
function endpointStatsOf(open: Row[], dead: Row[], attempts: Row[]): EndpointStats[] {
  const stats = new Map<string, EndpointStats>();
  const get = (id: string) => {
    let s = stats.get(id);
    if (!s) stats.set(id, (s = { endpointId: id, queueDepth: 0, pending: 0, retryWaiting: 0, inFlight: 0, oldestPendingAt: null, deadLetters: 0, attempts24h: 0, successes24h: 0 }));
    return s;
  };
  for (const r of open) {
    const s = get(String(r.endpoint_id));
    s.queueDepth = Number(r.n);
    s.inFlight = Number(r.in_flight);
    s.retryWaiting = Number(r.retry_waiting);
    s.pending = s.queueDepth - s.inFlight - s.retryWaiting;
    s.oldestPendingAt = Number(r.oldest);
  }
  for (const r of dead) get(String(r.endpoint_id)).deadLetters = Number(r.n);
  for (const r of attempts) {
    const s = get(String(r.endpoint_id));
    s.attempts24h = Number(r.n);
    s.successes24h = Number(r.ok);
  }
  return [...stats.values()];
}

/** Empty buckets covering [since, until); null for a range or bucket size that makes none (the caller answers []). */
export function activityBuckets(since: number, until: number, bucketMs: number): ActivityBucket[] | null {
  if (!(bucketMs > 0) || !(until > since)) return null;
  const n = Math.ceil((until - since) / bucketMs);
  return Array.from({ length: n }, (_, i) => ({
    start: since + i * bucketMs, callbacks: 0, quarantined: 0, events: 0, attempts: 0, attemptsOk: 0,
  }));
}

/** Rows carry their bucket index `b` and counts `n` (and `ok` for attempts). */
export function fillActivity(buckets: ActivityBucket[], rows: { callbacks: Row[]; quarantined: Row[]; events: Row[]; attempts: Row[] }): ActivityBucket[] {
  const fill = (list: Row[], set: (x: ActivityBucket, r: Row) => void) => {
    for (const r of list) {
      const x = buckets[Number(r.b)];
      if (x) set(x, r);
    }
  };
  fill(rows.callbacks, (x, r) => (x.callbacks = Number(r.n)));
  fill(rows.quarantined, (x, r) => (x.quarantined = Number(r.n)));
  fill(rows.events, (x, r) => (x.events = Number(r.n)));
  fill(rows.attempts, (x, r) => ((x.attempts = Number(r.n)), (x.attemptsOk = Number(r.ok))));
  return buckets;
}
