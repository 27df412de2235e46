// Registration, password change, and the admin operations on users.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { changePassword, register, updateUser, type AccountDeps } from "../../auth/accounts.js";
import type { SessionService } from "../../auth/sessions.js";
import { authenticate, callerOf, optionalCallerOf, requireAdmin } from "../authenticate.js";
import { HttpError } from "../errors.js";
import { parseBody } from "../validate.js";

export interface UserRouteOptions {
  registration: "open" | "admin";
  cookieName: string;
  allowedOrigins: readonly string[];
}

const role = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "roles are lower-case names of at most 32 characters");
const registration = z.object({
  username: z.string().max(1024),
  password: z.string().max(4096),
  roles: z.array(role).max(16).optional(),
});
const passwordChange = z.object({ currentPassword: z.string().max(4096), newPassword: z.string().max(4096) });
const userPatch = z
  .object({ disabled: z.boolean().optional(), roles: z.array(role).max(16).optional() })
  .strict()
  .refine((p) => p.disabled !== undefined || p.roles !== undefined, "give disabled or roles");

export function userRoutes(sessions: SessionService, accounts: AccountDeps, opts: UserRouteOptions): Router {
  const router = Router();
  const auth = authenticate(sessions, opts);
  const maybeAuth = authenticate(sessions, { ...opts, required: false });

  router.post("/v1/users", maybeAuth, async (req: Request, res: Response) => {
    const input = parseBody(registration, req);
    const isAdmin = optionalCallerOf(res)?.session.roles.includes("admin") ?? false;
    if (opts.registration === "admin" && !isAdmin) {
      if (!optionalCallerOf(res)) throw new HttpError("invalid_session", "registration needs an admin session");
      throw new HttpError("forbidden", "registration needs the admin role");
    }
    // Only an admin chooses roles; open registration always creates a plain user.
    const user = await register(accounts, { ...input, roles: isAdmin ? input.roles : [] });
    res.status(201).json(user);
  });

  router.put("/v1/password", auth, async (req, res) => {
    const input = parseBody(passwordChange, req);
    const { session } = callerOf(res);
    await changePassword(accounts, { userId: session.userId, sessionId: session.id }, input);
    res.status(204).end();
  });

  router.delete("/v1/users/:id/sessions", auth, requireAdmin, async (req, res) => {
    const revoked = await sessions.revokeAll(String(req.params.id), "admin");
    res.json({ revoked });
  });

  router.patch("/v1/users/:id", auth, requireAdmin, async (req: Request, res: Response) => {
    const patch = parseBody(userPatch, req);
    res.json(await updateUser(accounts, String(req.params.id), patch));
  });

  return router;
}
