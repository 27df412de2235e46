// The Redis session store passes the contract the in-memory fake is held to, on the real Redis (through Sentinel).
import { afterAll } from "vitest";
import { RedisSessionStore } from "../../src/adapters/redis/session-store.js";
import { redisHealthy } from "../support/infra.js";
import { sessionStoreContract } from "../support/session-store-contract.js";
import { sentinelRedis } from "../support/sessions.js";

await redisHealthy();
const redis = sentinelRedis();
afterAll(() => redis.disconnect());

sessionStoreContract("Redis", () => new RedisSessionStore(redis, { replicas: 0, timeoutMs: 0, onTimeout: "accept" }));
