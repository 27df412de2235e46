// Live-events benchmark, against two replicas on the running local infrastructure (./scripts/up.sh): what idle
// sockets cost a replica, how fast a revocation made through one replica reaches a socket held by the other (idle,
// and during a login storm), whether validations on the socket-holding replica slow down, and what the polling
// design would have sent instead. Prints markdown tables and writes them to .state/bench/realtime.md.
//
//   npm run bench:realtime -- [--sizes 1000,5000,10000] [--idle 60] [--revocations 1000] [--storm 500]
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import bcrypt from "bcrypt";
import type { Redis } from "ioredis";
import pg from "pg";
import { WebSocket } from "ws";
import { ROOT, STATE, infraEnv } from "../test/support/env.js";
import { mintSessions, sentinelRedis } from "../test/support/sessions.js";
import { runtimeNote } from "./runtime.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,5000,10000" },
    idle: { type: "string", default: "60" },
    revocations: { type: "string", default: "1000" },
    storm: { type: "string", default: "500" },
  },
});
const sizes = values.sizes.split(",").map(Number);
const IDLE_S = Number(values.idle);
const REVOCATIONS = Number(values.revocations);
const STORM = Number(values.storm);
const A = { port: 3093, metrics: 9493 };
const B = { port: 3094, metrics: 9494 };
const PING_S = 30;
const TICK_S = 0.01; // /proc CPU ticks (CLK_TCK = 100)
const PASSWORD = "realtime bench password";
const INSPECT_PORT = 9230; // replica B's inspector: the bench asks it for a full GC before reading memory

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "-");

function startReplica(port: number, metricsPort: number, nodeArgs: string[] = []): Promise<ChildProcess> {
  const env = {
    ...process.env, ...infraEnv(), HOST: "127.0.0.1", PORT: String(port), METRICS_PORT: String(metricsPort), LOG_LEVEL: "warn",
    BCRYPT_COST: "10", HASH_QUEUE_MAX: "100000", HASH_QUEUE_MAX_WAIT_MS: "600000", WS_MAX_CONNECTIONS: "50000",
    WS_PING_INTERVAL_S: String(PING_S), REGISTRATION: "open", COOKIE_SECURE: "false",
  };
  const proc = spawn(process.execPath, [...nodeArgs, path.join(ROOT, "dist/main.js")], { env, stdio: ["ignore", "inherit", "inherit"] });
  return (async () => {
    for (let i = 0; i < 150; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return proc;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    proc.kill("SIGKILL");
    throw new Error("bench replica did not become ready (is ./scripts/up.sh running, and the service built?)");
  })();
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_S; // utime + stime, threads included
}

/** A full garbage collection in replica B, through its inspector (Chrome DevTools protocol). */
async function collectGarbage(): Promise<void> {
  const [target] = (await (await fetch(`http://127.0.0.1:${INSPECT_PORT}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(target!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })));
    ws.on("message", (data) => {
      if ((JSON.parse((data as Buffer).toString("utf8")) as { id?: number }).id === 1) resolve();
    });
    ws.once("error", reject);
  });
  ws.close();
  await sleep(500);
}

async function heapUsedBytes(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)![1]);
}

/** B's memory after a full GC: what its sockets hold, without the garbage a heartbeat left. */
async function retained(pid: number): Promise<{ rss: number; heap: number }> {
  await collectGarbage();
  return { rss: rssBytes(pid), heap: await heapUsedBytes(B.metrics) };
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

async function redisCommands(redis: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info("stats"))![1]);
}

interface Socket {
  ws: WebSocket;
  ended?: number;
  pings: number;
}

async function openSockets(tokens: string[], port: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < tokens.length; i += 200) {
    sockets.push(
      ...(await Promise.all(
        tokens.slice(i, i + 200).map(
          (token) =>
            new Promise<Socket>((resolve, reject) => {
              const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/events`, { headers: { authorization: `Bearer ${token}` } });
              const s: Socket = { ws, pings: 0 };
              ws.on("ping", () => s.pings++);
              ws.on("message", (data) => {
                const m = JSON.parse((data as Buffer).toString("utf8")) as { type: string };
                if (m.type === "hello") resolve(s);
                if (m.type === "session.ended") s.ended = performance.now();
              });
              ws.once("error", reject);
              ws.once("unexpected-response", (_r, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
            }),
        ),
      )),
    );
  }
  return sockets;
}

