// What the domain needs from the outside world. Adapters implement these; tests may fake them.

export interface User {
  id: string;
  username: string;
  passwordHash: string;
  roles: string[];
  disabled: boolean;
  passwordChangedAt: Date;
  createdAt: Date;
}

export interface UserStore {
  findByUsername(username: string): Promise<User | null>;
  findById(id: string): Promise<User | null>;
  /** Throws AuthError("username_taken") when the username exists. */
  create(input: { username: string; passwordHash: string; roles: string[] }): Promise<User>;
  setPasswordHash(id: string, passwordHash: string, changedAt: Date | null): Promise<void>;
  update(id: string, patch: { disabled?: boolean; roles?: string[] }): Promise<User | null>;
}

export interface StoredSession {
  id: string;
  userId: string;
  username: string;
  roles: string[];
  secretHash: string;
  createdAt: number;
  /** Absolute end of life (ms since epoch); the idle timeout may end it sooner. */
  expiresAt: number;
  lastSeenAt: number;
  ip: string;
  userAgent: string;
}

export type NewSession = Omit<StoredSession, "lastSeenAt">;

/** What validating a session reads: all of it but where it was created from (that is for listing). */
export type SessionRecord = Omit<StoredSession, "ip" | "userAgent">;

/** Why a session ended, as its live connections are told (`session.ended`). */
export const END_REASONS = ["logout", "logout_all", "revoked", "evicted", "password_changed", "disabled", "expired"] as const;
export type EndReason = (typeof END_REASONS)[number];

/**
 * What the store announces to every replica holding a connection of the user, in the same atomic step as the
 * change itself (so no change goes unannounced and no announcement precedes its change). `at` is the time of
 * the change in ms, for delivery-latency measurement.
 */
export type SessionEvent =
  | { type: "ended"; userId: string; sessionIds: string[]; reason: EndReason; at: number }
  | { type: "updated"; userId: string; roles: string[]; at: number };

export interface SessionStore {
  /**
   * Stores the session and evicts the user's oldest ones beyond maxPerUser, atomically (announcing them as
   * "evicted"). Returns evicted ids.
   */
  create(session: NewSession, maxPerUser: number, idleTimeoutMs: number): Promise<{ evicted: string[] }>;
  get(userId: string, sessionId: string): Promise<SessionRecord | null>;
  /** Records activity: slides the idle expiry (never past expiresAt). */
  touch(session: SessionRecord, now: number, idleTimeoutMs: number): Promise<void>;
  list(userId: string): Promise<StoredSession[]>;
  /** Removes the session and announces it ended with `reason`; false when it did not exist. */
  revoke(userId: string, sessionId: string, reason: EndReason): Promise<boolean>;
  /** Revokes every session of the user except `keep` and announces them; returns the revoked ids. */
  revokeAll(userId: string, reason: EndReason, keep?: string): Promise<string[]>;
  /** Rewrites the user's roles in each of its sessions and announces the change. */
  setRoles(userId: string, roles: string[]): Promise<void>;
  countActive(now: number): Promise<number>;
}

/** Receives the announcements of SessionStore for the users this replica holds connections of. */
export interface SessionEventSource {
  /**
   * Starts delivering the user's events to `handler`, resolving once no later event can be missed; the returned
   * function stops it. Rejects with AuthError("unavailable") when the event source is down.
   */
  subscribe(userId: string, handler: (event: SessionEvent) => void): Promise<() => void>;
}

/** Where a user's live connections are counted, cluster-wide. Entries expire unless refreshed. */
export interface PresenceStore {
  /** Registers a connection unless the user already has `max` live ones; false when refused. */
  register(conn: PresenceConnection, max: number, now: number, ttlMs: number): Promise<boolean>;
  /** Extends the given live connections, grouped by user (one round trip for many users). */
  refresh(users: { userId: string; username: string; connIds: string[] }[], now: number, ttlMs: number): Promise<void>;
  unregister(conn: PresenceConnection, now: number): Promise<void>;
  /** Takes out users whose connections all expired without being closed (their replica was killed). */
  sweep(now: number): Promise<number>;
  onlineCount(now: number): Promise<number>;
  /** A page of online users by id, after `after` (exclusive). */
  onlinePage(now: number, limit: number, after?: string): Promise<{ users: OnlineUser[]; next: string | null }>;
  ofUser(userId: string, now: number): Promise<{ connections: number; lastSeenAt: number | null }>;
}

export interface PresenceConnection {
  userId: string;
  username: string;
  connId: string;
}

export interface OnlineUser {
  id: string;
  username: string;
  connections: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
  /** The cost factor a stored hash was made with (NaN when unreadable). */
  costOf(hash: string): number;
  readonly cost: number;
}

export interface LoginThrottle {
  /**
   * Throws AuthError("rate_limited") when any limit is already reached; else tells whether a username+IP failure
   * count exists, the one a success resets (so a login without earlier failures skips the reset).
   */
  check(username: string, ip: string): Promise<{ userIpFailures: boolean }>;
  recordFailure(username: string, ip: string): Promise<void>;
  recordSuccess(username: string, ip: string): Promise<void>;
}

export type LoginResult = "success" | "invalid_credentials" | "rate_limited" | "overloaded" | "unavailable" | "error";

export interface LoginEventInput {
  userId: string | null;
  attemptedUsername: string;
  ip: string;
  userAgent: string | null;
  result: LoginResult;
  at: Date;
}

export interface AuditLog {
  /** Never throws and never waits: events are written in batches off the request path. */
  record(event: LoginEventInput): void;
}

export interface RevocationListener {
  (reason: RevocationReason, count: number): void;
}

/** Why sessions ended, as metrics count them. */
export type RevocationReason = "logout" | "logout_all" | "revoked" | "evicted_by_policy" | "password_change" | "admin" | "disabled";

export interface Clock {
  now(): number;
}
