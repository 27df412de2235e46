// /v1/events against real Redis (through Sentinel) and Postgres: who may open a socket, what it is told when its
// session ends or changes on any replica, limits and bad frames, presence, and resync after the event
// connection was lost.
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, bearer, login, register, userWithSession } from "../support/api.js";
import { unpack, userKey } from "../../src/adapters/redis/session-store.js";
import { waitFor } from "../support/infra.js";
import { ManualClock, startStack, uniqueName, type Stack } from "../support/stack.js";
import { connect, refusedUpgrade, type Client } from "../support/ws.js";

const ORIGIN = "http://app.test"; // testEnv's ALLOWED_ORIGINS

async function admin(stack: Stack) {
  const user = await userWithSession(stack.app, uniqueName("admin"));
  await stack.deps.accounts.users.update(user.userId, { roles: ["admin"] });
  const token = (await login(stack.app, (await stack.deps.accounts.users.findById(user.userId))!.username)).body.token as string;
  return { ...user, token };
}

const ended = async (client: Client) => ({ message: await client.next("session.ended"), close: await client.closed });

describe("live session events (/v1/events)", () => {
  let a: Stack;
  let b: Stack;
  let urlA: string;
  let urlB: string;
  beforeAll(async () => {
    a = await startStack();
    b = await startStack();
    [urlA, urlB] = [await a.listen(), await b.listen()];
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  describe("the upgrade", () => {
    it("refuses without a session (401), with a bad token (401) and on another path (404), as JSON with a request id", async () => {
      for (const [headers, path, status, error] of [
        [{}, "/v1/events", 401, "invalid_session"],
        [bearer("u.s.nope"), "/v1/events", 401, "invalid_session"],
        [{}, "/v1/other", 404, "not_found"],
      ] as const) {
        const r = await refusedUpgrade(urlA, headers, path);
        expect(r.status, path).toBe(status);
        expect(r.body.error).toBe(error);
        expect(r.headers["content-type"]).toMatch(/^application\/json/);
        expect(r.headers["x-request-id"]).toMatch(/.+/);
      }
    });

    it("refuses a malformed handshake with 400 invalid_request", async () => {
      const r = await refusedUpgrade(urlA, { "sec-websocket-key": "short" });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe("invalid_request");
    });

    it("with the session cookie, needs an allowed Origin (403 csrf_rejected before any upgrade); a bearer token does not", async () => {
      const { token } = await userWithSession(a.app, uniqueName("ws-origin"));
      const cookie = { cookie: `auth_session=${token}` };
      for (const origin of [undefined, "http://evil.test"]) {
        const r = await refusedUpgrade(urlA, origin ? { ...cookie, origin } : cookie);
        expect(r.status).toBe(403);
        expect(r.body.error).toBe("csrf_rejected");
      }
      const byCookie = await connect(urlA, { ...cookie, origin: ORIGIN });
      expect((await byCookie.next("hello")).sessionId).toEqual(expect.any(String));
      byCookie.close();
      const byBearer = await connect(urlA, { ...bearer(token), origin: "http://evil.test" });
      await byBearer.next("hello");
      byBearer.close();
    });
  });

  describe("messages", () => {
    it("says hello with the session, its expiry and the server time, and never sends a token, secret or hash", async () => {
      const { token, sessionId } = await userWithSession(a.app, uniqueName("ws-hello"));
      const client = await connect(urlA, bearer(token));
      const hello = await client.next("hello");
      expect(hello).toEqual({ type: "hello", sessionId, expiresAt: expect.any(String), serverTime: expect.any(String), pingIntervalS: 30 });
      expect(Date.parse(hello.expiresAt as string)).toBeGreaterThan(Date.now());
      client.ws.send(JSON.stringify({ type: "ping" }));
      await client.next("pong");
      const secret = token.split(".")[2]!;
      for (const m of client.messages) expect(JSON.stringify(m)).not.toContain(secret);
      client.close();
    });

    it("ends the socket on every path that ends its session, with the reason and close code 4001, across replicas", async () => {
      const adminUser = await admin(a);
      const cases: { reason: string; act: (u: { token: string; userId: string; sessionId: string; other: string }) => Promise<unknown> }[] = [
        { reason: "logout", act: (u) => request(a.app).delete("/v1/session").set(bearer(u.token)) },
        { reason: "logout_all", act: (u) => request(a.app).delete("/v1/sessions").set(bearer(u.other)) },
        { reason: "revoked", act: (u) => request(a.app).delete(`/v1/sessions/${u.sessionId}`).set(bearer(u.other)) },
        { reason: "password_changed", act: (u) => request(a.app).put("/v1/password").set(bearer(u.other)).send({ currentPassword: PASSWORD, newPassword: `${PASSWORD} 2` }) },
        { reason: "revoked", act: (u) => request(a.app).delete(`/v1/users/${u.userId}/sessions`).set(bearer(adminUser.token)) },
        { reason: "disabled", act: (u) => request(a.app).patch(`/v1/users/${u.userId}`).set(bearer(adminUser.token)).send({ disabled: true }) },
      ];
      const multi = await startStack({ SESSION_MAX_PER_USER: "5" });
      try {
        for (const c of cases) {
          const name = uniqueName("ws-end");
          const u = await userWithSession(multi.app, name);
          const other = (await login(multi.app, name)).body.token as string;
          // The socket is held by replica B; the change is made through replica A.
          const client = await connect(urlB, bearer(u.token));
          await client.next("hello");
          const res = (await c.act({ ...u, other })) as { status: number };
          const answered = Date.now(); // the change is announced before the HTTP answer, usually arriving first
          expect(res.status, c.reason).toBeLessThan(300);
          const { message, close } = await ended(client);
          expect(message, c.reason).toEqual({ type: "session.ended", reason: c.reason });
          expect(close).toEqual({ code: 4001, reason: c.reason });
          expect(Date.now() - answered, c.reason).toBeLessThan(1000);
        }
      } finally {
        await multi.close();
      }
    });

    it("keeps the current session's socket open on a password change, and tells it of new roles", async () => {
      const adminUser = await admin(a);
      const name = uniqueName("ws-keep");
      const { token, userId } = await userWithSession(a.app, name);
      const client = await connect(urlB, bearer(token));
      await client.next("hello");
      expect((await request(a.app).patch(`/v1/users/${userId}`).set(bearer(adminUser.token)).send({ roles: ["auditor"] })).status).toBe(200);
      expect(await client.next("session.updated")).toEqual({ type: "session.updated", roles: ["auditor"] });
      expect((await request(a.app).put("/v1/password").set(bearer(token)).send({ currentPassword: PASSWORD, newPassword: `${PASSWORD} 3` })).status).toBe(204);
      client.ws.send(JSON.stringify({ type: "ping" }));
      await waitFor("a pong", async () => client.messages.filter((m) => m.type === "pong").length === 1);
      expect(client.messages.some((m) => m.type === "session.ended")).toBe(false);
      client.close();
    });

    it("ends the socket of a session evicted by a newer login (SESSION_MAX_PER_USER=1), from the session script itself", async () => {
      const name = uniqueName("ws-evict");
      const { token } = await userWithSession(a.app, name);
      const client = await connect(urlB, bearer(token));
      await client.next("hello");
      expect((await login(a.app, name)).status).toBe(201);
      expect((await ended(client)).message).toEqual({ type: "session.ended", reason: "evicted" });
    });

    it("ends the socket when its session expires, found by the replica holding it", async () => {
      const clock = new ManualClock();
      const stack = await startStack({ WS_PING_INTERVAL_S: "1", SESSION_IDLE_TIMEOUT_S: "60", SESSION_ABSOLUTE_LIFETIME_S: "60" }, { clock });
      try {
        const url = await stack.listen();
        const { token } = await userWithSession(stack.app, uniqueName("ws-expire"));
        const client = await connect(url, bearer(token));
        await client.next("hello");
        clock.advance(61_000);
        expect((await ended(client)).message).toEqual({ type: "session.ended", reason: "expired" });
      } finally {
        await stack.close();
      }
    });

    it("keeps its session's idle expiry sliding while open, as a polling client's validations would", async () => {
      const clock = new ManualClock();
      const stack = await startStack({ WS_PING_INTERVAL_S: "1", SESSION_IDLE_TIMEOUT_S: "120", SESSION_REFRESH_INTERVAL_S: "1", SESSION_MAX_PER_USER: "5" }, { clock });
      try {
        const url = await stack.listen();
        const name = uniqueName("ws-slide");
        const { token } = await userWithSession(stack.app, name);
        const idle = (await login(stack.app, name)).body.token as string; // the same user's session without a socket
        const client = await connect(url, bearer(token));
        await client.next("hello");
        const [userId, sessionId] = token.split(".") as [string, string];
        const lastSeen = async () => unpack((await stack.deps.redis.hget(userKey(userId), sessionId))!)!.lastSeenAt;
        for (let i = 0; i < 3; i++) {
          clock.advance(80_000); // 240 s in all: twice the idle timeout
          // A heartbeat re-validates (and slides) the session: its last-seen time becomes the clock's.
          await waitFor("a heartbeat sliding the session", async () => (await lastSeen()) === clock.now(), 10_000);
        }
        expect((await request(stack.app).get("/v1/session").set(bearer(token))).status).toBe(200);
        expect((await request(stack.app).get("/v1/session").set(bearer(idle))).status).toBe(401);
        expect(client.messages.some((m) => m.type === "session.ended")).toBe(false);
        client.close();
      } finally {
        await stack.close();
      }
    });

    it("tells every socket to resync when the event connection came back (a publish may have been lost)", async () => {
      const { token } = await userWithSession(a.app, uniqueName("ws-resync"));
      const client = await connect(urlA, bearer(token));
      await client.next("hello");
      a.deps.subscriber.disconnect(true); // drops the connection; ioredis reconnects through Sentinel
      expect(await client.next("resync", 10_000)).toEqual({ type: "resync" });
      // And events flow again: a revocation made elsewhere still arrives.
      await request(b.app).delete("/v1/session").set(bearer(token));
      expect((await ended(client)).message.reason).toBe("logout");
    });
  });

  describe("limits and bad frames", () => {
    it("refuses a user's connection beyond WS_MAX_CONNECTIONS_PER_USER (429), counted across replicas", async () => {
      const stack = await startStack({ WS_MAX_CONNECTIONS_PER_USER: "2", SESSION_MAX_PER_USER: "5" });
      try {
        const url = await stack.listen();
        const name = uniqueName("ws-user-limit");
        const { token } = await userWithSession(stack.app, name);
        const first = await connect(url, bearer(token));
        const second = await connect(urlB, bearer(token)); // another replica: the count is in Redis
        const r = await refusedUpgrade(url, bearer(token));
        expect(r.status).toBe(429);
        expect(r.body.error).toBe("too_many_connections");
        first.close();
        await first.closed;
        await waitFor("a free slot", async () => (await connect(url, bearer(token)).then((c) => (c.close(), true), () => false)));
        second.close();
      } finally {
        await stack.close();
      }
    });

    it("refuses beyond WS_MAX_CONNECTIONS on the replica with 503 overloaded and Retry-After", async () => {
      const stack = await startStack({ WS_MAX_CONNECTIONS: "1", SESSION_MAX_PER_USER: "5" });
      try {
        const url = await stack.listen();
        const { token } = await userWithSession(stack.app, uniqueName("ws-replica-limit"));
        const held = await connect(url, bearer(token));
        const r = await refusedUpgrade(url, bearer(token));
        expect(r.status).toBe(503);
        expect(r.body.error).toBe("overloaded");
        expect(r.headers["retry-after"]).toBe("1");
        held.close();
      } finally {
        await stack.close();
      }
    });

    it("closes on an unexpected text frame (1008), a binary frame (1003) and a frame over 1 KiB (1009)", async () => {
      const { token } = await userWithSession(a.app, uniqueName("ws-frames"));
      const stack = await startStack({ SESSION_MAX_PER_USER: "5" });
      try {
        const url = await stack.listen();
        for (const [send, code] of [
          [(c: Client) => c.ws.send("hello"), 1008],
          [(c: Client) => c.ws.send(JSON.stringify({ type: "subscribe" })), 1008],
          [(c: Client) => c.ws.send(Buffer.from([1, 2, 3])), 1003],
          [(c: Client) => c.ws.send("x".repeat(2048)), 1009],
        ] as const) {
          const client = await connect(url, bearer(token));
          await client.next("hello");
          send(client);
          expect((await client.closed).code).toBe(code);
        }
      } finally {
        await stack.close();
      }
    });

    it("closes a client that does not read, once its send buffer passes WS_MAX_BUFFERED_KB, with 1013", async () => {
      const stack = await startStack({ WS_MAX_BUFFERED_KB: "1" });
      try {
        const url = await stack.listen();
        const { token } = await userWithSession(stack.app, uniqueName("ws-slow"));
        const client = await connect(url, bearer(token));
        await client.next("hello");
        const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
        socket.pause(); // reads nothing: the pongs pile up on the server
        const ping = JSON.stringify({ type: "ping" });
        for (let i = 0; i < 200_000 && stack.deps.hub.connections > 0; i++) {
          client.ws.send(ping);
          if (i % 5000 === 0) await new Promise((r) => setImmediate(r));
        }
        socket.resume();
        expect((await client.closed).code).toBe(1013);
      } finally {
        await stack.close();
      }
    });

    it("closes a peer that stops answering pings, and its presence goes with it", async () => {
      const stack = await startStack({ WS_PING_INTERVAL_S: "1" });
      try {
        const url = await stack.listen();
        const { token, userId } = await userWithSession(stack.app, uniqueName("ws-dead"));
        const client = await connect(url, bearer(token));
        await client.next("hello");
        expect((await stack.deps.presence.presence.ofUser(userId, Date.now())).connections).toBe(1);
        (client.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // no pong goes back
        await waitFor("the dead peer closed", async () => stack.deps.hub.connections === 0, 10_000);
        await waitFor("presence gone", async () => (await stack.deps.presence.presence.ofUser(userId, Date.now())).connections === 0);
      } finally {
        await stack.close();
      }
    });
  });

  describe("presence", () => {
    it("answers online, connections and last seen for the user (and admins), and the online count and list for admins", async () => {
      const adminUser = await admin(a);
      const name = uniqueName("ws-presence");
      const { token, userId } = await userWithSession(a.app, name);
      const offline = await request(a.app).get(`/v1/users/${userId}/presence`).set(bearer(token));
      expect(offline.status).toBe(200);
      expect(offline.body).toMatchObject({ userId, online: false, connections: 0 });

      const adminSocket = await connect(urlB, bearer(adminUser.token));
      const before = (await adminSocket.next("presence")).online as number;
      const client = await connect(urlA, bearer(token));
      await client.next("hello");
      const mine = await request(b.app).get(`/v1/users/${userId}/presence`).set(bearer(token));
      expect(mine.body).toMatchObject({ userId, online: true, connections: 1 });
      expect(Date.parse(mine.body.lastSeenAt as string)).toBeGreaterThan(Date.now() - 10_000);
      // The admin's socket hears the count change (pushed, not polled).
      await waitFor("the admin's socket told of the new count", async () => adminSocket.messages.some((m) => m.type === "presence" && (m.online as number) > before), 5000);

      const list = await request(b.app).get("/v1/presence?limit=200").set(bearer(adminUser.token));
      expect(list.status).toBe(200);
      expect(list.body.online).toBeGreaterThanOrEqual(2);
      const pages: { id: string; username: string; connections: number }[] = [...list.body.users];
      for (let next = list.body.next as string | null; next; ) {
        const page = await request(b.app).get(`/v1/presence?limit=200&after=${next}`).set(bearer(adminUser.token));
        pages.push(...page.body.users);
        next = page.body.next;
      }
      expect(pages).toContainEqual({ id: userId, username: name, connections: 1 });

      expect((await request(a.app).get("/v1/presence").set(bearer(token))).status).toBe(403);
      expect((await request(a.app).get(`/v1/users/${adminUser.userId}/presence`).set(bearer(token))).status).toBe(403);
      expect((await request(a.app).get("/v1/presence?limit=abc").set(bearer(adminUser.token))).status).toBe(400);

      client.close();
      await client.closed;
      await waitFor("offline after the last socket closed", async () => {
        const after = await request(a.app).get(`/v1/users/${userId}/presence`).set(bearer(adminUser.token));
        return after.body.online === false && after.body.lastSeenAt !== null;
      });
      adminSocket.close();
    });

    it("counts a user once however many sockets, and keeps them online until the last closes", async () => {
      const stack = await startStack({ SESSION_MAX_PER_USER: "5" });
      try {
        const url = await stack.listen();
        const name = uniqueName("ws-twice");
        await register(stack.app, name);
        const t1 = (await login(stack.app, name)).body.token as string;
        const t2 = (await login(stack.app, name)).body.token as string;
        const userId = (await stack.deps.accounts.users.findByUsername(name))!.id;
        const [c1, c2] = [await connect(url, bearer(t1)), await connect(urlB, bearer(t2))];
        const p = () => stack.deps.presence.presence.ofUser(userId, Date.now());
        expect((await p()).connections).toBe(2);
        c1.close();
        await c1.closed;
        await waitFor("one left", async () => (await p()).connections === 1);
        const page = await stack.deps.presence.presence.onlinePage(Date.now(), 1, userId.slice(0, -1));
        expect(page.users[0]).toEqual({ id: userId, username: name, connections: 1 });
        c2.close();
        await c2.closed;
        // The replica stops listening to the user's channel once its last socket there is gone.
        const channel = `auth:{u:${userId}}:ev`;
        await waitFor("the channel unsubscribed", async () => Number((await stack.deps.redis.call("PUBSUB", "SHARDNUMSUB", channel) as [string, number])[1]) === 0);
      } finally {
        await stack.close();
      }
    });
  });
});
