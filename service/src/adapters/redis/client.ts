// The Redis client: always found through Sentinel, never a fixed master address.
import { Redis, type RedisOptions } from "ioredis";
import type { Config } from "../../config.js";

export interface RedisEvents {
  onError?: (err: Error) => void;
  onFailover?: () => void;
  onStatus?: (up: boolean) => void;
  /** The client had given up (status "end") and starts connecting again. */
  onRestart?: () => void;
}

/** Clients closed on purpose: these stay closed. */
const closing = new WeakSet<Redis>();
const RESTART_DELAY_MS = 500;

export function createRedis(cfg: Config["redis"], name: string, events: RedisEvents = {}, options: RedisOptions = {}): Redis {
  const redis = new Redis({
    sentinels: cfg.sentinels,
    name: cfg.masterName,
    role: "master",
    password: cfg.password,
    sentinelPassword: cfg.sentinelPassword,
    connectionName: name,
    // Fail fast: while no master is reachable, a command errors at once instead of queueing for a minute.
    enableOfflineQueue: false,
    commandTimeout: cfg.commandTimeoutMs,
    connectTimeout: cfg.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    // Listen for Sentinel's +switch-master so we move to a promoted replica without waiting for an error.
    failoverDetector: true,
    retryStrategy: (times) => Math.min(50 * times, 500),
    sentinelRetryStrategy: (times) => Math.min(100 * times, 1000),
    // A demoted master answers READONLY: reconnect (re-asking Sentinel) and resend the command.
    reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 2 : false),
    lazyConnect: true,
    // Commands issued in one tick share one socket write: under a login storm that is most of the CPU saved.
    enableAutoPipelining: true,
    ...options,
  });
  let lastMaster: string | null = null;
  redis.on("error", (err: Error) => events.onError?.(err));
  redis.on("ready", () => {
    events.onStatus?.(true);
    const stream = (redis as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
    const master = stream ? `${stream.remoteAddress}:${stream.remotePort}` : null;
    if (lastMaster !== null && master !== null && master !== lastMaster) events.onFailover?.();
    lastMaster = master ?? lastMaster;
  });
  redis.on("close", () => events.onStatus?.(false));
  // ioredis gives up for good (status "end": every command then fails "Connection is closed") when Sentinel's
  // +switch-master reaches its failover detector while it is re-asking Sentinel for the master, which happens
  // during real failovers (ioredis issue #1683). A replica must not stay without Redis: start again.
  redis.on("end", () => {
    if (closing.has(redis)) return;
    setTimeout(() => {
      if (closing.has(redis) || redis.status !== "end") return;
      events.onRestart?.();
      redis.connect().catch(() => undefined); // a failure ends it again, and this handler retries
    }, RESTART_DELAY_MS).unref();
  });
  return redis;
}

/** Starts connecting; does not wait, so a replica boots (and reports not-ready) while Redis is down. */
export function connectInBackground(redis: Redis, onError: (err: unknown) => void): void {
  redis.connect().catch(onError);
}

/** quit() leaves the failover detector's Sentinel subscriptions open; disconnect() closes them too. */
export async function closeRedis(redis: Redis): Promise<void> {
  closing.add(redis);
  await redis.quit().catch(() => undefined);
  redis.disconnect();
}
