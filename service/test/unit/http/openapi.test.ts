// The contract checks themselves: they must catch what they exist to catch, and the API description must say
// what the API table of docs/api.md says.
import { readFileSync } from "node:fs";
import path from "node:path";
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { defaultDescription, operations } from "../../../src/http/openapi.js";
import { ROOT } from "../../support/env.js";
import { contractProblems } from "../../support/contract.js";

const ok = { "x-request-id": "r1", "content-type": "application/json; charset=utf-8" };
const json = (status: number, body: unknown, headers: Record<string, string> = ok) => ({ status, headers, body, text: JSON.stringify(body) });

describe("the contract checks", () => {
  it("accept a documented response, and name an undocumented status, error code, field or missing header", () => {
    const current = { user: { id: "6f1c0f3e-0f4e-4a53-9c1e-2b0c0c1b2a3d", username: "ann", roles: [] }, session: { id: "s", createdAt: "2026-12-01T00:00:00.000Z", expiresAt: "2026-12-08T00:00:00.000Z", lastSeenAt: "2026-12-01T00:00:00.000Z" } };
    expect(contractProblems("GET", "/v1/session", json(200, current))).toEqual([]);
    expect(contractProblems("GET", "/v1/session", json(418, { error: "teapot", message: "x" }))[0]).toMatch(/undocumented status/);
    expect(contractProblems("GET", "/v1/session", json(401, { error: "forbidden", message: "x" }))[0]).toMatch(/allowed values/);
    expect(contractProblems("GET", "/v1/session", json(200, { ...current, extra: 1 }))[0]).toMatch(/additional properties/);
    expect(contractProblems("GET", "/v1/session", json(200, current, { "content-type": "application/json" }))[0]).toMatch(/no X-Request-Id/);
    expect(contractProblems("POST", "/v1/sessions", json(429, { error: "rate_limited", message: "x" }))[0]).toMatch(/no Retry-After/);
    expect(contractProblems("PUT", "/v1/session", json(404, { error: "not_found", message: "x" }))[0]).toMatch(/405 was due/);
  });

  it("fail a supertest request whose response breaks the description (the setup hook)", async () => {
    const app = express();
    app.get("/v1/session", (_req, res) => {
      res.setHeader("x-request-id", "r");
      res.status(200).json({ surprise: true });
    });
    await expect(request(app).get("/v1/session")).rejects.toThrow(/breaks the API description/);
  });
});

describe("the API table of docs/api.md", () => {
  it("lists exactly the operations the description has (health and the description itself aside)", () => {
    const readme = readFileSync(path.join(ROOT, "docs/api.md"), "utf8");
    const section = readme.slice(readme.indexOf("## API"), readme.indexOf("### Live session events"));
    const rows = [...section.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) (\/v1\/[^` ?]*)[^`]*`/gm)].map((m) => `${m[1]} ${m[2]}`);
    const documented = operations()
      .filter((op) => op.path.startsWith("/v1/"))
      .map((op) => `${op.method.toUpperCase()} ${op.path}`);
    expect(rows.sort()).toEqual(documented.sort());
  });
});

describe("docs/openapi.json", () => {
  it("is the description a replica with default settings serves, committed up to date", () => {
    expect(readFileSync(path.join(ROOT, "docs/openapi.json"), "utf8"), "docs/openapi.json is stale: run npm run openapi").toBe(defaultDescription());
  });
});
