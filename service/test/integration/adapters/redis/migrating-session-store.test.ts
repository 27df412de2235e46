// An upgrade from the legacy session layout logs nobody out: sessions an old replica wrote (or writes, during the
// rollout) are read, slid, listed, counted, re-roled and ended by a new one, and the per-user limit spans both.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { LegacySessionStore } from "../../../../src/adapters/redis/legacy-session-store.js";
import { MigratingSessionStore } from "../../../../src/adapters/redis/migrating-session-store.js";
import { RedisSessionStore } from "../../../../src/adapters/redis/session-store.js";
import type { NewSession } from "../../../../src/auth/ports.js";
import { SessionService } from "../../../../src/auth/sessions.js";
import { formatToken, hashSecret, newSecret, newSessionId } from "../../../../src/auth/tokens.js";
import { redisHealthy } from "../../../support/infra.js";
import { sentinelRedis } from "../../../support/sessions.js";

await redisHealthy();
const redis = sentinelRedis();
afterAll(() => redis.disconnect());

const IDLE_MS = 3_600_000;
const durability = { replicas: 0, timeoutMs: 0, onTimeout: "accept" } as const;
const legacy = new LegacySessionStore(redis, durability);
const current = new RedisSessionStore(redis, durability);
/** A replica of the new release: writes the current layout, reads both. */
const upgraded = new MigratingSessionStore(current, legacy, true);
/** A replica of the new release with SESSION_STORE_FORMAT=1 (the first rollout): writes the legacy layout, reads both. */
const compatible = new MigratingSessionStore(legacy, current);

function newSession(userId: string, createdAt = Date.now()): { session: NewSession; token: string } {
  const id = newSessionId();
  const secret = newSecret();
  return {
    session: { id, userId, username: "migrating", roles: ["user"], secretHash: hashSecret(secret), createdAt, expiresAt: createdAt + 86_400_000, ip: "192.0.2.9", userAgent: "migration-test" },
    token: formatToken({ userId, sessionId: id, secret }),
  };
}

describe("Session layouts during an upgrade", () => {
  it("validates and slides a session the old release wrote, on the slide's own layout", async () => {
    const userId = randomUUID();
    const { session, token } = newSession(userId, Date.now() - 120_000);
    await legacy.create(session, 5, IDLE_MS);
    const service = new SessionService(upgraded, { maxPerUser: 5, idleTimeoutS: 3600, absoluteLifetimeS: 86_400, refreshIntervalS: 60 }, { now: Date.now });
    const valid = await service.validate(token);
    expect(valid?.session.id).toBe(session.id);
    // The refresh interval had passed: lastSeenAt moved, in the legacy layout, and nothing was written in the new one.
    expect((await legacy.get(userId, session.id))!.lastSeenAt).toBeGreaterThan(session.createdAt);
    expect(await current.get(userId, session.id)).toBeNull();
  });

  it("a token issued on either side of the rollout works on the other", async () => {
    const userId = randomUUID();
    const fromOld = newSession(userId, Date.now() - 1_000);
    const fromNew = newSession(userId);
    await compatible.create(fromOld.session, 5, IDLE_MS);
    await upgraded.create(fromNew.session, 5, IDLE_MS);
    for (const store of [upgraded, compatible]) {
      expect(await store.get(userId, fromOld.session.id)).toMatchObject({ id: fromOld.session.id });
      expect(await store.get(userId, fromNew.session.id)).toMatchObject({ id: fromNew.session.id });
      expect((await store.list(userId)).map((s) => s.id)).toEqual([fromOld.session.id, fromNew.session.id]);
    }
  });

  it("keeps the per-user limit across both layouts, evicting the old layout's oldest session first", async () => {
    const userId = randomUUID();
    const old = newSession(userId, Date.now() - 1_000).session;
    await legacy.create(old, 1, IDLE_MS);
    const next = newSession(userId).session;
    expect(await upgraded.create(next, 1, IDLE_MS)).toEqual({ evicted: [old.id] });
    expect(await legacy.get(userId, old.id)).toBeNull();
    expect((await upgraded.list(userId)).map((s) => s.id)).toEqual([next.id]);
  });

  it("ends every session of both layouts on a password change, and sets new roles in both", async () => {
    const userId = randomUUID();
    const [a, b, c] = [newSession(userId).session, newSession(userId).session, newSession(userId).session];
    await legacy.create(a, 5, IDLE_MS);
    await legacy.create(b, 5, IDLE_MS);
    await upgraded.create(c, 5, IDLE_MS);
    await upgraded.setRoles(userId, ["admin"]);
    for (const s of [a, b, c]) expect((await upgraded.get(userId, s.id))!.roles).toEqual(["admin"]);
    expect((await upgraded.revokeAll(userId, "password_changed", b.id)).sort()).toEqual([a.id, c.id].sort());
    expect((await upgraded.list(userId)).map((s) => s.id)).toEqual([b.id]);
    expect(await upgraded.revoke(userId, b.id, "logout")).toBe(true);
    expect(await upgraded.list(userId)).toEqual([]);
  });

  it("counts the sessions of both layouts", async () => {
    const at = Date.now() + 1_000;
    const before = await upgraded.countActive(at);
    const userId = randomUUID();
    await legacy.create(newSession(userId).session, 5, IDLE_MS);
    await upgraded.create(newSession(userId).session, 5, IDLE_MS);
    expect(await upgraded.countActive(at)).toBe(before + 2);
    await upgraded.revokeAll(userId, "logout_all");
    expect(await upgraded.countActive(at)).toBe(before);
  });
});
