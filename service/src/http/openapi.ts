// The API's OpenAPI 3.1 description, built from the zod schemas the routes parse with (http/schemas.ts) and the one
// error table (http/errors.ts). Served at GET /v1/openapi.json, written to docs/openapi.json by `npm run openapi`
// (a test fails when that file is stale), linted by Redocly, and fuzzed by schemathesis. Hand-assembled around
// zod's own JSON Schema output rather than a generator library: the operations table below is the contract's
// one place, and every response the tests receive is checked against it (test/support/contract.ts).
import { z } from "zod";
import { loadConfig, type Config } from "../config.js";
import { statusOf, type HttpErrorCode } from "./errors.js";
import { eventMessages, requestSchemas, responses } from "./schemas.js";

type Method = "get" | "post" | "put" | "patch" | "delete";

export interface Operation {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  tag: "sessions" | "users" | "presence" | "events" | "service";
  /** none: public; required: a session (bearer or cookie); optional: a session changes what happens. */
  auth: "none" | "required" | "optional";
  /** A write that may be cookie-authenticated: needs an Origin from ALLOWED_ORIGINS (else 403 csrf_rejected). */
  csrf?: boolean;
  description?: string;
  body?: z.ZodType;
  query?: z.ZodObject;
  pathParams?: Record<string, { description: string; schema: object }>;
  ok: { status: number; description: string; schema?: z.ZodType; headers?: Record<string, object> };
  /** Error codes by nothing but their code: each one's status comes from the error table. */
  errors: HttpErrorCode[];
  links?: Record<string, object>;
}

const WRITE = ["invalid_json", "payload_too_large"] as const satisfies HttpErrorCode[];
const STORE: HttpErrorCode[] = ["unavailable", "internal"];
const SESSION: HttpErrorCode[] = ["invalid_session", ...STORE];

const userId = { id: { description: "The user's id (a UUID).", schema: { type: "string", format: "uuid" } } };
const sessionId = { id: { description: "A session id, as GET /v1/sessions lists them.", schema: { type: "string", minLength: 1, maxLength: 64 } } };

