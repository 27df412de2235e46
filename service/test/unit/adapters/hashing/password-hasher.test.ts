// The hash pool's threads run at HASH_THREAD_NICE, so the event loop preempts hashing when both want a core.
import { readFileSync, readdirSync } from "node:fs";
import bcrypt from "bcrypt";
import { afterEach, describe, expect, it } from "vitest";
import { WorkerPasswordHasher } from "../../../../src/adapters/hashing/password-hasher.js";

/** Nice values of this process's threads, by thread id (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(): Map<string, number> {
  const nices = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    nices.set(tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
  }
  return nices;
}

describe("hash pool threads", () => {
  let hasher: WorkerPasswordHasher | undefined;
  afterEach(async () => {
    await hasher?.close();
  });

  it.each([
    [19, 2],
    [0, 0],
  ])("with HASH_THREAD_NICE=%i, %i pool threads run niced; the main thread never", async (nice, expected) => {
    const before = new Set(threadNices().keys());
    hasher = new WorkerPasswordHasher({ cost: 10, poolSize: 2, queueMax: 10, queueMaxWaitMs: 10_000, threadNice: nice });
    const hash = bcrypt.hashSync("a password", 10);
    // Two compares at once: both pool threads have started and run the worker module.
    expect(await Promise.all([hasher.verify("a password", hash), hasher.verify("wrong", hash)])).toEqual([true, false]);
    const after = threadNices();
    const niced = [...after].filter(([tid, n]) => !before.has(tid) && n === 19);
    expect(niced).toHaveLength(expected);
    expect(after.get(String(process.pid))).toBe(0);
  });
});
