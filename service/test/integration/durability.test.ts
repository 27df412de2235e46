// Writes that must survive the loss of the master wait for the replica (Redis WAIT) before they are reported
// done: new sessions, and also logouts and revocations, which would otherwise come back after a failover.
// Made observable by pausing the replica: every such request then takes the whole wait.
import { randomUUID } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, login, register, validate } from "../support/api.js";
import { currentMaster, redisHealthy, redisPid } from "../support/infra.js";
import { startStack, uniqueName, type Stack } from "../support/stack.js";

const WAIT_MS = 300;
const SLACK_MS = 20; // timers may fire a little early

async function timed<T>(req: PromiseLike<T>): Promise<{ res: T; ms: number }> {
  const t0 = performance.now();
  const res = await req;
  return { res, ms: performance.now() - t0 };
}

/** Runs `fn` while the Redis replica is stopped (SIGSTOP): it cannot acknowledge anything meanwhile. */
async function withReplicaPaused<T>(fn: () => Promise<T>): Promise<T> {
  const replicaPort = (await currentMaster()) === 56379 ? 56380 : 56379;
  const pid = redisPid(replicaPort);
  process.kill(pid, "SIGSTOP");
  try {
    return await fn();
  } finally {
    process.kill(pid, "SIGCONT");
  }
}

/** A stack for the enclosing describe with the wait under test, on healthy replication before and after. */
function durableStack(env: Record<string, string> = {}): { readonly app: Stack["app"]; readonly deps: Stack["deps"] } {
  let stack: Stack | undefined;
  beforeAll(async () => {
    await redisHealthy();
    stack = await startStack({ SESSION_WAIT_TIMEOUT_MS: String(WAIT_MS), SESSION_MAX_PER_USER: "3", ...env });
  });
  afterAll(async () => {
    await stack?.close();
    await redisHealthy();
  });
  return {
    get app() {
      return stack!.app;
    },
    get deps() {
      return stack!.deps;
    },
  };
}

describe("durable session writes", () => {
  const stack = durableStack();

  it("answers login, logout and revocations at once while the replica acknowledges", async () => {
    const name = uniqueName("durable-up");
    await register(stack.app, name);
    const signIn = await timed(login(stack.app, name));
    const other = await login(stack.app, name);
    const revokeOne = await timed(request(stack.app).delete(`/v1/sessions/${other.body.session.id}`).set(bearer(signIn.res.body.token)));
    const logout = await timed(request(stack.app).delete("/v1/session").set(bearer(signIn.res.body.token)));
    expect([signIn.res.status, revokeOne.res.status, logout.res.status]).toEqual([201, 204, 204]);
    for (const { ms } of [signIn, revokeOne, logout]) expect(ms).toBeLessThan(WAIT_MS);
  });

  it("waits for the replica on login, logout, revoking one and revoking all, then answers as documented", async () => {
    const name = uniqueName("durable");
    await register(stack.app, name);
    const kept = (await login(stack.app, name)).body.token as string;
    const steps = await withReplicaPaused(async () => {
      const signIn = await timed(login(stack.app, name));
      const token = signIn.res.body.token as string;
      const second = await login(stack.app, name);
      const revokeOne = await timed(request(stack.app).delete(`/v1/sessions/${second.body.session.id}`).set(bearer(token)));
      const logout = await timed(request(stack.app).delete("/v1/session").set(bearer(token)));
      const revokeAll = await timed(request(stack.app).delete("/v1/sessions").set(bearer(kept)));
      return { signIn, revokeOne, logout, revokeAll };
    });
    // SESSION_WAIT_ON_TIMEOUT=accept: each change stands on the master and is answered after the whole wait.
    expect(steps.signIn.res.status).toBe(201);
    expect(steps.revokeOne.res.status).toBe(204);
    expect(steps.logout.res.status).toBe(204);
    expect(steps.revokeAll.res.status).toBe(204);
    for (const [step, { ms }] of Object.entries(steps)) expect({ step, waited: ms >= WAIT_MS - SLACK_MS }).toEqual({ step, waited: true });
    expect((await validate(stack.app, kept)).status).toBe(401);
  });

  it("lets concurrent writers share WAITs: 40 new sessions with the replica paused take about one wait, not 40", async () => {
    const users = Array.from({ length: 40 }, () => ({ id: randomUUID(), username: uniqueName("shared"), roles: [] }));
    const { ms } = await withReplicaPaused(() =>
      timed(Promise.all(users.map((user) => stack.deps.sessions.issue(user, { ip: "127.0.0.1", userAgent: "test" })))),
    );
    // One WAIT rides with the first write; the writes sent meanwhile share the next one. Serial WAITs would take 12 s.
    expect(ms).toBeGreaterThanOrEqual(WAIT_MS - SLACK_MS);
    expect(ms).toBeLessThan(4 * WAIT_MS);
  });
});

describe("durable session writes with SESSION_WAIT_ON_TIMEOUT=fail", () => {
  const stack = durableStack({ SESSION_WAIT_ON_TIMEOUT: "fail" });

  it("refuses a login no replica acknowledged with 503 after one wait, and keeps no session of it", async () => {
    const name = uniqueName("durable-fail");
    await register(stack.app, name);
    const refused = await withReplicaPaused(() => timed(login(stack.app, name)));
    expect(refused.res.status).toBe(503);
    expect(refused.res.body.error).toBe("unavailable");
    expect(refused.res.body.token).toBeUndefined();
    expect(refused.ms).toBeGreaterThanOrEqual(WAIT_MS - SLACK_MS);
    expect(refused.ms).toBeLessThan(2 * WAIT_MS); // the refused session is dropped without a second wait
    const later = await login(stack.app, name);
    expect(later.status).toBe(201);
    const sessions = await request(stack.app).get("/v1/sessions").set(bearer(later.body.token as string));
    expect(sessions.body.sessions).toHaveLength(1);
  });
});
