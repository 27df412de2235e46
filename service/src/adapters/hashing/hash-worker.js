// Runs in a piscina worker thread: bcrypt's synchronous API blocks only this thread, never the event loop
// and never libuv's shared pool (where a login storm would starve file-system and DNS work).
import os from "node:os";
import { workerData } from "node:worker_threads";
import bcrypt from "bcrypt";

// Hash threads yield to the event loop: on Linux a thread's nice value is its own, so this lowers only this
// thread, and the main thread (validations, probes, metrics) preempts hashing when both want a core.
// A sandbox that refuses it leaves the thread at the default priority: hashing still works.
if (workerData?.nice) {
  try {
    os.setPriority(workerData.nice);
  } catch {
    // keep the default priority
  }
}

/**
 * @param {{ op: "hash", password: string, cost: number } | { op: "verify", password: string, hash: string }} task
 * @returns {string | boolean}
 */
export default function run(task) {
  if (task.op === "hash") return bcrypt.hashSync(task.password, task.cost);
  return bcrypt.compareSync(task.password, task.hash);
}
