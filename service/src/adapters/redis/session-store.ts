// Sessions in Redis. Per session a hash; per user an index (sorted set by creation time); one cluster-wide
// sorted set by expiry for the active count. Every operation touches one session, or the sessions of one
// user: never a SCAN or KEYS, never a loop over other users. One user's keys share the hash tag {u:<id>}.
import type { ChainableCommander, Redis, Result } from "ioredis";
import { unavailable } from "../../auth/errors.js";
import type { NewSession, SessionStore, StoredSession } from "../../auth/ports.js";
import { ReplicaAck } from "./replica-ack.js";

const CREATE = `
local idx, skey, prefix = KEYS[1], KEYS[2], ARGV[1]
local sid, max, created, expireAt, idxExpireAt = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
for _, m in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
  if redis.call('EXISTS', prefix .. m) == 0 then redis.call('ZREM', idx, m) end
end
local evicted = {}
local n = redis.call('ZCARD', idx)
while n >= max do
  local oldest = redis.call('ZPOPMIN', idx)
  redis.call('DEL', prefix .. oldest[1])
  evicted[#evicted + 1] = oldest[1]
  n = n - 1
end
redis.call('HSET', skey, unpack(ARGV, 7))
redis.call('PEXPIREAT', skey, expireAt)
redis.call('ZADD', idx, created, sid)
redis.call('PEXPIREAT', idx, idxExpireAt)
return evicted
`;

