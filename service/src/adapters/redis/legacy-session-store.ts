// The first session layout (0.1.x), kept so that a rolling upgrade loses no session: MigratingSessionStore reads
// it next to the current one (session-store.ts), and writes it while SESSION_STORE_FORMAT is 1. Per session a hash;
// per user an index (sorted set by creation time); one cluster-wide sorted set by expiry for the active count. Every operation touches one session, or the sessions of one
// user: never a SCAN or KEYS, never a loop over other users. One user's keys share the hash tag {u:<id>}.
// Each change a user's live connections must hear of (an eviction, a revocation, new roles) is announced by
// the script that makes it, with SPUBLISH on the user's channel: atomically, with no extra round trip.
import type { Redis } from "ioredis";
import type { EndReason, NewSession, SessionRecord, StoredSession } from "../../auth/ports.js";
import type { ReadableLayout } from "./migrating-session-store.js";
import { CREATE, REVOKE, REVOKE_ALL, SET_ROLES, TOUCH } from "./legacy-session-scripts.js";
import { eventChannel, rolesOf, StoreIo, userTag, type DurabilityPolicy, type Scripts } from "./store-io.js";

const ACTIVE_KEY = "auth:active";

const SCRIPTS: Scripts = {
  legacySessionCreate: { keys: 2, lua: CREATE },
  legacySessionTouch: { keys: 1, lua: TOUCH },
  legacySessionRevoke: { keys: 2, lua: REVOKE },
  legacySessionRevokeAll: { keys: 1, lua: REVOKE_ALL },
  legacySessionSetRoles: { keys: 1, lua: SET_ROLES },
};

export class LegacySessionStore implements ReadableLayout {
  private readonly io: StoreIo;

  constructor(redis: Redis, durability: DurabilityPolicy, onError: (err: unknown) => void = () => {}, durable: Redis = redis) {
    this.io = new StoreIo(redis, durable, durability, onError, SCRIPTS);
  }

  async create(s: NewSession, maxPerUser: number, idleTimeoutMs: number): Promise<{ evicted: string[] }> {
    const expireAt = Math.min(s.expiresAt, s.createdAt + idleTimeoutMs);
    const fields = [
      "uid", s.userId, "un", s.username, "ro", JSON.stringify(s.roles), "sh", s.secretHash,
      "ca", s.createdAt, "ea", s.expiresAt, "ls", s.createdAt, "ip", s.ip, "ua", s.userAgent,
    ];
    // The session script, the active-set update and (usually) the WAIT go out as one pipeline: one round trip.
    const [evictedReply] = await this.io.sendDurably(
      this.io.durable
        .pipeline()
        .legacySessionCreate(
          indexKey(s.userId), legacySessionKey(s.userId, s.id), sessionPrefix(s.userId),
          s.id, maxPerUser, s.createdAt, expireAt, s.expiresAt, eventChannel(s.userId), ...fields,
        )
        .zadd(ACTIVE_KEY, expireAt, member(s.userId, s.id))
        .zremrangebyscore(ACTIVE_KEY, "-inf", s.createdAt),
      // Its token is never handed out, so a copy the replica kept is of no use to anyone: drop it from the
      // master without waiting for the replica (a second wait would double the refused login's time).
      async () => {
        await this.io.exec(
          this.io.redis
            .pipeline()
            .legacySessionRevoke(indexKey(s.userId), legacySessionKey(s.userId, s.id), s.id, eventChannel(s.userId), "", s.createdAt)
            .zrem(ACTIVE_KEY, member(s.userId, s.id)),
        ).catch(this.io.onError);
      },
    );
    const evicted = evictedReply as string[];
    if (evicted.length > 0) {
      // Only the count reads these members, and an expired one is trimmed anyway: not worth a WAIT of its own.
      void this.io.redis.zrem(ACTIVE_KEY, ...evicted.map((id) => member(s.userId, id))).catch(this.io.onError);
    }
    return { evicted };
  }

