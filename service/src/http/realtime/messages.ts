// What the server sends on /v1/events: JSON, one message per frame, each with a `type`. No message ever carries
// a token, a secret or a hash. docs/api.md (Live session events) documents each.
import type { EndReason } from "../../auth/ports.js";

export type ServerMessage =
  /** First message: the session this socket follows, its current expiry, and the server's clock. */
  | { type: "hello"; sessionId: string; expiresAt: string; serverTime: string; pingIntervalS: number }
  /** The session ended; the server closes the socket with CLOSE.sessionEnded right after. */
  | { type: "session.ended"; reason: EndReason }
  /** The user's roles changed; the session stays valid. */
  | { type: "session.updated"; roles: string[] }
  /** Events may have been lost (Redis failover): re-validate with GET /v1/session. */
  | { type: "resync" }
  /** Admins only: the number of users online in the whole cluster, when it changes. */
  | { type: "presence"; online: number }
  /** The answer to a client's {"type":"ping"}. */
  | { type: "pong"; serverTime: string };

export type ServerMessageType = ServerMessage["type"];

export const SERVER_MESSAGE_TYPES: ServerMessageType[] = ["hello", "session.ended", "session.updated", "resync", "presence", "pong"];

/** Close codes. 4001 is this application's; the others are the protocol's (RFC 6455 and the IANA registry). */
export const CLOSE = {
  /** After session.ended; the close reason repeats the end reason. */
  sessionEnded: 4001,
  /** The replica is stopping (rolling restart): reconnect, another replica will answer. */
  serviceRestart: 1012,
  /** A text frame that is not {"type":"ping"}. */
  policy: 1008,
  /** A binary frame. */
  unsupported: 1003,
  /** The client reads too slowly: its send buffer passed WS_MAX_BUFFERED_KB. */
  tryAgainLater: 1013,
} as const;
