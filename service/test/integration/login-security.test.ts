// Enumeration resistance, brute-force limits, load shedding, rehash on login and the audit trail.
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PASSWORD, login, register, userWithSession } from "../support/api.js";
import { waitFor } from "../support/infra.js";
import { startStack, uniqueName, type Stack } from "../support/stack.js";

describe("enumeration resistance", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ LOGIN_LIMIT_USER_IP_MAX: "1000", LOGIN_LIMIT_IP_MAX: "1000" });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("answers unknown user, wrong password, disabled user, empty password and malformed name identically, each after one full bcrypt compare", async () => {
    const known = uniqueName("known");
    await register(stack.app, known);
    const disabled = uniqueName("disabled");
    const reg = await register(stack.app, disabled);
    await stack.deps.accounts.users.update(reg.body.id, { disabled: true });

    expect(stack.deps.hasher.costOf(stack.deps.login.dummyHash)).toBe(stack.config.hashing.cost);
    const verify = vi.spyOn(stack.deps.hasher, "verify");
    const attempts: [string, string][] = [
      [uniqueName("nobody"), PASSWORD],
      [known, "wrong password"],
      [disabled, PASSWORD],
      [known, ""],
      [uniqueName("nobody"), ""],
      ["x y", PASSWORD],
    ];
    const bodies = new Set<string>();
    for (const [username, password] of attempts) {
      verify.mockClear();
      const res = await login(stack.app, username, password);
      expect(res.status).toBe(401);
      expect(res.headers["set-cookie"]).toBeUndefined();
      bodies.add(JSON.stringify(res.body));
      expect(verify).toHaveBeenCalledTimes(1);
    }
    expect([...bodies]).toEqual([JSON.stringify({ error: "invalid_credentials", message: "username or password is incorrect" })]);
    verify.mockRestore();
  });
});

describe("brute-force limits", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      TRUSTED_PROXIES: "loopback",
      LOGIN_LIMIT_USER_IP_MAX: "3",
      LOGIN_LIMIT_USER_IP_WINDOW_S: "2",
      LOGIN_LIMIT_USER_MAX: "5",
      LOGIN_LIMIT_USER_WINDOW_S: "2",
      LOGIN_LIMIT_IP_MAX: "8",
      LOGIN_LIMIT_IP_WINDOW_S: "2",
    });
  });
  afterAll(async () => {
    await stack?.close();
  });
  const from = (ip: string) => ({ "x-forwarded-for": ip });

  it("blocks a username+IP after its failures with 429 + Retry-After, then forgets it when the window ends", async () => {
    const name = uniqueName("brute");
    await register(stack.app, name);
    for (let i = 0; i < 3; i++) expect((await login(stack.app, name, "wrong password", from("10.1.0.1"))).status).toBe(401);
    const blocked = await login(stack.app, name, PASSWORD, from("10.1.0.1"));
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toBe("rate_limited");
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // Another address is not blocked by this pair.
    expect((await login(stack.app, name, PASSWORD, from("10.1.0.2"))).status).toBe(201);

    const keys = [`auth:rl:user-ip:${name}|10.1.0.1`, `auth:rl:user:${name}`, "auth:rl:ip:10.1.0.1"];
    for (const key of keys) {
      expect(await stack.deps.redis.exists(key)).toBe(1);
      expect(await stack.deps.redis.pttl(key)).toBeGreaterThan(0);
    }
    // The expiry is the cleanup: after the window nothing is left.
    await waitFor("limiter keys to expire", async () => (await stack.deps.redis.exists(...keys)) === 0, 5_000);
    expect((await login(stack.app, name, PASSWORD, from("10.1.0.1"))).status).toBe(201);
  });

  it("resets the username+IP counter on success", async () => {
    const name = uniqueName("reset");
    await register(stack.app, name);
    for (let i = 0; i < 2; i++) await login(stack.app, name, "wrong password", from("10.2.0.1"));
    expect((await login(stack.app, name, PASSWORD, from("10.2.0.1"))).status).toBe(201);
    expect(await stack.deps.redis.exists(`auth:rl:user-ip:${name}|10.2.0.1`)).toBe(0);
    for (let i = 0; i < 2; i++) expect((await login(stack.app, name, "wrong password", from("10.2.0.1"))).status).toBe(401);
  });

  it("limits one username across many IPs", async () => {
    const name = uniqueName("spread");
    await register(stack.app, name);
    for (let i = 0; i < 5; i++) expect((await login(stack.app, name, "wrong password", from(`10.3.0.${i}`))).status).toBe(401);
    expect((await login(stack.app, name, PASSWORD, from("10.3.1.1"))).status).toBe(429);
  });

  it("limits one IP across many usernames", async () => {
    for (let i = 0; i < 8; i++) await login(stack.app, uniqueName("ghost"), "wrong password", from("10.4.0.1"));
    const res = await login(stack.app, uniqueName("ghost"), "wrong password", from("10.4.0.1"));
    expect(res.status).toBe(429);
  });

  it("ignores X-Forwarded-For unless the proxy is trusted", async () => {
    const untrusted = await startStack({ LOGIN_LIMIT_USER_IP_MAX: "2", LOGIN_LIMIT_USER_IP_WINDOW_S: "2" });
    try {
      const name = uniqueName("spoof");
      await register(untrusted.app, name);
      for (let i = 0; i < 2; i++) await login(untrusted.app, name, "wrong password", from(`10.5.0.${i}`));
      // Rotating the header does not escape the limit: the counted address is the socket's.
      expect((await login(untrusted.app, name, PASSWORD, from("10.5.9.9"))).status).toBe(429);
    } finally {
      await untrusted.close();
    }
  });
});

