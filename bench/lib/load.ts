// Load generators. Closed loop: autocannon's programmatic API (the suite's
// load generator, from npm ci). Fixed rate: a paced open-loop sender, because
// autocannon's rate limit sends each second's quota as one burst (see runPaced).
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { latencySummary, NOTIFY_PATH, round, splitSummary, type BenchContext, type BodyPool } from './harness.js';

export interface LoadOptions {
  url: string;
  path?: string;
  connections: number;
  seconds: number;
  pool: BodyPool;
  /** Requests per second over all connections (open rate), none = as fast as answered. */
  overallRate?: number;
  /** Record the TransIDs answered 200 (durability check). */
  trackOk?: boolean;
  /** Updated live: answers 200 so far (backlog = accepted - delivered). */
  progress?: { ok: number };
  /** Paced only: also summarise latencies of requests due before / from this many ms after the start. */
  splitAtMs?: number;
  /** Paced only: stop scheduling when this settles (before `seconds` is up). */
  until?: Promise<unknown>;
  /** Paced only: return every request's due time (epoch ms) and latency. */
  keepSamples?: boolean;
}

export interface LoadResult {
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  seconds: number;
  okTransIds: string[];
  /** With splitAtMs (paced): requests due before it (cold) and from it on (warm). */
  split?: ReturnType<typeof splitSummary>;
  /** Paced: epoch ms the schedule started. */
  startedAt?: number;
  /** Answers by HTTP status ('error' for socket errors and timeouts). */
  statuses: Record<string, number>;
  /** Latencies of the 200 answers alone. */
  ok200: ReturnType<typeof latencySummary>;
  /** keepSamples (paced): due time (epoch ms) and latency of every answered request. */
  samples?: { due: number[]; ms: number[]; status: number[] };
}

/**
 * One autocannon run. Every request takes the next body of the pool in
 * setupRequest; latencies are collected from autocannon's response events
 * (sub-millisecond, 2xx and non-2xx alike).
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const okIds: number[] = [];
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    requests: [
      {
        method: 'POST',
        path: o.path ?? NOTIFY_PATH,
        setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
          const { index, body } = o.pool.take();
          context.index = index;
          return { ...req, body, headers: { 'content-type': o.pool.contentType } };
        },
        onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
          if (status !== 200) return;
          if (o.trackOk) okIds.push(context.index as number);
          if (o.progress) o.progress.ok++;
        },
      },
    ],
  } as autocannon.Options);
  const statuses: Record<string, number> = {};
  const ok200: number[] = [];
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === 200) ok200.push(ms);
  });
  const r = await instance;
  const ok = r['2xx'];
  if (r.errors + r.timeouts > 0) statuses.error = r.errors + r.timeouts;
  return {
    sent: r.requests.sent,
    ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    reqPerSec: round(ok / r.duration, 0),
    ...latencySummary(latencies),
    seconds: r.duration,
    okTransIds: okIds.map((i) => o.pool.transId(i)),
    statuses,
    ok200: latencySummary(ok200),
  };
}

/**
 * Open-loop load at a fixed rate with uniform arrivals: every 2 ms it sends
 * what the schedule says is due, over an undici pool of `connections`.
 * autocannon's overallRate cannot do this: each of its connections sends its
 * whole quota for the second back to back when the second starts, so a "fixed
 * rate" arrives as one burst per second. Latency counts from the scheduled
 * send time, so queueing in the pool (the relay falling behind) is included.
 */
export async function runPaced(o: LoadOptions & { overallRate: number }): Promise<LoadResult> {
  const http = new Pool(o.url, { connections: o.connections, pipelining: 1 });
  let total = Math.round(o.overallRate * o.seconds);
  const statuses: Record<string, number> = {};
  const ok200: number[] = [];
  void o.until?.finally(() => {
    total = Math.min(total, sent);
  });
  const latencies: number[] = [];
  const dues: number[] = [];
  const codes: number[] = [];
  const okIds: number[] = [];
  let sent = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  const startedAt = performance.timeOrigin + start;
  const send = (due: number) => {
    const { index, body } = o.pool.take();
    const p = http
      .request({ path: o.path ?? NOTIFY_PATH, method: 'POST', headers: { 'content-type': o.pool.contentType }, body })
      .then(async (res) => {
        await res.body.dump();
        const ms = performance.now() - due;
        latencies.push(ms);
        dues.push(due);
        codes.push(res.statusCode);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 200) ok200.push(ms);
        if (res.statusCode >= 200 && res.statusCode < 300) {
          ok++;
          if (o.trackOk) okIds.push(index);
          if (o.progress) o.progress.ok++;
        } else non2xx++;
      }, () => {
        errors++;
        statuses.error = (statuses.error ?? 0) + 1;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * o.overallRate));
      while (sent < due) send(start + (sent++ / o.overallRate) * 1000);
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const sendSeconds = (performance.now() - start) / 1000;
  await Promise.all(inflight);
  await http.close();
  return {
    sent, ok, non2xx, errors, timeouts: 0, reqPerSec: round(ok / sendSeconds, 0), ...latencySummary(latencies),
    seconds: round(sendSeconds, 2), okTransIds: okIds.map((i) => o.pool.transId(i)), startedAt, statuses, ok200: latencySummary(ok200),
    ...(o.keepSamples ? { samples: { due: dues.map((d) => performance.timeOrigin + d), ms: latencies, status: codes } } : {}),
    ...(o.splitAtMs !== undefined ? { split: splitSummary(latencies, dues, start + o.splitAtMs) } : {}),
  };
}

/** Fixed-rate load with the generator chosen in the context. */
export function runAtRate(ctx: Pick<BenchContext, 'rateLoad'>, o: LoadOptions & { overallRate: number }): Promise<LoadResult> {
  return ctx.rateLoad === 'paced' ? runPaced(o) : runLoad(o);
}
