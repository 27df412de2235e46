// Sessions written straight into the real store, one per made-up user: for tests and benchmarks that need many
// live sessions, where a login (a bcrypt compare each) is not what is measured.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { RedisSessionStore } from "../../src/adapters/redis/session-store.js";
import { formatToken, hashSecret, newSecret, newSessionId } from "../../src/auth/tokens.js";
import { loadConfig } from "../../src/config.js";
import { infraEnv } from "./env.js";

/** A client of the local Redis master, found through Sentinel. */
export function sentinelRedis(): Redis {
  const config = loadConfig({ ...infraEnv(), LOG_LEVEL: "silent" });
  const redis = new Redis({ sentinels: config.redis.sentinels, name: config.redis.masterName, password: config.redis.password, sentinelPassword: config.redis.sentinelPassword });
  redis.on("error", () => undefined); // reconnects by itself (through Sentinel) when a test kills the master
  return redis;
}

export async function mintSessions(redis: Redis, n: number, lifetimeMs = 3_600_000): Promise<{ token: string; userId: string }[]> {
  const store = new RedisSessionStore(redis, { replicas: 0, timeoutMs: 0, onTimeout: "accept" });
  const out: { token: string; userId: string }[] = [];
  const now = Date.now();
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, () => ({ userId: randomUUID(), sessionId: newSessionId(), secret: newSecret() }));
    await Promise.all(
      batch.map((s) =>
        store.create(
          { id: s.sessionId, userId: s.userId, username: `minted-${s.userId.slice(0, 8)}`, roles: [], secretHash: hashSecret(s.secret), createdAt: now, expiresAt: now + lifetimeMs, ip: "127.0.0.1", userAgent: "minted" },
          5,
          lifetimeMs,
        ),
      ),
    );
    out.push(...batch.map((s) => ({ token: formatToken(s), userId: s.userId })));
  }
  return out;
}
