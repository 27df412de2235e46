// Who is online, in Redis, so any replica can answer. Per user a sorted set of live connections scored by expiry
// (each replica refreshes its own every heartbeat) and a small hash (username, last seen); cluster-wide, one
// sorted set of users by their latest connection expiry (the count: O(log n)) and one set ordered by user id (the
// list: O(log n + page)). A replica killed with SIGKILL stops refreshing, so its connections expire within the
// TTL and every replica's heartbeat removes users left with none: presence heals without the dead replica.
// Per-user scripts touch only that user's keys (one hash slot), the cluster-wide ones only the two global keys
// (one slot, by their shared hash tag); they go out in one pipeline, as the session store does with auth:active.
import type { Redis, Result } from "ioredis";
import { unavailable } from "../../auth/errors.js";
import type { OnlineUser, PresenceConnection, PresenceStore } from "../../auth/ports.js";

// KEYS: conn, info. ARGV: connId, now, expiry, max, username, infoTtlMs. 1 = registered, 0 = refused (at max).
const REGISTER = `
local conn, info = KEYS[1], KEYS[2]
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', conn, '-inf', now)
if redis.call('ZSCORE', conn, ARGV[1]) == false and redis.call('ZCARD', conn) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', conn, ARGV[3], ARGV[1])
local last = redis.call('ZRANGE', conn, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', conn, last[2])
redis.call('HSET', info, 'name', ARGV[5], 'seen', ARGV[2])
redis.call('PEXPIRE', info, ARGV[6])
return 1
`;

// KEYS: conn, info. ARGV: now, expiry, username, infoTtlMs, connId... Returns the user's latest expiry (0: none).
const REFRESH = `
local conn, info = KEYS[1], KEYS[2]
for i = 5, #ARGV do redis.call('ZADD', conn, ARGV[2], ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', conn, '-inf', ARGV[1])
redis.call('HSET', info, 'name', ARGV[3], 'seen', ARGV[1])
redis.call('PEXPIRE', info, ARGV[4])
local last = redis.call('ZRANGE', conn, -1, -1, 'WITHSCORES')
if #last == 0 then return 0 end
redis.call('PEXPIREAT', conn, last[2])
return last[2]
`;

// KEYS: conn, info. ARGV: connId, now. Returns {the closed connection's expiry, connections left}.
const UNREGISTER = `
local conn, info = KEYS[1], KEYS[2]
local expiry = redis.call('ZSCORE', conn, ARGV[1]) or ARGV[2]
redis.call('ZREM', conn, ARGV[1])
redis.call('ZREMRANGEBYSCORE', conn, '-inf', ARGV[2])
if redis.call('EXISTS', info) == 1 then redis.call('HSET', info, 'seen', ARGV[2]) end
return {expiry, redis.call('ZCARD', conn)}
`;

