// Two session layouts side by side, so that an upgrade logs nobody out: sessions are written in one (the current
// layout, or the legacy one while SESSION_STORE_FORMAT is 1, for the first rollout from 0.1.x) and read, touched,
// listed, revoked and re-roled in both, until the other one's last session has ended by itself.
import type { EndReason, NewSession, SessionRecord, SessionStore, StoredSession } from "../../auth/ports.js";

/** A layout another replica may still write to: can it tell cheaply whether it holds any session at all? */
export interface ReadableLayout extends SessionStore {
  holdsAny(): Promise<boolean>;
}

/** How long "the other layout holds sessions" is believed before it is asked again. */
const PRESENCE_TTL_MS = 10_000;

export class MigratingSessionStore implements SessionStore {
  /** Records read from the other layout, so that touching one goes where it lives. */
  private readonly fromOther = new WeakSet<SessionRecord>();
  private otherEmpty = false;
  private otherHeldUntil = 0;

  /**
   * rememberAbsence: once the other layout held no session, stop asking (until a restart; every rollout is one).
   * Right when the other layout is the legacy one: nothing writes it again once every replica writes the current
   * one. While the legacy layout is written (the first rollout), the current one is asked at every login.
   */
  constructor(
    private readonly writer: SessionStore,
    private readonly other: ReadableLayout,
    private readonly rememberAbsence = false,
  ) {}

  /**
   * The other layout's sessions of the user count toward the limit too: at most maxPerUser - 1 of them stay
   * (the oldest are evicted), and the new one is written with what room is left. Asked only while that layout
   * holds any session at all, so a finished migration costs a login nothing (see rememberAbsence).
   */
  async create(s: NewSession, maxPerUser: number, idleTimeoutMs: number): Promise<{ evicted: string[] }> {
    const others = (await this.otherMayHold()) ? await this.other.list(s.userId) : [];
    const evicted: string[] = [];
    for (const o of others.slice(0, Math.max(0, others.length - (maxPerUser - 1)))) {
      if (await this.other.revoke(s.userId, o.id, "evicted")) evicted.push(o.id);
    }
    const room = maxPerUser - (others.length - evicted.length);
    const created = await this.writer.create(s, room, idleTimeoutMs);
    return { evicted: [...evicted, ...created.evicted] };
  }

  /** A miss in the written layout always asks the other: a token another replica just issued there must work. */
  async get(userId: string, sessionId: string): Promise<SessionRecord | null> {
    const found = await this.writer.get(userId, sessionId);
    if (found) return found;
    const other = await this.other.get(userId, sessionId);
    if (other) this.fromOther.add(other);
    return other;
  }

  touch(session: SessionRecord, now: number, idleTimeoutMs: number): Promise<void> {
    return (this.fromOther.has(session) ? this.other : this.writer).touch(session, now, idleTimeoutMs);
  }

  async list(userId: string): Promise<StoredSession[]> {
    const [a, b] = await Promise.all([this.writer.list(userId), this.other.list(userId)]);
    return [...a, ...b].sort((x, y) => x.createdAt - y.createdAt);
  }

  // Ending sessions and changing roles always reach both layouts: a password change must end every session.

  async revoke(userId: string, sessionId: string, reason: EndReason): Promise<boolean> {
    return (await this.writer.revoke(userId, sessionId, reason)) || (await this.other.revoke(userId, sessionId, reason));
  }

  async revokeAll(userId: string, reason: EndReason, keep?: string): Promise<string[]> {
    const [a, b] = await Promise.all([this.writer.revokeAll(userId, reason, keep), this.other.revokeAll(userId, reason, keep)]);
    return [...a, ...b];
  }

  async setRoles(userId: string, roles: string[]): Promise<void> {
    await Promise.all([this.writer.setRoles(userId, roles), this.other.setRoles(userId, roles)]);
  }

  async countActive(now: number): Promise<number> {
    const [a, b] = await Promise.all([this.writer.countActive(now), this.other.countActive(now)]);
    return a + b;
  }

  /**
   * Asked at most every PRESENCE_TTL_MS while the other layout holds sessions, so a login during a migration costs
   * one round trip more (the user's sessions there), not two.
   */
  private async otherMayHold(): Promise<boolean> {
    if (this.otherEmpty) return false;
    if (Date.now() < this.otherHeldUntil) return true;
    if (await this.other.holdsAny()) {
      this.otherHeldUntil = Date.now() + PRESENCE_TTL_MS;
      return true;
    }
    this.otherEmpty = this.rememberAbsence;
    return false;
  }
}
