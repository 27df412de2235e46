// The reference the login-storm benchmark measures the service against, in the same run: the bare prototype the
// issue names (Express + pg + a bcrypt worker pool + one Redis write), with none of the service's limits, audit,
// Lua, WAIT, logging or metrics. Run by login-storm.ts as a process of its own; not part of the service.
// Env: PORT, DATABASE_URL, REDIS_SENTINELS, REDIS_MASTER_NAME, REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD,
// HASH_POOL_SIZE.
import { randomBytes } from "node:crypto";
import express from "express";
import { Redis } from "ioredis";
import pg from "pg";
import { Piscina } from "piscina";
import { loadConfig } from "../src/config.js";

const config = loadConfig(process.env);
const db = new pg.Pool({ connectionString: config.db.url, max: 20 });
const redis = new Redis({
  sentinels: config.redis.sentinels,
  name: config.redis.masterName,
  password: config.redis.password,
  sentinelPassword: config.redis.sentinelPassword,
});
const pool = new Piscina({
  filename: new URL("../src/adapters/hashing/hash-worker.js", import.meta.url).href,
  minThreads: config.hashing.poolSize,
  maxThreads: config.hashing.poolSize,
});

const app = express();
app.use(express.json());

app.post("/v1/sessions", async (req, res) => {
  const { username, password } = req.body as { username: string; password: string };
  const { rows } = await db.query<{ id: string; password_hash: string }>(
    "SELECT id, password_hash FROM users WHERE username = $1",
    [username],
  );
  const user = rows[0];
  if (!user || !(await pool.run({ op: "verify", password, hash: user.password_hash }))) {
    res.status(401).json({ error: "invalid_credentials" });
    return;
  }
  const token = randomBytes(16).toString("base64url");
  await redis.set(`proto:${token}`, user.id, "PX", 3_600_000);
  res.status(201).json({ token });
});

app.get("/v1/session", async (req, res) => {
  const userId = await redis.get(`proto:${(req.headers.authorization ?? "").slice("Bearer ".length)}`);
  if (userId === null) res.status(401).json({ error: "invalid_session" });
  else res.json({ user: { id: userId } });
});

app.get("/readyz", (_req, res) => {
  res.json({ ready: redis.status === "ready" });
});

// Express 5 sends a rejected handler here: say what failed, so a failure in the table can be traced.
app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  console.error("bare prototype:", err);
  res.status(500).json({ error: "internal" });
});

app.listen(Number(process.env.PORT), "127.0.0.1");
