// Finds the caller's session (Bearer token or cookie) and enforces the Origin check on cookie-authenticated
// writes: a cookie rides along on cross-site requests, a bearer token does not, so only cookies need CSRF defence.
import { parse as parseCookies } from "cookie";
import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { SessionService, ValidSession } from "../auth/sessions.js";
import { HttpError } from "./errors.js";

export interface Caller extends ValidSession {
  via: "bearer" | "cookie";
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function tokenOf(req: Pick<IncomingMessage, "headers">, cookieName: string): { token: string; via: "bearer" | "cookie" } | null {
  const header = req.headers.authorization;
  if (typeof header === "string" && header.startsWith("Bearer ")) {
    return { token: header.slice(7).trim(), via: "bearer" };
  }
  const cookieHeader = req.headers.cookie;
  if (typeof cookieHeader === "string") {
    const token = parseCookies(cookieHeader)[cookieName];
    if (token) return { token, via: "cookie" };
  }
  return null;
}

export function authenticate(
  sessions: SessionService,
  { cookieName, allowedOrigins, required = true }: { cookieName: string; allowedOrigins: readonly string[]; required?: boolean },
): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return async function authenticateRequest(req: Request, res: Response, next: NextFunction) {
    const found = tokenOf(req, cookieName);
    if (found?.via === "cookie" && UNSAFE.has(req.method)) {
      const origin = req.headers.origin;
      if (typeof origin !== "string" || !allowed.has(origin)) {
        throw new HttpError("csrf_rejected", "cookie-authenticated writes need an allowed Origin header");
      }
    }
    const valid = found ? await sessions.validate(found.token) : null;
    if (!valid || !found) {
      if (required) throw new HttpError("invalid_session", "no valid session");
      next();
      return;
    }
    res.locals.caller = { ...valid, via: found.via } satisfies Caller;
    next();
  };
}

export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new HttpError("invalid_session", "no valid session");
  return caller;
}

export function optionalCallerOf(res: Response): Caller | undefined {
  return res.locals.caller as Caller | undefined;
}

export function requireAdmin(_req: Request, res: Response, next: NextFunction): void {
  if (!callerOf(res).session.roles.includes("admin")) throw new HttpError("forbidden", "admin role required");
  next();
}
