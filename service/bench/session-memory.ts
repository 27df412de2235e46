// Redis memory per session, for both session layouts, on the running local infrastructure (./scripts/up.sh).
// Prints a markdown table and writes it to .state/bench/session-memory.md.
//
//   npm run bench:session-memory -- [--sessions 100000]
//
// Each row writes N sessions, one per made-up user, through the real store (its Lua scripts), and divides the
// INFO used_memory delta by N; then it revokes them, so every row starts from the same Redis. Then it takes one
// user's keys apart with MEMORY USAGE.
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { LegacySessionStore } from "../src/adapters/redis/legacy-session-store.js";
import { RedisSessionStore, userKey } from "../src/adapters/redis/session-store.js";
import type { SessionStore } from "../src/auth/ports.js";
import { hashSecret, newSecret, newSessionId } from "../src/auth/tokens.js";
import { loadConfig } from "../src/config.js";
import { STATE, infraEnv } from "../test/support/env.js";
import { runtimeNote } from "./runtime.js";

/** The benchmark's user agent since the first measurement, and a real browser's. */
export const USER_AGENTS = {
  short: "Mozilla/5.0 (X11; Linux x86_64) bench",
  chrome: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
};
const LIFETIME_MS = 120_000; // what a failed run leaves expires by itself

export function sentinelClient(): Redis {
  const config = loadConfig({ ...infraEnv(), LOG_LEVEL: "silent" });
  return new Redis({ sentinels: config.redis.sentinels, name: config.redis.masterName, password: config.redis.password, sentinelPassword: config.redis.sentinelPassword });
}

export type Layout = "current" | "legacy";

export function storeFor(layout: Layout, redis: Redis): SessionStore {
  const durability = { replicas: 0, timeoutMs: 0, onTimeout: "accept" } as const;
  return layout === "current" ? new RedisSessionStore(redis, durability) : new LegacySessionStore(redis, durability);
}

/** Bytes of Redis memory per session at `count` sessions (one user each), the sessions removed afterwards. */
export async function bytesPerSession(redis: Redis, layout: Layout, count: number, userAgent: string): Promise<number> {
  const store = storeFor(layout, redis);
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
  const users: string[] = [];
  const before = await used();
  const now = Date.now();
  for (let i = 0; i < count; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, count - i) }, () => {
        const userId = randomUUID();
        users.push(userId);
        return store.create(
          { id: newSessionId(), userId, username: "bench-memory-user", roles: [], secretHash: hashSecret(newSecret()), createdAt: now, expiresAt: now + LIFETIME_MS, ip: "203.0.113.10", userAgent },
          1,
          LIFETIME_MS,
        );
      }),
    );
  }
  const after = await used();
  for (let i = 0; i < users.length; i += 1000) {
    await Promise.all(users.slice(i, i + 1000).map((u) => store.revokeAll(u, "logout_all")));
  }
  return (after - before) / count;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sessions: { type: "string", default: "100000" } } });
  const count = Number(values.sessions);
  const redis = sentinelClient();
  try {
    const [, listpackValue] = (await redis.config("GET", "hash-max-listpack-value")) as [string, string];
    const rows: string[] = [];
    const results: Record<string, number> = {};
    for (const [uaName, ua] of Object.entries(USER_AGENTS)) {
      for (const layout of ["legacy", "current"] as const) {
        const bytes = await bytesPerSession(redis, layout, count, ua);
        results[`${layout}/${uaName}`] = bytes;
        rows.push(`| ${layout} | ${ua.length} | ${bytes.toFixed(0)} |`);
      }
      rows.push(`| current / legacy | ${ua.length} | ${(results[`current/${uaName}`]! / results[`legacy/${uaName}`]!).toFixed(2)} |`);
    }
    const out = [
      `# Redis memory per session (${runtimeNote()}; Redis hash-max-listpack-value ${listpackValue})`,
      "",
      `${count.toLocaleString("en")} sessions, one per user, written through the store's own scripts; INFO used_memory delta / sessions.`,
      "",
      "| layout | user agent bytes | bytes per session |",
      "|---|---|---|",
      ...rows,
      "",
      "One user with one session (short user agent), MEMORY USAGE of each key; the rest of a row above is the keyspace's",
      "and expiry tables' entries, and for the legacy layout the session's member of the cluster-wide set auth:active:",
      "",
      "| layout | key | bytes |",
      "|---|---|---|",
      ...(await oneUser(redis)),
    ].join("\n");
    console.log(out);
    mkdirSync(path.join(STATE, "bench"), { recursive: true });
    writeFileSync(path.join(STATE, "bench", "session-memory.md"), `${out}\n`);
  } finally {
    redis.disconnect();
  }
}

async function oneUser(redis: Redis): Promise<string[]> {
  const rows: string[] = [];
  for (const layout of ["legacy", "current"] as const) {
    const userId = randomUUID();
    const id = newSessionId();
    const now = Date.now();
    await storeFor(layout, redis).create(
      { id, userId, username: "bench-memory-user", roles: [], secretHash: hashSecret(newSecret()), createdAt: now, expiresAt: now + LIFETIME_MS, ip: "203.0.113.10", userAgent: USER_AGENTS.short },
      1,
      LIFETIME_MS,
    );
    const keys = layout === "current" ? [userKey(userId)] : [`auth:{u:${userId}}:s:${id}`, `auth:{u:${userId}}:idx`];
    for (const key of keys) {
      const name = key.replace(userId, "<user>").replace(id, "<sid>");
      rows.push(`| ${layout} | \`${name}\` (${String(await redis.object("ENCODING", key))}) | ${String(await redis.memory("USAGE", key))} |`);
    }
    await storeFor(layout, redis).revokeAll(userId, "logout_all");
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
