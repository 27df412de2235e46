// Runs at most `concurrency` tasks at once, first come first served; a task that waited `maxWaitMs` for its turn
// runs anyway. Logins pass their throttle check and user lookup through one: when a storm's requests all arrive
// at once, their lookups then run a few at a time, and validations get the event loop between them instead of
// waiting behind a thousand lookups started together. Never an error and never a wait beyond maxWaitMs, so a
// slow database costs a login at most that much more.
// Hand-written: p-limit and p-queue have no "run anyway after waiting this long".

export class Pacer {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxWaitMs: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    const slot = await this.turn();
    try {
      return await task();
    } finally {
      if (slot) this.release();
    }
  }

  /** True once the task holds a slot; false when it waited too long and runs beside the others. */
  private turn(): Promise<boolean> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        clearTimeout(timer);
        resolve(true); // the releasing task handed its slot over: `running` is unchanged
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      }, this.maxWaitMs);
      this.waiting.push(grant);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
