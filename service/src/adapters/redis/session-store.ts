// Sessions in Redis: one hash per user holding all its sessions (layout in session-scripts.ts), and the active
// count kept as counters per expiry bucket instead of a member per session. Every operation touches one user's
// hash, or the counters: never a SCAN or KEYS, never a loop over other users. The user's hash shares its hash tag
// {u:<id>} with the user's event channel, so the script that changes a session announces it.
// What each byte buys is in docs/performance.md; the layout before this one is legacy-session-store.ts.
import type { Redis } from "ioredis";
import type { EndReason, NewSession, SessionRecord, StoredSession } from "../../auth/ports.js";
import type { ReadableLayout } from "./migrating-session-store.js";
import { COUNT_ADD, COUNT_READ, CREATE, REVOKE, REVOKE_ALL, SET_ROLES, TOUCH } from "./session-scripts.js";
import { eventChannel, rolesOf, StoreIo, userTag, type DurabilityPolicy, type Scripts } from "./store-io.js";

export type { DurabilityPolicy } from "./store-io.js";

/** The active count's resolution: a session is counted until the end of the minute its idle expiry falls in. */
export const COUNT_BUCKET_MS = 60_000;
const COUNTS = "auth:{active}:n";
const ENDS = "auth:{active}:end";

const SCRIPTS: Scripts = {
  sessionCreate: { keys: 1, lua: CREATE },
  sessionTouch: { keys: 1, lua: TOUCH },
  sessionRevoke: { keys: 1, lua: REVOKE },
  sessionRevokeAll: { keys: 1, lua: REVOKE_ALL },
  sessionSetRoles: { keys: 1, lua: SET_ROLES },
  sessionCountAdd: { keys: 2, lua: COUNT_ADD },
  sessionCountRead: { keys: 2, lua: COUNT_READ },
};

export class RedisSessionStore implements ReadableLayout {
  private readonly io: StoreIo;

  constructor(redis: Redis, durability: DurabilityPolicy, onError: (err: unknown) => void = () => {}, durable: Redis = redis) {
    this.io = new StoreIo(redis, durable, durability, onError, SCRIPTS);
  }

  async create(s: NewSession, maxPerUser: number, idleTimeoutMs: number): Promise<{ evicted: string[] }> {
    const x = Math.min(s.expiresAt, s.createdAt + idleTimeoutMs);
    const value = pack({ x, lastSeenAt: s.createdAt, createdAt: s.createdAt, expiresAt: s.expiresAt, secretHash: s.secretHash, ip: s.ip, userAgent: s.userAgent });
    const key = userKey(s.userId);
    // The session script, the count and (usually) the WAIT go out as one pipeline: one round trip.
    const [reply] = await this.io.sendDurably(
      this.io.durable
        .pipeline()
        .sessionCreate(key, s.createdAt, s.id, maxPerUser, value, x, s.username, JSON.stringify(s.roles), eventChannel(s.userId))
        .sessionCountAdd(COUNTS, ENDS, bucket(x), 1),
      // Its token is never handed out, so a copy the replica kept is of no use to anyone: drop it from the
      // master without waiting for the replica (a second wait would double the refused login's time).
      async () => {
        await this.io
          .exec(this.io.redis.pipeline().sessionRevoke(key, s.id, eventChannel(s.userId), "", s.createdAt).sessionCountAdd(COUNTS, ENDS, bucket(x), -1))
          .catch(this.io.onError);
      },
    );
    const [evicted, expiries] = reply as [string[], string[]];
    // The count is only read, and every error in it ages out with its bucket: not worth a WAIT of its own.
    if (evicted.length > 0) void this.uncount(expiries);
    return { evicted };
  }

  async get(userId: string, sessionId: string): Promise<SessionRecord | null> {
    const [un, ro, value] = await this.io.guard(() => this.io.redis.hmget(userKey(userId), "un", "ro", sessionId));
    const s = value ? unpack(value) : null;
    if (!s || s.x <= Date.now()) return null;
    return { id: sessionId, userId, username: un ?? "", roles: rolesOf(ro), secretHash: s.secretHash, createdAt: s.createdAt, expiresAt: s.expiresAt, lastSeenAt: s.lastSeenAt };
  }

