// Login-storm benchmark: N distinct users log in at once against a service replica on the running local
// infrastructure (./scripts/up.sh). Prints a markdown table and writes it to .state/bench/login-storm.md.
//
//   npm run bench:login-storm -- [--sizes 10,50,100,500,1000] [--cost 10] [--pool N] [--sessions 100000]
//
// The floor is N / R, where R is the compares per second a bare piscina pool of the same size, running the
// same worker at the same cost, reaches on this machine right before the storm; efficiency = floor / wall.
// Each storm against the service is followed by one against the bare prototype (bare-prototype.ts).
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import bcrypt from "bcrypt";
import { Redis } from "ioredis";
import pg from "pg";
import { Piscina } from "piscina";
import { availableCpus } from "../src/cpus.js";
import { ROOT, STATE, infraEnv } from "../test/support/env.js";
import { readFileSync } from "node:fs";
import { breakdown, snapshot } from "./cpu-accounting.js";
import { runtimeNote } from "./runtime.js";
import { bytesPerSession, sentinelClient, USER_AGENTS } from "./session-memory.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10,50,100,500,1000" },
    cost: { type: "string", default: "10" },
    pool: { type: "string" },
    sessions: { type: "string", default: "100000" },
  },
});
const sizes = values.sizes.split(",").map(Number);
const cost = Number(values.cost);
const poolSize = values.pool ? Number(values.pool) : availableCpus((p) => readFileSync(p, "utf8"));
const PORT = 3090;
const METRICS = 9490;
const PROTOTYPE_PORT = 3091;
const R_COMPARES_PER_THREAD = 50; // about 3 s at cost 10
const VALIDATE_EVERY_MS = 50;
const EVENT_LOOP_RESOLUTION_S = 0.01; // prom-client samples every 10 ms; the samples include that interval

const CPU_COLUMNS = [
  "target: hash threads",
  "target: main thread",
  "target: other threads (GC, libuv, V8)",
  "load generator (this process)",
  "redis + sentinels",
  "postgres + pgbouncer",
  "kernel workers",
  "other processes",
  "kernel and unaccounted",
];

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

interface Target {
  name: string;
  port: number;
  /** The service's metrics port; the bare prototype has none. */
  metricsPort: number | null;
  proc: ChildProcess;
}

const benchEnv = () => ({
  ...process.env,
  ...infraEnv(),
  HOST: "127.0.0.1",
  LOG_LEVEL: "warn",
  BCRYPT_COST: String(cost),
  HASH_POOL_SIZE: String(poolSize),
  HASH_QUEUE_MAX: "100000",
  HASH_QUEUE_MAX_WAIT_MS: "600000",
  DB_POOL_SIZE: "20",
});

function startReplica(): Promise<Target> {
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the replica.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const env = { ...benchEnv(), PORT: String(PORT), METRICS_PORT: String(METRICS) };
  const proc = spawn(process.execPath, [...nodeArgs, path.join(ROOT, "dist/main.js")], { env, stdio: ["ignore", "inherit", "inherit"] });
  return ready({ name: "replica", port: PORT, metricsPort: METRICS, proc });
}

function startPrototype(): Promise<Target> {
  const env = { ...benchEnv(), PORT: String(PROTOTYPE_PORT) };
  const script = path.join(ROOT, "service/bench/bare-prototype.ts");
  const proc = spawn(process.execPath, ["--import", "tsx", script], { env, stdio: ["ignore", "inherit", "inherit"] });
  return ready({ name: "bare prototype", port: PROTOTYPE_PORT, metricsPort: null, proc });
}

