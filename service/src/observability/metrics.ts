// The Prometheus metrics (prom-client) and what records them; served by metrics-server.ts on METRICS_PORT, never on
// the API port; http-metrics.ts observes the request histogram. Labels stay low-cardinality: never a username,
// user id, IP, token or raw path.
import client from "prom-client";
import type { LoginResult, RevocationReason } from "../auth/ports.js";

export const LOGIN_RESULTS: LoginResult[] = ["success", "invalid_credentials", "rate_limited", "overloaded", "unavailable", "error"];
export const REVOCATION_REASONS: RevocationReason[] = ["logout", "logout_all", "revoked", "evicted_by_policy", "password_change", "admin", "disabled"];
export const VALIDATION_RESULTS = ["valid", "invalid", "unavailable"] as const;

export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  max: number;
}

export interface HashPoolStats {
  depth: number;
  inFlight: number;
  poolSize: number;
}

/** The label values the realtime layer uses, handed in by the composition root (no import runs up into http/). */
export interface RealtimeLabels<R extends string, M extends string> {
  rejectReasons: readonly R[];
  messageTypes: readonly M[];
}

export type Metrics<R extends string = string, M extends string = string> = ReturnType<typeof createMetrics<R, M>>;

export function createMetrics<R extends string, M extends string>(realtimeLabels: RealtimeLabels<R, M>) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  // prom-client names these gauges with a counter's "_total" suffix, which promtool rejects.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name);
  }

  const hashDuration = new client.Histogram({
    name: "auth_password_hash_duration_seconds",
    help: "Time one bcrypt hash or verify took on a worker thread.",
    labelNames: ["op"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2],
    registers: [registry],
  });
  const hashQueueWait = new client.Histogram({
    name: "auth_password_hash_queue_wait_seconds",
    help: "Time a password hash waited for a worker slot.",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const hashRejected = new client.Counter({
    name: "auth_password_hash_rejected_total",
    help: "Password hashes refused because the queue could not serve them in time (503 overloaded).",
    registers: [registry],
  });
  /** A gauge read at scrape time from a source wired later (the pools exist after the metrics). */
  const sourced = <S>() => {
    const source: { read?: () => S } = {};
    const gauge = (name: string, help: string, pick: (s: S) => number) =>
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          if (source.read) this.set(pick(source.read()));
        },
      });
    return { source, gauge };
  };
  const hashPool = sourced<HashPoolStats>();
  const gaugeOf = hashPool.gauge;
  gaugeOf("auth_password_hash_queue_depth", "Password hashes waiting for a worker slot.", (s) => s.depth);
  gaugeOf("auth_password_hash_in_flight", "Password hashes running on worker threads.", (s) => s.inFlight);
  gaugeOf("auth_password_hash_pool_size", "Worker threads for password hashing.", (s) => s.poolSize);

  /** A counter with one series per known label value, present (at 0) from the first scrape. */
  const labelledCounter = <L extends string>(name: string, help: string, label: L, values: readonly string[]) => {
    const counter = new client.Counter({ name, help, labelNames: [label], registers: [registry] });
    for (const v of values) counter.inc({ [label]: v } as Record<L, string>, 0);
    return counter;
  };
  const logins = labelledCounter("auth_login_attempts_total", "Login attempts by result.", "result", LOGIN_RESULTS);
  const validations = labelledCounter("auth_session_validations_total", "Session validations by result.", "result", VALIDATION_RESULTS);
  const validationSeries = Object.fromEntries(VALIDATION_RESULTS.map((result) => [result, validations.labels({ result })])) as Record<
    (typeof VALIDATION_RESULTS)[number],
    client.Counter.Internal
  >;
  const revocations = labelledCounter("auth_session_revocations_total", "Sessions ended before their expiry, by reason.", "reason", REVOCATION_REASONS);

  const sessionSources: { count?: () => Promise<number> } = {};
  new client.Gauge({
    name: "auth_sessions_active",
    help: "Active sessions in the whole cluster (read from Redis at scrape time).",
    registers: [registry],
    async collect() {
      if (!sessionSources.count) return;
      try {
        this.set(await sessionSources.count());
      } catch {
        this.reset(); // no value rather than a stale one; auth_redis_up tells why
      }
    },
  });

  const dbPool = sourced<PoolStats>();
  const poolGauge = dbPool.gauge;
  poolGauge("auth_db_pool_open_connections", "Database connections open in this replica's pool.", (s) => s.totalCount);
  poolGauge("auth_db_pool_idle_connections", "Open database connections not in use.", (s) => s.idleCount);
  poolGauge("auth_db_pool_in_use_connections", "Database connections checked out by queries.", (s) => s.totalCount - s.idleCount);
  poolGauge("auth_db_pool_waiting_clients", "Queries waiting for a database connection.", (s) => s.waitingCount);
  poolGauge("auth_db_pool_max_connections", "Most database connections this replica's pool may open.", (s) => s.max);
  const acquireWait = new client.Histogram({
    name: "auth_db_pool_acquire_wait_seconds",
    help: "Time a query waited for a database connection.",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [registry],
  });
  const acquireTimeouts = new client.Counter({
    name: "auth_db_pool_acquire_timeouts_total",
    help: "Queries that gave up waiting for a database connection.",
    registers: [registry],
  });

  const redisUp = new client.Gauge({ name: "auth_redis_up", help: "1 when the Redis master is connected, else 0.", registers: [registry] });
  const redisErrors = new client.Counter({ name: "auth_redis_command_errors_total", help: "Redis commands or connections that failed.", registers: [registry] });
  const redisFailovers = new client.Counter({ name: "auth_redis_failovers_total", help: "Times the Redis client moved to a new master.", registers: [registry] });
  const redisRestarts = new client.Counter({
    name: "auth_redis_client_restarts_total",
    help: "Times a Redis client that had given up reconnecting was started again.",
    registers: [registry],
  });
  redisUp.set(0);

  const realtimeSources: { connections?: () => number; online?: () => Promise<number> } = {};
  new client.Gauge({
    name: "auth_ws_connections",
    help: "Live WebSocket connections (/v1/events) this replica holds.",
    registers: [registry],
    collect() {
      if (realtimeSources.connections) this.set(realtimeSources.connections());
    },
  });
  const wsRejected = labelledCounter("auth_ws_rejected_total", "WebSocket upgrades refused, by reason.", "reason", realtimeLabels.rejectReasons);
  const wsSent = labelledCounter("auth_ws_messages_sent_total", "WebSocket messages sent, by type.", "type", realtimeLabels.messageTypes);
  const wsDelivery = new client.Histogram({
    name: "auth_ws_delivery_seconds",
    help: "Time from a session change in Redis to its message on the socket of the replica holding it.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new client.Gauge({
    name: "auth_presence_online_users",
    help: "Users with at least one live connection anywhere in the cluster (read from Redis at scrape time).",
    registers: [registry],
    async collect() {
      if (!realtimeSources.online) return;
      try {
        this.set(await realtimeSources.online());
      } catch {
        this.reset();
      }
    },
  });

  const httpDuration = new client.Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by method, route template and status class.",
    labelNames: ["method", "route", "status_class"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });


  return {
    registry,
    hash: {
      observer: {
        onDone: (op: "hash" | "verify", durationMs: number, queueWaitMs: number) => {
          hashDuration.observe({ op }, durationMs / 1000);
          hashQueueWait.observe(queueWaitMs / 1000);
        },
        onRejected: () => hashRejected.inc(),
      },
      source: (stats: () => HashPoolStats) => (hashPool.source.read = stats),
    },
    login: (result: LoginResult) => logins.inc({ result }),
    // Once per validated request: the labelled series looked up once.
    validation: (result: (typeof VALIDATION_RESULTS)[number]) => validationSeries[result].inc(),
    revoked: (reason: RevocationReason, count: number) => revocations.inc({ reason }, count),
    sessionsSource: (count: () => Promise<number>) => (sessionSources.count = count),
    realtime: {
      source: (connections: () => number, online: () => Promise<number>) => Object.assign(realtimeSources, { connections, online }),
      rejected: (reason: R) => wsRejected.inc({ reason }),
      sent: (type: M) => wsSent.inc({ type }),
      delivered: (seconds: number) => wsDelivery.observe(Math.max(0, seconds)),
    },
    db: {
      source: (stats: () => PoolStats) => (dbPool.source.read = stats),
      acquired: (waitMs: number) => acquireWait.observe(waitMs / 1000),
      acquireTimedOut: () => acquireTimeouts.inc(),
    },
    redis: {
      up: (up: boolean) => redisUp.set(up ? 1 : 0),
      error: () => redisErrors.inc(),
      failover: () => redisFailovers.inc(),
      restart: () => redisRestarts.inc(),
    },
    /** The HTTP request histogram (http-metrics.ts observes it once per request). */
    httpDuration,
  };
}
