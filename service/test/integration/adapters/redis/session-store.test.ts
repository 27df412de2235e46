// The Redis session layouts pass the contract the in-memory fake is held to, on the real Redis (through Sentinel):
// the current one, the legacy one, and both as MigratingSessionStore combines them (writing either).
import { afterAll } from "vitest";
import { LegacySessionStore } from "../../../../src/adapters/redis/legacy-session-store.js";
import { MigratingSessionStore } from "../../../../src/adapters/redis/migrating-session-store.js";
import { RedisSessionStore } from "../../../../src/adapters/redis/session-store.js";
import { redisHealthy } from "../../../support/infra.js";
import { sessionStoreContract } from "../../../support/session-store-contract.js";
import { sentinelRedis } from "../../../support/sessions.js";

await redisHealthy();
const redis = sentinelRedis();
afterAll(() => redis.disconnect());
const durability = { replicas: 0, timeoutMs: 0, onTimeout: "accept" } as const;
const current = () => new RedisSessionStore(redis, durability);
const legacy = () => new LegacySessionStore(redis, durability);

sessionStoreContract("Redis", current);
sessionStoreContract("Redis, legacy layout", legacy);
sessionStoreContract("Redis, both layouts, writing the current one", () => new MigratingSessionStore(current(), legacy()));
sessionStoreContract("Redis, both layouts, writing the legacy one", () => new MigratingSessionStore(legacy(), current()));
