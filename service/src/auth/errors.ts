// Domain error codes. The HTTP layer maps each code to a status in one table (http/errors.ts), which also has the
// codes only HTTP knows (a malformed request, an unknown route or session id, ...).
export type AuthErrorCode =
  | "invalid_username"
  | "weak_password"
  | "password_too_long"
  | "username_taken"
  | "invalid_credentials"
  | "invalid_session"
  | "forbidden"
  | "user_not_found"
  | "rate_limited"
  | "overloaded"
  | "unavailable";

export class AuthError extends Error {
  readonly code: AuthErrorCode;
  /** Seconds the client should wait before retrying, for rate_limited / overloaded / unavailable. */
  readonly retryAfterS: number | undefined;

  constructor(code: AuthErrorCode, message: string, options: { retryAfterS?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "AuthError";
    this.code = code;
    this.retryAfterS = options.retryAfterS;
  }
}

/** A store (Redis, Postgres) failed. Never reported as "logged out": the caller gets 503, not 401. */
export function unavailable(what: string, cause: unknown): AuthError {
  return new AuthError("unavailable", `${what} is temporarily unavailable`, { retryAfterS: 2, cause });
}
