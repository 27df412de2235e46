// Every response carries x-request-id. A request that failed, was aborted or was slow gets one access-log line
// when it ends, and so does a sample (ACCESS_LOG_SAMPLE_RATE) of the quick successes; the probes never do.
// Hand-written instead of pino-http: that builds two child loggers per request even when no line is written
// (about 0.2 ms a request in the login storm's profile); here a line is written directly, a child logger made only
// for an error.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import type { Logger } from "pino";
import { requestIdOf } from "./request-id.js";

const QUIET = new Set(["/healthz", "/readyz"]);

/** What a line says of its request: id, method and path (never the query, headers or body). */
function describe(req: IncomingMessage, res: ServerResponse) {
  const id = res.getHeader("x-request-id");
  return { id: typeof id === "string" ? id : "", method: req.method, path: (req.url ?? "").split("?")[0] };
}

/** A logger bound to this request, for errors met while serving it. */
export function requestLogger(logger: Logger, req: IncomingMessage, res: ServerResponse): Logger {
  return logger.child({ req: describe(req, res) });
}

/** Which finished requests get an access-log line: every one that did not succeed or was slow, a sample of the rest. */
export interface AccessLogPolicy {
  /** Fraction of the quick 2xx requests logged (0: none, 1: all). */
  sampleRate: number;
  /** A request at least this slow is always logged. */
  slowMs: number;
}

export function requestLogging(logger: Logger, policy: AccessLogPolicy, random: () => number = Math.random): RequestHandler {
  return (req, res, next) => {
    res.setHeader("x-request-id", requestIdOf(req));
    if (QUIET.has(req.url)) return next();
    const start = performance.now();
    const done = () => {
      res.off("finish", done);
      res.off("close", done);
      const finished = res.writableFinished;
      const ms = performance.now() - start;
      const ok = finished && res.statusCode < 300 && ms < policy.slowMs;
      // A line for every success costs more CPU than the validation it records (bench:validate); metrics count them all.
      if (ok && !(policy.sampleRate > 0 && random() < policy.sampleRate)) return;
      const level = res.statusCode >= 500 ? "error" : "info"; // a client that hung up is not our error
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        { req: describe(req, res), res: { statusCode: res.statusCode }, responseTime: Math.round(ms) },
        finished ? "request completed" : "request aborted",
      );
    };
    res.on("finish", done);
    res.on("close", done);
    next();
  };
}
