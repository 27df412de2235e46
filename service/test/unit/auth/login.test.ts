// A login storm's lookups go through the pacer a few at a time instead of all at once.
import { describe, expect, it } from "vitest";
import { login, type LoginDeps } from "../../../src/auth/login.js";
import { Pacer } from "../../../src/auth/pacer.js";
import type { AuthError } from "../../../src/auth/errors.js";
import type { SessionService } from "../../../src/auth/sessions.js";
import type { PasswordHasher, UserStore } from "../../../src/auth/ports.js";

function deps(lookups?: Pacer) {
  const lookedUp: string[] = [];
  const pending: (() => void)[] = [];
  const users = {
    findByUsername: async (name: string) => {
      lookedUp.push(name);
      await new Promise<void>((r) => pending.push(r));
      return null; // unknown: the login ends in invalid_credentials after the dummy compare
    },
  } as unknown as UserStore;
  const d: LoginDeps = {
    users,
    hasher: { verify: async () => false, costOf: () => 10, cost: 10 } as unknown as PasswordHasher,
    throttle: { check: async () => ({ userIpFailures: false }), recordFailure: async () => {}, recordSuccess: async () => {} },
    sessions: {} as SessionService,
    audit: { record: () => {} },
    dummyHash: "",
    lookups,
  };
  return { d, lookedUp, releaseOne: () => pending.shift()?.() };
}

// Every promise the logins chain settles before a macrotask runs (the fakes use no timers).
const settle = () => new Promise((r) => setImmediate(r));

describe("login lookups", () => {
  it.each([
    ["paced two at a time", new Pacer(2, 60_000), [2, 3, 4]],
    ["all at once without a pacer", undefined, [4, 4, 4]],
  ])("are %s", async (_what, pacer, lookupsStartedAfterEachRelease) => {
    const { d, lookedUp, releaseOne } = deps(pacer);
    const attempts = ["ann", "bob", "cid", "dee"].map((u) =>
      login(d, { username: u, password: "a password" }, { ip: "10.0.0.1", userAgent: "" }).catch((e: AuthError) => e.code),
    );
    await settle();
    const seen: number[] = [lookedUp.length];
    for (let i = 0; i < 2; i++) {
      releaseOne();
      await settle();
      seen.push(lookedUp.length);
    }
    expect(seen).toEqual(lookupsStartedAfterEachRelease);
    releaseOne();
    releaseOne();
    expect(await Promise.all(attempts)).toEqual(Array(4).fill("invalid_credentials"));
  });
});
