// Where the CPU went during a storm, from /proc (Linux): the target's main thread (a service replica or the bare
// prototype), its busiest threads (the hash pool), its other threads, this load generator, and the servers.
// Hand-written: it reads a few /proc files; no package does this per thread.
import { readFileSync, readdirSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

type Ticks = Map<string, number>;

function ticksOf(statFile: string): { comm: string; ticks: number } | null {
  try {
    const text = readFileSync(statFile, "utf8");
    const close = text.lastIndexOf(")");
    const fields = text.slice(close + 2).split(" ");
    // After "pid (comm) ": state is field 0, utime field 11, stime field 12.
    return { comm: text.slice(text.indexOf("(") + 1, close), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null; // the process or thread ended meanwhile
  }
}

export interface CpuSnapshot {
  threads: Ticks; // the replica's threads by tid
  processes: Ticks; // every other process, by pid
  names: Map<string, string>; // pid → command name (a kernel worker's changes with its current work)
  busy: number; // the whole machine, from /proc/stat
}

export function snapshot(replicaPid: number): CpuSnapshot {
  const threads: Ticks = new Map();
  for (const tid of readdirSync(`/proc/${replicaPid}/task`)) {
    const t = ticksOf(`/proc/${replicaPid}/task/${tid}/stat`);
    if (t) threads.set(tid, t.ticks);
  }
  const processes: Ticks = new Map();
  const names = new Map<string, string>();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d) && d !== String(replicaPid))) {
    const p = ticksOf(`/proc/${pid}/stat`);
    if (p) {
      processes.set(pid, p.ticks);
      names.set(pid, p.comm);
    }
  }
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const busy = cpu.reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!; // minus idle and iowait
  return { threads, processes, names, busy };
}

/** CPU milliseconds per row between two snapshots; `hashThreads` busiest replica threads count as the pool. */
export function breakdown(before: CpuSnapshot, after: CpuSnapshot, replicaPid: number, hashThreads: number): [string, number][] {
  const delta = (a: Ticks, b: Ticks, key: string) => ((b.get(key) ?? 0) - (a.get(key) ?? 0)) * TICK_MS;
  const threadMs = [...after.threads.keys()].map((tid) => ({ tid, ms: delta(before.threads, after.threads, tid) }));
  const main = threadMs.find((t) => t.tid === String(replicaPid))?.ms ?? 0;
  const others = threadMs.filter((t) => t.tid !== String(replicaPid)).sort((a, b) => b.ms - a.ms);
  const hash = others.slice(0, hashThreads).reduce((s, t) => s + t.ms, 0);
  const rest = others.slice(hashThreads).reduce((s, t) => s + t.ms, 0);
  const byName = new Map<string, number>();
  for (const pid of after.processes.keys()) {
    const name = pid === String(process.pid) ? "load generator (this process)" : group(after.names.get(pid) ?? "");
    byName.set(name, (byName.get(name) ?? 0) + delta(before.processes, after.processes, pid));
  }
  const rows: [string, number][] = [
    ["target: hash threads", hash],
    ["target: main thread", main],
    ["target: other threads (GC, libuv, V8)", rest],
    ...[...byName].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]),
  ];
  const accounted = rows.reduce((s, [, ms]) => s + ms, 0);
  rows.push(["kernel and unaccounted", Math.max(0, (after.busy - before.busy) * TICK_MS - accounted)]);
  return rows;
}

function group(comm: string): string {
  if (comm.startsWith("redis")) return "redis + sentinels";
  if (comm === "postgres" || comm === "pgbouncer") return "postgres + pgbouncer";
  if (comm.startsWith("kworker") || comm.startsWith("ksoftirqd")) return "kernel workers";
  return "other processes";
}
