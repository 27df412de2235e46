// The access log writes a line for every request that failed, was slow or was aborted, and a sample of the rest.
import { Writable } from "node:stream";
import express from "express";
import { pino } from "pino";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { requestLogging, type AccessLogPolicy } from "../../../src/http/request-log.js";

function appWith(policy: AccessLogPolicy, random: () => number) {
  const lines: { msg: string; req: { path: string }; res: { statusCode: number } }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      done();
    },
  });
  const app = express();
  app.use(requestLogging(pino({ level: "info" }, sink), policy, random));
  app.get("/ok", (_req, res) => res.json({ ok: true }));
  app.get("/slow", (_req, res) => void setTimeout(() => res.json({ ok: true }), 60));
  app.get("/refused", (_req, res) => res.status(401).json({ error: "invalid_session" }));
  app.get("/healthz", (_req, res) => res.json({ status: "ok" }));
  const logged = () => lines.map((l) => `${l.req.path} ${l.res.statusCode}`);
  // Plain fetch, not supertest: these routes are the test's own, not the API's (which supertest checks).
  const get = async (path: string) => {
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`)).text();
    } finally {
      server.close();
    }
  };
  return { get, logged };
}

describe("access log", () => {
  it("logs every non-2xx and every slow request, and no quick success when the sample rate is 0", async () => {
    const { get, logged } = appWith({ sampleRate: 0, slowMs: 50 }, () => 0);
    for (const path of ["/ok", "/ok", "/refused", "/slow", "/healthz", "/nope"]) await get(path);
    await new Promise((r) => setImmediate(r));
    expect(logged()).toEqual(["/refused 401", "/slow 200", "/nope 404"]);
  });

  it("logs the sampled share of quick successes, and all of them at rate 1", async () => {
    const draws = [0.5, 0.004, 0.9, 0.0099];
    const sampled = appWith({ sampleRate: 0.01, slowMs: 1000 }, () => draws.shift()!);
    for (let i = 0; i < 4; i++) await sampled.get("/ok");
    await new Promise((r) => setImmediate(r));
    expect(sampled.logged()).toEqual(["/ok 200", "/ok 200"]); // the draws under 0.01

    const all = appWith({ sampleRate: 1, slowMs: 1000 }, Math.random);
    for (let i = 0; i < 3; i++) await all.get("/ok");
    await new Promise((r) => setImmediate(r));
    expect(all.logged()).toEqual(["/ok 200", "/ok 200", "/ok 200"]);
  });
});
