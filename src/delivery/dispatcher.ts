import type { Logger } from 'pino';
import type { Hub, TraceIds } from '../observe.js';
import type { AttemptRecord, ClaimedDelivery, Store } from '../store/types.js';
import type { Endpoint } from './endpoints.js';
import { nextAttempt, parseRetryAfter } from './retry.js';
import type { Sender, SendResult } from './sender.js';
import { decodeSecrets, signatureHeader } from './sign.js';

export interface DispatcherDeps {
  store: Store;
  endpoints: Endpoint[];
  hub: Hub;
  logger: Logger;
  sender: Sender;
  /** Unique per process: the lease owner. */
  owner: string;
  leaseMs: number;
  pollIntervalMs: number;
  /**
   * How often endpoint state (disabled, reason) is read from the store, so a change another
   * instance made takes effect here even without its notification. Default 1000 ms.
   */
  stateRefreshMs?: number;
  userAgent: string;
  clock?: () => number;
  random?: () => number;
  /** Set only when tracing is on: the ids of an attempt's span, sent as W3C `traceparent`. */
  traceIds?: (eventId: string) => TraceIds;
}

interface Lane {
  ep: Endpoint;
  keys: Buffer[];
  inflight: number;
  /** Claimed (leased) but not yet sent: a freed slot takes the next one without a store round trip. */
  buffer: Buffered[];
  /** How many deliveries the next claim asks for, the slots in flight included (see nextClaimSize()). */
  batch: number;
  /** Successes are recorded at most once a second unless the endpoint was failing (see attempt()). */
  successRecordedAt: number;
  failing: boolean;
  pumping: boolean;
  again: boolean;
  disabled: boolean;
  /** A disable is being stored: nothing new goes out, but the lane is shown disabled only once it is stored. */
  disabling: boolean;
  /** Bumped by this process's own enable/disable: a store read begun before it must not undo it. */
  changes: number;
  timer: NodeJS.Timeout | null;
  timerAt: number;
}

interface Buffered {
  c: ClaimedDelivery;
  leaseUntil: number;
}

/** The most one claim asks for (or twice the concurrency, if that is more). */
export const MAX_CLAIM = 256;
/**
 * A buffered delivery goes out only while its lease covers a whole attempt plus this much for
 * storing the outcome; otherwise another instance could take it over while it is being sent.
 */
export const LEASE_MARGIN_MS = 10_000;

/**
 * Moves deliveries from the outbox to receivers. One lane per endpoint with
 * its own concurrency, so a dead receiver only ever holds up itself.
 * All state that matters lives in the store; this class only holds leases.
 * A lane's `disabled` follows the store's endpoint state (read every
 * stateRefreshMs and on notification); the claim itself skips endpoints the
 * store has disabled, so a lane that has not heard yet still claims nothing.
 */
