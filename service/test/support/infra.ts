// Control of the real local servers, for fault tests: stop and start components, follow Sentinel.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";
import { ROOT, STATE, infraEnv } from "./env.js";

const execFileAsync = promisify(execFile);

export function infra(command: "start" | "stop" | "kill", ...components: string[]): void {
  execFileSync(path.join(ROOT, "scripts/infra.sh"), [command, ...components], { stdio: "ignore" });
}

/** Like infra(), without blocking the event loop: load generators in this process keep running meanwhile. */
export async function infraAsync(command: "start" | "stop" | "kill", ...components: string[]): Promise<void> {
  await execFileAsync(path.join(ROOT, "scripts/infra.sh"), [command, ...components]);
}

export const SENTINELS = [56391, 56392, 56393];

export function sentinel(port = SENTINELS[0]!): Redis {
  return new Redis({ port, host: "127.0.0.1", password: infraEnv().REDIS_SENTINEL_PASSWORD, lazyConnect: true });
}

/** host:port of the master Sentinel reports now. */
export async function currentMaster(): Promise<number> {
  const s = sentinel();
  try {
    const [, port] = (await s.call("SENTINEL", "get-master-addr-by-name", "auth-master")) as [string, string];
    return Number(port);
  } finally {
    s.disconnect();
  }
}

/** Which infra component name ("redis-master" / "redis-replica") serves on a port. */
export const componentOnPort = (port: number) => (port === 56379 ? "redis-master" : "redis-replica");

/** The pid of the Redis server on a port, from the pidfile infra.sh keeps. */
export function redisPid(port: number): number {
  return Number(readFileSync(path.join(STATE, "run", `${componentOnPort(port)}.pid`), "utf8").trim());
}

export function direct(port: number): Redis {
  return new Redis({ port, host: "127.0.0.1", password: infraEnv().REDIS_PASSWORD, lazyConnect: true, maxRetriesPerRequest: 1 });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch {
      // keep polling
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const fields = (flat: string[]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])));

/**
 * Both Redis servers up, one master with a connected replica, and every Sentinel agreeing on them: a failover
 * started before the Sentinels settle can be undone by one that still reconfigures the old master.
 */
export async function redisHealthy(): Promise<void> {
  infra("start", "redis-master", "redis-replica");
  await waitFor("redis replication healthy", async () => {
    const port = await currentMaster();
    const m = direct(port);
    try {
      const info = await m.info("replication");
      if (!(info.includes("role:master") && /connected_slaves:1/.test(info) && /state=online/.test(info))) return false;
    } finally {
      m.disconnect();
    }
    for (const sp of SENTINELS) {
      const s = sentinel(sp);
      try {
        const master = fields((await s.call("SENTINEL", "MASTER", "auth-master")) as string[]);
        const replicas = ((await s.call("SENTINEL", "REPLICAS", "auth-master")) as string[][]).map(fields);
        const ok =
          master.port === String(port) && master.flags === "master" && master["num-other-sentinels"] === "2" &&
          replicas.length === 1 && replicas[0]!.flags === "slave" && replicas[0]!["master-link-status"] === "ok";
        if (!ok) return false;
      } finally {
        s.disconnect();
      }
    }
    return true;
  }, 90_000);
}
