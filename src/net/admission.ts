// Backpressure for Paygate callbacks. Past a bound, a callback is refused at once
// (503 with Retry-After, before its body is read) instead of queueing behind the
// others: the callbacks the relay does take keep a short tail, and Paygate, which
// retries a 503, brings the refused ones back later. A refused callback is not
// stored at all, never half: nothing of it reached intake.
//
// Two bounds:
// - callbacks taken in and not answered yet (being read, decoded, or waiting for
//   their commit): the commit queue and the CPU queue in front of it;
// - the event loop's delay (how late a 20 ms timer fires): a process too busy to
//   turn its loop promptly answers everything late, whatever it takes in.

export interface AdmissionLimits {
  /** Callbacks in progress at most; the next one is refused. */
  readonly maxPendingCallbacks: number;
  /** Refuse while the event loop ran this late (ms) at its last turn. */
  readonly maxEventLoopDelayMs: number;
}

export type ShedReason = 'pending_callbacks' | 'event_loop_delay';

const SAMPLE_MS = 20;

export class Admission {
  private pending = 0;
  private delayMs = 0;
  private last = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Callbacks taken in and not answered yet. */
  get pendingCallbacks(): number {
    return this.pending;
  }

  /** How late the event loop's last sample timer fired, in ms. */
  get eventLoopDelayMs(): number {
    return this.delayMs;
  }

  /**
   * A callback arrives: a reason to refuse it now, or the function to call once it is
   * answered (it counts as pending until then). The delay bound applies only while a
   * quarter of maxPendingCallbacks is pending: after a one-off stall (a GC pause) with
   * little queued the next callbacks are taken, and under a flood the callbacks taken
   * still share commits instead of going one at a time.
   */
  admit(): ShedReason | (() => void) {
    if (this.pending >= this.limits.maxPendingCallbacks) return 'pending_callbacks';
    if (this.pending >= this.limits.maxPendingCallbacks / 4 && this.delayMs > this.limits.maxEventLoopDelayMs) return 'event_loop_delay';
    this.pending++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.pending--;
    };
  }

  /** One sample of the event loop's delay: the time since the previous one beyond the interval. */
  sample(): void {
    const now = this.clock();
    this.delayMs = this.last === 0 ? 0 : Math.max(0, now - this.last - SAMPLE_MS);
    this.last = now;
  }

  start(): void {
    if (this.timer) return;
    this.last = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.delayMs = 0;
  }
}
