// The composition root: builds every client, store and pool once and returns them with close().
import type { Redis } from "ioredis";
import { createDatabase, type Database } from "./adapters/postgres/database.js";
import { BatchedAuditLog } from "./adapters/postgres/audit-log.js";
import { PrismaUserStore } from "./adapters/postgres/user-store.js";
import { WorkerPasswordHasher } from "./adapters/hashing/password-hasher.js";
import { RedisLoginThrottle } from "./adapters/redis/login-throttle.js";
import { closeRedis, connectInBackground, createRedis } from "./adapters/redis/client.js";
import { LegacySessionStore } from "./adapters/redis/legacy-session-store.js";
import { MigratingSessionStore } from "./adapters/redis/migrating-session-store.js";
import { RedisSessionStore } from "./adapters/redis/session-store.js";
import { RedisPresenceStore } from "./adapters/redis/presence-store.js";
import { RedisSessionEvents } from "./adapters/redis/session-events.js";
import type { AccountDeps } from "./auth/accounts.js";
import type { PresenceDeps } from "./auth/presence.js";
import type { LoginDeps } from "./auth/login.js";
import { Pacer } from "./auth/pacer.js";
import type { Clock, LoginEventInput } from "./auth/ports.js";
import { SessionService } from "./auth/sessions.js";
import type { Config } from "./config.js";
import type { Logger } from "./observability/logger.js";
import { Readiness } from "./readiness.js";
import { RealtimeHub } from "./http/realtime/hub.js";
import { REJECT_REASONS, type RejectReason } from "./http/realtime/gateway.js";
import { SERVER_MESSAGE_TYPES, type ServerMessageType } from "./http/realtime/messages.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { traceHash } from "./observability/hash-tracing.js";
import { randomBytes } from "node:crypto";

export interface Dependencies {
  metrics: Metrics<RejectReason, ServerMessageType>;
  redis: Redis;
  /** The connection session writes and their WAIT use. */
  durableRedis: Redis;
  /** The connection in subscriber mode that receives session events. */
  subscriber: Redis;
  db: Database;
  hasher: WorkerPasswordHasher;
  audit: BatchedAuditLog;
  sessions: SessionService;
  login: LoginDeps;
  accounts: AccountDeps;
  readiness: Readiness;
  /** The live connections (/v1/events), and presence for its routes. */
  hub: RealtimeHub;
  presence: PresenceDeps;
  close(): Promise<void>;
}

export interface DependencyOptions {
  clock?: Clock;
}

