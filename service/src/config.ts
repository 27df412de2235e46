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

/** Every setting: its variable, schema and default (undefined = required or optional without default). */
const settings = {
  HOST: { schema: z.string().trim().min(1, "a listen address"), default: "0.0.0.0" },
  PORT: { schema: int(1, 65535), default: "3000" },
  METRICS_PORT: { schema: int(1, 65535), default: "9464" },
  LOG_LEVEL: { schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), default: "info" },
  ACCESS_LOG_SAMPLE_RATE: {
    schema: z.string().trim().regex(/^(0(\.\d+)?|1(\.0+)?)$/, "a fraction from 0 to 1").transform(Number),
    default: "0.01",
  },
  ACCESS_LOG_SLOW_MS: { schema: int(0, 600_000), default: "500" },
  TRUSTED_PROXIES: { schema: list, default: "" },
  SHUTDOWN_GRACE_MS: { schema: int(0, 600_000), default: "10000" },
  SHUTDOWN_DELAY_MS: { schema: int(0, 600_000), default: "0" },

  REDIS_SENTINELS: { schema: sentinels, default: undefined },
  REDIS_MASTER_NAME: { schema: z.string().trim().min(1, "a Sentinel master-set name"), default: "auth-master" },
  REDIS_PASSWORD: { schema: z.string().optional(), default: undefined },
  REDIS_SENTINEL_PASSWORD: { schema: z.string().optional(), default: undefined },
  REDIS_COMMAND_TIMEOUT_MS: { schema: int(100, 60_000), default: "2000" },

  DATABASE_URL: { schema: postgresUrl, default: undefined },
  DIRECT_DATABASE_URL: { schema: postgresUrl.optional(), default: undefined },
  DB_POOL_SIZE: { schema: int(1, 1000), default: "10" },
  DB_ACQUIRE_TIMEOUT_MS: { schema: int(50, 60_000), default: "2000" },
  DB_STATEMENT_TIMEOUT_MS: { schema: int(100, 600_000), default: "5000" },
  READINESS_CACHE_MS: { schema: int(0, 60_000), default: "1000" },

  BCRYPT_COST: { schema: int(10, 15), default: "12" },
  HASH_POOL_SIZE: { schema: int(1, 256).optional(), default: undefined },
  HASH_QUEUE_MAX: { schema: int(0, 100_000), default: "1000" },
  HASH_QUEUE_MAX_WAIT_MS: { schema: int(10, 600_000), default: "10000" },
  HASH_THREAD_NICE: { schema: int(0, 19), default: "19" },
  LOGIN_LOOKUP_CONCURRENCY: { schema: int(1, 10_000), default: "4" },

  REGISTRATION: { schema: z.enum(["admin", "open"]), default: "admin" },
  PASSWORD_MIN_LENGTH: { schema: int(1, 72), default: "8" },
  COOKIE_NAME: { schema: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a cookie name (letters, digits, _ and -)"), default: "auth_session" },
  COOKIE_SECURE: { schema: bool, default: "true" },
  ALLOWED_ORIGINS: { schema: origins, default: "" },

  SESSION_MAX_PER_USER: { schema: int(1, 1000), default: "1" },
  SESSION_IDLE_TIMEOUT_S: { schema: int(60, 31_536_000), default: "604800" },
  SESSION_ABSOLUTE_LIFETIME_S: { schema: int(60, 31_536_000), default: "604800" },
  SESSION_REFRESH_INTERVAL_S: { schema: int(1, 86_400), default: "60" },
  SESSION_WAIT_REPLICAS: { schema: int(0, 16), default: "1" },
  SESSION_WAIT_TIMEOUT_MS: { schema: int(1, 60_000), default: "250" },
  SESSION_WAIT_ON_TIMEOUT: { schema: z.enum(["accept", "fail"]), default: "accept" },
  SESSION_STORE_FORMAT: { schema: z.enum(["1", "2"]), default: "2" },

  LOGIN_LIMIT_IP_MAX: { schema: int(1), default: "100" },
  LOGIN_LIMIT_IP_WINDOW_S: { schema: int(1, 86_400), default: "900" },
  LOGIN_LIMIT_USER_IP_MAX: { schema: int(1), default: "5" },
  LOGIN_LIMIT_USER_IP_WINDOW_S: { schema: int(1, 86_400), default: "900" },
  LOGIN_LIMIT_USER_MAX: { schema: int(1), default: "20" },
  LOGIN_LIMIT_USER_WINDOW_S: { schema: int(1, 86_400), default: "3600" },

  WS_PING_INTERVAL_S: { schema: int(1, 3600), default: "30" },
  WS_MAX_CONNECTIONS_PER_USER: { schema: int(1, 1000), default: "5" },
  WS_MAX_CONNECTIONS: { schema: int(1, 1_000_000), default: "10000" },
  WS_MAX_BUFFERED_KB: { schema: int(1, 1_048_576), default: "512" },
  DEMO_PAGE: { schema: bool, default: "false" },

  AUDIT_BATCH_SIZE: { schema: int(1, 10_000), default: "200" },
  AUDIT_FLUSH_INTERVAL_MS: { schema: int(10, 60_000), default: "500" },
  AUDIT_QUEUE_MAX: { schema: int(1, 1_000_000), default: "10000" },
} as const;

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
