// How many CPUs this process may use: the hash pool's default size (HASH_POOL_SIZE). Read from the cgroup, since in
// a container the host's count overstates what the CPU limit allows.
import os from "node:os";

/** The CPU quota of this process's cgroup as [quota, period], null when unlimited, undefined when unreadable. */
function cgroupQuota(readFile: (p: string) => string): [number, number] | null | undefined {
  try {
    const [quota, period] = readFile("/sys/fs/cgroup/cpu.max").trim().split(/\s+/); // cgroup v2
    return quota === "max" ? null : [Number(quota), Number(period)];
  } catch {
    // not cgroup v2: try v1
  }
  try {
    const quota = Number(readFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").trim()); // -1 = unlimited
    return quota > 0 ? [quota, Number(readFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us").trim())] : null;
  } catch {
    return undefined;
  }
}

/** CPUs this process may use: the cgroup (v2 or v1) quota when one is set, else the host's. */
export function availableCpus(readFile: (p: string) => string): number {
  const host = os.availableParallelism();
  const q = cgroupQuota(readFile);
  if (!q || !(q[0] > 0 && q[1] > 0)) return host;
  return Math.max(1, Math.min(host, Math.floor(q[0] / q[1])));
}
