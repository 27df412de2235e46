// GET /v1/presence (admin): the online count and a page of online users by id. GET /v1/users/:id/presence (an
// admin, or the user): online, live connections, last seen.
import { Router } from "express";
import { onlineUsers, presenceOf, type PresenceDeps } from "../../auth/presence.js";
import type { SessionService } from "../../auth/sessions.js";
import { authenticate, callerOf, requireAdmin } from "../authenticate.js";
import { HttpError } from "../errors.js";
import { requests, userIdParam } from "../schemas.js";
import { parseQuery } from "../validate.js";

export function presenceRoutes(sessions: SessionService, deps: PresenceDeps, opts: { cookieName: string; allowedOrigins: readonly string[] }): Router {
  const router = Router();
  const auth = authenticate(sessions, opts);

  router.get("/v1/presence", auth, requireAdmin, async (req, res) => {
    res.json(await onlineUsers(deps, parseQuery(requests.presencePage, req)));
  });

  router.get("/v1/users/:id/presence", auth, async (req, res) => {
    const { session } = callerOf(res);
    const id = userIdParam.safeParse(req.params.id);
    if (!id.success) throw new HttpError("user_not_found", "no such user");
    const p = await presenceOf(deps, { userId: session.userId, roles: session.roles }, id.data);
    res.json({ ...p, lastSeenAt: p.lastSeenAt === null ? null : new Date(p.lastSeenAt).toISOString() });
  });

  return router;
}
