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

export interface SessionStore {
  /** Stores the session and evicts the user's oldest ones beyond maxPerUser, atomically. Returns evicted ids. */
  create(session: NewSession, maxPerUser: number, idleTimeoutMs: number): Promise<{ evicted: string[] }>;
  get(userId: string, sessionId: string): Promise<StoredSession | null>;
  /** Records activity: slides the idle expiry (never past expiresAt). */
  touch(session: StoredSession, now: number, idleTimeoutMs: number): Promise<void>;
  list(userId: string): Promise<StoredSession[]>;
  revoke(userId: string, sessionId: string): Promise<boolean>;
  /** Revokes every session of the user except `keep`; returns the revoked ids. */
  revokeAll(userId: string, keep?: string): Promise<string[]>;
  /** Rewrites the user's roles in each of its sessions. */
  setRoles(userId: string, roles: string[]): Promise<void>;
  countActive(now: number): Promise<number>;
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

export type RevocationReason = "logout" | "logout_all" | "evicted_by_policy" | "password_change" | "admin" | "disabled";

export interface Clock {
  now(): number;
}