export class Dispatcher {
  private readonly lanes = new Map<string, Lane>();
  private readonly inflight = new Set<Promise<void>>();
  /** Running pumps: stop() waits for them so a claim in progress cannot launch after it. */
  private readonly pumps = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private poll: NodeJS.Timeout | null = null;
  private stateTimer: NodeJS.Timeout | null = null;
  /** A state read in progress, and whether another was asked for meanwhile. */
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private stopped = true;
  private readonly clock: () => number;
  private readonly random: () => number;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly d: DispatcherDeps) {
    this.clock = d.clock ?? Date.now;
    this.random = d.random ?? Math.random;
    for (const ep of d.endpoints) {
      this.lanes.set(ep.id, { ep, keys: decodeSecrets(ep.secrets), inflight: 0, buffer: [], batch: claimBase(ep), successRecordedAt: 0, failing: true, pumping: false, again: false, disabled: !ep.enabledInConfig, disabling: false, changes: 0, timer: null, timerAt: 0 });
    }
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.syncStates();
    this.unsubscribe = this.d.hub.on('event:stored', (e) => e.endpointIds.forEach((id) => this.wake(id)));
    this.poll = setInterval(() => this.wakeAll(), this.d.pollIntervalMs);
    this.poll.unref();
    this.stateTimer = setInterval(() => void this.syncStates(), this.d.stateRefreshMs ?? 1000);
    this.stateTimer.unref();
    this.wakeAll();
  }

  /**
   * Read endpoint state from the store and make the lanes follow it: operator and automatic
   * disables made by any instance, and those from before a restart. Calls that come while a
   * read is running share one more read after it (a notification is never lost in between).
   */
  syncStates(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    const run = async () => {
      do {
        this.syncAgain = false;
        await this.readStates().catch((err) => this.d.logger.warn({ err }, 'endpoint state read failed; the lanes keep their state until the next read'));
      } while (this.syncAgain && !this.stopped);
    };
    this.syncing = run().finally(() => (this.syncing = null));
    return this.syncing;
  }

  private async readStates(): Promise<void> {
    const before = new Map([...this.lanes].map(([id, l]) => [id, l.changes]));
    const states = new Map((await this.d.store.endpointStates()).map((s) => [s.endpointId, s]));
    for (const lane of this.lanes.values()) {
      // Our own enable/disable since the read began is newer than what the read saw.
      if (lane.disabling || lane.changes !== before.get(lane.ep.id)) continue;
      const st = states.get(lane.ep.id);
      const disabled = !lane.ep.enabledInConfig || (st?.disabled ?? false);
      if (disabled === lane.disabled) continue;
      lane.disabled = disabled;
      if (this.stopped) continue;
      if (disabled) this.d.logger.warn({ endpoint: lane.ep.id, reason: st?.disabledReason ?? null }, 'endpoint disabled in storage (by this or another instance): no deliveries from here');
      else this.d.logger.info({ endpoint: lane.ep.id }, 'endpoint enabled in storage (by this or another instance)');
      // Disabled: the pump hands its claimed-but-unsent buffer back. Enabled: it claims again.
      this.wake(lane.ep.id);
    }
  }

  wakeAll(): void {
    for (const id of this.lanes.keys()) this.wake(id);
  }

  wake(endpointId: string): void {
    const lane = this.lanes.get(endpointId);
    if (!lane || this.stopped) return;
    const p: Promise<void> = this.pump(lane)
      .catch((err) => this.d.logger.error({ err, endpoint: endpointId }, 'delivery pump failed'))
      .finally(() => this.pumps.delete(p));
    this.pumps.add(p);
  }

  private async pump(lane: Lane): Promise<void> {
    if (lane.pumping) {
      lane.again = true;
      return;
    }
    lane.pumping = true;
    try {
      let idle = false;
      do {
        lane.again = false;
        idle = false;
        // A claim that returned fewer than asked drained the lane: claiming again in this pass
        // would only return nothing (a wasted write). Anything stored since wakes us (`again`).
        let drained = false;
        while (!this.stopped && !lane.disabled && !lane.disabling && lane.inflight < lane.ep.concurrency) {
          if (lane.buffer.length === 0 && drained) {
            idle = true;
            break;
          }
          if (lane.buffer.length === 0) {
            const leaseMs = Math.max(this.d.leaseMs, lane.ep.timeoutMs + 30_000);
            const want = Math.max(1, lane.batch - lane.inflight);
            const claimedAt = this.clock();
            const claimed = await this.d.store.claim(lane.ep.id, this.d.owner, claimedAt, leaseMs, want);
            lane.buffer.push(...claimed.map((c) => ({ c, leaseUntil: claimedAt + leaseMs })));
            drained = claimed.length < want;
            lane.batch = nextClaimSize(lane, drained);
            if (claimed.length === 0) {
              idle = true;
              break;
            }
            // stop() or a disable began while the claim was in flight (an async store):
            // the buffer is handed back below instead of sent.
            if (this.stopped || lane.disabled || lane.disabling) break;
          }
          if (lane.buffer[0]!.leaseUntil - this.clock() < lane.ep.timeoutMs + LEASE_MARGIN_MS) {
            // They waited in the buffer behind slow attempts (the rest of the buffer is as old):
            // hand them back, no attempt spent, and claim again with a fresh lease and a smaller batch.
            lane.batch = claimBase(lane.ep);
            await this.releaseBuffer(lane);
            drained = false;
            continue;
          }
          this.launch(lane, lane.buffer.shift()!.c);
        }
      } while (lane.again && !this.stopped);
      if (this.stopped || lane.disabled || lane.disabling) await this.releaseBuffer(lane);
      // Only an idle lane needs a timer: a busy one is woken by its next freed slot.
      else if (idle) await this.armTimer(lane);
    } finally {
      lane.pumping = false;
    }
    // A wake that came while the timer was being armed found the pump busy and only set
    // `again`; without this the freed slot waited for the next poll (a lost wake-up).
    if (lane.again) this.wake(lane.ep.id);
  }

  /** Hand claimed-but-unsent deliveries back without spending an attempt. */
  private async releaseBuffer(lane: Lane): Promise<void> {
    // All at once: with the embedded store they share one commit.
    await Promise.all(lane.buffer.splice(0).map(({ c }) => this.d.store.release(c.id, this.d.owner, this.clock())));
  }

  /** Wake exactly when the next retry is due, instead of waiting for the poll. */
  private async armTimer(lane: Lane): Promise<void> {
    const due = await this.d.store.nextDueAt(lane.ep.id, this.clock());
    if (due === null) return;
    const delay = due - this.clock();
    if (delay <= 0 || delay >= this.d.pollIntervalMs) return;
    if (lane.timer && lane.timerAt <= due) return;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timerAt = due;
    lane.timer = setTimeout(() => {
      lane.timer = null;
      this.wake(lane.ep.id);
    }, delay);
    lane.timer.unref();
  }

  private launch(lane: Lane, c: ClaimedDelivery): void {
    lane.inflight++;
    let slotFree = false;
    // The concurrency slot bounds requests to the receiver, so after a 2xx it is freed as soon
    // as the answer is in: recording it (a store write) no longer holds up the next request.
    // After a failure it is held until the outcome (and a possible disable on 410) is stored.
    // Ordering stays safe: a later event of the same transaction is claimable only
    // once this delivery's outcome is committed.
    const freeSlot = () => {
      if (slotFree) return;
      slotFree = true;
      lane.inflight--;
      this.wake(lane.ep.id);
    };
    const p = this.attempt(lane, c, freeSlot)
      .catch((err) => this.d.logger.error({ err, endpoint: lane.ep.id, eventId: c.eventId }, 'delivery attempt failed to record'))
      .finally(() => {
        freeSlot();
        this.inflight.delete(p);
      });
    this.inflight.add(p);
  }

  private async attempt(lane: Lane, c: ClaimedDelivery, freeSlot: () => void): Promise<void> {
    const { ep } = lane;
    const startedAt = this.clock();
    const trace = this.d.traceIds?.(c.eventId);
    const headers: Record<string, string> = {
      'webhook-id': c.eventId,
      'webhook-timestamp': String(Math.floor(startedAt / 1000)),
      'webhook-signature': signatureHeader(lane.keys, c.eventId, Math.floor(startedAt / 1000), c.payload),
    };
    if (trace) headers.traceparent = `00-${trace.traceId}-${trace.spanId}-01`;
    const res = ep.local ? await runLocal(ep.local, c) : await this.d.sender.send({ ...ep, userAgent: this.d.userAgent }, c.payload, headers, this.shutdown.signal);
    const now = this.clock();
    if (res.aborted) {
      // Shutdown, not the receiver's fault: hand it back without spending an attempt.
      await this.d.store.release(c.id, this.d.owner, now);
      return;
    }
    const attempt: AttemptRecord = {
      deliveryId: c.id, eventId: c.eventId, endpointId: ep.id, startedAt, durationMs: res.durationMs,
      statusCode: res.statusCode, errorClass: res.errorClass, responseBody: res.body,
    };
    const n = c.attempts + 1;
    const report = {
      endpointId: ep.id, eventId: c.eventId, deliveryId: c.id, attempt: n, statusCode: res.statusCode, errorClass: res.errorClass, durationMs: res.durationMs,
      startedAt, finishedAt: now, createdAt: c.createdAt, trace,
    };

    if (res.errorClass === null) {
      freeSlot();
      const owned = await this.d.store.complete(c.id, this.d.owner, attempt, now);
      // Bookkeeping only (last success for the console, ending a failing streak): one write per
      // second is enough, except the first success after failures, which must end the streak at once.
      if (lane.failing || now - lane.successRecordedAt >= 1000) {
        lane.failing = false;
        lane.successRecordedAt = now;
        void this.d.store.recordEndpointSuccess(ep.id, now).catch((err) => this.d.logger.error({ err, endpoint: ep.id }, 'endpoint state update failed'));
      }
      this.d.hub.emit('attempt', { ...report, result: owned ? 'succeeded' : 'lease_lost' });
      return;
    }

    const honour = res.statusCode === 429 || res.statusCode === 503;
    const decision = nextAttempt({
      attemptsMade: n, scheduleMs: ep.retryScheduleMs, jitter: ep.jitter, random: this.random(), now,
      retryAfterMs: honour ? parseRetryAfter(res.retryAfter, now) : null,
    });
    const next = decision.action === 'dead' ? ({ dead: true } as const) : { retryAt: decision.at };
    const owned = await this.d.store.fail(c.id, this.d.owner, attempt, next, now);
    lane.failing = true;
    const failingSince = await this.d.store.recordEndpointFailure(ep.id, now, res.errorClass === 'non_2xx' ? `HTTP ${res.statusCode}` : res.errorClass);
    this.d.hub.emit('attempt', {
      ...report,
      result: !owned ? 'lease_lost' : decision.action === 'dead' ? 'dead' : 'failed',
      nextAttemptAt: decision.action === 'retry' ? decision.at : undefined,
    });
    if (res.statusCode === 410) await this.disable(ep.id, 'gone');
    else if (now - failingSince >= ep.disableAfterFailingMs) await this.disable(ep.id, 'failing');
  }

  async disable(endpointId: string, reason: 'gone' | 'failing' | 'operator'): Promise<void> {
    const lane = this.lanes.get(endpointId);
    if (!lane || lane.disabled || lane.disabling) return;
    // The store is the truth every instance (and the admin API) reads: store first, then flip,
    // so a disabled endpoint is never shown without its reason. Nothing new goes out meanwhile.
    lane.disabling = true;
    lane.changes++;
    try {
      await this.d.store.setEndpointDisabled(endpointId, true, reason, this.clock());
      lane.disabled = true;
    } finally {
      lane.disabling = false;
    }
    await this.releaseBuffer(lane);
    this.d.hub.emit('endpoint:disabled', { endpointId, reason });
  }

  async enable(endpointId: string): Promise<void> {
    const lane = this.lanes.get(endpointId);
    if (!lane) return;
    lane.changes++;
    await this.d.store.setEndpointDisabled(endpointId, false, null, this.clock());
    lane.disabled = !lane.ep.enabledInConfig;
    this.d.hub.emit('endpoint:enabled', { endpointId });
    this.wake(endpointId);
  }

  isDisabled(endpointId: string): boolean {
    return this.lanes.get(endpointId)?.disabled ?? true;
  }

  /** Stop claiming, let in-flight attempts finish until the deadline, then abort and release the rest. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    if (this.poll) clearInterval(this.poll);
    if (this.stateTimer) clearInterval(this.stateTimer);
    for (const lane of this.lanes.values()) if (lane.timer) clearTimeout(lane.timer);
    // Let running pumps finish their store call first: whatever they claimed is launched
    // (and so awaited below) or released.
    await Promise.allSettled([...this.pumps, this.syncing]);
    for (const lane of this.lanes.values()) await this.releaseBuffer(lane);
    const all = Promise.allSettled([...this.inflight]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((r) => (timer = setTimeout(() => r('deadline'), deadlineMs)));
    const first = await Promise.race([all.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (first === 'deadline') {
      this.shutdown.abort();
      await Promise.allSettled([...this.inflight]);
    }
    await this.d.sender.close();
  }
}

/** The free slots plus one more round: what a lane claims at first and after its backlog is gone. */
const claimBase = (ep: Endpoint) => 2 * ep.concurrency;

