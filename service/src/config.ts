// The one validated, frozen Config; the only reader of process.env besides the tracing bootstrap (the SDK's OTEL_*
// variables) and cli.ts (AUTH_CLI_PASSWORD: a password for one command, never part of the Config).
import { readFileSync } from "node:fs";
import { z } from "zod";
import { availableCpus } from "./cpus.js";

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, `an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `an integer from ${min} to ${max}`).max(max, `an integer from ${min} to ${max}`));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ["true", "false", "1", "0", "yes", "no"].includes(v), "true or false")
  .transform((v) => v === "true" || v === "1" || v === "yes");

const list = z
  .string()
  .transform((v) => v.split(",").map((s) => s.trim()).filter((s) => s.length > 0));

const hostPort = /^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;
const sentinels = list.pipe(
  z
    .array(z.string().regex(hostPort, "a comma list of host:port"))
    .min(1, "a comma list of host:port")
    .transform((items) =>
      items.map((item) => {
        const at = item.lastIndexOf(":");
        return { host: item.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(item.slice(at + 1)) };
      }),
    ),
);

const postgresUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === "postgresql:" || u.protocol === "postgres:") && u.hostname !== "";
    } catch {
      return false;
    }
  }, "a postgresql://user:password@host:port/database URL");

const origins = list.pipe(
  z.array(
    z.string().refine((v) => {
      try {
        return new URL(v).origin === v;
      } catch {
        return false;
      }
    }, "a comma list of origins like https://app.example.com"),
  ),
);

/** A setting's JSON Schema in the chart's values.schema.json (the chart passes values through as strings). */
type Json = Record<string, unknown>;

/**
 * A setting: its schema, default (undefined = required, or optional without one), what it means (`doc`, the one
 * text docs/configuration.md, the chart's values.schema.json and README are generated from: npm run settings),
 * its type in the chart's values, and whether the chart sets it itself instead of offering a value.
 */
export interface Setting {
  schema: z.ZodType;
  json: Json;
  default: string | undefined;
  doc: string;
  /** Set by the chart (ports, addresses, secrets): no `config.<name>` value. */
  chartSets?: true;
  /** The chart's default where a pod needs another than a process (with why, in `doc`). */
  chartDefault?: string;
}

const MAX_INT = Number.MAX_SAFE_INTEGER;
const integer = (min: number, max = MAX_INT) => ({
  schema: int(min, max),
  json: max === MAX_INT ? { type: "integer", minimum: min } : { type: "integer", minimum: min, maximum: max },
});
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => ({ schema: z.enum(values), json: { type: "string", enum: values } });
const flag = { schema: bool, json: { type: "boolean" } };
const text = <S extends z.ZodType>(schema: S) => ({ schema, json: { type: "string" } });

/** Every setting, by its environment variable. */
const settings = {
  HOST: { ...text(z.string().trim().min(1, "a listen address")), default: "0.0.0.0", doc: "listen address", chartSets: true },
  PORT: { ...integer(1, 65535), default: "3000", doc: "public API port", chartSets: true },
  METRICS_PORT: { ...integer(1, 65535), default: "9464", doc: "Prometheus metrics port (never the API port)", chartSets: true },
  LOG_LEVEL: {
    ...oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    default: "info",
    doc: "pino level: fatal, error, warn, info, debug, trace, silent",
  },
  ACCESS_LOG_SAMPLE_RATE: {
    schema: z.string().trim().regex(/^(0(\.\d+)?|1(\.0+)?)$/, "a fraction from 0 to 1").transform(Number),
    json: { type: "number", minimum: 0, maximum: 1 },
    default: "0.01",
    doc: "share (0–1) of quick successful requests that get an access-log line; every non-2xx, aborted or slow request always gets one",
  },
  ACCESS_LOG_SLOW_MS: { ...integer(0, 600_000), default: "500", doc: "a request at least this slow always gets an access-log line" },
  TRUSTED_PROXIES: {
    ...text(list),
    default: "",
    doc: "comma list for Express `trust proxy` (e.g. `loopback,10.0.0.0/8`); decides which client IP the limits count",
  },
  SHUTDOWN_GRACE_MS: {
    ...integer(0, 600_000),
    default: "10000",
    chartDefault: "20000",
    doc: "how long in-flight requests may finish after the listener closes (the chart: 20000, within the pod's termination grace period)",
  },
  SHUTDOWN_DELAY_MS: {
    ...integer(0, 600_000),
    default: "0",
    chartDefault: "5000",
    doc: "after SIGTERM, how long readiness is false before the listener closes (the chart: 5000, so that endpoints and load balancers drop the pod first)",
  },

  REDIS_SENTINELS: { ...text(sentinels), default: undefined, doc: "comma list of Sentinel `host:port`", chartSets: true },
  REDIS_MASTER_NAME: { ...text(z.string().trim().min(1, "a Sentinel master-set name")), default: "auth-master", doc: "Sentinel master-set name", chartSets: true },
  REDIS_PASSWORD: { ...text(z.string().optional()), default: undefined, doc: "password of the Redis servers", chartSets: true },
  REDIS_SENTINEL_PASSWORD: { ...text(z.string().optional()), default: undefined, doc: "password of the Sentinels", chartSets: true },
  REDIS_COMMAND_TIMEOUT_MS: {
    ...integer(100, 60_000),
    default: "2000",
    doc: "a Redis command fails after this long; no command waits while no master is reachable",
  },

  DATABASE_URL: { ...text(postgresUrl), default: undefined, doc: "`postgresql://` URL through PgBouncer (transaction pooling)", chartSets: true },
  DIRECT_DATABASE_URL: { ...text(postgresUrl.optional()), default: undefined, doc: "`postgresql://` URL straight to PostgreSQL, for migrations", chartSets: true },
  DB_POOL_SIZE: { ...integer(1, 1000), default: "10", doc: "connections this replica opens to PgBouncer" },
  DB_ACQUIRE_TIMEOUT_MS: { ...integer(50, 60_000), default: "2000", doc: "longest wait for a pooled connection (or a new one)" },
  DB_STATEMENT_TIMEOUT_MS: { ...integer(100, 600_000), default: "5000", doc: "client-side query timeout" },
  READINESS_CACHE_MS: { ...integer(0, 60_000), default: "1000", doc: "how long a readiness result is reused" },

  BCRYPT_COST: { ...integer(10, 15), default: "12", doc: "bcrypt cost, 10 to 15; hashes of another cost are rehashed on login" },
  HASH_POOL_SIZE: {
    schema: int(1, 256).optional(),
    json: { oneOf: [{ type: "integer", minimum: 1, maximum: 256 }, { type: "string", maxLength: 0 }] },
    default: undefined,
    doc: "hashing worker threads; empty: the CPUs the process may use (the cgroup v2 or v1 CPU quota honoured)",
  },
  HASH_QUEUE_MAX: { ...integer(0, 100_000), default: "1000", doc: "logins that may wait for a hashing slot" },
  HASH_QUEUE_MAX_WAIT_MS: {
    ...integer(10, 600_000),
    default: "10000",
    doc: "longest wait for a slot; a login that cannot be served in time gets `503 overloaded` at once",
  },
  HASH_THREAD_NICE: {
    ...integer(0, 19),
    default: "19",
    doc: "nice value (0–19) of the hashing threads only, so validations, probes and metrics on the main thread preempt hashing during a storm",
  },
  LOGIN_LOOKUP_CONCURRENCY: {
    ...integer(1, 10_000),
    default: "4",
    doc: "logins doing their throttle check and user lookup at once; the rest wait their turn (at most `DB_ACQUIRE_TIMEOUT_MS`, then run anyway), so a storm's lookups do not crowd validations out of the event loop",
  },

  REGISTRATION: { ...oneOf(["admin", "open"]), default: "admin", doc: "`admin`: only admins create users; `open`: anyone may register" },
  PASSWORD_MIN_LENGTH: { ...integer(1, 72), default: "8", doc: "minimum password length in characters (maximum is 72 UTF-8 bytes, bcrypt's limit)" },
  COOKIE_NAME: {
    ...text(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a cookie name (letters, digits, _ and -)")),
    default: "auth_session",
    doc: "session cookie name",
  },
  COOKIE_SECURE: { ...flag, default: "true", doc: "`Secure` flag on the cookie (set `false` only for plain-http local use)" },
  ALLOWED_ORIGINS: { ...text(origins), default: "", doc: "origins allowed to make cookie-authenticated writes (CSRF defence), comma-separated" },

  SESSION_MAX_PER_USER: { ...integer(1, 1000), default: "1", doc: "sessions a user may hold; a new login ends the oldest beyond it" },
  SESSION_IDLE_TIMEOUT_S: { ...integer(60, 31_536_000), default: "604800", doc: "a session unused this long ends (7 days)" },
  SESSION_ABSOLUTE_LIFETIME_S: { ...integer(60, 31_536_000), default: "604800", doc: "a session ends this long after login, used or not (7 days)" },
  SESSION_REFRESH_INTERVAL_S: { ...integer(1, 86_400), default: "60", doc: "the idle expiry is pushed forward at most once per interval" },
  SESSION_WAIT_REPLICAS: {
    ...integer(0, 16),
    default: "1",
    doc: "Redis replicas that must acknowledge a new session, a logout or a revocation (`WAIT`); `0` disables",
  },
  SESSION_WAIT_TIMEOUT_MS: { ...integer(1, 60_000), default: "250", doc: "how long to wait for them" },
  SESSION_WAIT_ON_TIMEOUT: {
    ...oneOf(["accept", "fail"]),
    default: "accept",
    doc: "for a new session: `accept` logs and answers 201 anyway; `fail` drops it and answers 503 (a logout is always answered)",
  },
  SESSION_STORE_FORMAT: {
    schema: z.enum(["1", "2"]),
    json: { type: "integer", enum: [1, 2] },
    default: "2",
    doc: "the Redis layout new sessions are written in; both layouts are always read. `1` (the legacy layout) only for the first rollout of an upgrade from a release that wrote it (docs/sessions.md, \"Upgrading the session layout\")",
  },

  LOGIN_LIMIT_IP_MAX: { ...integer(1), default: "100", doc: "failed logins per client IP per `LOGIN_LIMIT_IP_WINDOW_S`" },
  LOGIN_LIMIT_IP_WINDOW_S: { ...integer(1, 86_400), default: "900", doc: "the window of `LOGIN_LIMIT_IP_MAX`" },
  LOGIN_LIMIT_USER_IP_MAX: {
    ...integer(1),
    default: "5",
    doc: "failed logins per username and IP per `LOGIN_LIMIT_USER_IP_WINDOW_S` (reset on success)",
  },
  LOGIN_LIMIT_USER_IP_WINDOW_S: { ...integer(1, 86_400), default: "900", doc: "the window of `LOGIN_LIMIT_USER_IP_MAX`" },
  LOGIN_LIMIT_USER_MAX: { ...integer(1), default: "20", doc: "failed logins per username from any IP per `LOGIN_LIMIT_USER_WINDOW_S`" },
  LOGIN_LIMIT_USER_WINDOW_S: { ...integer(1, 86_400), default: "3600", doc: "the window of `LOGIN_LIMIT_USER_MAX`" },

  WS_PING_INTERVAL_S: {
    ...integer(1, 3600),
    default: "30",
    doc: "live-event sockets: the server pings every socket this often (a peer that misses a pong is closed), refreshes its presence, and re-validates its session",
  },
  WS_MAX_CONNECTIONS_PER_USER: {
    ...integer(1, 1000),
    default: "5",
    doc: "live-event sockets a user may hold across the cluster; one more is refused with `429 too_many_connections`",
  },
  WS_MAX_CONNECTIONS: {
    ...integer(1, 1_000_000),
    default: "10000",
    doc: "live-event sockets one replica holds; one more is refused with `503 overloaded` + `Retry-After`",
  },
  WS_MAX_BUFFERED_KB: {
    ...integer(1, 1_048_576),
    default: "512",
    doc: "a socket whose unsent data passes this is closed with 1013 (a client that does not read)",
  },
  DEMO_PAGE: { ...flag, default: "false", doc: "serve the demo page at `/` (`scripts/up.sh` turns it on)" },

  AUDIT_BATCH_SIZE: { ...integer(1, 10_000), default: "200", doc: "login events written per batch" },
  AUDIT_FLUSH_INTERVAL_MS: { ...integer(10, 60_000), default: "500", doc: "longest delay before queued login events are written" },
  AUDIT_QUEUE_MAX: {
    ...integer(1, 1_000_000),
    default: "10000",
    doc: "login events kept while the database is unreachable; the oldest are dropped (and logged) beyond it",
  },
} as const satisfies Record<string, Setting>;

