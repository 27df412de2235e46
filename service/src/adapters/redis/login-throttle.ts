// Brute-force limits on failed logins, kept in Redis with expiry (the expiry is the cleanup: nothing grows
// without bound, unlike the old in-process Map). Three counters: per IP, per username+IP, per username.
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
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

export class RedisLoginThrottle implements LoginThrottle {
  private readonly ip: RateLimiterRedis;
  private readonly userIp: RateLimiterRedis;
  private readonly user: RateLimiterRedis;

  constructor(
    private readonly redis: Redis,
    limits: ThrottleLimits,
    private readonly onError: (err: unknown) => void = () => {},
    keyPrefix = "auth:rl",
  ) {
    const make = (name: string, l: Limit) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${keyPrefix}:${name}`,
        points: l.points,
        duration: l.windowS,
        rejectIfRedisNotReady: true,
      });
    this.ip = make("ip", limits.ip);
    this.userIp = make("user-ip", limits.userIp);
    this.user = make("user", limits.user);
  }

  /**
   * Every login runs this, so it is one MGET of the three counters (auto-pipelined with other logins'); the
   * limiters' own get() is a MULTI/GET/PTTL/EXEC each, three round trips. The counters are the limiters' keys
   * (getKey) holding the points consumed; their TTL is read only for one over its limit, for Retry-After.
   */
  async check(username: string, ip: string): Promise<{ userIpFailures: boolean }> {
    const checks: [RateLimiterRedis, string][] = [
      [this.ip, this.ip.getKey(ip)],
      [this.userIp, this.userIp.getKey(userIpKey(username, ip))],
      [this.user, this.user.getKey(username)],
    ];
    const counts = await this.guard(() => this.redis.mget(checks.map(([, key]) => key)));
    const blocked = checks.filter(([limiter], i) => Number(counts[i] ?? 0) >= limiter.points).map(([, key]) => key);
    if (blocked.length === 0) return { userIpFailures: Number(counts[1] ?? 0) > 0 };
    // -2: the window ended since the MGET; -1 cannot happen (the limiter always sets an expiry), count it as 1 s.
    const ttls = (await this.guard(() => Promise.all(blocked.map((key) => this.redis.pttl(key))))).filter((t) => t !== -2);
    if (ttls.length === 0) return { userIpFailures: true };
    throw new AuthError("rate_limited", "too many failed logins; try again later", {
      retryAfterS: Math.max(1, Math.ceil(Math.max(...ttls) / 1000)),
    });
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    await this.guard(() =>
      Promise.all([
        consume(this.ip, ip),
        consume(this.userIp, userIpKey(username, ip)),
        consume(this.user, username),
      ]),
    );
  }

  async recordSuccess(username: string, ip: string): Promise<void> {
    await this.guard(() => this.userIp.delete(userIpKey(username, ip)));
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

const userIpKey = (username: string, ip: string) => `${username}|${ip}`;

/** A limiter rejects with RateLimiterRes when over its points: that is a count, not a failure. */
async function consume(limiter: RateLimiterRedis, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
  }
}
