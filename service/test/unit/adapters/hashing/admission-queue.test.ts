import { describe, expect, it, vi } from "vitest";
import { AdmissionQueue, QueueFullError } from "../../../../src/adapters/hashing/admission-queue.js";

describe("AdmissionQueue", () => {
  it("grants free slots at once and queues the rest in order", async () => {
    const q = new AdmissionQueue(2, 10, 10_000, () => 0.1);
    await q.acquire();
    await q.acquire();
    expect(q.inFlight).toBe(2);
    const order: number[] = [];
    const third = q.acquire().then(() => order.push(3));
    const fourth = q.acquire().then(() => order.push(4));
    expect(q.depth).toBe(2);
    q.release();
    q.release();
    await Promise.all([third, fourth]);
    expect(order).toEqual([3, 4]);
    expect(q.inFlight).toBe(2);
  });

  it("refuses at once when the queue is full, with a Retry-After from the drain estimate", async () => {
    const q = new AdmissionQueue(1, 1, 10_000, (position) => position * 2.2);
    await q.acquire();
    void q.acquire();
    const err = await q.acquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).retryAfterS).toBe(5); // ceil(2 * 2.2)
  });

  it("refuses at once when the expected wait exceeds the maximum wait", async () => {
    const q = new AdmissionQueue(1, 100, 1_000, (position) => position * 0.4);
    await q.acquire();
    void q.acquire(); // expected 0.4 s
    void q.acquire(); // expected 0.8 s
    await expect(q.acquire()).rejects.toBeInstanceOf(QueueFullError); // expected 1.2 s > 1 s
    expect(q.depth).toBe(2);
  });

  it("gives up on a waiter whose slot did not come within the maximum wait", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const q = new AdmissionQueue(1, 100, 50, () => 0);
    await q.acquire();
    const refused = q.acquire();
    let settled = false;
    refused.catch(() => undefined).finally(() => (settled = true));
    await vi.advanceTimersByTimeAsync(49);
    expect(settled).toBe(false); // still waiting for the slot
    await vi.advanceTimersByTimeAsync(1);
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    vi.useRealTimers();
    expect(q.depth).toBe(0);
    q.release();
    expect(q.inFlight).toBe(0);
  });
});
