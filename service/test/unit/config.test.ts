import { describe, expect, it } from "vitest";
import os from "node:os";
import { ConfigError, loadConfig } from "../../src/config.js";
import { availableCpus } from "../../src/cpus.js";

const required = {
  REDIS_SENTINELS: "127.0.0.1:26379,sentinel-2:26380",
  DATABASE_URL: "postgresql://auth:pw@127.0.0.1:6432/auth",
};

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, () => "max 100000");
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("applies the documented defaults", () => {
    const c = loadConfig(required, () => "max 100000");
    expect(c.http.port).toBe(3000);
    expect(c.http.metricsPort).toBe(9464);
    expect(c.redis.masterName).toBe("auth-master");
    expect(c.redis.sentinels).toEqual([
      { host: "127.0.0.1", port: 26379 },
      { host: "sentinel-2", port: 26380 },
    ]);
    expect(c.db.poolSize).toBe(10);
    expect(c.db.acquireTimeoutMs).toBe(2000);
    expect(c.hashing.cost).toBe(12);
    expect(c.hashing.threadNice).toBe(19);
    expect(c.auth.loginLookupConcurrency).toBe(4);
    expect(c.sessions.maxPerUser).toBe(1);
    expect(c.sessions.absoluteLifetimeS).toBe(7 * 24 * 3600);
    expect(c.http.trustedProxies).toEqual([]);
    expect(c.http.cookieSecure).toBe(true);
    expect(c.auth.registration).toBe("admin");
    expect(Object.isFrozen(c) && Object.isFrozen(c.redis)).toBe(true);
  });

  it.each([
    ["REDIS_SENTINELS", {}],
    ["DATABASE_URL", { REDIS_SENTINELS: required.REDIS_SENTINELS }],
  ])("stops on a missing %s and names it", (variable, env) => {
    const err = errorOf(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(new RegExp(`^invalid configuration: ${variable} must be set`));
    expect(err.message).not.toContain("\n");
  });

  it.each([
    ["PORT", "http"],
    ["PORT", "70000"],
    ["METRICS_PORT", "-1"],
    ["REDIS_SENTINELS", "localhost"],
    ["REDIS_SENTINELS", "a:1,b"],
    ["DATABASE_URL", "mysql://x@y/z"],
    ["DATABASE_URL", "not a url"],
    ["DIRECT_DATABASE_URL", "http://x"],
    ["DB_POOL_SIZE", "0"],
    ["DB_ACQUIRE_TIMEOUT_MS", "soon"],
    ["BCRYPT_COST", "9"],
    ["BCRYPT_COST", "16"],
    ["HASH_THREAD_NICE", "20"],
    ["HASH_THREAD_NICE", "-5"],
    ["LOGIN_LOOKUP_CONCURRENCY", "0"],
    ["LOG_LEVEL", "loud"],
    ["COOKIE_SECURE", "maybe"],
    ["REGISTRATION", "everyone"],
    ["ALLOWED_ORIGINS", "https://a.example/path"],
    ["SESSION_WAIT_ON_TIMEOUT", "retry"],
    ["SHUTDOWN_GRACE_MS", "1.5"],
  ])("rejects malformed %s=%s with a message naming it", (variable, value) => {
    const err = errorOf({ ...required, [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(new RegExp(`^invalid configuration: ${variable} must be `));
  });

  it("rejects an idle timeout longer than the absolute lifetime", () => {
    const err = errorOf({ ...required, SESSION_IDLE_TIMEOUT_S: "7200", SESSION_ABSOLUTE_LIFETIME_S: "3600" });
    expect(err.variable).toBe("SESSION_IDLE_TIMEOUT_S");
  });

  it("reads passwords and lists", () => {
    const c = loadConfig(
      { ...required, REDIS_PASSWORD: "r", REDIS_SENTINEL_PASSWORD: "s", TRUSTED_PROXIES: "loopback, 10.0.0.0/8", ALLOWED_ORIGINS: "https://a.example,http://localhost:3000" },
      () => "max 100000",
    );
    expect(c.redis.password).toBe("r");
    expect(c.redis.sentinelPassword).toBe("s");
    expect(c.http.trustedProxies).toEqual(["loopback", "10.0.0.0/8"]);
    expect(c.http.allowedOrigins).toEqual(["https://a.example", "http://localhost:3000"]);
  });

  it("sizes the hash pool to the cgroup CPU quota unless overridden", () => {
    expect(availableCpus(() => "100000 100000")).toBe(1);
    // cgroup v1 (no cpu.max): cpu.cfs_quota_us / cpu.cfs_period_us, -1 meaning no quota.
    const v1 = (files: Record<string, string>) => (p: string) => {
      if (!(p in files)) throw new Error(`ENOENT ${p}`);
      return files[p]!;
    };
    expect(availableCpus(v1({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "50000\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n" }))).toBe(1);
    expect(availableCpus(v1({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n" }))).toBe(os.availableParallelism());
    expect(availableCpus(v1({}))).toBe(os.availableParallelism());
    expect(availableCpus(() => "max 100000")).toBeGreaterThanOrEqual(1);
    expect(loadConfig({ ...required, HASH_POOL_SIZE: "3" }, () => "100000 100000").hashing.poolSize).toBe(3);
    expect(loadConfig(required, () => "100000 100000").hashing.poolSize).toBe(1);
  });
});
