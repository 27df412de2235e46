// The API's request and response shapes in zod: routes parse requests with these, and the OpenAPI description
// (http/openapi.ts) is generated from the very same objects. A request schema checks types and sizes (a wrong
// type is 400 invalid_request); the domain's own rules (username characters, password length) are checked by the
// domain, with their own error codes, and described here with .meta() so the description states them too.
import { z } from "zod";
import { MAX_PASSWORD_BYTES } from "../auth/credentials.js";
import { END_REASONS } from "../auth/ports.js";

const USERNAME_RULE = {
  pattern: "^[A-Za-z0-9._-]{3,64}$",
  minLength: 3,
  maxLength: 64,
  description: "3-64 letters, digits, '.', '_' or '-', compared case-insensitively (lower-cased after NFKC normalization; Unicode letters and digits are accepted too).",
};

/** A new password: PASSWORD_MIN_LENGTH characters, at most 72 bytes in UTF-8 (bcrypt reads no more). */
const newPassword = (minLength: number) =>
  z.string().max(4096).meta({ minLength, maxLength: MAX_PASSWORD_BYTES, description: `At least ${minLength} characters and at most ${MAX_PASSWORD_BYTES} bytes in UTF-8.` });

const role = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "roles are lower-case names of at most 32 characters");
const roles = z.array(role).max(16);

export function requestSchemas(passwordMinLength = 8) {
  return {
    credentials: z.object({
      username: z.string().max(1024).meta({ description: "Any string: an unknown or malformed name is refused like a wrong password." }),
      password: z.string().max(4096).meta({ maxLength: MAX_PASSWORD_BYTES, description: `At most ${MAX_PASSWORD_BYTES} bytes in UTF-8.` }),
    }),
    registration: z.object({
      username: z.string().max(1024).meta(USERNAME_RULE),
      password: newPassword(passwordMinLength),
      roles: roles.optional().meta({ description: "Only an admin may set roles; open registration ignores them." }),
    }),
    passwordChange: z.object({ currentPassword: z.string().max(4096).meta({ maxLength: MAX_PASSWORD_BYTES }), newPassword: newPassword(passwordMinLength) }),
    userPatch: z
      .object({ disabled: z.boolean().optional(), roles: roles.optional() })
      .strict()
      .refine((p) => p.disabled !== undefined || p.roles !== undefined, "give disabled or roles")
      .meta({ minProperties: 1 }),
    presencePage: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      after: z.string().max(64).optional(),
    }),
  };
}

/** A user id in a path: a UUID, else there is no such user (404 user_not_found, never a database error). */
export const userIdParam = z.uuid();

/** The schemas routes parse with (their sizes and types do not depend on settings). */
export const requests = requestSchemas();

const iso = z.iso.datetime();
const userView = z.object({ id: z.uuid(), username: z.string(), roles: z.array(z.string()) });

export const responses = {
  user: userView,
  updatedUser: userView.extend({ disabled: z.boolean() }),
  login: z.object({
    token: z.string().meta({ description: "<userId>.<sessionId>.<secret>: send it as `Authorization: Bearer`." }),
    session: z.object({ id: z.string(), createdAt: iso, expiresAt: iso }),
    user: userView,
  }),
  current: z.object({
    user: userView,
    session: z.object({ id: z.string(), createdAt: iso, expiresAt: iso, lastSeenAt: iso }),
  }),
  sessions: z.object({
    sessions: z.array(
      z.object({ id: z.string(), createdAt: iso, lastSeenAt: iso, expiresAt: iso, ip: z.string(), userAgent: z.string(), current: z.boolean() }),
    ),
  }),
  revoked: z.object({ revoked: z.int().min(0) }),
  presencePage: z.object({
    online: z.int().min(0),
    users: z.array(z.object({ id: z.string(), username: z.string(), connections: z.int().min(1) })),
    next: z.string().nullable(),
  }),
  userPresence: z.object({ userId: z.string(), online: z.boolean(), connections: z.int().min(0), lastSeenAt: iso.nullable() }),
  health: z.object({ status: z.literal("ok") }),
  readiness: z.object({
    ready: z.boolean(),
    status: z.enum(["ok", "draining", "unavailable"]),
    checks: z.record(z.string(), z.enum(["ok", "down"])),
  }),
};

/** The messages of /v1/events (http/realtime/messages.ts), for the description of the WebSocket. */
export const eventMessages = {
  hello: z.object({ type: z.literal("hello"), sessionId: z.string(), expiresAt: iso, serverTime: iso, pingIntervalS: z.int() }),
  "session.ended": z.object({ type: z.literal("session.ended"), reason: z.enum(END_REASONS) }),
  "session.updated": z.object({ type: z.literal("session.updated"), roles: z.array(z.string()) }),
  resync: z.object({ type: z.literal("resync") }),
  presence: z.object({ type: z.literal("presence"), online: z.int().min(0) }),
  pong: z.object({ type: z.literal("pong"), serverTime: iso }),
};
