// Runs in a piscina worker thread: bcrypt's synchronous API blocks only this thread, never the event loop
// and never libuv's shared pool (where a login storm would starve file-system and DNS work).
import bcrypt from "bcrypt";

/**
 * @param {{ op: "hash", password: string, cost: number } | { op: "verify", password: string, hash: string }} task
 * @returns {string | boolean}
 */
export default function run(task) {
  if (task.op === "hash") return bcrypt.hashSync(task.password, task.cost);
  return bcrypt.compareSync(task.password, task.hash);
}
