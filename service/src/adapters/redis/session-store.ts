// Sessions in Redis. Per session a hash; per user an index (sorted set by creation time); one cluster-wide
// sorted set by expiry for the active count. Every operation touches one session, or the sessions of one
// user: never a SCAN or KEYS, never a loop over other users. One user's keys share the hash tag {u:<id>}.
// Each change a user's live connections must hear of (an eviction, a revocation, new roles) is announced by
// the script that makes it, with SPUBLISH on the user's channel: atomically, with no extra round trip.
import type { ChainableCommander, Redis } from "ioredis";
import { unavailable } from "../../auth/errors.js";
import type { EndReason, NewSession, SessionRecord, SessionStore, StoredSession } from "../../auth/ports.js";
import { ReplicaAck } from "./replica-ack.js";
import { CREATE, REVOKE, REVOKE_ALL, SET_ROLES, TOUCH } from "./session-scripts.js";

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
          s.id, maxPerUser, s.createdAt, expireAt, s.expiresAt, eventChannel(s.userId), ...fields,
        )
        .zadd(ACTIVE_KEY, expireAt, member(s.userId, s.id))
        .zremrangebyscore(ACTIVE_KEY, "-inf", s.createdAt),
      // Its token is never handed out, so a copy the replica kept is of no use to anyone: drop it from the
      // master without waiting for the replica (a second wait would double the refused login's time).
      async () => {
        await this.exec(
          this.redis
            .pipeline()
            .sessionRevoke(indexKey(s.userId), sessionKey(s.userId, s.id), s.id, eventChannel(s.userId), "", s.createdAt)
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

  /** The fields validation needs, not the whole hash (the user agent alone may be 256 bytes). */
  async get(userId: string, sessionId: string): Promise<SessionRecord | null> {
    const [uid, un, ro, sh, ca, ea, ls] = await this.guard(() => this.redis.hmget(sessionKey(userId, sessionId), ...RECORD_FIELDS));
    if (!uid || !sh) return null;
    return { id: sessionId, userId: uid, username: un ?? "", roles: rolesOf(ro), secretHash: sh, createdAt: Number(ca), expiresAt: Number(ea), lastSeenAt: Number(ls) };
  }

  async touch(s: SessionRecord, now: number, idleTimeoutMs: number): Promise<void> {
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

  async revoke(userId: string, sessionId: string, reason: EndReason): Promise<boolean> {
    const [removed] = await this.sendDurably(
      this.durable
        .pipeline()
        .sessionRevoke(indexKey(userId), sessionKey(userId, sessionId), sessionId, eventChannel(userId), reason, Date.now())
        .zrem(ACTIVE_KEY, member(userId, sessionId)),
    );
    return Number(removed) === 1;
  }

  async revokeAll(userId: string, reason: EndReason, keep = ""): Promise<string[]> {
    const [reply] = await this.sendDurably(
      this.durable.pipeline().sessionRevokeAll(indexKey(userId), sessionPrefix(userId), keep, eventChannel(userId), reason, Date.now()),
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
      this.durable.pipeline().sessionSetRoles(indexKey(userId), sessionPrefix(userId), JSON.stringify(roles), eventChannel(userId), Date.now()),
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
/** The user's event channel: same hash tag as its keys, so sharded pub/sub keeps it on the keys' shard. */
export const eventChannel = (userId: string) => `${tag(userId)}:ev`;

const RECORD_FIELDS = ["uid", "un", "ro", "sh", "ca", "ea", "ls"] as const;

function rolesOf(json: string | null | undefined): string[] {
  try {
    const parsed: unknown = JSON.parse(json ?? "[]");
    return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === "string") : [];
  } catch {
    return [];
  }
}

function fromHash(id: string, h: Record<string, string>): StoredSession | null {
  if (!h.uid || !h.sh) return null;
  return {
    id,
    userId: h.uid,
    username: h.un ?? "",
    roles: rolesOf(h.ro),
    secretHash: h.sh,
    createdAt: Number(h.ca),
    expiresAt: Number(h.ea),
    lastSeenAt: Number(h.ls),
    ip: h.ip ?? "",
    userAgent: h.ua ?? "",
  };
}
