import { describe, expect, it, vi } from "vitest";
import { Pacer } from "../../../src/auth/pacer.js";

/** A task that runs until released, recording when it started. */
function gated(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    release: () => release(),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("Pacer", () => {
  it("runs at most `concurrency` tasks at once, the others in arrival order as slots free", async () => {
    const pacer = new Pacer(2, 60_000);
    const started: string[] = [];
    const tasks = ["a", "b", "c", "d"].map((n) => gated(started, n));
    const results = tasks.map((t) => pacer.run(t.task));
    await tick();
    expect(started).toEqual(["a", "b"]);
    tasks[1]!.release();
    await tick();
    expect(started).toEqual(["a", "b", "c"]);
    tasks[0]!.release();
    await tick();
    expect(started).toEqual(["a", "b", "c", "d"]);
    tasks[2]!.release();
    tasks[3]!.release();
    expect(await Promise.all(results)).toEqual(["a", "b", "c", "d"]);
  });

  it("frees the slot of a task that failed", async () => {
    const pacer = new Pacer(1, 60_000);
    await expect(pacer.run(() => Promise.reject(new Error("lookup failed")))).rejects.toThrow("lookup failed");
    expect(await pacer.run(async () => "next")).toBe("next");
  });

  it("runs a task that waited maxWaitMs anyway, without taking a slot from those that hold one", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const pacer = new Pacer(1, 50);
    const started: string[] = [];
    const first = gated(started, "first");
    const late = gated(started, "late");
    const running = pacer.run(first.task);
    const waited = pacer.run(late.task);
    await vi.advanceTimersByTimeAsync(49);
    expect(started).toEqual(["first"]); // still waiting its turn
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toEqual(["first", "late"]); // ran beside "first" once its wait was up
    vi.useRealTimers();
    late.release();
    await waited;
    // "late" held no slot: the only slot is still "first"'s, so a new task waits for it.
    const after = gated(started, "after");
    const next = pacer.run(after.task);
    await tick();
    expect(started).toEqual(["first", "late"]);
    first.release();
    await running;
    await tick();
    expect(started).toEqual(["first", "late", "after"]);
    after.release();
    await next;
  });
});
