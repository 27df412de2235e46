// createApp(deps): middleware order, routes, the one error handler. Never listens.
import express, { type NextFunction, type Request, type Response } from "express";
import { AuthError } from "./auth/errors.js";
import type { AccountDeps } from "./auth/accounts.js";
import type { LoginDeps } from "./auth/login.js";
import type { SessionService } from "./auth/sessions.js";
import type { Config } from "./config.js";
import type { PresenceDeps } from "./auth/presence.js";
import { HttpError, sendError } from "./http/errors.js";
import { requestLogger, requestLogging } from "./http/request-log.js";
import { apiDescriptionRoutes, methodNotAllowed } from "./http/routes/api-description.js";
import { demoRoutes } from "./http/routes/demo.js";
import { plainEventsRequest } from "./http/realtime/gateway.js";
import { healthRoutes } from "./http/routes/health.js";
import { presenceRoutes } from "./http/routes/presence.js";
import { sessionRoutes } from "./http/routes/sessions.js";
import { userRoutes } from "./http/routes/users.js";
import type { Logger } from "./observability/logger.js";
import type { Readiness } from "./readiness.js";

export interface AppDeps {
  config: Pick<Config, "http" | "auth">;
  logger: Logger;
  readiness: Readiness;
  sessions: SessionService;
  login: LoginDeps;
  accounts: AccountDeps;
  /** Presence (GET /v1/presence, /v1/users/:id/presence); left out by tests of other routes. */
  presence?: PresenceDeps;
  /** Extra middleware run first (metrics). */
  before?: express.RequestHandler[];
}

// A JSON API needs few of the headers helmet writes for HTML pages (the demo page gets helmet's full set): a CSP
// that forbids everything and any framing, HSTS (helmet's default), nosniff, no referrer, and no caching.
// By hand: five constants, set in one loop instead of one middleware per header on the hottest path.
const API_HEADERS: [string, string][] = [
  ["Content-Security-Policy", "default-src 'none';frame-ancestors 'none'"],
  ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "no-referrer"],
  ["Cache-Control", "no-store"],
];

export function createApp(deps: AppDeps): express.Express {
  const { http } = deps.config;
  const app = express();
  app.disable("x-powered-by");
  // No ETag: every body is about one caller at one moment, so hashing it is work no client reuses
  // (GET /v1/openapi.json, the one cacheable body, sets its own).
  app.set("etag", false);
  app.set("trust proxy", http.trustedProxies.length > 0 ? http.trustedProxies : false);

  app.use(requestLogging(deps.logger, http.accessLog));
  for (const mw of deps.before ?? []) app.use(mw);
  app.use((_req, res, next) => {
    for (const [name, value] of API_HEADERS) res.setHeader(name, value);
    // While draining, close keep-alive connections after each response so clients move to other replicas.
    if (deps.readiness.isDraining) res.setHeader("Connection", "close");
    next();
  });
  // Only writes carry a body; a GET skips the parser's content-type checks.
  const json = express.json({ limit: "16kb" });
  app.use((req, res, next) => (req.method === "GET" || req.method === "HEAD" ? next() : json(req, res, next)));

  app.use(sessionRoutes(deps.sessions, deps.login, http)); // first: validation is the request served most
  app.use(healthRoutes(deps.readiness));
  app.use(userRoutes(deps.sessions, deps.accounts, { ...http, registration: deps.config.auth.registration }));
  if (deps.presence) app.use(presenceRoutes(deps.sessions, deps.presence, http));
  app.get("/v1/events", plainEventsRequest);
  app.use(apiDescriptionRoutes(deps.config));
  if (http.demoPage) app.use(demoRoutes());

  app.use(methodNotAllowed(deps.config.auth.passwordMinLength));
  app.use((_req: Request, res: Response) => sendError(res, "not_found", "no such route"));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      requestLogger(deps.logger, req, res).error({ err }, "error after response started");
      res.end();
      return;
    }
    if (err instanceof HttpError) return sendError(res, err.code, err.message, err.retryAfterS);
    if (err instanceof AuthError) {
      if (err.code === "unavailable") requestLogger(deps.logger, req, res).warn({ err: err.cause ?? err }, "dependency unavailable");
      return sendError(res, err.code, err.message, err.retryAfterS);
    }
    const type = (err as { type?: unknown } | null)?.type;
    if (type === "entity.parse.failed") return sendError(res, "invalid_json", "request body is not valid JSON");
    if (type === "entity.too.large") return sendError(res, "payload_too_large", "request body is over 16 KiB");
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      return sendError(res, "invalid_request", "the request body could not be read");
    }
    requestLogger(deps.logger, req, res).error({ err }, "unhandled error");
    sendError(res, "internal", "internal error");
  });
  return app;
}
