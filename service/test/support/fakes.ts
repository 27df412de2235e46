// In-memory fakes of the domain's ports, for tests of HTTP plumbing that need no real store.
import type { AccountDeps } from "../../src/auth/accounts.js";
import type { LoginDeps } from "../../src/auth/login.js";
import type { PasswordHasher, SessionRecord, SessionStore, StoredSession, UserStore } from "../../src/auth/ports.js";
import { SessionService } from "../../src/auth/sessions.js";
import { Readiness } from "../../src/readiness.js";
import { createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";

/** The session store in memory; it passes the same contract suite as the Redis store (session-store-contract.ts). */
export class MemorySessionStore implements SessionStore {
  readonly sessions = new Map<string, StoredSession>();
  failWith: Error | null = null;

  private check() {
    if (this.failWith) throw this.failWith;
  }
  private ofUser(userId: string): StoredSession[] {
    return [...this.sessions.values()].filter((s) => s.userId === userId).sort((a, b) => a.createdAt - b.createdAt);
  }
  /** The idle and absolute deadlines, as the Redis store's TTL and active-count score keep them. */
  private readonly deadlines = new Map<string, number>();

  async create(s: Omit<StoredSession, "lastSeenAt">, maxPerUser: number, idleTimeoutMs: number) {
    this.check();
    const evicted: string[] = [];
    for (const old of this.ofUser(s.userId)) {
      if (this.ofUser(s.userId).length < maxPerUser) break;
      this.sessions.delete(old.id);
      evicted.push(old.id);
    }
    this.sessions.set(s.id, { ...s, lastSeenAt: s.createdAt });
    this.deadlines.set(s.id, Math.min(s.expiresAt, s.createdAt + idleTimeoutMs));
    return { evicted };
  }
  async get(userId: string, id: string) {
    this.check();
    const s = this.sessions.get(id);
    return s && s.userId === userId ? { ...s, roles: [...s.roles] } : null;
  }
  async touch(s: SessionRecord, now: number, idleTimeoutMs: number) {
    this.check();
    const stored = this.sessions.get(s.id);
    if (!stored) return;
    stored.lastSeenAt = now;
    this.deadlines.set(s.id, Math.min(stored.expiresAt, now + idleTimeoutMs));
  }
  async list(userId: string) {
    return this.ofUser(userId).map((s) => ({ ...s }));
  }
  async revoke(userId: string, id: string) {
    return this.sessions.get(id)?.userId === userId && this.sessions.delete(id);
  }
  async revokeAll(userId: string, _reason: string, keep?: string) {
    const ids = this.ofUser(userId).filter((s) => s.id !== keep).map((s) => s.id);
    ids.forEach((id) => this.sessions.delete(id));
    return ids;
  }
  async setRoles(userId: string, roles: string[]) {
    for (const s of this.ofUser(userId)) s.roles = [...roles];
  }
  async countActive(now: number) {
    return [...this.sessions.keys()].filter((id) => (this.deadlines.get(id) ?? 0) > now).length;
  }
}

export function fakeApp(
  store = new MemorySessionStore(),
  readinessChecks: Record<string, () => Promise<void>> = {},
  logger: Logger = createLogger("silent"),
) {
  const config = loadConfig(
    { REDIS_SENTINELS: "127.0.0.1:1", DATABASE_URL: "postgresql://x:y@127.0.0.1:1/z", COOKIE_SECURE: "false" },
    () => "max 100000",
  );
  const sessions = new SessionService(store, config.sessions, { now: Date.now });
  const unused = () => {
    throw new Error("not used in this test");
  };
  const users = { findByUsername: unused, findById: unused, create: unused, setPasswordHash: unused, update: unused } as unknown as UserStore;
  const hasher = { hash: unused, verify: unused, costOf: () => 10, cost: 10 } as unknown as PasswordHasher;
  const login: LoginDeps = {
    users,
    hasher,
    sessions,
    throttle: { check: unused, recordFailure: unused, recordSuccess: unused },
    audit: { record: () => {} },
    dummyHash: "",
  };
  const accounts: AccountDeps = { users, hasher, sessions, passwordMinLength: 8 };
  const readiness = new Readiness(readinessChecks, 0);
  const app = createApp({ config, logger, readiness, sessions, login, accounts });
  return { app, store, readiness, sessions };
}