const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'ls', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`;

const REVOKE = `
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('DEL', KEYS[2])
`;

const REVOKE_ALL = `
local removed = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[2] then
    if redis.call('DEL', ARGV[1] .. m) == 1 then removed[#removed + 1] = m end
    redis.call('ZREM', KEYS[1], m)
  end
end
return removed
`;

const SET_ROLES = `
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. m) == 1 then redis.call('HSET', ARGV[1] .. m, 'ro', ARGV[2]) end
end
return 1
`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    sessionCreate(idx: string, skey: string, ...args: (string | number)[]): Result<string[], Context>;
    sessionTouch(skey: string, lastSeen: number, expireAt: number): Result<number, Context>;
    sessionRevoke(idx: string, skey: string, sid: string): Result<number, Context>;
    sessionRevokeAll(idx: string, prefix: string, keep: string): Result<string[], Context>;
    sessionSetRoles(idx: string, prefix: string, roles: string): Result<number, Context>;
  }
}

export interface DurabilityPolicy {
  /** Replicas that must acknowledge a new session (Redis WAIT); 0 disables the wait. */
  replicas: number;
  timeoutMs: number;
  /** accept: answer 201 anyway (logged, counted); fail: drop the session and answer 503. */
  onTimeout: "accept" | "fail";
  onShortfall?: (acked: number) => void;
}

const ACTIVE_KEY = "auth:active";

export class RedisSessionStore implements SessionStore {
  private readonly redis: Redis;
  /** Writes that must survive a failover run here: WAIT blocks its connection, which must not stall validations. */
  private readonly durable: Redis;
  private readonly ack: ReplicaAck;

  constructor(
    redis: Redis,
    private readonly durability: DurabilityPolicy,
    private readonly onError: (err: unknown) => void = () => {},
    durable: Redis = redis,
  ) {
    for (const client of new Set([redis, durable])) {
      client.defineCommand("sessionCreate", { numberOfKeys: 2, lua: CREATE });
      client.defineCommand("sessionTouch", { numberOfKeys: 1, lua: TOUCH });
      client.defineCommand("sessionRevoke", { numberOfKeys: 2, lua: REVOKE });
      client.defineCommand("sessionRevokeAll", { numberOfKeys: 1, lua: REVOKE_ALL });
      client.defineCommand("sessionSetRoles", { numberOfKeys: 1, lua: SET_ROLES });
    }
    this.redis = redis;
    this.durable = durable;
    this.ack = new ReplicaAck(durable, durability.replicas, durability.timeoutMs);
  }

  async create(s: NewSession, maxPerUser: number, idleTimeoutMs: number): Promise<{ evicted: string[] }> {
    const expireAt = Math.min(s.expiresAt, s.createdAt + idleTimeoutMs);
    const fields = [
      "uid", s.userId, "un", s.username, "ro", JSON.stringify(s.roles), "sh", s.secretHash,
      "ca", s.createdAt, "ea", s.expiresAt, "ls", s.createdAt, "ip", s.ip, "ua", s.userAgent,
    ];
    // The session script, the active-set update and (usually) the WAIT go out as one pipeline: one round trip.
    const [evictedReply] = await this.sendDurably(
      this.durable
        .pipeline()
        .sessionCreate(
          indexKey(s.userId), sessionKey(s.userId, s.id), sessionPrefix(s.userId),
          s.id, maxPerUser, s.createdAt, expireAt, s.expiresAt, ...fields,
        )
        .zadd(ACTIVE_KEY, expireAt, member(s.userId, s.id))
        .zremrangebyscore(ACTIVE_KEY, "-inf", s.createdAt),
      // Its token is never handed out, so a copy the replica kept is of no use to anyone: drop it from the
      // master without waiting for the replica (a second wait would double the refused login's time).
      async () => {
        await this.exec(
          this.redis
            .pipeline()
            .sessionRevoke(indexKey(s.userId), sessionKey(s.userId, s.id), s.id)
            .zrem(ACTIVE_KEY, member(s.userId, s.id)),
        ).catch(this.onError);
      },
    );
    const evicted = evictedReply as string[];
    if (evicted.length > 0) {
      // Only the count reads these members, and an expired one is trimmed anyway: not worth a WAIT of its own.
      void this.redis.zrem(ACTIVE_KEY, ...evicted.map((id) => member(s.userId, id))).catch(this.onError);
    }
    return { evicted };
  }

  /**
   * Sends writes that must survive a failover and waits for the replicas (see ReplicaAck). When too few
   * acknowledge in time the writes still stand on the master; that is reported through onShortfall, and with
   * onTimeout "fail" `undo` runs and the caller gets "unavailable".
   */
  private async sendDurably(writes: ChainableCommander, undo?: () => Promise<void>): Promise<unknown[]> {
    const { results, acked } = await this.guard(() => this.ack.send(writes));
    const values = results.map(([err, value]) => {
      if (err) {
        this.onError(err);
        throw unavailable("session storage", err);
      }
      return value;
    });
    if (this.durability.replicas > 0 && acked < this.durability.replicas) {
      this.durability.onShortfall?.(acked);
      if (undo && this.durability.onTimeout === "fail") {
        await undo();
        throw unavailable("session storage (no replica acknowledged the write)", new Error(`WAIT acked ${acked}`));
      }
    }
    return values;
  }

  async get(userId: string, sessionId: string): Promise<StoredSession | null> {
    const h = await this.guard(() => this.redis.hgetall(sessionKey(userId, sessionId)));
    return fromHash(sessionId, h);
  }

  async touch(s: StoredSession, now: number, idleTimeoutMs: number): Promise<void> {
    const expireAt = Math.min(s.expiresAt, now + idleTimeoutMs);
    await this.guard(() =>
      this.exec(
        this.redis
          .pipeline()
          .sessionTouch(sessionKey(s.userId, s.id), now, expireAt)
          .zadd(ACTIVE_KEY, "XX", expireAt, member(s.userId, s.id)),
      ),
    );
  }

  async list(userId: string): Promise<StoredSession[]> {
    const ids = await this.guard(() => this.redis.zrange(indexKey(userId), 0, -1));
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(sessionKey(userId, id));
    const hashes = await this.guard(() => this.exec(pipeline));
    return ids.flatMap((id, i) => {
      const s = fromHash(id, hashes[i] as Record<string, string>);
      return s ? [s] : [];
    });
  }

  // Revocations and role changes are replicated before they are reported done, like a new session: a logout
  // (or a demotion) that the master loses with its replica unaware would come back after a failover. When no
  // replica acknowledges in time the change still stands on the master; it is reported through onShortfall.

  async revoke(userId: string, sessionId: string): Promise<boolean> {
    const [removed] = await this.sendDurably(
      this.durable
        .pipeline()
        .sessionRevoke(indexKey(userId), sessionKey(userId, sessionId), sessionId)
        .zrem(ACTIVE_KEY, member(userId, sessionId)),
    );
    return Number(removed) === 1;
  }

  async revokeAll(userId: string, keep = ""): Promise<string[]> {
    const [reply] = await this.sendDurably(
      this.durable.pipeline().sessionRevokeAll(indexKey(userId), sessionPrefix(userId), keep),
    );
    const removed = reply as string[];
    if (removed.length > 0) {
      // The active set is only counted (and trims what expired): no WAIT of its own, as in create().
      await this.guard(() => this.redis.zrem(ACTIVE_KEY, ...removed.map((id) => member(userId, id))));
    }
    return removed;
  }

  async setRoles(userId: string, roles: string[]): Promise<void> {
    await this.sendDurably(
      this.durable.pipeline().sessionSetRoles(indexKey(userId), sessionPrefix(userId), JSON.stringify(roles)),
    );
  }

  /** O(log n): a range count over the expiry-ordered set. */
  countActive(now: number): Promise<number> {
    return this.guard(() => this.redis.zcount(ACTIVE_KEY, `(${now}`, "+inf"));
  }

  private async exec(pipeline: ReturnType<Redis["pipeline"]>): Promise<unknown[]> {
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      this.onError(err);
      throw unavailable("session storage", err);
    }
  }
}

const tag = (userId: string) => `auth:{u:${userId}}`;
const indexKey = (userId: string) => `${tag(userId)}:idx`;
const sessionPrefix = (userId: string) => `${tag(userId)}:s:`;
export const sessionKey = (userId: string, sessionId: string) => `${sessionPrefix(userId)}${sessionId}`;
const member = (userId: string, sessionId: string) => `${userId}:${sessionId}`;

function fromHash(id: string, h: Record<string, string>): StoredSession | null {
  if (!h.uid || !h.sh) return null;
  let roles: string[] = [];
  try {
    const parsed: unknown = JSON.parse(h.ro ?? "[]");
    if (Array.isArray(parsed)) roles = parsed.filter((r): r is string => typeof r === "string");
  } catch {
    roles = [];
  }
  return {
    id,
    userId: h.uid,
    username: h.un ?? "",
    roles,
    secretHash: h.sh,
    createdAt: Number(h.ca),
    expiresAt: Number(h.ea),
    lastSeenAt: Number(h.ls),
    ip: h.ip ?? "",
    userAgent: h.ua ?? "",
  };
}
