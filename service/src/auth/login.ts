// Logging in: throttle → find user → verify (dummy hash if none) → issue session.
import { checkPasswordLength, normalizeUsername } from "./credentials.js";
import { AuthError } from "./errors.js";
import type { Pacer } from "./pacer.js";
import type { AuditLog, LoginResult, LoginThrottle, PasswordHasher, User, UserStore } from "./ports.js";
import type { IssuedSession, SessionService } from "./sessions.js";

export interface LoginContext {
  ip: string;
  userAgent: string;
}

export interface LoginDeps {
  users: UserStore;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  sessions: SessionService;
  audit: AuditLog;
  /** A bcrypt hash at the current cost, verified when the user is unknown so that costs the same. */
  dummyHash: string;
  /** Paces the throttle check and user lookup (see Pacer); absent, they run at once. */
  lookups?: Pacer;
  onResult?: (result: LoginResult) => void;
  onBackgroundError?: (what: string, err: unknown) => void;
}

export interface LoginSuccess extends IssuedSession {
  user: Pick<User, "id" | "username" | "roles">;
}

const invalidCredentials = () => new AuthError("invalid_credentials", "username or password is incorrect");

export async function login(
  deps: LoginDeps,
  input: { username: string; password: string },
  ctx: LoginContext,
): Promise<LoginSuccess> {
  const attempted = input.username.normalize("NFKC").toLowerCase().slice(0, 256);
  let userId: string | null = null;
  let result: LoginResult = "error";
  try {
    checkPasswordLength(input.password);
    let username: string | null;
    try {
      username = normalizeUsername(input.username);
    } catch {
      username = null; // a malformed name is just an unknown user: same answer, same work
    }
    const lookup = async () => {
      const throttled = await deps.throttle.check(attempted, ctx.ip);
      return { throttled, user: username === null ? null : await deps.users.findByUsername(username) };
    };
    const { throttled, user } = await (deps.lookups ? deps.lookups.run(lookup) : lookup());
    // Always one full bcrypt compare, even for unknown users and empty passwords (no enumeration by timing).
    const matches = await deps.hasher.verify(input.password, user?.passwordHash ?? deps.dummyHash);
    if (!user || !matches || user.disabled || input.password.length === 0) {
      await deps.throttle.recordFailure(attempted, ctx.ip);
      userId = user?.id ?? null;
      result = "invalid_credentials";
      throw invalidCredentials();
    }
    userId = user.id;
    if (throttled.userIpFailures) await deps.throttle.recordSuccess(attempted, ctx.ip);
    const issued = await deps.sessions.issue(user, ctx);
    result = "success";
    if (deps.hasher.costOf(user.passwordHash) !== deps.hasher.cost) {
      void rehash(deps, user, input.password);
    }
    return { ...issued, user: { id: user.id, username: user.username, roles: user.roles } };
  } catch (err) {
    if (err instanceof AuthError) {
      if (err.code === "rate_limited" || err.code === "overloaded" || err.code === "unavailable") result = err.code;
      else if (err.code === "invalid_credentials") result = "invalid_credentials";
      else if (err.code === "password_too_long") result = "invalid_credentials";
    }
    throw err;
  } finally {
    deps.onResult?.(result);
    deps.audit.record({ userId, attemptedUsername: attempted, ip: ctx.ip, userAgent: ctx.userAgent || null, result, at: new Date() });
  }
}

/** The cost changed since this hash was made: store a new one, off the response path. */
async function rehash(deps: LoginDeps, user: User, password: string): Promise<void> {
  try {
    await deps.users.setPasswordHash(user.id, await deps.hasher.hash(password), null);
  } catch (err) {
    deps.onBackgroundError?.("rehash", err);
  }
}
