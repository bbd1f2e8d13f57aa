// One pass at a time, and wake-ups that arrive during a pass coalesce into one
// more pass instead of piling up: the exporter's flush loop and the inbox scan
// both need exactly this, and both must be able to wait for the pass in flight
// on stop.

export class CoalescedPass {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(
    private readonly pass: () => Promise<void>,
    /** A failed pass is reported, never thrown: the next wake-up (or timer) tries again. */
    private readonly onError: (err: unknown) => void,
  ) {}

  get active(): boolean {
    return !this.stopped;
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (err) {
          this.onError(err);
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = null));
  }

  /** No new passes; waits for the one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
