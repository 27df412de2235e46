// Live-event sockets through the local cluster (three replicas behind nginx) while its faults happen for real:
// a Redis master loss, a rolling restart, a replica killed with SIGKILL. Prints a table (and writes
// .state/survival-realtime.md).
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisPresenceStore } from "../../src/adapters/redis/presence-store.js";
import { ROOT, STATE } from "../support/env.js";
import { componentOnPort, currentMaster, infraAsync, redisHealthy, waitFor } from "../support/infra.js";
import { mintSessions, sentinelRedis } from "../support/sessions.js";
import { send, sleep } from "./load.js";
import { Fleet } from "./sockets.js";

const LB = 8080;
// scripts/cluster.sh runs the local replicas with WS_PING_INTERVAL_S=5: presence lives 2 × 5 s + 5 s.
const PING_S = 5;
const PRESENCE_BOUND_S = 2 * PING_S + 5;
const TIMEOUT = 240_000;
const rows: string[] = [];
const execFileAsync = promisify(execFile);
const script = async (name: string, ...args: string[]) => {
  await execFileAsync(path.join(ROOT, "scripts", name), args, { timeout: 120_000 });
};

/** Revokes every socket's session through the load balancer; resolves with each delivery time (ms). */
async function revokeAll(fleet: Fleet): Promise<number[]> {
  const started = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < fleet.sockets.length) {
        const s = fleet.sockets[next++]!;
        started.set(s.token, Date.now());
        const res = await waitFor("a logout answered", async () => {
          const r = await send(LB, "DELETE", "/v1/session", { authorization: `Bearer ${s.token}` });
          return r.status === 204 ? r : undefined;
        }, 30_000);
        expect(res.status).toBe(204);
      }
    }),
  );
  await waitFor("every socket told its session ended", async () => fleet.sockets.every((s) => s.ended), 15_000).catch(() => undefined);
  return fleet.sockets.map((s) => (s.ended ? s.ended.at - started.get(s.token)! : Infinity));
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.99) - 1]!;

describe("live sockets through the local cluster's faults", () => {
  let redis: Redis;
  beforeAll(async () => {
    await redisHealthy();
    await script("cluster.sh", "--replicas", "3");
    redis = sentinelRedis();
  }, 180_000);

  afterAll(async () => {
    redis?.disconnect();
    const table = ["| scenario | sockets | what the sockets saw | revocations after it delivered | delivery p99 |", "|---|---|---|---|---|", ...rows].join("\n");
    console.log(`\n${table}\n`);
    writeFileSync(path.join(STATE, "survival-realtime.md"), `${table}\n`);
    await script("replicas.sh", "start", "--replicas", "3");
  });

  it("Redis master loss with 1,000 sockets open: each stays open and gets resync (or reconnects); a revocation afterwards reaches every one", async () => {
    const fleet = new Fleet(LB, await mintSessions(redis, 1000), { reconnect: true });
    await fleet.open();
    try {
      await infraAsync("kill", componentOnPort(await currentMaster()));
      await waitFor("every socket resynced or reconnected", async () => fleet.sockets.every((s) => (s.resyncs > 0 && s.open) || (s.reconnects > 0 && s.open)), 60_000);
      const resynced = fleet.sockets.filter((s) => s.resyncs > 0).length;
      const reconnected = fleet.sockets.filter((s) => s.reconnects > 0).length;
      const delivery = await revokeAll(fleet);
      const delivered = delivery.filter(Number.isFinite).length;
      rows.push(`| Redis master loss (SIGKILL master) | 1000 | ${resynced} got resync, ${reconnected} reconnected | ${delivered} / 1000 | ${p99(delivery).toFixed(0)} ms |`);
      console.log(rows.at(-1));
      expect(delivered).toBe(1000);
      expect(fleet.sockets.every((s) => s.ended?.reason === "logout")).toBe(true);
    } finally {
      fleet.stop();
      await redisHealthy();
    }
  }, TIMEOUT);

  it("rolling restart with sockets open: each reconnects within 5 s of its 1012 close, and misses no revocation issued afterwards", async () => {
    const fleet = new Fleet(LB, await mintSessions(redis, 300), { reconnect: true });
    await fleet.open();
    try {
      for (const i of ["1", "2", "3"]) {
        await script("replicas.sh", "stop", i);
        await script("replicas.sh", "start", i);
        await sleep(500);
      }
      await waitFor("every socket open again", async () => fleet.sockets.every((s) => s.open), 30_000);
      const gaps = fleet.sockets.flatMap((s) => s.closedAt.map((closed) => (s.helloAt.find((h) => h >= closed) ?? Infinity) - closed));
      const moved = fleet.sockets.filter((s) => s.closedAt.length > 0).length;
      const delivery = await revokeAll(fleet);
      const delivered = delivery.filter(Number.isFinite).length;
      rows.push(`| rolling restart (SIGTERM, drain, start; each replica) | 300 | ${moved} closed with 1012 and reconnected, longest gap ${(Math.max(0, ...gaps) / 1000).toFixed(2)} s | ${delivered} / 300 | ${p99(delivery).toFixed(0)} ms |`);
      console.log(rows.at(-1));
      expect(moved).toBeGreaterThan(0);
      expect(Math.max(0, ...gaps)).toBeLessThan(5000);
      expect(delivered).toBe(300);
    } finally {
      fleet.stop();
    }
  }, TIMEOUT);

  it(`SIGKILL of a replica holding sockets: its users are offline within ${PRESENCE_BOUND_S} s (two ping intervals + 5 s)`, async () => {
    const presence = new RedisPresenceStore(redis);
    const fleet = new Fleet(LB, await mintSessions(redis, 150), { reconnect: false });
    await fleet.open();
    try {
      await script("replicas.sh", "kill", "2");
      const killedAt = Date.now();
      await waitFor("the killed replica's sockets closed", async () => fleet.sockets.some((s) => !s.open), 10_000);
      await sleep(500);
      const orphans = fleet.sockets.filter((s) => !s.open);
      const online = async () => (await Promise.all(orphans.map((s) => presence.ofUser(s.userId, Date.now())))).filter((p) => p.connections > 0).length;
      expect(await online()).toBe(orphans.length); // nobody closed them: presence still says online
      await waitFor("the orphans offline", async () => (await online()) === 0, (PRESENCE_BOUND_S + PING_S) * 1000);
      const healed = (Date.now() - killedAt) / 1000;
      rows.push(`| crash (SIGKILL the replica holding sockets) | 150 | ${orphans.length} lost their replica; their users offline after ${healed.toFixed(1)} s (bound ${PRESENCE_BOUND_S} s) | - | - |`);
      console.log(rows.at(-1));
      expect(healed).toBeLessThanOrEqual(PRESENCE_BOUND_S + 1);
      // The others are still online.
      const kept = fleet.sockets.filter((s) => s.open);
      expect((await Promise.all(kept.map((s) => presence.ofUser(s.userId, Date.now())))).every((p) => p.connections === 1)).toBe(true);
      expect((await send(LB, "GET", "/readyz")).status).toBe(200);
    } finally {
      fleet.stop();
      await script("replicas.sh", "start", "2");
    }
  }, TIMEOUT);
});
