// In-memory fakes of the domain's ports, for tests of HTTP plumbing that need no real store.
import type { AccountDeps } from "../../src/auth/accounts.js";
import type { LoginDeps } from "../../src/auth/login.js";
import type { PasswordHasher, SessionStore, StoredSession, UserStore } from "../../src/auth/ports.js";
import { SessionService } from "../../src/auth/sessions.js";
import { Readiness } from "../../src/readiness.js";
import { createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";

export class MemorySessionStore implements SessionStore {
  readonly sessions = new Map<string, StoredSession>();
  failWith: Error | null = null;

  private check() {
    if (this.failWith) throw this.failWith;
  }
  async create(s: Omit<StoredSession, "lastSeenAt">) {
    this.check();
    this.sessions.set(s.id, { ...s, lastSeenAt: s.createdAt });
    return { evicted: [] };
  }
  async get(_userId: string, id: string) {
    this.check();
    return this.sessions.get(id) ?? null;
  }
  async touch(s: StoredSession, now: number) {
    this.check();
    const stored = this.sessions.get(s.id);
    if (stored) stored.lastSeenAt = now;
  }
  async list(userId: string) {
    return [...this.sessions.values()].filter((s) => s.userId === userId);
  }
  async revoke(_userId: string, id: string) {
    return this.sessions.delete(id);
  }
  async revokeAll(userId: string, _reason: string, keep?: string) {
    const ids = [...this.sessions.values()].filter((s) => s.userId === userId && s.id !== keep).map((s) => s.id);
    ids.forEach((id) => this.sessions.delete(id));
    return ids;
  }
  async setRoles() {}
  async countActive() {
    return this.sessions.size;
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
