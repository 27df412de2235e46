// Log in, validate, log out, list and revoke sessions.
import { Router, type Request, type Response } from "express";
import { login, type LoginDeps } from "../../auth/login.js";
import type { SessionService } from "../../auth/sessions.js";
import type { StoredSession } from "../../auth/ports.js";
import { authenticate, callerOf, optionalCallerOf } from "../authenticate.js";
import { HttpError } from "../errors.js";
import { requests } from "../schemas.js";
import { parseBody } from "../validate.js";

export interface SessionRouteOptions {
  cookieName: string;
  cookieSecure: boolean;
  allowedOrigins: readonly string[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function sessionRoutes(sessions: SessionService, loginDeps: LoginDeps, opts: SessionRouteOptions): Router {
  const router = Router();
  const auth = authenticate(sessions, opts);
  const cookie = {
    httpOnly: true,
    sameSite: "lax" as const,
    path: "/",
    secure: opts.cookieSecure,
  };
  const clearCookie = (res: Response) => res.clearCookie(opts.cookieName, cookie);

  router.post("/v1/sessions", async (req: Request, res: Response) => {
    const input = parseBody(requests.credentials, req);
    const result = await login(loginDeps, input, { ip: req.ip ?? "", userAgent: req.get("user-agent") ?? "" });
    res.cookie(opts.cookieName, result.token, { ...cookie, expires: new Date(result.session.expiresAt) });
    res.status(201).json({
      token: result.token,
      session: { id: result.session.id, createdAt: iso(result.session.createdAt), expiresAt: iso(result.session.expiresAt) },
      user: result.user,
    });
  });

  router.get("/v1/session", auth, (_req, res) => {
    const { session, idleExpiresAt } = callerOf(res);
    res.json({
      user: { id: session.userId, username: session.username, roles: session.roles },
      session: {
        id: session.id,
        createdAt: iso(session.createdAt),
        expiresAt: iso(idleExpiresAt),
        lastSeenAt: iso(session.lastSeenAt),
      },
    });
  });

  // Idempotent: logging out without a (valid) session still answers 204 and clears the cookie.
  router.delete("/v1/session", authenticate(sessions, { ...opts, required: false }), async (_req, res) => {
    const caller = optionalCallerOf(res);
    if (caller) await sessions.revoke(caller.session.userId, caller.session.id, "logout");
    clearCookie(res);
    res.status(204).end();
  });

  router.get("/v1/sessions", auth, async (_req, res) => {
    const { session: current } = callerOf(res);
    const list = await sessions.list(current.userId);
    res.json({ sessions: list.map((s) => describe(s, current.id)) });
  });

  router.delete("/v1/sessions", auth, async (_req, res) => {
    const { session } = callerOf(res);
    await sessions.revokeAll(session.userId, "logout_all");
    clearCookie(res);
    res.status(204).end();
  });

  router.delete("/v1/sessions/:id", auth, async (req, res) => {
    const { session } = callerOf(res);
    const id = String(req.params.id);
    if (!(await sessions.revoke(session.userId, id, id === session.id ? "logout" : "revoked"))) {
      throw new HttpError("session_not_found", "no such session");
    }
    if (id === session.id) clearCookie(res);
    res.status(204).end();
  });

  return router;
}

function describe(s: StoredSession, currentId: string) {
  return {
    id: s.id,
    createdAt: iso(s.createdAt),
    lastSeenAt: iso(s.lastSeenAt),
    expiresAt: iso(s.expiresAt),
    ip: s.ip,
    userAgent: s.userAgent,
    current: s.id === currentId,
  };
}

