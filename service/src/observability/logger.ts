// JSON logs (pino). Credentials never reach a log line: auth headers, cookies and body fields are redacted.
import { pino, type Logger } from "pino";

export type { Logger };

/**
 * When buffered, lines are written in 4 KiB chunks or once a second (one write per many requests instead of
 * one each); call flushLogger before exiting.
 */
export function createLogger(level: string, mixin?: () => object, buffered = false): Logger {
  const destination = buffered ? pino.destination({ sync: false, minLength: 4096 }) : pino.destination({ sync: true });
  // A quiet replica must not sit on its last lines: flush at least once a second.
  if (buffered) setInterval(() => destination.flush(), 1000).unref();
  return pino({
    level,
    base: { service: "auth-cluster" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
        "*.password",
        "*.currentPassword",
        "*.newPassword",
        "*.token",
      ],
      censor: "[redacted]",
    },
    ...(mixin ? { mixin } : {}),
  }, destination);
}

export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