/**
 * The size of a lane's next claim. It starts at the free slots plus one more round, so under light
 * load most freed slots are refilled from the buffer. Claims run one at a time per lane, so the
 * lane can deliver at most one claim's worth per store round trip: while claims come back full
 * (a backlog) and the receiver keeps up, each asks for twice as much, up to MAX_CLAIM; a claim
 * that drains the lane, or a failing receiver, brings it back to the start.
 */
export function nextClaimSize(lane: Pick<Lane, 'batch' | 'failing' | 'ep'>, drained: boolean): number {
  const base = claimBase(lane.ep);
  if (drained || lane.failing) return base;
  return Math.min(Math.max(base, MAX_CLAIM), lane.batch * 2);
}

async function runLocal(local: NonNullable<Endpoint['local']>, c: ClaimedDelivery): Promise<SendResult> {
  const started = performance.now();
  try {
    await local({ eventId: c.eventId, payload: c.payload });
    return { statusCode: 200, errorClass: null, body: null, durationMs: Math.round(performance.now() - started), aborted: false };
  } catch (err) {
    const body = (err instanceof Error ? err.message : String(err)).slice(0, 1024);
    return { statusCode: null, errorClass: 'local', body, durationMs: Math.round(performance.now() - started), aborted: false };
  }
}
