// After a Sentinel failover the service's own Redis client writes to the new master, without a restart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentMaster, direct, redisHealthy, redisPid, sentinel, waitFor } from "../../../support/infra.js";
import { startStack, type Stack } from "../../../support/stack.js";
import { closeRedis, createRedis } from "../../../../src/adapters/redis/client.js";

describe("Redis through Sentinel", () => {
  let stack: Stack;
  beforeAll(async () => {
    await redisHealthy();
    stack = await startStack();
  });
  afterAll(async () => {
    await redisHealthy();
    await stack?.close();
  });

  it("lands writes on the new master after SENTINEL FAILOVER", async () => {
    const before = await currentMaster();
    // Sentinel may abort a manual failover (another Sentinel still reconfiguring a node); ask again then.
    let after: number | undefined;
    for (let attempt = 0; attempt < 3 && after === undefined; attempt++) {
      const s = sentinel();
      await s.call("SENTINEL", "FAILOVER", "auth-master").catch(() => undefined);
      s.disconnect();
      after = await waitFor("a new master", async () => {
        const port = await currentMaster();
        return port !== before ? port : undefined;
      }, 15_000).catch(() => undefined);
    }
    if (after === undefined) throw new Error("Sentinel did not complete a failover in three attempts");
    // Sentinel names the new master before it has demoted the old one; a write in that gap lands on the old
    // master and is lost when it resyncs (Redis replication is asynchronous). Once the old master is a replica,
    // it answers READONLY and the client must move by itself.
    await waitFor("the old master demoted", async () => {
      const old = direct(before);
      try {
        return (await old.info("replication")).includes("role:slave");
      } finally {
        old.disconnect();
      }
    }, 30_000);
    const key = `test:failover:${Date.now()}`;
    await waitFor("a write through the service client", async () => (await stack.deps.redis.set(key, "v")) === "OK", 20_000);
    const newMaster = direct(after);
    try {
      expect(await newMaster.get(key)).toBe("v");
      expect(await newMaster.info("replication")).toContain("role:master");
    } finally {
      newMaster.disconnect();
    }
  });

  it("fails a command within about 2 s while no master is reachable", async () => {
    // Point a client at Sentinel for a master name nobody serves: it can never connect.
    const lost = createRedis({ ...stack.config.redis, masterName: "no-such-master" }, "test-lost");
    lost.connect().catch(() => undefined);
    const started = Date.now();
    await expect(lost.get("k")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2500);
    await closeRedis(lost);
  });

  it("connects again after ioredis gives up because +switch-master arrived while it was re-asking Sentinel", async () => {
    // The race of a real failover, made deterministic: the connection drops as when the master dies, and the
    // failover detector fires (as on +switch-master) while the reconnect is resolving the master through
    // Sentinel. ioredis then ends the client for good; the service's client must come back by itself.
    const restarts: number[] = [];
    const client = createRedis(stack.config.redis, "test-give-up", { onRestart: () => restarts.push(Date.now()) });
    await client.connect();
    type Internals = { connector: { stream?: { destroy(): void }; failoverDetector?: { disconnect(): void } } };
    const { connector } = client as unknown as Internals;
    const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
    client.once("connecting", () => setImmediate(() => connector.failoverDetector?.disconnect()));
    connector.stream?.destroy();
    await ended;
    try {
      expect(await waitFor("the client back after giving up", async () => (await client.ping()) === "PONG", 10_000)).toBe(true);
      expect(restarts.length).toBeGreaterThanOrEqual(1);
    } finally {
      await closeRedis(client);
    }
    // Closed on purpose, it stays closed: nothing to wait for but time (its restart came within 500 ms above).
    await new Promise((r) => setTimeout(r, 1_000));
    expect(client.status).toBe("end");
  });

  it("fails a command within the command timeout when the master hangs, instead of waiting", async () => {
    const port = await currentMaster();
    const pid = redisPid(port);
    const quick = await startStack({ REDIS_COMMAND_TIMEOUT_MS: "800" });
    process.kill(pid, "SIGSTOP");
    try {
      const started = Date.now();
      await expect(quick.deps.redis.get("k")).rejects.toThrow(/timed out/i);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      process.kill(pid, "SIGCONT");
      await quick.close();
    }
  });
});
