// The one table from error code to HTTP status, and the JSON error body every failure uses.
import type { Response } from "express";
import type { AuthErrorCode } from "../auth/errors.js";

export type HttpErrorCode =
  | AuthErrorCode
  | "invalid_request"
  | "invalid_json"
  | "payload_too_large"
  | "not_found"
  | "session_not_found"
  | "csrf_rejected"
  | "too_many_connections"
  | "method_not_allowed"
  | "upgrade_required"
  | "internal";

const STATUS: Record<HttpErrorCode, number> = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_username: 400,
  weak_password: 400,
  password_too_long: 400,
  invalid_credentials: 401,
  invalid_session: 401,
  forbidden: 403,
  csrf_rejected: 403,
  not_found: 404,
  method_not_allowed: 405,
  user_not_found: 404,
  session_not_found: 404,
  username_taken: 409,
  payload_too_large: 413,
  upgrade_required: 426,
  rate_limited: 429,
  too_many_connections: 429,
  internal: 500,
  overloaded: 503,
  unavailable: 503,
};

export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export function statusOf(code: HttpErrorCode): number {
  return STATUS[code];
}

export function sendError(res: Response, code: HttpErrorCode, message: string, retryAfterS?: number): void {
  if (retryAfterS !== undefined) res.setHeader("Retry-After", String(retryAfterS));
  res.status(STATUS[code]).json({ error: code, message });
}
