import { Writable } from "node:stream";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { MemorySessionStore, fakeApp } from "../support/fakes.js";

const token = "0b0b3c4e-1111-4222-8333-444455556666.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

describe("HTTP app plumbing", () => {
  it("answers malformed JSON with 400 invalid_json", async () => {
    const res = await request(fakeApp().app).post("/v1/sessions").set("content-type", "application/json").send("{oops");
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid_json");
    expect(res.headers["content-type"]).toMatch(/application\/json/);
  });

  it("answers a body over 16 KiB with 413 payload_too_large", async () => {
    const res = await request(fakeApp().app)
      .post("/v1/sessions")
      .set("content-type", "application/json")
      .send(JSON.stringify({ username: "a", password: "x".repeat(17 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: "payload_too_large", message: expect.any(String) });
  });

  it("answers an unknown route with 404 not_found", async () => {
    const res = await request(fakeApp().app).get("/no/such/route");
    expect(res.status).toBe(404);
    expect(res.body.error).toBe("not_found");
  });

  it("answers an unexpected error with 500 internal and leaks nothing", async () => {
    const store = new MemorySessionStore();
    store.failWith = new Error("secret internal detail at /srv/app.js:42");
    const res = await request(fakeApp(store).app).get("/v1/session").set("authorization", `Bearer ${token}`);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: "internal", message: "internal error" });
    expect(res.text).not.toContain("secret internal detail");
    expect(res.text).not.toContain("app.js");
  });

  it("echoes a valid x-request-id and generates one otherwise", async () => {
    const { app } = fakeApp();
    const given = await request(app).get("/healthz").set("x-request-id", "abc-123");
    expect(given.headers["x-request-id"]).toBe("abc-123");
    const generated = await request(app).get("/healthz").set("x-request-id", "bad id with spaces;" + "x".repeat(200));
    expect(generated.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const none = await request(app).get("/nope");
    expect(none.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("sets the security headers a JSON API needs, and not the HTML page's", async () => {
    const res = await request(fakeApp().app).get("/v1/session").set("authorization", `Bearer ${token}`);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["strict-transport-security"]).toMatch(/^max-age=\d+/);
    expect(res.headers["content-security-policy"]).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(res.headers["cache-control"]).toBe("no-store");
    for (const absent of ["x-powered-by", "etag", "x-frame-options", "cross-origin-opener-policy", "x-xss-protection", "x-dns-prefetch-control"]) {
      expect(res.headers[absent], absent).toBeUndefined();
    }
  });

  it("serves the API description with an ETag, and 304 to a matching If-None-Match", async () => {
    const { app } = fakeApp();
    const first = await request(app).get("/v1/openapi.json");
    expect(first.status).toBe(200);
    expect(first.headers["cache-control"]).toBe("public, max-age=300");
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    const again = await request(app).get("/v1/openapi.json").set("if-none-match", etag);
    expect(again.status).toBe(304);
    expect(again.text).toBe("");
  });

  it("answers a wrong JSON type with 400 invalid_request, not 500", async () => {
    for (const body of [{ username: 5, password: "x" }, { username: "a", password: null }, [], "str"]) {
      const res = await request(fakeApp().app).post("/v1/sessions").send(body as object);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("invalid_request");
    }
  });

  it("reports readiness 503 with the failing dependency named, and liveness without dependencies", async () => {
    const { app } = fakeApp(new MemorySessionStore(), {
      redis: async () => {},
      database: async () => {
        throw new Error("down");
      },
    });
    expect((await request(app).get("/healthz")).status).toBe(200);
    const ready = await request(app).get("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ ready: false, status: "unavailable", checks: { redis: "ok", database: "down" } });
  });

  it("turns not ready at once when draining", async () => {
    const { app, readiness } = fakeApp(new MemorySessionStore(), { redis: async () => {} });
    expect((await request(app).get("/readyz")).status).toBe(200);
    readiness.startDraining();
    const res = await request(app).get("/readyz");
    expect(res.status).toBe(503);
    expect(res.body.status).toBe("draining");
  });

  it("writes one access-log line per request (id, method, path, status, time; no query, header or body), none for probes", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const store = new MemorySessionStore();
    const { app } = fakeApp(store, {}, pino({ level: "info" }, sink));
    const secret = token.split(".")[2]!;
    const res = await request(app).get(`/v1/session?token=${secret}`).set("authorization", `Bearer ${token}`);
    await request(app).get("/healthz");
    await request(app).get("/readyz");
    store.failWith = new Error("boom");
    const failed = await request(app).get("/v1/session").set("authorization", `Bearer ${token}`);
    await new Promise((r) => setImmediate(r));

    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [30, "request completed"],
      [50, "unhandled error"],
      [50, "request completed"],
    ]);
    expect(lines[0]).toMatchObject({
      req: { id: res.headers["x-request-id"], method: "GET", path: "/v1/session" },
      res: { statusCode: 401 },
      responseTime: expect.any(Number),
    });
    expect(lines[1]).toMatchObject({ req: { id: failed.headers["x-request-id"] }, err: { message: "boom" } });
    expect(lines[2]).toMatchObject({ req: { id: failed.headers["x-request-id"] }, res: { statusCode: 500 } });
    expect(JSON.stringify(lines)).not.toContain(secret);
  });
});
