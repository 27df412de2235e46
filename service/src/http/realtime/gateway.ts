// GET /v1/events: the upgrade to a WebSocket, on the API port (the ws package, noServer). Everything is decided
// before the handshake, so every refusal is an ordinary HTTP response with the usual JSON error body: a bad
// handshake 400, no or a bad session 401, a cookie without an allowed Origin 403 (cross-site WebSocket
// hijacking), too many connections 429 (the user's) or 503 (the replica's), a store outage or a draining replica
// 503 with Retry-After. Never 401 for an outage.
import http, { type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { AuthError } from "../../auth/errors.js";
import type { SessionService } from "../../auth/sessions.js";
import type { Logger } from "../../observability/logger.js";
import type { Readiness } from "../../readiness.js";
import { tokenOf } from "../authenticate.js";
import type { Response } from "express";
import { HttpError, sendError, statusOf, type HttpErrorCode } from "../errors.js";
import { requestIdOf } from "../request-id.js";
import type { Admission, RealtimeHub } from "./hub.js";

export const EVENTS_PATH = "/v1/events";

/** Why an upgrade was refused, as auth_ws_rejected_total counts it. */
export const REJECT_REASONS = ["not_found", "bad_handshake", "draining", "invalid_session", "csrf", "unavailable", "replica_limit", "user_limit"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface GatewayOptions {
  cookieName: string;
  allowedOrigins: readonly string[];
}

export interface GatewayDeps {
  hub: RealtimeHub;
  sessions: SessionService;
  readiness: Readiness;
  logger: Logger;
  onRejected?: (reason: RejectReason) => void;
}

class Refusal extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly reason: RejectReason,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

const KEY = /^[A-Za-z0-9+/]{22}==$/;

export function createEventsGateway(deps: GatewayDeps, options: GatewayOptions) {
  const allowed = new Set(options.allowedOrigins);
  // Clients only send pings: 1 KiB frames at most (a bigger one closes the socket with 1009).
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, clientTracking: false, perMessageDeflate: false });
  const ids = new WeakMap<IncomingMessage, string>();
  wss.on("headers", (headers, req) => headers.push(`x-request-id: ${ids.get(req) ?? ""}`));

  function check(req: IncomingMessage): { token: string } {
    if ((req.url ?? "").split("?")[0] !== EVENTS_PATH) throw new Refusal("not_found", "no such route", "not_found");
    const upgrade = req.headers.upgrade?.toLowerCase();
    if (req.method !== "GET" || upgrade !== "websocket" || req.headers["sec-websocket-version"] !== "13" || !KEY.test(req.headers["sec-websocket-key"] ?? "")) {
      throw new Refusal("invalid_request", "not a WebSocket handshake (GET, Upgrade: websocket, version 13)", "bad_handshake");
    }
    if (deps.readiness.isDraining) throw new Refusal("unavailable", "this replica is stopping; connect again", "draining", 1);
    const found = tokenOf(req, options.cookieName);
    if (found?.via === "cookie") {
      const origin = req.headers.origin;
      if (typeof origin !== "string" || !allowed.has(origin)) {
        throw new Refusal("csrf_rejected", "a cookie-authenticated socket needs an allowed Origin header", "csrf");
      }
    }
    if (!found) throw new Refusal("invalid_session", "no valid session", "invalid_session");
    return found;
  }

  async function admit(req: IncomingMessage) {
    const { token } = check(req);
    const valid = await deps.sessions.validate(token);
    if (!valid) throw new Refusal("invalid_session", "no valid session", "invalid_session");
    return deps.hub.admit(token, valid);
  }

  function refuse(req: IncomingMessage, socket: Duplex, err: unknown, started: number): void {
    const r = asRefusal(err);
    if (r.reason === "unavailable" && !(err instanceof Refusal)) deps.logger.warn({ err }, "websocket upgrade refused: dependency unavailable");
    deps.onRejected?.(r.reason);
    const status = statusOf(r.code);
    const body = JSON.stringify({ error: r.code, message: r.message });
    const head = [
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
      "Content-Type: application/json; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(body)}`,
      "Cache-Control: no-store",
      "X-Content-Type-Options: nosniff",
      `x-request-id: ${ids.get(req) ?? ""}`,
      "Connection: close",
    ];
    if (r.retryAfterS !== undefined) head.push(`Retry-After: ${r.retryAfterS}`);
    socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
    log(req, status, started);
  }

  function log(req: IncomingMessage, statusCode: number, started: number): void {
    const level = statusCode >= 500 ? "error" : "info";
    if (!deps.logger.isLevelEnabled(level)) return;
    deps.logger[level](
      { req: { id: ids.get(req), method: req.method, path: EVENTS_PATH }, res: { statusCode }, responseTime: Math.round(performance.now() - started) },
      "request completed",
    );
  }

  return {
    wss,
    /** The HTTP server's "upgrade" listener. */
    handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const started = performance.now();
      ids.set(req, requestIdOf(req));
      socket.on("error", destroyOnError);
      admit(req).then(
        (admission) => {
          if (socket.destroyed) return void admission.cancel();
          const attached = cancelUnlessAttached(socket, admission);
          wss.handleUpgrade(req, socket, head, (ws) => {
            attached();
            admission.attach(ws);
            log(req, 101, started);
          });
        },
        (err: unknown) => refuse(req, socket, err, started),
      );
    },
  };
}

/** A socket error ends it; not a closure, which would keep the upgrade's whole scope alive with the socket. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/**
 * Cancels the admission if the client goes away before the handshake completes. The listener is a closure of its
 * own, removed once attached: one that shared the upgrade's scope would keep its request alive with the socket.
 */
function cancelUnlessAttached(socket: Duplex, admission: Admission): () => void {
  const cancel = () => void admission.cancel();
  socket.once("close", cancel);
  return () => socket.off("close", cancel);
}

/** GET /v1/events without the upgrade (the WebSocket handshake goes to the server's "upgrade" listener). */
export function plainEventsRequest(_req: unknown, res: Response): void {
  res.setHeader("Upgrade", "websocket");
  sendError(res, "upgrade_required", "GET /v1/events is a WebSocket: send Upgrade: websocket");
}

function asRefusal(err: unknown): Refusal {
  if (err instanceof Refusal) return err;
  if (err instanceof HttpError) {
    const reason: RejectReason = err.code === "too_many_connections" ? "user_limit" : err.code === "overloaded" ? "replica_limit" : err.code === "invalid_session" ? "invalid_session" : "unavailable";
    return new Refusal(err.code, err.message, reason, err.retryAfterS);
  }
  if (err instanceof AuthError && err.code === "unavailable") return new Refusal("unavailable", err.message, "unavailable", err.retryAfterS ?? 2);
  return new Refusal("unavailable", "live events are temporarily unavailable", "unavailable", 2);
}
