// The hash pool's admission: its slots (auth/slots.ts), a bounded queue in front of them, and a refusal at once
// (QueueFullError, with a Retry-After) for a login that would not get a slot within the maximum wait, or did not.
// Not piscina's own queue: its abort kills a task that already runs; the deadline must apply only while a login
// waits for a slot, and the wait is measured.
import { Slots } from "../../auth/slots.js";

export class QueueFullError extends Error {
  constructor(readonly retryAfterS: number) {
    super("queue full");
  }
}

export class AdmissionQueue {
  private readonly pool: Slots;

  constructor(
    readonly slots: number,
    private readonly maxQueue: number,
    private readonly maxWaitMs: number,
    /** Estimated seconds until `position` more tasks have drained, for Retry-After. */
    private readonly drainEstimateS: (position: number) => number,
  ) {
    this.pool = new Slots(slots, maxWaitMs);
  }

  get inFlight(): number {
    return this.pool.inFlight;
  }

  get depth(): number {
    return this.pool.depth;
  }

  /** Resolves when a slot is ours; rejects at once with QueueFullError when we could not get one in time. */
  async acquire(): Promise<void> {
    if (!this.pool.free) {
      const expectedWaitS = this.drainEstimateS(this.pool.depth + 1);
      if (this.pool.depth >= this.maxQueue || expectedWaitS * 1000 > this.maxWaitMs) {
        throw new QueueFullError(retryAfter(expectedWaitS));
      }
    }
    if (!(await this.pool.take())) throw new QueueFullError(retryAfter(this.drainEstimateS(this.pool.depth + 1)));
  }

  release(): void {
    this.pool.release();
  }
}

const retryAfter = (s: number) => Math.max(1, Math.ceil(s));
