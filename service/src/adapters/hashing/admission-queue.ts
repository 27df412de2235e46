// A bounded FIFO of waiters for a fixed number of slots, with a deadline per waiter.
// Hand-written because piscina's abort kills a task that already runs; we need the deadline to apply only
// while a login waits for a slot, and we need the wait measured.

export class QueueFullError extends Error {
  constructor(readonly retryAfterS: number) {
    super("queue full");
  }
}

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

export class AdmissionQueue {
  private running = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly slots: number,
    private readonly maxQueue: number,
    private readonly maxWaitMs: number,
    /** Estimated seconds until `position` more tasks have drained, for Retry-After. */
    private readonly drainEstimateS: (position: number) => number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get depth(): number {
    return this.waiters.length;
  }

  /** Resolves when a slot is ours; rejects at once with QueueFullError when we could not get one in time. */
  acquire(): Promise<void> {
    if (this.running < this.slots && this.waiters.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    const position = this.waiters.length + 1;
    const expectedWaitS = this.drainEstimateS(position);
    if (this.waiters.length >= this.maxQueue || expectedWaitS * 1000 > this.maxWaitMs) {
      return Promise.reject(new QueueFullError(retryAfter(expectedWaitS)));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          this.running++;
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new QueueFullError(retryAfter(this.drainEstimateS(this.waiters.length + 1))));
        }, this.maxWaitMs),
      };
      this.waiters.push(waiter);
    });
  }

  release(): void {
    this.running--;
    this.waiters.shift()?.grant();
  }
}

const retryAfter = (s: number) => Math.max(1, Math.ceil(s));
