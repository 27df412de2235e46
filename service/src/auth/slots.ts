// A fixed number of slots, handed out first come first served, with a deadline per waiter: the one primitive
// under the login pacer (auth/pacer.ts: past the deadline a login runs anyway) and the hash pool's admission
// queue (adapters/hashing/admission-queue.ts: past it a login is refused). One timer per waiter.
// Hand-written: p-limit and p-queue have neither a per-waiter deadline nor a way to tell the caller it passed.

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

export class Slots {
  private held = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly size: number,
    private readonly maxWaitMs: number,
  ) {}

  /** Slots held now. */
  get inFlight(): number {
    return this.held;
  }

  /** Callers waiting for a slot. */
  get depth(): number {
    return this.waiters.length;
  }

  /** Whether take() would get a slot at once. */
  get free(): boolean {
    return this.held < this.size && this.waiters.length === 0;
  }

  /** Resolves true once a slot is held (release it), false when maxWaitMs passed first (nothing to release). */
  take(): Promise<boolean> {
    if (this.free) {
      this.held++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          this.held++;
          resolve(true);
        },
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(false);
        }, this.maxWaitMs),
      };
      this.waiters.push(waiter);
    });
  }

  release(): void {
    this.held--;
    this.waiters.shift()?.grant();
  }
}
