// Registration, username normalization, password policy, password change, admin operations, the CLI.
import { execFileSync } from "node:child_process";
import path from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, bearer, login, register, userWithSession, validate } from "../support/api.js";
import { ROOT, testEnv } from "../support/env.js";
import { startStack, uniqueName, type Stack } from "../support/stack.js";

describe("accounts API", () => {
  let open: Stack;
  let adminOnly: Stack;
  let adminToken: string;
  beforeAll(async () => {
    open = await startStack({ REGISTRATION: "open" });
    adminOnly = await startStack({ REGISTRATION: "admin" });
    const admin = uniqueName("admin");
    runCli(["create-user", admin, "--role", "admin"], PASSWORD);
    adminToken = (await login(adminOnly.app, admin)).body.token;
  });
  afterAll(async () => {
    await open?.close();
    await adminOnly?.close();
  });

  it("registers with open registration and answers 201 {id, username, roles}", async () => {
    const name = uniqueName("reg");
    const res = await register(open.app, name);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), username: name, roles: [] });
    expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
  });

  it("ignores roles asked for in open registration", async () => {
    const res = await request(open.app).post("/v1/users").send({ username: uniqueName("sneaky"), password: PASSWORD, roles: ["admin"] });
    expect(res.status).toBe(201);
    expect(res.body.roles).toEqual([]);
  });

  it("answers 409 username_taken for a taken username, whatever its case or Unicode form", async () => {
    const name = uniqueName("taken");
    expect((await register(open.app, name)).status).toBe(201);
    for (const variant of [name, name.toUpperCase(), toFullwidth(name)]) {
      const res = await register(open.app, variant);
      expect(res.status).toBe(409);
      expect(res.body.error).toBe("username_taken");
    }
  });

  it("normalizes usernames with NFKC and lower case, so every form logs in to one account", async () => {
    const name = uniqueName("norm");
    const reg = await register(open.app, toFullwidth(name).toUpperCase());
    expect(reg.status).toBe(201);
    expect(reg.body.username).toBe(name);
    const res = await login(open.app, name.toUpperCase());
    expect(res.status).toBe(201);
    expect(res.body.user.id).toBe(reg.body.id);
  });

  it.each([
    ["ab", "invalid_username"],
    ["a".repeat(65), "invalid_username"],
    ["has space", "invalid_username"],
    ["semi;colon", "invalid_username"],
  ])("rejects username %j with 400 %s", async (username, code) => {
    const res = await register(open.app, username);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: code, message: expect.any(String) });
  });

  it("enforces PASSWORD_MIN_LENGTH and the 72-byte bcrypt limit", async () => {
    const weak = await register(open.app, uniqueName("pw"), "short");
    expect(weak.status).toBe(400);
    expect(weak.body.error).toBe("weak_password");
    const tooLong = await register(open.app, uniqueName("pw"), "x".repeat(73));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toBe("password_too_long");
    const multibyte = await register(open.app, uniqueName("pw"), "é".repeat(37)); // 74 bytes, 37 characters
    expect(multibyte.body.error).toBe("password_too_long");
    const max = await register(open.app, uniqueName("pw"), "x".repeat(72));
    expect(max.status).toBe(201);
  });

  it("answers a wrong JSON type with 400 invalid_request", async () => {
    for (const body of [{ username: ["a"], password: PASSWORD }, { username: "abc", password: 12345678 }, {}]) {
      const res = await request(open.app).post("/v1/users").send(body);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("invalid_request");
    }
  });

  it("with REGISTRATION=admin, needs an admin session (401 without, 403 for a plain user) and lets an admin set roles", async () => {
    expect((await register(adminOnly.app, uniqueName("anon"))).status).toBe(401);
    const plain = uniqueName("plain");
    const created = await request(adminOnly.app).post("/v1/users").set(bearer(adminToken)).send({ username: plain, password: PASSWORD, roles: ["support"] });
    expect(created.status).toBe(201);
    expect(created.body.roles).toEqual(["support"]);
    const plainToken = (await login(adminOnly.app, plain)).body.token;
    const res = await register(adminOnly.app, uniqueName("x"), PASSWORD, plainToken);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("forbidden");
  });

  it("changes a password: the current session stays, every other ends, the old password stops working", async () => {
    const stack = await startStack({ SESSION_MAX_PER_USER: "5" });
    try {
      const name = uniqueName("chpw");
      const { token } = await userWithSession(stack.app, name);
      const other = (await login(stack.app, name)).body.token;
      const wrong = await request(stack.app).put("/v1/password").set(bearer(token)).send({ currentPassword: "nope nope", newPassword: "new password 1" });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe("invalid_credentials");
      const weak = await request(stack.app).put("/v1/password").set(bearer(token)).send({ currentPassword: PASSWORD, newPassword: "x" });
      expect(weak.body.error).toBe("weak_password");
      const ok = await request(stack.app).put("/v1/password").set(bearer(token)).send({ currentPassword: PASSWORD, newPassword: "new password 1" });
      expect(ok.status).toBe(204);
      expect((await validate(stack.app, token)).status).toBe(200);
      expect((await validate(stack.app, other)).status).toBe(401);
      expect((await login(stack.app, name)).status).toBe(401);
      expect((await login(stack.app, name, "new password 1")).status).toBe(201);
    } finally {
      await stack.close();
    }
  });

  it("lets an admin force a logout and disable a user, which ends its sessions and its logins", async () => {
    const name = uniqueName("victim");
    const created = await request(adminOnly.app).post("/v1/users").set(bearer(adminToken)).send({ username: name, password: PASSWORD });
    const userId = created.body.id as string;
    const t1 = (await login(adminOnly.app, name)).body.token;

    expect((await request(adminOnly.app).delete(`/v1/users/${userId}/sessions`).set(bearer(t1))).status).toBe(403);
    const forced = await request(adminOnly.app).delete(`/v1/users/${userId}/sessions`).set(bearer(adminToken));
    expect(forced.status).toBe(200);
    expect(forced.body).toEqual({ revoked: 1 });
    expect((await validate(adminOnly.app, t1)).status).toBe(401);

    const t2 = (await login(adminOnly.app, name)).body.token;
    const disabled = await request(adminOnly.app).patch(`/v1/users/${userId}`).set(bearer(adminToken)).send({ disabled: true });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ id: userId, disabled: true });
    expect((await validate(adminOnly.app, t2)).status).toBe(401);
    const denied = await login(adminOnly.app, name);
    expect(denied.status).toBe(401);
    expect(denied.body.error).toBe("invalid_credentials");

    const enabled = await request(adminOnly.app).patch(`/v1/users/${userId}`).set(bearer(adminToken)).send({ disabled: false, roles: ["auditor"] });
    expect(enabled.body).toMatchObject({ disabled: false, roles: ["auditor"] });
    const t3 = (await login(adminOnly.app, name)).body.token;
    expect((await validate(adminOnly.app, t3)).body.user.roles).toEqual(["auditor"]);
  });

  it("updates the roles a live session reports when an admin changes them", async () => {
    const name = uniqueName("roles");
    const created = await request(adminOnly.app).post("/v1/users").set(bearer(adminToken)).send({ username: name, password: PASSWORD });
    const token = (await login(adminOnly.app, name)).body.token;
    await request(adminOnly.app).patch(`/v1/users/${created.body.id}`).set(bearer(adminToken)).send({ roles: ["editor"] });
    expect((await validate(adminOnly.app, token)).body.user.roles).toEqual(["editor"]);
  });

  it("answers admin errors clearly: unknown user 404, bad patch 400", async () => {
    const missing = await request(adminOnly.app).patch("/v1/users/00000000-0000-4000-8000-000000000000").set(bearer(adminToken)).send({ disabled: true });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe("user_not_found");
    const bad = await request(adminOnly.app).patch("/v1/users/not-a-uuid").set(bearer(adminToken)).send({ disabled: "yes" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("invalid_request");
  });

  it("CLI resets a password, ending the user's sessions", async () => {
    const name = uniqueName("clireset");
    const { token } = await userWithSession(open.app, name);
    const out = runCli(["reset-password", name], "a brand new password");
    expect(JSON.parse(out)).toMatchObject({ username: name });
    expect((await validate(open.app, token)).status).toBe(401);
    expect((await login(open.app, name, "a brand new password")).status).toBe(201);
  });
});

function runCli(args: string[], password: string): string {
  return execFileSync(process.execPath, [path.join(ROOT, "dist/cli.js"), ...args], {
    env: { ...process.env, ...testEnv({ LOG_LEVEL: "warn" }) },
    input: `${password}\n`,
    encoding: "utf8",
  });
}

function toFullwidth(s: string): string {
  return [...s].map((c) => (c >= "!" && c <= "~" ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join("");
}