export async function createDependencies(config: Config, logger: Logger, options: DependencyOptions = {}): Promise<Dependencies> {
  const metrics = createMetrics({ rejectReasons: REJECT_REASONS, messageTypes: SERVER_MESSAGE_TYPES });
  const redis = createRedis(config.redis, "auth-cluster", {
    onError: (err) => {
      metrics.redis.error();
      logger.warn({ err: { message: err.message } }, "redis error");
    },
    onFailover: () => {
      metrics.redis.failover();
      logger.warn("redis master changed");
    },
    onStatus: metrics.redis.up,
    onRestart: () => {
      metrics.redis.restart();
      logger.warn("redis client had given up; connecting again");
    },
  });
  connectInBackground(redis, (err) => logger.warn({ err }, "redis not reachable yet"));
  const durableRedis = createRedis(config.redis, "auth-cluster-sessions", {
    onError: () => metrics.redis.error(),
    onRestart: () => {
      metrics.redis.restart();
      logger.warn("redis session-write client had given up; connecting again");
    },
  });
  connectInBackground(durableRedis, () => undefined);

  const db = createDatabase(config.db, (err) => logger.warn({ err: { message: err.message } }, "database pool error"), metrics.db);
  metrics.db.source(() => ({ totalCount: db.pool.totalCount, idleCount: db.pool.idleCount, waitingCount: db.pool.waitingCount, max: config.db.poolSize }));
  const hasher = new WorkerPasswordHasher({
    cost: config.hashing.cost,
    poolSize: config.hashing.poolSize,
    queueMax: config.hashing.queueMax,
    queueMaxWaitMs: config.hashing.queueMaxWaitMs,
    threadNice: config.hashing.threadNice,
    observer: { ...metrics.hash.observer, wrap: traceHash },
  });
  metrics.hash.source(() => ({ depth: hasher.depth, inFlight: hasher.inFlight, poolSize: hasher.poolSize }));
  const redisFailed = () => metrics.redis.error();
  const durability = {
    replicas: config.sessions.waitReplicas,
    timeoutMs: config.sessions.waitTimeoutMs,
    onTimeout: config.sessions.waitOnTimeout,
    onShortfall: (acked: number) => logger.warn({ acked, wanted: config.sessions.waitReplicas }, "session write not acknowledged by replicas in time"),
  };
  const current = new RedisSessionStore(redis, durability, redisFailed, durableRedis);
  const legacy = new LegacySessionStore(redis, durability, redisFailed, durableRedis);
  const sessionStore =
    config.sessions.storeFormat === "2" ? new MigratingSessionStore(current, legacy, true) : new MigratingSessionStore(legacy, current);
  const sessions = new SessionService(sessionStore, config.sessions, options.clock ?? { now: Date.now }, metrics.revoked, metrics.validation);
  metrics.sessionsSource(() => sessions.countActive());
  const users = new PrismaUserStore(db.prisma);
  // An event that cannot reach the database is logged in full (never a password: events hold none), one line
  // each, so it can be recovered from the logs.
  const logUnwritten = (events: LoginEventInput[], message: string) => {
    logger.error({ events: events.length }, message);
    for (const event of events) logger.error({ loginEvent: event }, "login event not stored");
  };
  const audit = new BatchedAuditLog(db.prisma, {
    ...config.audit,
    onError: (err, events) => logger.error({ err, events }, "audit write failed; the batch is kept and retried"),
    onDropped: (events) => logUnwritten(events, "audit queue full; oldest login events dropped"),
    onUnwritten: (events) => logUnwritten(events, "audit events not written before exit"),
  });
  // Hashed once at start with the current cost, so an unknown user costs exactly what a known one does.
  const dummyHash = await hasher.hash(randomBytes(16).toString("base64url"));
  const login: LoginDeps = {
    users,
    hasher,
    throttle: new RedisLoginThrottle(redis, config.limits, redisFailed),
    sessions,
    audit,
    dummyHash,
    lookups: new Pacer(config.auth.loginLookupConcurrency, config.db.acquireTimeoutMs),
    onResult: metrics.login,
    onBackgroundError: (what, err) => logger.warn({ err }, `${what} failed`),
  };
  const accounts: AccountDeps = { users, hasher, sessions, passwordMinLength: config.auth.passwordMinLength };
  // One connection in subscriber mode for the session events of the users this replica holds sockets of.
  const subscriber = createRedis(config.redis, "auth-cluster-events", {
    onError: () => metrics.redis.error(),
    onFailover: () => logger.warn("redis master changed (events)"),
    onRestart: () => {
      metrics.redis.restart();
      logger.warn("redis events client had given up; connecting again");
    },
  }, { autoResubscribe: false });
  connectInBackground(subscriber, () => undefined);
  const clock = options.clock ?? { now: Date.now };
  const presenceStore = new RedisPresenceStore(redis, redisFailed);
  const events = new RedisSessionEvents(subscriber, () => {
    logger.warn("session events were resubscribed; telling every live connection to resync");
    hub.resync();
  }, redisFailed);
  const hub = new RealtimeHub(
    { sessions, events, presence: presenceStore, clock, logger, metrics: metrics.realtime },
    { ...config.realtime, refreshIntervalMs: config.sessions.refreshIntervalS * 1000 },
  );
  metrics.realtime.source(() => hub.connections, () => presenceStore.onlineCount(clock.now()));

  const readiness = new Readiness(
    {
      redis: async () => {
        if (subscriber.status !== "ready") throw new Error("the session-events connection is not ready");
        await Promise.all([redis.ping(), durableRedis.ping()]);
      },
      database: () => db.ping(),
    },
    config.http.readinessCacheMs,
  );

  return {
    metrics,
    redis,
    durableRedis,
    subscriber,
    db,
    hasher,
    audit,
    sessions,
    login,
    accounts,
    readiness,
    hub,
    presence: { presence: presenceStore, clock },
    async close() {
      await hub.close();
      await audit.close();
      await Promise.allSettled([closeRedis(redis), closeRedis(durableRedis), closeRedis(subscriber), db.close(), hasher.close()]);
    },
  };
}
