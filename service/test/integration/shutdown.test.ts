// SIGTERM: in-flight requests finish, new connections are refused, the process exits 0.
import { describe, expect, it } from "vitest";
import { bearer } from "../support/api.js";
import { waitFor } from "../support/infra.js";
import { uniqueName } from "../support/stack.js";
import { startService } from "../support/process.js";
import { connect, refusedUpgrade } from "../support/ws.js";

async function connectRefused(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/healthz`);
    return false;
  } catch (err) {
    return String((err as { cause?: { code?: string } }).cause?.code) === "ECONNREFUSED";
  }
}

describe("graceful shutdown", () => {
  it("finishes the request in flight, refuses new connections, and exits 0", async () => {
    // cost 14 makes a login take most of a second on this machine: long enough to be in flight.
    const svc = await startService(3951, { BCRYPT_COST: "14", SHUTDOWN_GRACE_MS: "10000" });
    const username = uniqueName("drain");
    const creds = { username, password: "long enough password" };
    const reg = await fetch(`${svc.url}/v1/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(creds) });
    expect(reg.status).toBe(201);

    const inFlight = fetch(`${svc.url}/v1/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json", connection: "close" },
      body: JSON.stringify(creds),
    });
    // In flight: its password hash is running (the replica's own gauge says so).
    await waitFor("the login's hash running", async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${svc.port + 1000}/metrics`)).text();
      return /^auth_password_hash_in_flight 1$/m.test(metrics);
    }, 5_000, 5);
    svc.proc.kill("SIGTERM");
    const res = await inFlight;
    expect(res.status).toBe(201);
    expect(((await res.json()) as { token: unknown }).token).toEqual(expect.any(String));
    expect(await waitFor("new connections refused", () => connectRefused(svc.url), 5_000)).toBe(true);
    expect(await svc.exited).toBe(0);
    expect(svc.output()).toContain('"msg":"stopped"');
  });

  it("closes live sockets with 1012 once readiness is false and the delay is over, refusing new ones meanwhile with 503", async () => {
    const svc = await startService(3953, { SHUTDOWN_DELAY_MS: "1500" });
    const creds = { username: uniqueName("drain-ws"), password: "long enough password" };
    const post = (path: string) => fetch(`${svc.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(creds) });
    expect((await post("/v1/users")).status).toBe(201);
    const { token } = (await (await post("/v1/sessions")).json()) as { token: string };
    const client = await connect(svc.url, bearer(token));
    await client.next("hello");
    const t0 = Date.now();
    svc.proc.kill("SIGTERM");
    await waitFor("readiness false", async () => (await fetch(`${svc.url}/readyz`)).status === 503);
    const refused = await refusedUpgrade(svc.url, bearer(token));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe("unavailable");
    expect(refused.headers["retry-after"]).toBe("1");
    expect(await client.closed).toEqual({ code: 1012, reason: "service restart" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(await svc.exited).toBe(0);
  });
});
