// OpenTelemetry: a real login exported over OTLP/HTTP to a test receiver; the span tree and what it must not hold.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../support/infra.js";
import { startService, type ServiceProcess } from "../../support/process.js";
import { uniqueName } from "../../support/stack.js";

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

describe("tracing", () => {
  const bodies: string[] = [];
  let receiver: http.Server;
  let svc: ServiceProcess;
  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        if (req.url === "/v1/traces") bodies.push(body);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => receiver.listen(4399, "127.0.0.1", r));
    // Every access line is written (ACCESS_LOG_SAMPLE_RATE=1): the test follows a successful request into the log.
    svc = await startService(3961, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4399", OTEL_BSP_SCHEDULE_DELAY: "100", ACCESS_LOG_SAMPLE_RATE: "1" });
  });
  afterAll(async () => {
    svc?.proc.kill("SIGTERM");
    await svc?.exited;
    receiver?.close();
  });

  const spans = (): Span[] =>
    bodies.flatMap((b) => (JSON.parse(b) as { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] }).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));

  it("exports the login's tree (HTTP → Redis, pg, password hash), continues the caller's trace, and holds no secret", async () => {
    const username = uniqueName("traced");
    const password = "a traced password 123";
    const reg = await fetch(`${svc.url}/v1/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) });
    expect(reg.status).toBe(201);

    const traceId = randomBytes(16).toString("hex");
    const parentId = randomBytes(8).toString("hex");
    const res = await fetch(`${svc.url}/v1/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-${parentId}-01` },
      body: JSON.stringify({ username, password }),
    });
    expect(res.status).toBe(201);
    const token = ((await res.json()) as { token: string }).token;

    const tree = await waitFor("the login's spans", async () => {
      const mine = spans().filter((s) => s.traceId === traceId);
      return mine.some((s) => s.name === "password.verify") && mine.some((s) => s.kind === 2) ? mine : undefined;
    }, 15_000);

    const server = tree.find((s) => s.kind === 2)!; // SERVER
    expect(server.parentSpanId).toBe(parentId); // W3C trace context from the caller
    const byId = new Map(tree.map((s) => [s.spanId, s]));
    const descendsFromServer = (s: Span) => {
      for (let cur: Span | undefined = s; cur; cur = cur.parentSpanId ? byId.get(cur.parentSpanId) : undefined) {
        if (cur.spanId === server.spanId) return true;
      }
      return false;
    };
    const hash = tree.find((s) => s.name === "password.verify")!;
    expect(descendsFromServer(hash)).toBe(true);
    expect(hash.attributes.map((a) => a.key)).toContain("auth.password.queue_wait_ms");
    const redis = tree.filter((s) => s.attributes.some((a) => a.key === "db.system" && a.value.stringValue === "redis") || s.attributes.some((a) => a.key === "db.system.name" && a.value.stringValue === "redis"));
    const postgres = tree.filter((s) => s.attributes.some((a) => (a.key === "db.system" || a.key === "db.system.name") && /postgres/.test(String(a.value.stringValue))));
    const express = tree.filter((s) => s.attributes.some((a) => a.key === "express.type"));
    expect(express.map((s) => s.name)).toContain("router - /v1/sessions");
    for (const s of express) expect(descendsFromServer(s)).toBe(true);
    expect(redis.length).toBeGreaterThan(0);
    expect(postgres.length).toBeGreaterThan(0);
    for (const s of [...redis, ...postgres]) expect(descendsFromServer(s)).toBe(true);

    const everything = bodies.join("\n");
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.split(".")[2]);

    // Log lines carry the trace and span ids.
    await waitFor("the request's log line", async () => svc.output().includes(`"trace_id":"${traceId}"`), 5_000);
  });
});