// KEYS: expiry set, id set. ARGV: userId, upTo. Takes the user offline unless a later connection (registered
// meanwhile on another replica) raised their expiry past upTo.
const OFFLINE = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`;

// KEYS: expiry set, id set. ARGV: now, limit. Users whose connections all expired (their replica died).
const SWEEP = `
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #stale
`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    presenceRegister(conn: string, info: string, ...args: (string | number)[]): Result<number, Context>;
    presenceRefresh(conn: string, info: string, ...args: (string | number)[]): Result<string | number, Context>;
    presenceUnregister(conn: string, info: string, connId: string, now: number): Result<[string, number], Context>;
    presenceOffline(expiry: string, ids: string, userId: string, upTo: number | string): Result<number, Context>;
    presenceSweep(expiry: string, ids: string, now: number, limit: number): Result<number, Context>;
  }
}

const EXPIRY_KEY = "auth:{presence}:exp";
const BY_ID_KEY = "auth:{presence}:ids";
/** How long a user's last-seen time is kept after their last connection. */
const INFO_TTL_MS = 30 * 86_400_000;

export class RedisPresenceStore implements PresenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    redis.defineCommand("presenceRegister", { numberOfKeys: 2, lua: REGISTER });
    redis.defineCommand("presenceRefresh", { numberOfKeys: 2, lua: REFRESH });
    redis.defineCommand("presenceUnregister", { numberOfKeys: 2, lua: UNREGISTER });
    redis.defineCommand("presenceOffline", { numberOfKeys: 2, lua: OFFLINE });
    redis.defineCommand("presenceSweep", { numberOfKeys: 2, lua: SWEEP });
  }

  async register(c: PresenceConnection, max: number, now: number, ttlMs: number): Promise<boolean> {
    const expiry = now + ttlMs;
    const results = await this.guard(() =>
      this.redis
        .pipeline()
        .presenceRegister(connKey(c.userId), infoKey(c.userId), c.connId, now, expiry, max, c.username, INFO_TTL_MS)
        // A refused connection means the user already has `max` live ones: online either way.
        .zadd(EXPIRY_KEY, "GT", expiry, c.userId)
        .zadd(BY_ID_KEY, 0, c.userId)
        .exec(),
    );
    return Number(check(results)[0]) === 1;
  }

  async refresh(users: { userId: string; username: string; connIds: string[] }[], now: number, ttlMs: number): Promise<void> {
    const expiry = now + ttlMs;
    const pipeline = this.redis.pipeline();
    for (const u of users) {
      pipeline
        .presenceRefresh(connKey(u.userId), infoKey(u.userId), now, expiry, u.username, INFO_TTL_MS, ...u.connIds)
        .zadd(EXPIRY_KEY, "GT", expiry, u.userId)
        .zadd(BY_ID_KEY, 0, u.userId);
    }
    check(await this.guard(() => pipeline.exec()));
  }

  /** Takes out users whose connections all expired (their replica was killed): every replica, every heartbeat. */
  async sweep(now: number, limit = 100): Promise<number> {
    return this.guard(() => this.redis.presenceSweep(EXPIRY_KEY, BY_ID_KEY, now, limit));
  }

  async unregister(c: PresenceConnection, now: number): Promise<void> {
    const [closedExpiry, left] = await this.guard(() => this.redis.presenceUnregister(connKey(c.userId), infoKey(c.userId), c.connId, now));
    // With connections left the user stays online, and their expiry is at most one TTL too late: left as is.
    if (Number(left) === 0) await this.guard(() => this.redis.presenceOffline(EXPIRY_KEY, BY_ID_KEY, c.userId, closedExpiry));
  }

  /** O(log n). */
  onlineCount(now: number): Promise<number> {
    return this.guard(() => this.redis.zcount(EXPIRY_KEY, `(${now}`, "+inf"));
  }

  /** O(log n + limit): by user id from `after`; users whose connections all expired are left out. */
  async onlinePage(now: number, limit: number, after?: string): Promise<{ users: OnlineUser[]; next: string | null }> {
    const ids = await this.guard(() => this.redis.zrangebylex(BY_ID_KEY, after ? `(${after}` : "-", "+", "LIMIT", 0, limit));
    if (ids.length === 0) return { users: [], next: null };
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.zscore(EXPIRY_KEY, id).zcount(connKey(id), `(${now}`, "+inf").hget(infoKey(id), "name");
    const replies = check(await this.guard(() => pipeline.exec()));
    const users: OnlineUser[] = [];
    ids.forEach((id, i) => {
      const [expiry, connections, name] = replies.slice(i * 3, i * 3 + 3) as [string | null, number, string | null];
      if (expiry !== null && Number(expiry) > now && connections > 0) users.push({ id, username: name ?? "", connections });
    });
    return { users, next: ids.length === limit ? ids[ids.length - 1]! : null };
  }

  /** O(log k) for the user's k connections. */
  async ofUser(userId: string, now: number): Promise<{ connections: number; lastSeenAt: number | null }> {
    const [connections, seen] = check(
      await this.guard(() => this.redis.pipeline().zcount(connKey(userId), `(${now}`, "+inf").hget(infoKey(userId), "seen").exec()),
    ) as [number, string | null];
    return { connections, lastSeenAt: seen === null ? null : Number(seen) };
  }

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      this.onError(err);
      throw unavailable("presence storage", err);
    }
  }
}

function check(results: [Error | null, unknown][] | null): unknown[] {
  return (results ?? []).map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

const connKey = (userId: string) => `auth:{u:${userId}}:conn`;
const infoKey = (userId: string) => `auth:{u:${userId}}:pres`;
