// One peer of bench:validate (service/bench/validate.ts): what a user might run instead of auth-cluster to check
// a session on every request, each doing a real lookup in Redis. One process per target:
//
//   node server.mjs <target> <port> <redis-port>
//
// baseline, baseline-autopipelining: bare Express 5 + ioredis, one GET of the token's key per request.
// express-session, express-session-notouch: express-session + connect-redis (resave false, saveUninitialized
//   false; the second with disableTouch).
// better-auth, better-auth-api: Better Auth with secondaryStorage on Redis: its own get-session endpoint, and
//   auth.api.getSession called from a plain Express route.
//
// Each answers GET /session with the session's user (200) or 401 (Better Auth's endpoint: 200 null), and offers
// POST /login (or Better Auth's sign-up) so the benchmark can obtain a credential the normal way.
import express from "express";
import { Redis } from "ioredis";

const [target, portArg, redisPortArg] = process.argv.slice(2);
const port = Number(portArg);
const redisPort = Number(redisPortArg);
const SECRET = "bench-only secret, at least thirty-two characters long";
const app = express();
app.disable("x-powered-by");

if (target === "baseline" || target === "baseline-autopipelining") {
  const redis = new Redis({ port: redisPort, enableAutoPipelining: target === "baseline-autopipelining" });
  app.get("/session", async (req, res) => {
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    const value = token ? await redis.get(`peer:sess:${token}`) : null;
    if (!value) return res.status(401).json({ error: "invalid_session" });
    res.json(JSON.parse(value));
  });
} else if (target === "express-session" || target === "express-session-notouch") {
  const { default: session } = await import("express-session");
  const { RedisStore } = await import("connect-redis");
  const { createClient } = await import("redis");
  const client = createClient({ socket: { port: redisPort, host: "127.0.0.1" } });
  await client.connect();
  app.use(express.json());
  app.use(
    session({
      store: new RedisStore({ client, prefix: "peer:es:", disableTouch: target === "express-session-notouch" }),
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: "lax", maxAge: 3_600_000 },
    }),
  );
  app.post("/login", (req, res) => {
    req.session.user = { id: "bench-user-id", username: req.body.username, roles: [] };
    res.status(201).json({ user: req.session.user });
  });
  app.get("/session", (req, res) => {
    if (!req.session.user) return res.status(401).json({ error: "invalid_session" });
    res.json({ user: req.session.user });
  });
} else if (target === "better-auth" || target === "better-auth-api") {
  const { betterAuth } = await import("better-auth");
  const { memoryAdapter } = await import("better-auth/adapters/memory");
  const { toNodeHandler, fromNodeHeaders } = await import("better-auth/node");
  const redis = new Redis({ port: redisPort });
  const auth = betterAuth({
    baseURL: `http://127.0.0.1:${port}`,
    secret: SECRET,
    telemetry: { enabled: false },
    // Users and accounts in memory: only sign-up reads them; get-session reads the secondary storage.
    database: memoryAdapter({ user: [], session: [], account: [], verification: [] }),
    secondaryStorage: {
      get: (key) => redis.get(`peer:ba:${key}`),
      set: (key, value, ttl) => (ttl ? redis.set(`peer:ba:${key}`, value, "EX", ttl) : redis.set(`peer:ba:${key}`, value)),
      delete: (key) => redis.del(`peer:ba:${key}`).then(() => undefined),
    },
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
  });
  if (target === "better-auth-api") {
    app.get("/session", async (req, res) => {
      const found = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
      if (!found) return res.status(401).json({ error: "invalid_session" });
      res.json(found);
    });
  }
  // Better Auth's own routes, get-session among them (GET /api/auth/get-session).
  app.all("/api/auth/{*rest}", toNodeHandler(auth));
} else {
  console.error(`unknown target ${target}`);
  process.exit(2);
}

app.get("/readyz", (_req, res) => res.json({ ready: true }));
app.listen(port, "127.0.0.1");
