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
    redis: Redis,
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

  async check(username: string, ip: string): Promise<void> {
    const checks: [RateLimiterRedis, string][] = [
      [this.ip, ip],
      [this.userIp, userIpKey(username, ip)],
      [this.user, username],
    ];
    const states = await this.guard(() => Promise.all(checks.map(([l, key]) => l.get(key))));
    let waitMs = 0;
    states.forEach((state, i) => {
      const limiter = checks[i]![0];
      if (state && state.consumedPoints >= limiter.points) waitMs = Math.max(waitMs, state.msBeforeNext);
    });
    if (waitMs > 0) {
      throw new AuthError("rate_limited", "too many failed logins; try again later", {
        retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)),
      });
    }
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