function request(port: number, method: string, urlPath: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: urlPath, headers, agent: keepAlive }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end(body);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** Validations on `port`, one after another, for `seconds`: their latencies in ms. */
async function validateFor(port: number, token: string, seconds: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    const status = await request(port, "GET", "/v1/session", { authorization: `Bearer ${token}` });
    if (status !== 200) throw new Error(`validation answered ${status}`);
    out.push(performance.now() - t0);
    await sleep(5);
  }
  return out;
}

/** Revokes each socket's session through replica A (`concurrency` at a time): ms from the request to the message. */
async function revoke(sockets: Socket[], tokens: string[], concurrency = 10): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < sockets.length) {
        const i = next++;
        const t0 = performance.now();
        const status = await request(A.port, "DELETE", "/v1/session", { authorization: `Bearer ${tokens[i]}` });
        if (status !== 204) throw new Error(`revocation answered ${status}`);
        for (let w = 0; w < 500 && sockets[i]!.ended === undefined; w++) await sleep(2);
        if (sockets[i]!.ended === undefined) throw new Error("a revocation never reached its socket");
        latencies.push(sockets[i]!.ended - t0);
      }
    }),
  );
  return latencies;
}

async function stormUsers(n: number): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `rt-storm-${Date.now().toString(36)}-${i}`);
  const db = new pg.Client({ connectionString: infraEnv().DIRECT_DATABASE_URL });
  await db.connect();
  await db.query("INSERT INTO users (username, password_hash, roles, updated_at) SELECT u, $2, '{}', now() FROM unnest($1::text[]) AS u", [names, bcrypt.hashSync(PASSWORD, 10)]);
  await db.end();
  return names;
}

