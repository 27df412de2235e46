// Issuing and checking sessions. A store failure propagates as "unavailable" and is never read as
// "no session": express-session's habit of logging everyone out when Redis blinked is what this avoids.
import type { Clock, EndReason, RevocationListener, RevocationReason, SessionRecord, SessionStore, StoredSession, User } from "./ports.js";
import { formatToken, hashSecret, newSecret, newSessionId, parseToken, secretMatches } from "./tokens.js";

export interface SessionPolicy {
  maxPerUser: number;
  idleTimeoutS: number;
  absoluteLifetimeS: number;
  refreshIntervalS: number;
}

/** What a session's live connections are told, for each reason a session is ended on purpose. */
const END_REASON: Record<RevocationReason, EndReason> = {
  logout: "logout",
  logout_all: "logout_all",
  revoked: "revoked",
  evicted_by_policy: "evicted",
  password_change: "password_changed",
  admin: "revoked",
  disabled: "disabled",
};

export interface IssuedSession {
  token: string;
  session: StoredSession;
}

export interface ValidSession {
  session: SessionRecord;
  /** Idle expiry in ms: the earlier of lastSeen + idle timeout and the absolute end of life. */
  idleExpiresAt: number;
}

export class SessionService {
  constructor(
    private readonly store: SessionStore,
    private readonly policy: SessionPolicy,
    private readonly clock: Clock,
    private readonly onRevoked: RevocationListener = () => {},
    private readonly onValidated: (result: "valid" | "invalid" | "unavailable") => void = () => {},
  ) {}

  async issue(user: Pick<User, "id" | "username" | "roles">, ctx: { ip: string; userAgent: string }): Promise<IssuedSession> {
    const now = this.clock.now();
    const sessionId = newSessionId();
    const secret = newSecret();
    const session: StoredSession = {
      id: sessionId,
      userId: user.id,
      username: user.username,
      roles: user.roles,
      secretHash: hashSecret(secret),
      createdAt: now,
      expiresAt: now + this.policy.absoluteLifetimeS * 1000,
      lastSeenAt: now,
      ip: ctx.ip,
      userAgent: ctx.userAgent.slice(0, 256),
    };
    const { evicted } = await this.store.create(session, this.policy.maxPerUser, this.idleMs);
    if (evicted.length > 0) this.onRevoked("evicted_by_policy", evicted.length);
    return { token: formatToken({ userId: user.id, sessionId, secret }), session };
  }

  /** The session a token names, or null when the token is malformed, unknown, revoked or expired. */
  async validate(token: string): Promise<ValidSession | null> {
    try {
      const valid = await this.check(token);
      this.onValidated(valid ? "valid" : "invalid");
      return valid;
    } catch (err) {
      this.onValidated("unavailable");
      throw err;
    }
  }

  /**
   * Validates a token a live connection holds (on its heartbeat, at its expiry): like validate, and it slides the
   * idle expiry the same way, but it is not a request's validation, so it is not counted as one.
   */
  revalidate(token: string): Promise<ValidSession | null> {
    return this.check(token);
  }

  private async check(token: string): Promise<ValidSession | null> {
    const parsed = parseToken(token);
    if (!parsed) return null;
    const session = await this.store.get(parsed.userId, parsed.sessionId);
    if (!session || !secretMatches(parsed.secret, session.secretHash)) return null;
    const now = this.clock.now();
    if (now >= this.idleExpiry(session)) return null;
    // Sliding refresh at most once per interval, so validation is normally a single read.
    if (now - session.lastSeenAt >= this.policy.refreshIntervalS * 1000) {
      await this.store.touch(session, now, this.idleMs);
      session.lastSeenAt = now;
    }
    return { session, idleExpiresAt: this.idleExpiry(session) };
  }

  list(userId: string): Promise<StoredSession[]> {
    return this.store.list(userId);
  }

  /** "logout": the caller's own session; "revoked": another of the caller's sessions; "admin": by an admin. */
  async revoke(userId: string, sessionId: string, reason: "logout" | "revoked" | "admin"): Promise<boolean> {
    const removed = await this.store.revoke(userId, sessionId, END_REASON[reason]);
    if (removed) this.onRevoked(reason, 1);
    return removed;
  }

  async revokeAll(
    userId: string,
    reason: "logout_all" | "password_change" | "admin" | "disabled",
    keep?: string,
  ): Promise<number> {
    const removed = await this.store.revokeAll(userId, END_REASON[reason], keep);
    if (removed.length > 0) this.onRevoked(reason, removed.length);
    return removed.length;
  }

  setRoles(userId: string, roles: string[]): Promise<void> {
    return this.store.setRoles(userId, roles);
  }

  countActive(): Promise<number> {
    return this.store.countActive(this.clock.now());
  }

  private get idleMs(): number {
    return this.policy.idleTimeoutS * 1000;
  }

  private idleExpiry(s: SessionRecord): number {
    return Math.min(s.expiresAt, s.lastSeenAt + this.idleMs);
  }
}
