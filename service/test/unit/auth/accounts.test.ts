// Who may register whom (auth/accounts.ts registerBy), with an in-memory user store and a fake hasher.
import { describe, expect, it } from "vitest";
import { registerBy, type AccountDeps } from "../../../src/auth/accounts.js";
import { AuthError } from "../../../src/auth/errors.js";
import type { User, UserStore } from "../../../src/auth/ports.js";

function deps(): { deps: AccountDeps; users: User[] } {
  const users: User[] = [];
  const store: UserStore = {
    findByUsername: async (username) => users.find((u) => u.username === username) ?? null,
    findById: async (id) => users.find((u) => u.id === id) ?? null,
    create: async ({ username, passwordHash, roles }) => {
      if (users.some((u) => u.username === username)) throw new AuthError("username_taken", "taken");
      const user = { id: `id-${users.length}`, username, passwordHash, roles, disabled: false, passwordChangedAt: new Date(), createdAt: new Date() };
      users.push(user);
      return user;
    },
    setPasswordHash: async () => {},
    update: async () => null,
  };
  const hasher = { hash: async (p: string) => `hashed:${p}`, verify: async () => false, costOf: () => 10, cost: 10 };
  return { deps: { users: store, hasher, sessions: undefined as never, passwordMinLength: 8 }, users };
}

const input = { username: "Newcomer", password: "long enough password", roles: ["admin"] };
const codeOf = (p: Promise<unknown>) => p.then(() => "registered", (err: AuthError) => err.code);

describe("registration policy", () => {
  it("open: anyone registers, always as a plain user, even when asking for roles", async () => {
    const { deps: d, users } = deps();
    expect(await registerBy(d, input, null, "open")).toEqual({ id: "id-0", username: "newcomer", roles: [] });
    expect(await registerBy(d, { ...input, username: "second" }, { roles: ["user"] }, "open")).toMatchObject({ roles: [] });
    expect(users.map((u) => u.passwordHash)).toEqual(["hashed:long enough password", "hashed:long enough password"]);
  });

  it("open: an admin registering someone may set roles", async () => {
    const { deps: d } = deps();
    expect(await registerBy(d, input, { roles: ["admin"] }, "open")).toMatchObject({ roles: ["admin"] });
  });

  it("admin: no session is invalid_session, a plain user is forbidden, an admin sets roles", async () => {
    const { deps: d, users } = deps();
    expect(await codeOf(registerBy(d, input, null, "admin"))).toBe("invalid_session");
    expect(await codeOf(registerBy(d, input, { roles: ["user"] }, "admin"))).toBe("forbidden");
    expect(users).toHaveLength(0);
    expect(await registerBy(d, input, { roles: ["admin"] }, "admin")).toMatchObject({ username: "newcomer", roles: ["admin"] });
  });
});