  /** The fields validation needs, not the whole hash (the user agent alone may be 256 bytes). */
  async get(userId: string, sessionId: string): Promise<SessionRecord | null> {
    const [uid, un, ro, sh, ca, ea, ls] = await this.io.guard(() => this.io.redis.hmget(legacySessionKey(userId, sessionId), ...RECORD_FIELDS));
    if (!uid || !sh) return null;
    return { id: sessionId, userId: uid, username: un ?? "", roles: rolesOf(ro), secretHash: sh, createdAt: Number(ca), expiresAt: Number(ea), lastSeenAt: Number(ls) };
  }

  async touch(s: SessionRecord, now: number, idleTimeoutMs: number): Promise<void> {
    const expireAt = Math.min(s.expiresAt, now + idleTimeoutMs);
    await this.io.guard(() =>
      this.io.exec(
        this.io.redis
          .pipeline()
          .legacySessionTouch(legacySessionKey(s.userId, s.id), now, expireAt)
          .zadd(ACTIVE_KEY, "XX", expireAt, member(s.userId, s.id)),
      ),
    );
  }

  async list(userId: string): Promise<StoredSession[]> {
    const ids = await this.io.guard(() => this.io.redis.zrange(indexKey(userId), 0, -1));
    if (ids.length === 0) return [];
    const pipeline = this.io.redis.pipeline();
    for (const id of ids) pipeline.hgetall(legacySessionKey(userId, id));
    const hashes = await this.io.guard(() => this.io.exec(pipeline));
    return ids.flatMap((id, i) => {
      const s = fromHash(id, hashes[i] as Record<string, string>);
      return s ? [s] : [];
    });
  }

  // Revocations and role changes are replicated before they are reported done, like a new session: a logout
  // (or a demotion) that the master loses with its replica unaware would come back after a failover. When no
  // replica acknowledges in time the change still stands on the master; it is reported through onShortfall.

  async revoke(userId: string, sessionId: string, reason: EndReason): Promise<boolean> {
    const [removed] = await this.io.sendDurably(
      this.io.durable
        .pipeline()
        .legacySessionRevoke(indexKey(userId), legacySessionKey(userId, sessionId), sessionId, eventChannel(userId), reason, Date.now())
        .zrem(ACTIVE_KEY, member(userId, sessionId)),
    );
    return Number(removed) === 1;
  }

  async revokeAll(userId: string, reason: EndReason, keep = ""): Promise<string[]> {
    const [reply] = await this.io.sendDurably(
      this.io.durable.pipeline().legacySessionRevokeAll(indexKey(userId), sessionPrefix(userId), keep, eventChannel(userId), reason, Date.now()),
    );
    const removed = reply as string[];
    if (removed.length > 0) {
      // The active set is only counted (and trims what expired): no WAIT of its own, as in create().
      await this.io.guard(() => this.io.redis.zrem(ACTIVE_KEY, ...removed.map((id) => member(userId, id))));
    }
    return removed;
  }

  async setRoles(userId: string, roles: string[]): Promise<void> {
    await this.io.sendDurably(
      this.io.durable.pipeline().legacySessionSetRoles(indexKey(userId), sessionPrefix(userId), JSON.stringify(roles), eventChannel(userId), Date.now()),
    );
  }

  /** Whether any session is left, expired members trimmed first (they are trimmed by each login too). */
  async holdsAny(): Promise<boolean> {
    const [, n] = await this.io.guard(() => this.io.exec(this.io.redis.pipeline().zremrangebyscore(ACTIVE_KEY, "-inf", Date.now()).zcard(ACTIVE_KEY)));
    return Number(n) > 0;
  }

  /** O(log n): a range count over the expiry-ordered set. */
  countActive(now: number): Promise<number> {
    return this.io.guard(() => this.io.redis.zcount(ACTIVE_KEY, `(${now}`, "+inf"));
  }
}

const indexKey = (userId: string) => `${userTag(userId)}:idx`;
const sessionPrefix = (userId: string) => `${userTag(userId)}:s:`;
export const legacySessionKey = (userId: string, sessionId: string) => `${sessionPrefix(userId)}${sessionId}`;
const member = (userId: string, sessionId: string) => `${userId}:${sessionId}`;

const RECORD_FIELDS = ["uid", "un", "ro", "sh", "ca", "ea", "ls"] as const;

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