/** The settings with what documents them, for the generated references (scripts/settings.ts). */
export const SETTINGS: Readonly<Record<string, Setting>> = settings;

type Settings = typeof settings;
type Raw = { [K in keyof Settings]: z.output<Settings[K]["schema"]> };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`invalid configuration: ${variable} must be ${expected}`);
    this.name = "ConfigError";
  }
}

function parseRaw(env: NodeJS.ProcessEnv): Raw {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(settings) as [keyof Settings, Settings[keyof Settings]][]) {
    const given = env[name];
    const value = given === undefined || given === "" ? spec.default : given;
    if (value === undefined && !(spec.schema as z.ZodType).safeParse(undefined).success) {
      throw new ConfigError(name, `set (${describe(spec.schema as z.ZodType)})`);
    }
    const parsed = (spec.schema as z.ZodType).safeParse(value);
    if (!parsed.success) {
      throw new ConfigError(name, parsed.error.issues[0]?.message ?? "valid");
    }
    out[name] = parsed.data;
  }
  return out as Raw;
}

function describe(schema: z.ZodType): string {
  const r = schema.safeParse("\u0000");
  return r.success ? "a value" : (r.error.issues[0]?.message ?? "a value");
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, readFile = defaultReadFile) {
  const r = parseRaw(env);
  if (r.SESSION_IDLE_TIMEOUT_S > r.SESSION_ABSOLUTE_LIFETIME_S) {
    throw new ConfigError("SESSION_IDLE_TIMEOUT_S", `at most SESSION_ABSOLUTE_LIFETIME_S (${r.SESSION_ABSOLUTE_LIFETIME_S})`);
  }
  if (r.PORT === r.METRICS_PORT) {
    throw new ConfigError("METRICS_PORT", "different from PORT");
  }
  const config = {
    http: {
      host: r.HOST,
      port: r.PORT,
      metricsPort: r.METRICS_PORT,
      trustedProxies: r.TRUSTED_PROXIES,
      shutdownGraceMs: r.SHUTDOWN_GRACE_MS,
      shutdownDelayMs: r.SHUTDOWN_DELAY_MS,
      readinessCacheMs: r.READINESS_CACHE_MS,
      cookieName: r.COOKIE_NAME,
      cookieSecure: r.COOKIE_SECURE,
      allowedOrigins: r.ALLOWED_ORIGINS,
      demoPage: r.DEMO_PAGE,
      accessLog: { sampleRate: r.ACCESS_LOG_SAMPLE_RATE, slowMs: r.ACCESS_LOG_SLOW_MS },
    },
    realtime: {
      pingIntervalS: r.WS_PING_INTERVAL_S,
      maxConnectionsPerUser: r.WS_MAX_CONNECTIONS_PER_USER,
      maxConnections: r.WS_MAX_CONNECTIONS,
      maxBufferedBytes: r.WS_MAX_BUFFERED_KB * 1024,
    },
    logLevel: r.LOG_LEVEL,
    redis: {
      sentinels: r.REDIS_SENTINELS,
      masterName: r.REDIS_MASTER_NAME,
      password: r.REDIS_PASSWORD,
      sentinelPassword: r.REDIS_SENTINEL_PASSWORD,
      commandTimeoutMs: r.REDIS_COMMAND_TIMEOUT_MS,
    },
    db: {
      url: r.DATABASE_URL,
      directUrl: r.DIRECT_DATABASE_URL,
      poolSize: r.DB_POOL_SIZE,
      acquireTimeoutMs: r.DB_ACQUIRE_TIMEOUT_MS,
      statementTimeoutMs: r.DB_STATEMENT_TIMEOUT_MS,
    },
    hashing: {
      cost: r.BCRYPT_COST,
      poolSize: r.HASH_POOL_SIZE ?? availableCpus(readFile),
      queueMax: r.HASH_QUEUE_MAX,
      queueMaxWaitMs: r.HASH_QUEUE_MAX_WAIT_MS,
      threadNice: r.HASH_THREAD_NICE,
    },
    auth: {
      registration: r.REGISTRATION,
      passwordMinLength: r.PASSWORD_MIN_LENGTH,
      /** Logins whose throttle check and user lookup run at once; the rest wait up to DB_ACQUIRE_TIMEOUT_MS. */
      loginLookupConcurrency: r.LOGIN_LOOKUP_CONCURRENCY,
    },
    sessions: {
      maxPerUser: r.SESSION_MAX_PER_USER,
      idleTimeoutS: r.SESSION_IDLE_TIMEOUT_S,
      absoluteLifetimeS: r.SESSION_ABSOLUTE_LIFETIME_S,
      refreshIntervalS: r.SESSION_REFRESH_INTERVAL_S,
      waitReplicas: r.SESSION_WAIT_REPLICAS,
      waitTimeoutMs: r.SESSION_WAIT_TIMEOUT_MS,
      waitOnTimeout: r.SESSION_WAIT_ON_TIMEOUT,
      /** The layout new sessions are written in; both are always read (migrating-session-store.ts). */
      storeFormat: r.SESSION_STORE_FORMAT,
    },
    limits: {
      ip: { points: r.LOGIN_LIMIT_IP_MAX, windowS: r.LOGIN_LIMIT_IP_WINDOW_S },
      userIp: { points: r.LOGIN_LIMIT_USER_IP_MAX, windowS: r.LOGIN_LIMIT_USER_IP_WINDOW_S },
      user: { points: r.LOGIN_LIMIT_USER_MAX, windowS: r.LOGIN_LIMIT_USER_WINDOW_S },
    },
    audit: {
      batchSize: r.AUDIT_BATCH_SIZE,
      flushIntervalMs: r.AUDIT_FLUSH_INTERVAL_MS,
      queueMax: r.AUDIT_QUEUE_MAX,
    },
  };
  return deepFreeze(config);
}

export type Config = ReturnType<typeof loadConfig>;

/** The one setting the migration runner needs; it runs where the service's other settings are absent. */
export function loadMigrationConfig(env: NodeJS.ProcessEnv = process.env): { directUrl: string } {
  const url = postgresUrl.safeParse(env.DIRECT_DATABASE_URL ?? "");
  if (!env.DIRECT_DATABASE_URL) throw new ConfigError("DIRECT_DATABASE_URL", "set (a postgresql:// URL straight to PostgreSQL, not through PgBouncer)");
  if (!url.success) throw new ConfigError("DIRECT_DATABASE_URL", url.error.issues[0]?.message ?? "valid");
  return Object.freeze({ directUrl: url.data });
}

/** The variables and their defaults, for docs and tests. */
export const configVariables = Object.fromEntries(
  Object.entries(settings).map(([k, v]) => [k, v.default]),
) as Record<keyof Settings, string | undefined>;

function defaultReadFile(p: string): string {
  return readFileSync(p, "utf8");
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