/** Every operation: the table docs/api.md mirrors (a test checks they agree). */
export function operations(passwordMinLength = 8): Operation[] {
  const req = requestSchemas(passwordMinLength);
  return [
    {
      method: "post", path: "/v1/users", operationId: "register", summary: "Register a user", tag: "users", auth: "optional", csrf: true,
      description: "REGISTRATION=open: anyone may register (roles are ignored). REGISTRATION=admin: an admin session is needed, and it may set roles.",
      body: req.registration,
      ok: { status: 201, description: "The new user.", schema: responses.user },
      errors: ["invalid_request", ...WRITE, "invalid_username", "weak_password", "password_too_long", "invalid_session", "forbidden", "csrf_rejected", "username_taken", "overloaded", ...STORE],
      links: {
        login: { operationId: "login", description: "Log in as the user just registered.", requestBody: { username: "$request.body#/username", password: "$request.body#/password" } },
        updateUser: { operationId: "updateUser", description: "An admin changes the new user.", parameters: { id: "$response.body#/id" } },
        forceLogout: { operationId: "forceLogout", description: "An admin ends the new user's sessions.", parameters: { id: "$response.body#/id" } },
        userPresence: { operationId: "userPresence", description: "The new user's presence.", parameters: { id: "$response.body#/id" } },
      },
    },
    {
      method: "post", path: "/v1/sessions", operationId: "login", summary: "Log in", tag: "sessions", auth: "none",
      description: "Unknown user, wrong password, disabled user and empty password all get the same 401 after the same bcrypt work.",
      body: req.credentials,
      ok: {
        status: 201, description: "The session, its token, and a Set-Cookie with the same token (HttpOnly, SameSite=Lax, Path=/).", schema: responses.login,
        headers: { "Set-Cookie": { description: "The session cookie.", required: true, schema: { type: "string" } } },
      },
      errors: ["invalid_request", ...WRITE, "password_too_long", "invalid_credentials", "rate_limited", "overloaded", ...STORE],
      links: { validate: { operationId: "validate", description: "Validate the new session." } },
    },
    {
      method: "get", path: "/v1/session", operationId: "validate", summary: "Validate my session", tag: "sessions", auth: "required",
      ok: { status: 200, description: "The session's user and times; the idle expiry slides at most once per SESSION_REFRESH_INTERVAL_S.", schema: responses.current },
      errors: SESSION,
      links: { listSessions: { operationId: "listSessions", description: "List the user's sessions." } },
    },
    {
      method: "delete", path: "/v1/session", operationId: "logout", summary: "Log out this session", tag: "sessions", auth: "optional", csrf: true,
      description: "Idempotent: without a (valid) session it still answers 204 and clears the cookie.",
      ok: { status: 204, description: "Logged out." },
      errors: ["csrf_rejected", ...STORE],
    },
    {
      method: "get", path: "/v1/sessions", operationId: "listSessions", summary: "List my sessions", tag: "sessions", auth: "required",
      ok: { status: 200, description: "Every live session of the caller's user.", schema: responses.sessions },
      errors: SESSION,
      links: {
        revokeSession: { operationId: "revokeSession", description: "Revoke the first listed session.", parameters: { id: "$response.body#/sessions/0/id" } },
      },
    },
    {
      method: "delete", path: "/v1/sessions", operationId: "logoutEverywhere", summary: "Log out everywhere", tag: "sessions", auth: "required", csrf: true,
      ok: { status: 204, description: "Every session of the user ended (their live sockets hear session.ended: logout_all)." },
      errors: ["csrf_rejected", ...SESSION],
    },
    {
      method: "delete", path: "/v1/sessions/{id}", operationId: "revokeSession", summary: "Revoke one of my sessions", tag: "sessions", auth: "required", csrf: true,
      pathParams: sessionId,
      ok: { status: 204, description: "The session ended." },
      errors: ["csrf_rejected", "session_not_found", ...SESSION],
      links: { logout: { operationId: "logout", description: "Then log out." } },
    },
    {
      method: "put", path: "/v1/password", operationId: "changePassword", summary: "Change my password", tag: "users", auth: "required", csrf: true,
      description: "Ends every other session of the user; this one stays.",
      body: req.passwordChange,
      ok: { status: 204, description: "Changed." },
      errors: ["invalid_request", ...WRITE, "weak_password", "password_too_long", "invalid_credentials", "csrf_rejected", "overloaded", ...SESSION],
    },
    {
      method: "delete", path: "/v1/users/{id}/sessions", operationId: "forceLogout", summary: "Admin: end every session of a user", tag: "users", auth: "required", csrf: true,
      pathParams: userId,
      ok: { status: 200, description: "How many sessions ended.", schema: responses.revoked },
      errors: ["forbidden", "csrf_rejected", "user_not_found", ...SESSION],
    },
    {
      method: "patch", path: "/v1/users/{id}", operationId: "updateUser", summary: "Admin: disable a user or set its roles", tag: "users", auth: "required", csrf: true,
      description: "Disabling ends the user's sessions; new roles show in its live sessions (session.updated).",
      pathParams: userId,
      body: req.userPatch,
      ok: { status: 200, description: "The user as it is now.", schema: responses.updatedUser },
      errors: ["invalid_request", ...WRITE, "forbidden", "csrf_rejected", "user_not_found", ...SESSION],
    },
    {
      method: "get", path: "/v1/presence", operationId: "onlineUsers", summary: "Admin: who is online", tag: "presence", auth: "required",
      description: "The online count (O(log n)) and a page of online users by id (O(log n + limit)).",
      query: req.presencePage,
      ok: { status: 200, description: "The count and one page; `next` is the cursor for the following page, null at the end.", schema: responses.presencePage },
      errors: ["invalid_request", "forbidden", ...SESSION],
    },
    {
      method: "get", path: "/v1/users/{id}/presence", operationId: "userPresence", summary: "One user's presence (an admin, or the user)", tag: "presence", auth: "required",
      pathParams: userId,
      ok: { status: 200, description: "Online (at least one live socket anywhere), how many, and when last seen.", schema: responses.userPresence },
      errors: ["forbidden", "user_not_found", ...SESSION],
    },
    {
      method: "get", path: "/v1/events", operationId: "events", summary: "Live events of my session (WebSocket)", tag: "events", auth: "required",
      description:
        "A WebSocket upgrade (GET with Upgrade: websocket). The server then sends JSON messages, one per frame (x-websocket-messages); " +
        "see docs/api.md: Live session events. A session cookie needs an Origin from ALLOWED_ORIGINS. A plain GET is answered 426.",
      ok: { status: 101, description: "Switching protocols: the socket is open." },
      errors: ["invalid_request", "upgrade_required", "csrf_rejected", "too_many_connections", "overloaded", ...SESSION],
    },
    {
      method: "get", path: "/v1/openapi.json", operationId: "openapi", summary: "This description", tag: "service", auth: "none",
      ok: { status: 200, description: "OpenAPI 3.1, JSON." },
      errors: ["internal"],
    },
    {
      method: "get", path: "/healthz", operationId: "liveness", summary: "Liveness: the process answers", tag: "service", auth: "none",
      ok: { status: 200, description: "Alive.", schema: responses.health },
      errors: [],
    },
    {
      method: "get", path: "/readyz", operationId: "readiness", summary: "Readiness: Redis and the database answer, and not draining", tag: "service", auth: "none",
      ok: { status: 200, description: "Ready.", schema: responses.readiness },
      errors: [],
      description: "503 (the same body, ready false) names what is missing.",
    },
  ];
}

