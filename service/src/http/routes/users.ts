// Registration, password change, and the admin operations on users.
import { Router, type Request, type Response } from "express";
import { changePassword, registerBy, updateUser, type AccountDeps } from "../../auth/accounts.js";
import type { SessionService } from "../../auth/sessions.js";
import { authenticate, callerOf, optionalCallerOf, requireAdmin } from "../authenticate.js";
import { HttpError } from "../errors.js";
import { requests, userIdParam } from "../schemas.js";
import { parseBody } from "../validate.js";

export interface UserRouteOptions {
  registration: "open" | "admin";
  cookieName: string;
  allowedOrigins: readonly string[];
}

export function userRoutes(sessions: SessionService, accounts: AccountDeps, opts: UserRouteOptions): Router {
  const router = Router();
  const auth = authenticate(sessions, opts);
  const maybeAuth = authenticate(sessions, { ...opts, required: false });

  router.post("/v1/users", maybeAuth, async (req: Request, res: Response) => {
    const input = parseBody(requests.registration, req);
    const user = await registerBy(accounts, input, optionalCallerOf(res)?.session ?? null, opts.registration);
    res.status(201).json(user);
  });

  router.put("/v1/password", auth, async (req, res) => {
    const input = parseBody(requests.passwordChange, req);
    const { session } = callerOf(res);
    await changePassword(accounts, { userId: session.userId, sessionId: session.id }, input);
    res.status(204).end();
  });

  router.delete("/v1/users/:id/sessions", auth, requireAdmin, async (req, res) => {
    const id = userIdParam.safeParse(req.params.id);
    if (!id.success) throw new HttpError("user_not_found", "no such user");
    const revoked = await sessions.revokeAll(id.data, "admin");
    res.json({ revoked });
  });

  router.patch("/v1/users/:id", auth, requireAdmin, async (req: Request, res: Response) => {
    const patch = parseBody(requests.userPatch, req);
    res.json(await updateUser(accounts, String(req.params.id), patch));
  });

  return router;
}
