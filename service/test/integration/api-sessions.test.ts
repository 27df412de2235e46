// Log in, validate, log out, list and revoke: the session lifecycle against real Redis and Postgres.
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unpack, userKey } from "../../src/adapters/redis/session-store.js";
import { PASSWORD, bearer, login, register, userWithSession, validate } from "../support/api.js";
import { ManualClock, startStack, uniqueName, type Stack } from "../support/stack.js";

describe("sessions API", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("logs in with 201 {token, session, user} and a hardened cookie", async () => {
    const name = uniqueName("login");
    const reg = await register(stack.app, name);
    const res = await login(stack.app, name);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      token: expect.any(String),
      session: { id: expect.any(String), createdAt: expect.any(String), expiresAt: expect.any(String) },
      user: { id: reg.body.id, username: name, roles: [] },
    });
    const cookie = (res.headers["set-cookie"] as unknown as string[])[0]!;
    expect(cookie).toContain(`auth_session=${res.body.token}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/); // COOKIE_SECURE=false in this stack
  });

  it("sets Secure on the cookie by default", async () => {
    const secure = await startStack({ COOKIE_SECURE: "true" });
    try {
      const name = uniqueName("secure");
      await register(secure.app, name);
      const res = await login(secure.app, name);
      expect((res.headers["set-cookie"] as unknown as string[])[0]).toMatch(/; Secure/);
    } finally {
      await secure.close();
    }
  });

  it("validates by bearer token and by cookie", async () => {
    const name = uniqueName("val");
    const { token, userId, sessionId } = await userWithSession(stack.app, name);
    const byBearer = await validate(stack.app, token);
    expect(byBearer.status).toBe(200);
    expect(byBearer.body).toEqual({
      user: { id: userId, username: name, roles: [] },
      session: { id: sessionId, createdAt: expect.any(String), expiresAt: expect.any(String), lastSeenAt: expect.any(String) },
    });
    const byCookie = await request(stack.app).get("/v1/session").set("cookie", `auth_session=${token}`);
    expect(byCookie.status).toBe(200);
    expect(byCookie.body.user.id).toBe(userId);
  });

  it("rejects missing, malformed and tampered tokens with 401 invalid_session", async () => {
    const { token } = await userWithSession(stack.app, uniqueName("tamper"));
    const last = token.at(-1) === "A" ? "B" : "A";
    const tampered = token.slice(0, -1) + last;
    const [uid, sid] = token.split(".");
    for (const bad of [tampered, `${uid}.${sid}.${"A".repeat(43)}`, "garbage", token + "x", ""]) {
      const res = await validate(stack.app, bad);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: "invalid_session", message: expect.any(String) });
    }
    expect((await request(stack.app).get("/v1/session")).status).toBe(401);
  });

  it("logs out with 204, idempotently, and the token stops working", async () => {
    const { token } = await userWithSession(stack.app, uniqueName("logout"));
    const res = await request(stack.app).delete("/v1/session").set(bearer(token));
    expect(res.status).toBe(204);
    expect((await validate(stack.app, token)).status).toBe(401);
    expect((await request(stack.app).delete("/v1/session").set(bearer(token))).status).toBe(204);
    expect((await request(stack.app).delete("/v1/session")).status).toBe(204);
  });

  it("keeps one session per user by default: a new login ends the previous one", async () => {
    const name = uniqueName("single");
    const first = (await userWithSession(stack.app, name)).token;
    const second = (await login(stack.app, name)).body.token;
    expect((await validate(stack.app, first)).status).toBe(401);
    expect((await validate(stack.app, second)).status).toBe(200);
  });

  it("with SESSION_MAX_PER_USER=3 keeps the newest three, lists them, and revokes one or all", async () => {
    const multi = await startStack({ SESSION_MAX_PER_USER: "3" });
    try {
      const name = uniqueName("multi");
      await register(multi.app, name);
      const tokens: string[] = [];
      for (let i = 0; i < 4; i++) tokens.push((await login(multi.app, name, PASSWORD, { "user-agent": `agent-${i}` })).body.token);
      expect((await validate(multi.app, tokens[0]!)).status).toBe(401);
      for (const t of tokens.slice(1)) expect((await validate(multi.app, t)).status).toBe(200);

      const list = await request(multi.app).get("/v1/sessions").set(bearer(tokens[3]!));
      expect(list.status).toBe(200);
      expect(list.body.sessions).toHaveLength(3);
      expect(list.body.sessions.map((s: { userAgent: string }) => s.userAgent).sort()).toEqual(["agent-1", "agent-2", "agent-3"]);
      expect(list.body.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
      expect(list.body.sessions[0]).toEqual({
        id: expect.any(String), createdAt: expect.any(String), lastSeenAt: expect.any(String), expiresAt: expect.any(String),
        ip: expect.any(String), userAgent: expect.any(String), current: expect.any(Boolean),
      });

      const victim = tokens[1]!.split(".")[1]!;
      expect((await request(multi.app).delete(`/v1/sessions/${victim}`).set(bearer(tokens[3]!))).status).toBe(204);
      expect((await validate(multi.app, tokens[1]!)).status).toBe(401);
      const again = await request(multi.app).delete(`/v1/sessions/${victim}`).set(bearer(tokens[3]!));
      expect(again.status).toBe(404);
      expect(again.body.error).toBe("session_not_found");

      expect((await request(multi.app).delete("/v1/sessions").set(bearer(tokens[3]!))).status).toBe(204);
      for (const t of tokens) expect((await validate(multi.app, t)).status).toBe(401);
    } finally {
      await multi.close();
    }
  });

  it.each([1, 3])("leaves exactly %i valid session(s) after 20 concurrent logins of one user", async (max) => {
    const s = max === 1 ? stack : await startStack({ SESSION_MAX_PER_USER: String(max) });
    try {
      const name = uniqueName("storm");
      await register(s.app, name);
      const results = await Promise.all(Array.from({ length: 20 }, () => login(s.app, name)));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
      const valid = await Promise.all(results.map(async (r) => (await validate(s.app, r.body.token)).status === 200));
      expect(valid.filter(Boolean)).toHaveLength(max);
      const survivor = results[valid.indexOf(true)]!.body.token;
      const listed = await request(s.app).get("/v1/sessions").set(bearer(survivor));
      expect(listed.body.sessions).toHaveLength(max);
    } finally {
      if (s !== stack) await s.close();
    }
  });

  it("does not accept another user's session id for revocation", async () => {
    const multi = await startStack({ SESSION_MAX_PER_USER: "2" });
    try {
      const a = await userWithSession(multi.app, uniqueName("owner"));
      const b = await userWithSession(multi.app, uniqueName("other"));
      const res = await request(multi.app).delete(`/v1/sessions/${a.sessionId}`).set(bearer(b.token));
      expect(res.status).toBe(404);
      expect((await validate(multi.app, a.token)).status).toBe(200);
    } finally {
      await multi.close();
    }
  });

  it("rejects cookie-authenticated writes without an allowed Origin (403 csrf_rejected); bearer is exempt", async () => {
    const multi = await startStack({ SESSION_MAX_PER_USER: "3" });
    try {
      const name = uniqueName("csrf");
      await register(multi.app, name);
      const t1 = (await login(multi.app, name)).body.token;
      const t2 = (await login(multi.app, name)).body.token;
      const noOrigin = await request(multi.app).delete("/v1/session").set("cookie", `auth_session=${t1}`);
      expect(noOrigin.status).toBe(403);
      expect(noOrigin.body.error).toBe("csrf_rejected");
      const evil = await request(multi.app).delete("/v1/sessions").set("cookie", `auth_session=${t1}`).set("origin", "https://evil.example");
      expect(evil.status).toBe(403);
      expect((await validate(multi.app, t1)).status).toBe(200);
      const good = await request(multi.app).delete("/v1/session").set("cookie", `auth_session=${t1}`).set("origin", "http://app.test");
      expect(good.status).toBe(204);
      expect((await request(multi.app).delete("/v1/session").set(bearer(t2))).status).toBe(204);
    } finally {
      await multi.close();
    }
  });
});

describe("session expiry and sliding refresh", () => {
  const clock = new ManualClock();
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(
      { SESSION_IDLE_TIMEOUT_S: "600", SESSION_ABSOLUTE_LIFETIME_S: "3600", SESSION_REFRESH_INTERVAL_S: "60" },
      { clock },
    );
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("stores the session with a Redis TTL equal to the idle timeout", async () => {
    clock.t = Date.now();
    const { token, userId } = await userWithSession(stack.app, uniqueName("ttl"));
    const ttl = await stack.deps.redis.pttl(userKey(userId));
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    expect((await validate(stack.app, token)).status).toBe(200);
  });

  it("writes lastSeenAt at most once per refresh interval and slides the idle expiry", async () => {
    clock.t = Date.now();
    const { token, userId, sessionId } = await userWithSession(stack.app, uniqueName("slide"));
    const key = userKey(userId);
    const stored = async () => unpack((await stack.deps.redis.hget(key, sessionId))!)!;
    const seen0 = (await stored()).lastSeenAt;
    clock.advance(30_000);
    expect((await validate(stack.app, token)).status).toBe(200);
    expect((await stored()).lastSeenAt).toBe(seen0);
    clock.advance(31_000);
    const res = await validate(stack.app, token);
    expect(res.status).toBe(200);
    expect(await stored()).toMatchObject({ lastSeenAt: clock.t, x: clock.t + 600_000 });
    expect(new Date(res.body.session.expiresAt).getTime()).toBe(clock.t + 600_000);
    const ttl = await stack.deps.redis.pexpiretime(key);
    expect(ttl).toBe(clock.t + 600_000);
  });

  it("ends a session after the idle timeout", async () => {
    clock.t = Date.now();
    const { token } = await userWithSession(stack.app, uniqueName("idle"));
    clock.advance(601_000);
    expect((await validate(stack.app, token)).status).toBe(401);
  });

  it("ends a session at its absolute lifetime even when used", async () => {
    clock.t = Date.now();
    const { token } = await userWithSession(stack.app, uniqueName("abs"));
    for (let i = 0; i < 7; i++) {
      clock.advance(500_000); // used every 500 s: the idle timeout (600 s) never ends it
      expect((await validate(stack.app, token)).status).toBe(200);
    }
    clock.advance(200_000); // 3,700 s after login: past the absolute lifetime
    expect((await validate(stack.app, token)).status).toBe(401);
  });
});
