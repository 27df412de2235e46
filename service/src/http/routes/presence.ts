// GET /v1/presence (admin): the online count and a page of online users by id. GET /v1/users/:id/presence (an
// admin, or the user): online, live connections, last seen.
import { Router } from "express";
import { z } from "zod";
import { onlineUsers, presenceOf, type PresenceDeps } from "../../auth/presence.js";
import type { SessionService } from "../../auth/sessions.js";
import { authenticate, callerOf, requireAdmin } from "../authenticate.js";
import { parseQuery } from "../validate.js";

const page = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().max(64).optional(),
});

export function presenceRoutes(sessions: SessionService, deps: PresenceDeps, opts: { cookieName: string; allowedOrigins: readonly string[] }): Router {
  const router = Router();
  const auth = authenticate(sessions, opts);

  router.get("/v1/presence", auth, requireAdmin, async (req, res) => {
    res.json(await onlineUsers(deps, parseQuery(page, req)));
  });

  router.get("/v1/users/:id/presence", auth, async (req, res) => {
    const { session } = callerOf(res);
    const p = await presenceOf(deps, { userId: session.userId, roles: session.roles }, String(req.params.id));
    res.json({ ...p, lastSeenAt: p.lastSeenAt === null ? null : new Date(p.lastSeenAt).toISOString() });
  });

  return router;
}
