// What every SessionStore must do, as tests any implementation runs: the in-memory fake (unit/support/fakes.test.ts)
// and the Redis layouts (integration/adapters/redis/session-store.test.ts), so the fake the fast tests rely on
// cannot drift from the real one.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { NewSession, SessionStore } from "../../src/auth/ports.js";

const IDLE_MS = 3_600_000;

export function sessionStoreContract(name: string, makeStore: () => SessionStore): void {
  describe(`SessionStore contract: ${name}`, () => {
    const now = Date.now();
    let seq = 0;
    const session = (userId: string, overrides: Partial<NewSession> = {}): NewSession => ({
      id: `s${(seq += 1)}-${randomUUID().slice(0, 8)}`,
      userId,
      username: "contract-user",
      roles: ["user"],
      secretHash: "ab".repeat(32),
      createdAt: now + seq, // creation order = eviction order
      expiresAt: now + 86_400_000,
      ip: "192.0.2.7",
      userAgent: "contract",
      ...overrides,
    });

    it("stores a session and reads it back under its own user only", async () => {
      const store = makeStore();
      const userId = randomUUID();
      const s = session(userId);
      expect(await store.create(s, 5, IDLE_MS)).toEqual({ evicted: [] });
      expect(await store.get(userId, s.id)).toMatchObject({
        id: s.id, userId, username: "contract-user", roles: ["user"], secretHash: s.secretHash,
        createdAt: s.createdAt, expiresAt: s.expiresAt, lastSeenAt: s.createdAt,
      });
      expect(await store.get(randomUUID(), s.id)).toBeNull();
      expect(await store.get(userId, "no-such-session")).toBeNull();
    });

    it("keeps at most maxPerUser sessions per user, evicting the oldest, and not another user's", async () => {
      const store = makeStore();
      const [userId, other] = [randomUUID(), randomUUID()];
      const others = session(other);
      await store.create(others, 2, IDLE_MS);
      const [a, b, c] = [session(userId), session(userId), session(userId)];
      expect((await store.create(a, 2, IDLE_MS)).evicted).toEqual([]);
      expect((await store.create(b, 2, IDLE_MS)).evicted).toEqual([]);
      expect((await store.create(c, 2, IDLE_MS)).evicted).toEqual([a.id]);
      expect(await store.get(userId, a.id)).toBeNull();
      expect((await store.list(userId)).map((s) => s.id)).toEqual([b.id, c.id]);
      expect(await store.get(other, others.id)).not.toBeNull();
    });

    it("lists a user's sessions with where they came from", async () => {
      const store = makeStore();
      const userId = randomUUID();
      const s = session(userId);
      await store.create(s, 5, IDLE_MS);
      expect(await store.list(userId)).toEqual([expect.objectContaining({ id: s.id, ip: "192.0.2.7", userAgent: "contract" })]);
      expect(await store.list(randomUUID())).toEqual([]);
    });

    it("records activity: lastSeenAt moves", async () => {
      const store = makeStore();
      const userId = randomUUID();
      const s = session(userId);
      await store.create(s, 5, IDLE_MS);
      const record = (await store.get(userId, s.id))!;
      await store.touch(record, now + 60_000, IDLE_MS);
      expect((await store.get(userId, s.id))!.lastSeenAt).toBe(now + 60_000);
    });

    it("revokes one session (false when there was none, or it is another user's)", async () => {
      const store = makeStore();
      const [userId, other] = [randomUUID(), randomUUID()];
      const s = session(userId);
      await store.create(s, 5, IDLE_MS);
      expect(await store.revoke(other, s.id, "revoked")).toBe(false);
      expect(await store.revoke(userId, s.id, "logout")).toBe(true);
      expect(await store.revoke(userId, s.id, "logout")).toBe(false);
      expect(await store.get(userId, s.id)).toBeNull();
      expect(await store.list(userId)).toEqual([]);
    });

    it("revokes all of a user's sessions but the one kept", async () => {
      const store = makeStore();
      const userId = randomUUID();
      const [a, b, c] = [session(userId), session(userId), session(userId)];
      for (const s of [a, b, c]) await store.create(s, 5, IDLE_MS);
      expect((await store.revokeAll(userId, "password_changed", b.id)).sort()).toEqual([a.id, c.id].sort());
      expect((await store.list(userId)).map((s) => s.id)).toEqual([b.id]);
      expect(await store.revokeAll(userId, "logout_all")).toEqual([b.id]);
      expect(await store.list(userId)).toEqual([]);
    });

    it("sets new roles in every live session of the user", async () => {
      const store = makeStore();
      const userId = randomUUID();
      const [a, b] = [session(userId), session(userId)];
      for (const s of [a, b]) await store.create(s, 5, IDLE_MS);
      await store.setRoles(userId, ["admin", "user"]);
      expect((await store.get(userId, a.id))!.roles).toEqual(["admin", "user"]);
      expect((await store.get(userId, b.id))!.roles).toEqual(["admin", "user"]);
      await store.setRoles(userId, []);
      expect((await store.get(userId, a.id))!.roles).toEqual([]);
    });

    it("counts the sessions alive at a moment (to the minute): new ones in, revoked and expired ones out", async () => {
      const store = makeStore();
      const at = now + 2 * 60_000; // the Redis store counts a session until the end of its expiry's minute
      const before = await store.countActive(at);
      const userId = randomUUID();
      const [a, b] = [session(userId), session(userId)];
      const shortLived = session(userId, { expiresAt: now + 500 });
      for (const s of [a, b, shortLived]) await store.create(s, 5, IDLE_MS);
      expect(await store.countActive(at)).toBe(before + 2);
      await store.revoke(userId, a.id, "logout");
      expect(await store.countActive(at)).toBe(before + 1);
    });
  });
}