describe("load shedding on the hash pool", () => {
  it("answers 503 overloaded + Retry-After at once when the queue is full, and nothing else fails", async () => {
    const stack = await startStack({ BCRYPT_COST: "12", HASH_POOL_SIZE: "1", HASH_QUEUE_MAX: "2", LOGIN_LIMIT_USER_IP_MAX: "1000" });
    try {
      const name = uniqueName("shed");
      await register(stack.app, name);
      const results = await Promise.all(Array.from({ length: 10 }, () => login(stack.app, name)));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s !== 201 && s !== 503)).toEqual([]);
      expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(3);
      const shed = results.filter((r) => r.status === 503);
      expect(shed.length).toBeGreaterThan(0);
      for (const r of shed) {
        expect(r.body.error).toBe("overloaded");
        expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      }
    } finally {
      await stack.close();
    }
  });

  it("refuses at once a login that could not get a hash slot within HASH_QUEUE_MAX_WAIT_MS", async () => {
    const stack = await startStack({ BCRYPT_COST: "12", HASH_POOL_SIZE: "1", HASH_QUEUE_MAX: "100", HASH_QUEUE_MAX_WAIT_MS: "600", LOGIN_LIMIT_USER_IP_MAX: "1000" });
    try {
      const name = uniqueName("wait");
      await register(stack.app, name);
      const timed = await Promise.all(
        Array.from({ length: 12 }, async () => {
          const t0 = performance.now();
          const res = await login(stack.app, name);
          return { status: res.status, ms: performance.now() - t0 };
        }),
      );
      const served = timed.filter((t) => t.status === 201);
      const shed = timed.filter((t) => t.status === 503);
      expect(served.length + shed.length).toBe(12);
      expect(shed.length).toBeGreaterThan(0);
      // A refused login is told at once (or when its slot wait runs out), never after a time-out elsewhere.
      expect(Math.max(...shed.map((t) => t.ms))).toBeLessThan(1_000);
      // No served login waited much beyond the limit for its slot (600 ms) plus its own hash (~250 ms).
      expect(Math.max(...served.map((t) => t.ms))).toBeLessThan(2_500);
    } finally {
      await stack.close();
    }
  });
});

describe("rehash and audit", () => {
  it("rehashes a password at the new cost on a successful login", async () => {
    const old = await startStack({ BCRYPT_COST: "10" });
    const name = uniqueName("rehash");
    const reg = await register(old.app, name);
    await old.close();
    const stack = await startStack({ BCRYPT_COST: "11" });
    try {
      expect((await login(stack.app, name)).status).toBe(201);
      await waitFor("the new hash", async () => {
        const user = await stack.deps.db.prisma.user.findUnique({ where: { id: reg.body.id } });
        return user && stack.deps.hasher.costOf(user.passwordHash) === 11;
      }, 5_000);
      expect((await login(stack.app, name)).status).toBe(201);
    } finally {
      await stack.close();
    }
  });

  it("records every attempt as a LoginEvent without the password", async () => {
    const stack = await startStack();
    try {
      const name = uniqueName("audit");
      const { userId } = await userWithSession(stack.app, name);
      await login(stack.app, name, "wrong password", { "user-agent": "audit-agent" });
      await stack.deps.audit.flush();
      const events = await stack.deps.db.prisma.loginEvent.findMany({ where: { attemptedUsername: name }, orderBy: { id: "asc" } });
      expect(events.map((e) => [e.result, e.userId])).toEqual([
        ["success", userId],
        ["invalid_credentials", userId],
      ]);
      expect(events[1]!.userAgent).toBe("audit-agent");
      expect(events[1]!.ip).toMatch(/127\.0\.0\.1/);
      expect(JSON.stringify(events, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain("wrong password");
      const res = await request(stack.app).get("/healthz");
      expect(res.status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});
