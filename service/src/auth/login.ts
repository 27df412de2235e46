// Logging in: throttle → find user → verify (dummy hash if none) → issue session; counted and audited around it.
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

export async function login(deps: LoginDeps, input: { username: string; password: string }, ctx: LoginContext): Promise<LoginSuccess> {
  const attempt: Attempt = { username: input.username.normalize("NFKC").toLowerCase().slice(0, 256), userId: null };
  return recorded(deps, attempt, ctx, () => logIn(deps, input, ctx, attempt));
}

/** Who tried: the name as typed (normalized, bounded) and, once known, the user. */
interface Attempt {
  username: string;
  userId: string | null;
}

/** The story of a login; recorded() counts and audits it, whatever its end. */
async function logIn(deps: LoginDeps, input: { username: string; password: string }, ctx: LoginContext, attempt: Attempt): Promise<LoginSuccess> {
  checkPasswordLength(input.password);
  const { throttled, user } = await lookUp(deps, input.username, attempt.username, ctx.ip);
  // Always one full bcrypt compare, even for unknown users and empty passwords (no enumeration by timing).
  const matches = await deps.hasher.verify(input.password, user?.passwordHash ?? deps.dummyHash);
  attempt.userId = user?.id ?? null;
  if (!user || !matches || user.disabled || input.password.length === 0) {
    await deps.throttle.recordFailure(attempt.username, ctx.ip);
    throw invalidCredentials();
  }
  if (throttled.userIpFailures) await deps.throttle.recordSuccess(attempt.username, ctx.ip);
  const issued = await deps.sessions.issue(user, ctx);
  if (deps.hasher.costOf(user.passwordHash) !== deps.hasher.cost) void rehash(deps, user, input.password);
  return { ...issued, user: { id: user.id, username: user.username, roles: user.roles } };
}

/** The throttle check and the user lookup, paced; a malformed name is just an unknown user (same answer, same work). */
async function lookUp(deps: LoginDeps, typed: string, attempted: string, ip: string) {
  let username: string | null;
  try {
    username = normalizeUsername(typed);
  } catch {
    username = null;
  }
  const lookup = async () => {
    const throttled = await deps.throttle.check(attempted, ip);
    return { throttled, user: username === null ? null : await deps.users.findByUsername(username) };
  };
  return deps.lookups ? deps.lookups.run(lookup) : lookup();
}

/** Every attempt, whatever its end, is counted (onResult) and audited once with its result. */
async function recorded<T>(deps: LoginDeps, attempt: Attempt, ctx: LoginContext, run: () => Promise<T>): Promise<T> {
  let result: LoginResult = "error";
  try {
    const out = await run();
    result = "success";
    return out;
  } catch (err) {
    result = resultOf(err);
    throw err;
  } finally {
    deps.onResult?.(result);
    deps.audit.record({ userId: attempt.userId, attemptedUsername: attempt.username, ip: ctx.ip, userAgent: ctx.userAgent || null, result, at: new Date() });
  }
}

function resultOf(err: unknown): LoginResult {
  if (!(err instanceof AuthError)) return "error";
  if (err.code === "rate_limited" || err.code === "overloaded" || err.code === "unavailable") return err.code;
  // A password over bcrypt's 72 bytes can match no account: the same result as a wrong one.
  if (err.code === "invalid_credentials" || err.code === "password_too_long") return "invalid_credentials";
  return "error";
}

/** The cost changed since this hash was made: store a new one, off the response path. */
async function rehash(deps: LoginDeps, user: User, password: string): Promise<void> {
  try {
    await deps.users.setPasswordHash(user.id, await deps.hasher.hash(password), null);
  } catch (err) {
    deps.onBackgroundError?.("rehash", err);
  }
}
