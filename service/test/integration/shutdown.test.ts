// SIGTERM: in-flight requests finish, new connections are refused, the process exits 0.
import { describe, expect, it } from "vitest";
import { uniqueName } from "../support/stack.js";
import { startService } from "../support/process.js";

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
    await new Promise((r) => setTimeout(r, 150));
    svc.proc.kill("SIGTERM");
    const res = await inFlight;
    expect(res.status).toBe(201);
    expect(((await res.json()) as { token: unknown }).token).toEqual(expect.any(String));
    await new Promise((r) => setTimeout(r, 100));
    expect(await connectRefused(svc.url)).toBe(true);
    expect(await svc.exited).toBe(0);
    expect(svc.output()).toContain('"msg":"stopped"');
  });
});
