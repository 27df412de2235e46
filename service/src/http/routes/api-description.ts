// GET /v1/openapi.json: the API's OpenAPI description, built once for this replica's settings (the cookie name,
// the password minimum); public and cacheable, with an ETag (304 to a matching If-None-Match). Every other method
// on a documented path is answered 405 with an Allow header (OPTIONS: 204 with it), from the same operations table.
import { createHash } from "node:crypto";
import { Router, type NextFunction, type Request, type Response } from "express";
import type { Config } from "../../config.js";
import { sendError } from "../errors.js";
import { buildOpenApi, operations } from "../openapi.js";

export function apiDescriptionRoutes(config: Pick<Config, "http" | "auth">): Router {
  const router = Router();
  const body = JSON.stringify(buildOpenApi(config));
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
  router.get("/v1/openapi.json", (req, res) => {
    res.setHeader("Cache-Control", "public, max-age=300");
    res.setHeader("ETag", etag);
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.type("application/json").send(body);
  });
  return router;
}

/** 405 (or, for OPTIONS, 204) with Allow, for a documented path asked with a method it does not have. */
export function methodNotAllowed(passwordMinLength: number) {
  const byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const op of operations(passwordMinLength)) {
    const entry = byPath.get(op.path) ?? { pattern: new RegExp(`^${op.path.replace(/\{[^}]+\}/g, "[^/]+")}$`), methods: new Set<string>() };
    entry.methods.add(op.method.toUpperCase());
    if (op.method === "get") entry.methods.add("HEAD");
    byPath.set(op.path, entry);
  }
  return function methodNotAllowedHandler(req: Request, res: Response, next: NextFunction): void {
    const path = req.path;
    const entry = [...byPath.values()].find((e) => e.pattern.test(path));
    if (!entry || entry.methods.has(req.method)) return next();
    res.setHeader("Allow", [...entry.methods, "OPTIONS"].join(", "));
    if (req.method === "OPTIONS") {
      res.status(204).end();
      return;
    }
    sendError(res, "method_not_allowed", `${req.method} is not allowed here`);
  };
}