  async touch(s: SessionRecord, now: number, idleTimeoutMs: number): Promise<void> {
    const before = Math.min(s.expiresAt, s.lastSeenAt + idleTimeoutMs);
    const x = Math.min(s.expiresAt, now + idleTimeoutMs);
    const move = bucket(before) === bucket(x) ? [] : [bucket(before), -1, bucket(x), 1];
    const pipeline = this.io.redis.pipeline().sessionTouch(userKey(s.userId), s.id, now.toString(36), x.toString(36), x, now);
    if (move.length > 0) pipeline.sessionCountAdd(COUNTS, ENDS, ...move);
    const [touched] = await this.io.guard(() => this.io.exec(pipeline));
    // Gone meanwhile (revoked, which uncounted it): move the count back.
    if (touched === null && move.length > 0) void this.count([bucket(x), -1, bucket(before), 1]);
  }

  async list(userId: string): Promise<StoredSession[]> {
    const hash = await this.io.guard(() => this.io.redis.hgetall(userKey(userId)));
    const now = Date.now();
    const sessions: StoredSession[] = [];
    for (const [id, value] of Object.entries(hash)) {
      if (id === "un" || id === "ro") continue;
      const s = unpack(value);
      if (!s || s.x <= now) continue;
      sessions.push({ id, userId, username: hash.un ?? "", roles: rolesOf(hash.ro), secretHash: s.secretHash, createdAt: s.createdAt, expiresAt: s.expiresAt, lastSeenAt: s.lastSeenAt, ip: s.ip, userAgent: s.userAgent });
    }
    return sessions.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  // Revocations and role changes are replicated before they are reported done, like a new session: a logout
  // (or a demotion) that the master loses with its replica unaware would come back after a failover. When no
  // replica acknowledges in time the change still stands on the master; it is reported through onShortfall.

  async revoke(userId: string, sessionId: string, reason: EndReason): Promise<boolean> {
    const [expiry] = await this.io.sendDurably(
      this.io.durable.pipeline().sessionRevoke(userKey(userId), sessionId, eventChannel(userId), reason, Date.now()),
    );
    if (typeof expiry !== "string") return false;
    await this.uncount([expiry]);
    return true;
  }

  async revokeAll(userId: string, reason: EndReason, keep = ""): Promise<string[]> {
    const [reply] = await this.io.sendDurably(
      this.io.durable.pipeline().sessionRevokeAll(userKey(userId), keep, eventChannel(userId), reason, Date.now()),
    );
    const [removed, expiries] = reply as [string[], string[]];
    if (removed.length > 0) await this.uncount(expiries);
    return removed;
  }

  async setRoles(userId: string, roles: string[]): Promise<void> {
    await this.io.sendDurably(this.io.durable.pipeline().sessionSetRoles(userKey(userId), JSON.stringify(roles), eventChannel(userId), Date.now()));
  }

  /** Work bounded by the buckets that ended since the last read (and those up to `now` when it is ahead of Redis). */
  countActive(now: number): Promise<number> {
    return this.io.guard(() => this.io.redis.sessionCountRead(COUNTS, ENDS, now));
  }

  holdsAny(): Promise<boolean> {
    return this.countActive(Date.now()).then((n) => n > 0);
  }

  /** Takes sessions that ended early (revoked, evicted) out of the count, by their idle expiries in base 36. */
  private uncount(expiries: string[]): Promise<void> {
    return this.count(expiries.flatMap((x) => [bucket(parseInt(x, 36)), -1]));
  }

  private async count(bucketDeltas: number[]): Promise<void> {
    await this.io.redis.sessionCountAdd(COUNTS, ENDS, ...bucketDeltas).catch(this.io.onError);
  }
}

/** The key holding all of a user's sessions. */
export const userKey = (userId: string) => userTag(userId);

const bucket = (idleExpiry: number) => Math.ceil(idleExpiry / COUNT_BUCKET_MS) * COUNT_BUCKET_MS;

interface Packed {
  x: number;
  lastSeenAt: number;
  createdAt: number;
  expiresAt: number;
  secretHash: string;
  ip: string;
  userAgent: string;
}

/** One session's field value: times in base 36 and the SHA-256 in base64url (13 + 21 bytes less than decimal and hex). */
export function pack(s: Packed): string {
  const hash = Buffer.from(s.secretHash, "hex").toString("base64url");
  return [s.x, s.lastSeenAt, s.createdAt, s.expiresAt].map((t) => t.toString(36)).concat(hash, s.ip, s.userAgent).join("|");
}

export function unpack(value: string): Packed | null {
  const parts = value.split("|");
  if (parts.length < 7) return null;
  const [x, ls, ca, ea, hash, ip] = parts as [string, string, string, string, string, string];
  return {
    x: parseInt(x, 36),
    lastSeenAt: parseInt(ls, 36),
    createdAt: parseInt(ca, 36),
    expiresAt: parseInt(ea, 36),
    secretHash: Buffer.from(hash, "base64url").toString("hex"),
    ip,
    userAgent: parts.slice(6).join("|"),
  };
}
