// Readiness follows the real dependencies: Redis master through Sentinel, Postgres through PgBouncer.
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentOnPort, currentMaster, infra, redisHealthy, waitFor } from "../support/infra.js";
import { startStack, type Stack } from "../support/stack.js";

describe("readiness against real dependencies", () => {
  let stack: Stack;
  beforeAll(async () => {
    await redisHealthy();
    stack = await startStack({ READINESS_CACHE_MS: "0" });
  });
  afterAll(async () => {
    infra("start", "pgbouncer");
    await redisHealthy();
    await stack?.close();
  });

  it("is ready when everything runs", async () => {
    const res = await request(stack.app).get("/readyz");
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({ redis: "ok", database: "ok" });
  });

  it("turns 503 naming redis when the master is stopped, and recovers after Sentinel promotes the replica", async () => {
    const oldMaster = await currentMaster();
    infra("kill", componentOnPort(oldMaster));
    const down = await waitFor("readiness 503", async () => {
      const res = await request(stack.app).get("/readyz");
      return res.status === 503 ? res : undefined;
    }, 10_000);
    expect(down.body.checks.redis).toBe("down");
    expect(down.body.checks.database).toBe("ok");
    await waitFor("readiness back to 200", async () => (await request(stack.app).get("/readyz")).status === 200, 30_000);
    expect(await currentMaster()).not.toBe(oldMaster);
    await redisHealthy();
  });

  it("turns 503 naming the database when PgBouncer is stopped, and recovers when it returns", async () => {
    infra("stop", "pgbouncer");
    const down = await waitFor("readiness 503", async () => {
      const res = await request(stack.app).get("/readyz");
      return res.status === 503 ? res : undefined;
    }, 10_000);
    expect(down.body.checks).toEqual({ redis: "ok", database: "down" });
    infra("start", "pgbouncer");
    await waitFor("readiness back to 200", async () => (await request(stack.app).get("/readyz")).status === 200, 20_000);
  });
});