async function main(): Promise<void> {
  const redis = sentinelRedis();
  const [procA, procB] = await Promise.all([startReplica(A.port, A.metrics), startReplica(B.port, B.metrics, [`--inspect=127.0.0.1:${INSPECT_PORT}`])]);
  const pidB = procB.pid!;
  try {
    const max = Math.max(...sizes);
    const spare = REVOCATIONS * 2 + 1;
    const sessions = await mintSessions(redis, max + spare);
    const validator = sessions.pop()!.token;

    // Idle replica B with no socket: the baseline.
    await sleep(2000);
    const rss0 = rssBytes(pidB);
    let cpu = cpuSeconds(pidB);
    let commands = await redisCommands(redis);
    await sleep(IDLE_S * 1000);
    const cpu0 = (cpuSeconds(pidB) - cpu) / IDLE_S;
    const redis0 = ((await redisCommands(redis)) - commands) / IDLE_S;
    const gc0 = await retained(pidB);
    const validate0 = await validateFor(B.port, validator, 10);

    const idleRows: string[] = [];
    const sockets: Socket[] = [];
    for (const k of sizes) {
      sockets.push(...(await openSockets(sessions.slice(sockets.length, k).map((s) => s.token), B.port)));
      await sleep(2000);
      for (const s of sockets) s.pings = 0;
      cpu = cpuSeconds(pidB);
      commands = await redisCommands(redis);
      await sleep(IDLE_S * 1000);
      const cpuK = (cpuSeconds(pidB) - cpu) / IDLE_S;
      const redisK = ((await redisCommands(redis)) - commands) / IDLE_S;
      const rss = rssBytes(pidB);
      const gc = await retained(pidB);
      const pings = sockets.reduce((n, s) => n + s.pings, 0) / IDLE_S;
      const kib = (bytes: number) => f(bytes / k / 1024, 2);
      idleRows.push(
        `| ${k.toLocaleString("en")} | ${kib(gc.heap - gc0.heap)} | ${kib(gc.rss - gc0.rss)} | ${kib(rss - rss0)} | ${f(((cpuK - cpu0) * 3600) / k, 3)} | ${f(cpuK * 100, 1)} | ${f(redisK - redis0, 1)} | ${f(pings, 1)} |`,
      );
      console.log(idleRows.at(-1));
    }

    const validateK = await validateFor(B.port, validator, 10);

    // Revocations through A of sessions whose sockets B holds: idle, then during a login storm on B.
    const extra = sessions.slice(max, max + REVOCATIONS * 2);
    const revSockets = await openSockets(extra.map((s) => s.token), B.port);
    const idle = await revoke(revSockets.slice(0, REVOCATIONS), extra.slice(0, REVOCATIONS).map((s) => s.token));
    const users = await stormUsers(STORM);
    const t0 = performance.now();
    const storm = Promise.all(users.map((u) => request(B.port, "POST", "/v1/sessions", { "content-type": "application/json" }, JSON.stringify({ username: u, password: PASSWORD }))));
    const stormy = await revoke(revSockets.slice(REVOCATIONS), extra.slice(REVOCATIONS).map((s) => s.token));
    const stormStatuses = await storm;
    const stormWall = (performance.now() - t0) / 1000;
    const stormOk = stormStatuses.filter((s) => s === 201).length;

    const k = max;
    const pollRate = k * (1 / 10 + 1 / 5);
    const out = [
      `Live events: replica B holds the sockets (WS_PING_INTERVAL_S=${PING_S}); measured over ${IDLE_S} s idle windows on this 2-core machine, ${runtimeNote()}, the client in the same process as the load.`,
      "",
      "| idle sockets on B | heap per socket KiB (after a full GC) | RSS per socket KiB (after a full GC) | RSS per socket KiB (end of the window, no forced GC) | CPU per socket-hour (CPU s) | B's CPU % while idle | Redis commands/s (over no socket) | server pings/s |",
      "|---|---|---|---|---|---|---|---|",
      ...idleRows,
      "",
      `Baseline with no socket: RSS ${f(rss0 / 1048576, 1)} MiB (${f(gc0.rss / 1048576, 1)} after a full GC, heap ${f(gc0.heap / 1048576, 1)} MiB), CPU ${f(cpu0 * 100, 2)} %, Redis ${f(redis0, 1)} commands/s.`,
      "",
      `Revocations through replica A of sessions whose sockets replica B holds (${k.toLocaleString("en")} other sockets open on B), from the DELETE /v1/session request to the socket's session.ended:`,
      "",
      "| when | revocations | p50 ms | p99 ms | max ms |",
      "|---|---|---|---|---|",
      `| idle | ${idle.length} | ${f(pct(idle, 50))} | ${f(pct(idle, 99))} | ${f(Math.max(...idle))} |`,
      `| during a ${STORM}-login storm on B (${stormOk} × 201 in ${f(stormWall, 1)} s) | ${stormy.length} | ${f(pct(stormy, 50))} | ${f(pct(stormy, 99))} | ${f(Math.max(...stormy))} |`,
      "",
      "Validations on B (GET /v1/session, one after another for 10 s):",
      "",
      "| sockets open on B | validations | p50 ms | p99 ms |",
      "|---|---|---|---|",
      `| 0 | ${validate0.length} | ${f(pct(validate0, 50), 2)} | ${f(pct(validate0, 99), 2)} |`,
      `| ${k.toLocaleString("en")} | ${validateK.length} | ${f(pct(validateK, 50), 2)} | ${f(pct(validateK, 99), 2)} |`,
      "",
      `Polling instead: the original design's clients validate every 10 s and post activity every 5 s, so ${k.toLocaleString("en")} users send ${f(pollRate, 0)} requests/s, each a database query there. The same users on sockets: ${idleRows.at(-1)!.split("|")[8]!.trim()} pings/s from the server and the Redis commands/s above, and a message only when something happens.`,
    ].join("\n");
    console.log(`\n${out}`);
    mkdirSync(path.join(STATE, "bench"), { recursive: true });
    writeFileSync(path.join(STATE, "bench", "realtime.md"), `${out}\n`);
    for (const s of [...sockets, ...revSockets]) s.ws.terminate();
  } finally {
    procA.kill("SIGTERM");
    procB.kill("SIGTERM");
    redis.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