/**
 * zod's JSON Schema, tidied: a `format` (date-time, uuid) stands without zod's long equivalent `pattern`, and a
 * response object admits no property it does not name, so a field the description lacks fails the contract.
 */
const jsonSchema = (schema: z.ZodType, io: "input" | "output") => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  const tidy = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(tidy);
    if (!node || typeof node !== "object") return;
    const o = node as Record<string, unknown>;
    if (typeof o.format === "string") delete o.pattern;
    if (io === "output" && o.type === "object" && o.properties && o.additionalProperties === undefined) o.additionalProperties = false;
    Object.values(o).forEach(tidy);
  };
  tidy(rest);
  return rest;
};

const REQUEST_ID = { description: "The request's id: the caller's X-Request-Id when it is sane (1-128 of A-Z a-z 0-9 . _ : -), else a new UUID.", required: true, schema: { type: "string" } };
const RETRY_AFTER = { description: "Seconds to wait before retrying.", required: true, schema: { type: "integer", minimum: 0 } };

/** The `{error, message}` body for these codes. */
function errorResponse(codes: HttpErrorCode[], status: number) {
  const headers: Record<string, object> = { "X-Request-Id": REQUEST_ID };
  if (status === 429 || (status === 503 && codes.some((c) => c === "unavailable" || c === "overloaded"))) headers["Retry-After"] = RETRY_AFTER;
  return {
    description: codes.join(", "),
    headers,
    content: {
      "application/json": {
        schema: {
          type: "object",
          required: ["error", "message"],
          properties: { error: { type: "string", enum: codes }, message: { type: "string" } },
          additionalProperties: false,
        },
      },
    },
  };
}

