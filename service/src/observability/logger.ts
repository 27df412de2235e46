// JSON logs (pino). Credentials never reach a log line: auth headers, cookies and body fields are redacted.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, mixin?: () => object): Logger {
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
  });
}