async function ready(target: Target): Promise<Target> {
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${target.port}/readyz`)).status === 200) return target;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  target.proc.kill("SIGKILL");
  throw new Error(`bench ${target.name} did not become ready (is ./scripts/up.sh running, and the service built?)`);
}

async function stop(target: Target): Promise<void> {
  target.proc.kill("SIGTERM");
  await new Promise((r) => target.proc.once("exit", r));
}

/** A bare piscina pool of the service's size running the service's worker: the reference rate R. */
class BarePool {
  private readonly pool = new Piscina({
    filename: new URL("../src/adapters/hashing/hash-worker.js", import.meta.url).href,
    minThreads: poolSize,
    maxThreads: poolSize,
  });
  private readonly hash = bcrypt.hashSync("benchmark password", cost);

  private run(n: number) {
    return Promise.all(Array.from({ length: n }, () => this.pool.run({ op: "verify", password: "benchmark password", hash: this.hash })));
  }

  /**
   * Compares per second, measured right before a storm: this VM's speed drifts by several per cent within
   * minutes, so one R for the whole run would move every efficiency with it.
   */
  async rate(): Promise<number> {
    await this.run(poolSize * 2); // warm the threads
    const n = poolSize * R_COMPARES_PER_THREAD;
    const t0 = performance.now();
    await this.run(n);
    return n / ((performance.now() - t0) / 1000);
  }

  close() {
    return this.pool.close();
  }
}

/** Validations the replica has answered so far, and how many of them within 10 ms (its own HTTP histogram). */
async function validationsWithin10ms(metricsPort: number): Promise<{ within: number; all: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const labels = 'method="GET",route="/v1/session",status_class="2xx"';
  const value = (line: string) => {
    const i = text.indexOf(`\n${line} `);
    return i < 0 ? 0 : Number(text.slice(i + line.length + 2, text.indexOf("\n", i + 1)));
  };
  return {
    within: value(`http_request_duration_seconds_bucket{le="0.01",${labels}}`),
    all: value(`http_request_duration_seconds_count{${labels}}`),
  };
}

async function eventLoopP99(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
  return m ? Math.max(0, Number(m[1]) - EVENT_LOOP_RESOLUTION_S) * 1000 : NaN;
}

// node:http with keep-alive: a light client, since it shares the two cores with the service it measures.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function send(port: number, method: string, urlPath: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: urlPath, headers, agent }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function login(port: number, username: string, password: string) {
  const t0 = performance.now();
  try {
    const res = await send(port, "POST", "/v1/sessions", { "content-type": "application/json" }, JSON.stringify({ username, password }));
    const body = JSON.parse(res.text) as { token?: string; error?: string };
    return { status: res.status, ms: performance.now() - t0, token: body.token, error: body.error };
  } catch (err) {
    return { status: 0, ms: performance.now() - t0, token: undefined, error: String(err) };
  }
}

const VALIDATOR = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const samples = []; // [sent at (epoch ms), latency ms]
let failures = 0;
let running = true;
parentPort.on("message", () => { running = false; });
function once() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sentAt = Date.now();
    const req = http.request({ host: "127.0.0.1", port: workerData.port, path: "/v1/session", agent,
      headers: { authorization: "Bearer " + workerData.token } }, (res) => {
      res.resume();
      res.on("end", () => { if (res.statusCode === 200) samples.push([sentAt, performance.now() - t0]); else failures++; resolve(); });
    });
    req.on("error", () => { failures++; resolve(); });
    req.end();
  });
}
(async () => {
  while (running) {
    await once();
    await new Promise((r) => setTimeout(r, workerData.every));
  }
  parentPort.postMessage({ samples, failures });
})();
`;

function startValidator(port: number, token: string) {
  const worker = new Worker(VALIDATOR, { eval: true, workerData: { port, token, every: VALIDATE_EVERY_MS } });
  const done = new Promise<{ samples: [number, number][]; failures: number }>((resolve) => worker.once("message", resolve));
  return {
    async stop() {
      worker.postMessage("stop");
      const result = await done;
      await worker.terminate();
      return result;
    },
  };
}

interface StormRow {
  table: string;
  cpu: string;
  efficiency: number;
  validateP99: number;
}

/** One storm of n distinct users against a target, with a validating client alongside. */
async function storm(target: Target, n: number, users: string[], password: string, validatorToken: string, statsClient: Redis, R: number): Promise<StormRow> {
  const metricsPort = target.metricsPort;
  if (metricsPort !== null) await eventLoopP99(metricsPort); // resets the service's event-loop histogram
  // The validating client runs on a thread of its own: on the storm's event loop it would time its own
  // backlog, not the service.
  const servedBefore = metricsPort === null ? null : await validationsWithin10ms(metricsPort);
  const validator = startValidator(target.port, validatorToken);
  await sleep(300); // its connection is open and warm before the storm starts
  const redisBefore = await redisStats(statsClient);
  const pid = target.proc.pid!;
  const cpuBefore = snapshot(pid);
  const stormStart = Date.now();
  const t0 = performance.now();
  const results = await Promise.all(users.map((u) => login(target.port, u, password)));
  const wall = (performance.now() - t0) / 1000;
  const cpu = new Map(breakdown(cpuBefore, snapshot(pid), pid, poolSize));
  const redisAfter = await redisStats(statsClient);
  const { samples, failures: validationFailures } = await validator.stop();
  const validations = samples.map(([, latency]) => latency);
  // Where the slow ones fall: the first second is when all n requests arrive at once and are parsed.
  const slow = samples.filter(([, latency]) => latency > 10);
  const slowEarly = slow.filter(([sentAt]) => sentAt < stormStart + 1000).length;
  let loopP99 = NaN;
  let servedFast = "-";
  if (metricsPort !== null && servedBefore !== null) {
    loopP99 = await eventLoopP99(metricsPort);
    const servedAfter = await validationsWithin10ms(metricsPort);
    const served = servedAfter.all - servedBefore.all;
    if (served > 0) servedFast = (((servedAfter.within - servedBefore.within) / served) * 100).toFixed(1);
  }
  const ok = results.filter((r) => r.status === 201);
  const overloaded = results.filter((r) => r.status === 503 && r.error === "overloaded").length;
  const other = results.length - ok.length - overloaded + validationFailures;
  if (other > 0) {
    const failed = results.filter((r) => r.status !== 201 && !(r.status === 503 && r.error === "overloaded"));
    console.error(`${target.name}: ${failed.length} failed logins (${[...new Set(failed.map((r) => `${r.status} ${r.error ?? ""}`))].join(", ")}), ${validationFailures} failed validations`);
  }
  const floor = n / R;
  const efficiency = floor / wall;
  const lat = results.map((r) => r.ms);
  const validateP99 = pct(validations, 99);
  const table = `| ${n} | ${R.toFixed(1)} | ${wall.toFixed(2)} s | ${ms(pct(lat, 50))} | ${ms(pct(lat, 99))} | ${ok.length} | ${overloaded} | ${other} | ${floor.toFixed(2)} s | ${efficiency.toFixed(3)} | ${ms(validateP99)} (${validations.length}) | ${slowEarly} / ${slow.length - slowEarly} | ${servedFast} | ${ms(loopP99)} |`;
  const perLogin = (label: string) => ((cpu.get(label) ?? 0) / n).toFixed(2);
  const redisPerLogin = (k: keyof RedisStats) => ((redisAfter[k] - redisBefore[k]) / n).toFixed(1);
  const cpuRow = `| ${n} | ${CPU_COLUMNS.map(perLogin).join(" | ")} | ${redisPerLogin("commands")} | ${redisPerLogin("reads")} |`;
  console.error(`${target.name}: ${table}`);
  return { table, cpu: cpuRow, efficiency, validateP99 };
}

async function main() {
  const env = infraEnv();
  const password = "benchmark password";
  const run = Date.now().toString(36);
  console.error(`# login storm: bcrypt cost ${cost}, hash pool ${poolSize}, sizes ${sizes.join(", ")}`);

  // Users are inserted directly with one precomputed hash: registering 3,300 users through the API would
  // itself be a storm. The hash is valid for every user (bcrypt stores its salt inside it). The service and
  // the prototype each get users of their own, so neither meets the other's sessions.
  const db = new pg.Client({ connectionString: env.DIRECT_DATABASE_URL });
  await db.connect();
  const hash = bcrypt.hashSync(password, cost);
  const names = (who: string, n: number) => Array.from({ length: n }, (_, i) => `bench-${run}-${who}-${n}-${i}`);
  const all = [...sizes.flatMap((n) => [...names("svc", n), ...names("proto", n)]), `bench-${run}-validator`];
  await db.query(
    "INSERT INTO users (username, password_hash, roles, updated_at) SELECT u, $2, '{}', now() FROM unnest($1::text[]) AS u",
    [all, hash],
  );
  await db.end();

  const bare = new BarePool();
  const replica = await startReplica();
  const prototype = await startPrototype();
  const statsClient = sentinelClient();
  const service: StormRow[] = [];
  const reference: StormRow[] = [];
  try {
    const tokenFor = async (target: Target) => (await login(target.port, `bench-${run}-validator`, password)).token!;
    const [replicaToken, prototypeToken] = [await tokenFor(replica), await tokenFor(prototype)];
    // Storms alternate between the two, size by size, so drift on the machine touches both alike.
    for (const n of sizes) {
      service.push(await storm(replica, n, names("svc", n), password, replicaToken, statsClient, await bare.rate()));
      await sleep(500);
      reference.push(await storm(prototype, n, names("proto", n), password, prototypeToken, statsClient, await bare.rate()));
      await sleep(500);
    }
  } finally {
    statsClient.disconnect();
    await Promise.all([stop(replica), stop(prototype), bare.close()]);
  }

  const memoryClient = sentinelClient();
  const perSession = await bytesPerSession(memoryClient, "current", Number(values.sessions), USER_AGENTS.short).finally(() => memoryClient.disconnect());
  const header = [
    "| N | R /s | wall | login p50 ms | login p99 ms | 201 | 503 overloaded | other failures | floor N/R | efficiency | validate p99 ms (samples) | validations over 10 ms: first 1 s / rest | served in <= 10 ms % | event-loop delay p99 ms |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const cpuHeader = [`| N | ${CPU_COLUMNS.join(" | ")} | Redis commands | Redis reads (round trips) |`, `|---|${CPU_COLUMNS.map(() => "---").join("|")}|---|---|`];
  const ratio = (f: (r: StormRow) => number) => sizes.map((n, i) => `| ${n} | ${(f(service[i]!) / f(reference[i]!)).toFixed(2)} |`);
  const out = [
    `Login storm — bcrypt cost ${cost}, hash pool ${poolSize} threads, ${availableCpus((p) => readFileSync(p, "utf8"))} CPUs, ${runtimeNote()}, load generator on the same machine.`,
    `A client on its own thread validates one session every ${VALIDATE_EVERY_MS} ms during each storm (failed validations count as other failures);`,
    "\"validations over 10 ms\" counts the client's slow ones, split at one second after the storm began (when all N requests",
    "arrive at once); \"served in <= 10 ms\" is the share the replica's own HTTP histogram timed at 10 ms or less.",
    `R is the compares per second of a bare pool of ${poolSize} threads running the same worker at the same cost, measured over`,
    `${poolSize * R_COMPARES_PER_THREAD} compares right before each storm; floor = N / R, efficiency = floor / wall.`,
    "",
    "The service (one replica):",
    "",
    ...header,
    ...service.map((r) => r.table),
    "",
    "The bare prototype (Express + pg + the same bcrypt worker pool + one Redis SET; service/bench/bare-prototype.ts),",
    "stormed right after the service at each N, on the same machine and infrastructure:",
    "",
    ...header,
    ...reference.map((r) => r.table),
    "",
    "Service efficiency / prototype efficiency, same run:",
    "",
    "| N | ratio |",
    "|---|---|",
    ...ratio((r) => r.efficiency),
    "",
    "CPU per login during each storm, in ms (from /proc; the hash threads are the target's busiest threads), and what the",
    "Redis master processed per login (INFO stats: commands, and socket reads, i.e. round trips; validations included).",
    "The service:",
    "",
    ...cpuHeader,
    ...service.map((r) => r.cpu),
    "",
    "The bare prototype:",
    "",
    ...cpuHeader,
    ...reference.map((r) => r.cpu),
    "",
    `Redis memory per session at ${Number(values.sessions).toLocaleString("en")} sessions: ${perSession.toFixed(0)} bytes (INFO used_memory delta / sessions, the active count included; npm run bench:session-memory compares the layouts).`,
  ].join("\n");
  console.log(out);
  mkdirSync(path.join(STATE, "bench"), { recursive: true });
  writeFileSync(path.join(STATE, "bench", "login-storm.md"), `${out}\n`);
}


interface RedisStats {
  commands: number;
  reads: number;
}

async function redisStats(redis: Redis): Promise<RedisStats> {
  const info = await redis.info("stats");
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? NaN);
  return { commands: field("total_commands_processed"), reads: field("total_reads_processed") };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