export function buildOpenApi(config: Pick<Config, "http" | "auth">) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations(config.auth.passwordMinLength)) {
    const byStatus = new Map<number, HttpErrorCode[]>();
    for (const code of op.errors) byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
    const responsesOut: Record<string, unknown> = {
      [String(op.ok.status)]: {
        description: op.ok.description,
        headers: { "X-Request-Id": REQUEST_ID, ...op.ok.headers },
        ...(op.ok.schema ? { content: { "application/json": { schema: jsonSchema(op.ok.schema, "output") } } } : {}),
        ...(op.links ? { links: op.links } : {}),
      },
    };
    if (op.operationId === "openapi") {
      const ok = responsesOut["200"] as { content?: unknown; headers: Record<string, unknown> };
      ok.content = { "application/json": { schema: { type: "object" } } };
      ok.headers.ETag = { description: "Send it back as If-None-Match to get 304 while unchanged.", required: true, schema: { type: "string" } };
      responsesOut["304"] = { description: "Not modified: the description matches If-None-Match.", headers: { "X-Request-Id": REQUEST_ID, ETag: ok.headers.ETag } };
    }
    if (op.operationId === "readiness") {
      responsesOut["503"] = { description: "Not ready.", headers: { "X-Request-Id": REQUEST_ID }, content: { "application/json": { schema: jsonSchema(responses.readiness, "output") } } };
    }
    for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) responsesOut[String(status)] = errorResponse(codes, status);
    const parameters = [
      ...Object.entries(op.pathParams ?? {}).map(([name, p]) => ({ name, in: "path", required: true, ...p })),
      ...Object.entries((op.query ? jsonSchema(op.query, "input").properties : {}) as Record<string, object>).map(([name, schema]) => ({ name, in: "query", required: false, schema })),
    ];
    const security = op.auth === "none" ? [] : op.auth === "required" ? [{ bearerAuth: [] }, { sessionCookie: [] }] : [{}, { bearerAuth: [] }, { sessionCookie: [] }];
    const description = [op.description, op.csrf ? CSRF_NOTE : undefined].filter(Boolean).join("\n\n");
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(description ? { description } : {}),
      tags: [op.tag],
      security,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(op.body, "input") } } } } : {}),
      responses: responsesOut,
      ...(op.operationId === "events" ? { "x-websocket-messages": Object.keys(eventMessages).map((type) => ({ $ref: `#/components/schemas/${messageSchemaName(type)}` })) } : {}),
      ...(op.csrf ? { "x-csrf": "cookie-authenticated: Origin must be in ALLOWED_ORIGINS" } : {}),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "auth-cluster",
      version: "0.1.0",
      description:
        "Stateless authentication: sessions in Redis, users in PostgreSQL. Every error is {error, message} with a stable code; a store outage is 503 unavailable with Retry-After, never 401.",
      license: { name: "UNLICENSED", identifier: "UNLICENSED" },
    },
    servers: [{ url: "/", description: "The service, or its load balancer" }],
    tags: [
      { name: "sessions", description: "Log in, validate, log out, list and revoke sessions." },
      { name: "users", description: "Registration, password change and the admin operations on users." },
      { name: "presence", description: "Who is online (a user with at least one live socket)." },
      { name: "events", description: "Live session events over a WebSocket." },
      { name: "service", description: "Health, readiness and this description." },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "The token from POST /v1/sessions." },
        sessionCookie: { type: "apiKey", in: "cookie", name: config.http.cookieName, description: `The same token in the ${config.http.cookieName} cookie. ${CSRF_NOTE}` },
      },
      schemas: Object.fromEntries(Object.entries(eventMessages).map(([type, schema]) => [messageSchemaName(type), jsonSchema(schema, "output")])),
    },
  };
}

/** The description with default settings, as docs/openapi.json holds it (npm run openapi). */
export function defaultDescription(): string {
  const config = loadConfig({ REDIS_SENTINELS: "127.0.0.1:26379", DATABASE_URL: "postgresql://auth@127.0.0.1:6432/auth" }, () => "max 100000");
  return `${JSON.stringify(buildOpenApi(config), null, 2)}\n`;
}

const CSRF_NOTE = "A cookie-authenticated write (POST, PUT, PATCH, DELETE) needs an Origin header from ALLOWED_ORIGINS, else 403 csrf_rejected; a bearer-authenticated one does not.";

const messageSchemaName = (type: string) => `Event${type.split(".").map((p) => p[0]!.toUpperCase() + p.slice(1)).join("")}`;
