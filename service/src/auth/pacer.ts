// Runs at most `concurrency` tasks at once, first come first served; a task that waited `maxWaitMs` for its turn
// runs anyway. Logins pass their throttle check and user lookup through one: when a storm's requests all arrive
// at once, their lookups then run a few at a time, and validations get the event loop between them instead of
// waiting behind a thousand lookups started together. Never an error and never a wait beyond maxWaitMs, so a
// slow database costs a login at most that much more.
import { Slots } from "./slots.js";

export class Pacer {
  private readonly slots: Slots;

  constructor(concurrency: number, maxWaitMs: number) {
    this.slots = new Slots(concurrency, maxWaitMs);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // false: it waited too long and runs beside the tasks that hold a slot.
    const slot = await this.slots.take();
    try {
      return await task();
    } finally {
      if (slot) this.slots.release();
    }
  }
}
