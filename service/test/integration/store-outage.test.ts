// A store failure is 503 + Retry-After, never "logged out": the express-session failure this design avoids.
import pg from "pg";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, login, userWithSession, validate } from "../support/api.js";
import { componentOnPort, currentMaster, infra, redisHealthy, waitFor } from "../support/infra.js";
import { infraEnv } from "../support/env.js";
import { startStack, uniqueName, type Stack } from "../support/stack.js";
import { refusedUpgrade } from "../support/ws.js";

describe("store outages", () => {
  let stack: Stack;
  let url: string;
  beforeAll(async () => {
    await redisHealthy();
    stack = await startStack();
    url = await stack.listen();
  });
  afterAll(async () => {
    infra("start", "pgbouncer");
    await redisHealthy();
    await stack?.close();
  });

  it("answers 503 unavailable (not 401) on validate and login while the Redis master is down, and the session survives the failover", async () => {
    const name = uniqueName("outage");
    const { token } = await userWithSession(stack.app, name);
    infra("kill", componentOnPort(await currentMaster()));

    const v = await validate(stack.app, token);
    expect(v.status).toBe(503);
    expect(v.body.error).toBe("unavailable");
    expect(Number(v.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    const l = await login(stack.app, name);
    expect(l.status).toBe(503);
    expect(l.body.error).toBe("unavailable");
    expect(l.headers["retry-after"]).toBeDefined();
    const ws = await refusedUpgrade(url, bearer(token)); // opening a live-events socket: the same
    expect(ws.status).toBe(503);
    expect(ws.body.error).toBe("unavailable");
    expect(ws.headers["retry-after"]).toMatch(/^\d+$/);

    // Sentinel promotes the replica; the session, acknowledged by it (WAIT) before the kill, is still there.
    const after = await waitFor("validation after failover", async () => {
      const res = await validate(stack.app, token);
      return res.status !== 503 ? res : undefined;
    }, 30_000);
    expect(after.status).toBe(200);
    await redisHealthy();
  });

  it("keeps validate and logout working without the database, answers login 503 within 2 s, and loses no audit event", async () => {
    const name = uniqueName("nodb");
    const { token } = await userWithSession(stack.app, name);
    infra("stop", "pgbouncer");
    try {
      expect((await validate(stack.app, token)).status).toBe(200);
      const t0 = Date.now();
      const res = await login(stack.app, name);
      expect(res.status).toBe(503);
      expect(res.body.error).toBe("unavailable");
      expect(Date.now() - t0).toBeLessThan(2_500);
      await stack.deps.audit.flush(); // the refused login's LoginEvent meets the outage
      expect((await request(stack.app).delete("/v1/session").set(bearer(token))).status).toBe(204);
      expect((await validate(stack.app, token)).status).toBe(401);
    } finally {
      infra("start", "pgbouncer");
    }
    await waitFor("login after the database returns", async () => (await login(stack.app, name)).status === 201, 20_000);
    // The refused login's LoginEvent could not be written during the outage; it is written once the database is back.
    const db = new pg.Client({ connectionString: infraEnv().DIRECT_DATABASE_URL });
    await db.connect();
    try {
      await waitFor("the outage's login event written after the database returns", async () => {
        const { rows } = await db.query("SELECT 1 FROM login_events WHERE attempted_username = $1 AND result = 'unavailable'", [name]);
        return rows.length === 1;
      }, 30_000);
    } finally {
      await db.end();
    }
  });
});
