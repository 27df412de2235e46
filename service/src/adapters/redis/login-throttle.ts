// Brute-force limits on failed logins, kept in Redis with expiry (the expiry is the cleanup: nothing grows
// without bound, unlike the old in-process Map). Three fixed-window counters: per IP, per username+IP, per
// username. Hand-written rather than rate-limiter-flexible: a login reads all three in one MGET, which its API
// cannot do (its get() is a MULTI/GET/PTTL/EXEC per limiter), and reading its keys directly tied brute-force
// protection to its internal format. The keys and values are the ones it used, so counters survive the change.
import type { Redis, Result } from "ioredis";
import { AuthError, unavailable } from "../../auth/errors.js";
import type { LoginThrottle } from "../../auth/ports.js";

export interface Limit {
  points: number;
  windowS: number;
}

export interface ThrottleLimits {
  ip: Limit;
  userIp: Limit;
  user: Limit;
}

/** One failure: the count goes up, and the first failure of a window starts the window. */
const FAIL = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    loginFailure(key: string, windowMs: number): Result<number, Context>;
  }
}

export class RedisLoginThrottle implements LoginThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly limits: ThrottleLimits,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly keyPrefix = "auth:rl",
  ) {
    redis.defineCommand("loginFailure", { numberOfKeys: 1, lua: FAIL });
  }

  /**
   * Every login runs this: one MGET of the three counters (auto-pipelined with other logins'). Their TTL is read
   * only for one at its limit, for Retry-After.
   */
  async check(username: string, ip: string): Promise<{ userIpFailures: boolean }> {
    const counters = this.counters(username, ip);
    const counts = await this.guard(() => this.redis.mget(counters.map(([key]) => key)));
    const blocked = counters.filter(([, limit], i) => Number(counts[i] ?? 0) >= limit.points).map(([key]) => key);
    if (blocked.length === 0) return { userIpFailures: Number(counts[1] ?? 0) > 0 };
    // -2: the window ended since the MGET.
    const ttls = (await this.guard(() => Promise.all(blocked.map((key) => this.redis.pttl(key))))).filter((t) => t !== -2);
    if (ttls.length === 0) return { userIpFailures: true };
    throw new AuthError("rate_limited", "too many failed logins; try again later", {
      retryAfterS: Math.max(1, Math.ceil(Math.max(...ttls) / 1000)),
    });
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const [key, limit] of this.counters(username, ip)) pipeline.loginFailure(key, limit.windowS * 1000);
    await this.guard(async () => {
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    });
  }

  async recordSuccess(username: string, ip: string): Promise<void> {
    await this.guard(() => this.redis.del(this.counters(username, ip)[1][0]));
  }

  /** The three counters' keys and limits: per IP, per username+IP (the one a success resets), per username. */
  private counters(username: string, ip: string): [[string, Limit], [string, Limit], [string, Limit]] {
    return [
      [`${this.keyPrefix}:ip:${ip}`, this.limits.ip],
      [`${this.keyPrefix}:user-ip:${username}|${ip}`, this.limits.userIp],
      [`${this.keyPrefix}:user:${username}`, this.limits.user],
    ];
  }

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      this.onError(err);
      throw unavailable("login throttle", err);
    }
  }
}
