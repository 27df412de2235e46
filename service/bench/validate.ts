// Validation side by side with the peers a user would pick instead (service/bench/peers): one process per target
// on this machine, each doing a real session-store lookup per request, loaded by wrk in interleaved rounds with
// the first target rotated. Prints a markdown table and writes it to .state/bench/validate.md.
//
//   npm run bench:validate -- [--rounds 3] [--duration 10] [--connections 32] [--only service,baseline] [--cluster]
//
// The service runs as one replica (dist/main.js, its default settings) on the local infrastructure, which this
// script starts when it is not running (scripts/infra.sh). The peers get a Redis of their own on 127.0.0.1:56479,
// started here and stopped at the end. Every response is checked (status 200 and the user in the body): a target
// that answered anything else, Better Auth's `200 null` included, fails the run.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { ROOT, STATE, infraEnv } from "../test/support/env.js";
import { runtimeNote } from "./runtime.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    only: { type: "string" },
    // Also the local cluster: 3 replicas behind nginx (scripts/cluster.sh), against the capacity model.
    cluster: { type: "boolean", default: false },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION_S = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const PEERS_DIR = path.join(ROOT, "service/bench/peers");
const PEER_REDIS_PORT = 56479;
const OUT = path.join(STATE, "bench");
const TICK_US = 10_000; // USER_HZ is 100 on Linux
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Credential {
  header: string;
  value: string;
  /** A string every valid answer carries (the user's name or id); a 200 without it is a failed validation. */
  marker: string;
}

interface TargetSpec {
  name: string;
  perRequest: string;
  port: number;
  path: string;
  /** Starts the target's process, or (null) makes sure an outside one runs. */
  start(): ChildProcess | null;
  /** The processes whose CPU serves this target's requests, by group (default: the started process). */
  pids?: () => Record<string, number[]>;
  login(base: string): Promise<Credential>;
  /** The Redis this target's lookups go to. */
  redis(): Redis;
}

interface Sample {
  rps: number;
  requests: number;
  p50ms: number;
  p99ms: number;
  cpuUsPerReq: number;
  cpuByGroup: Record<string, number>;
  redisCmdsPerReq: number;
  redisCpuUsPerReq: number;
  non2xx: number;
  bad: number;
  socketErrors: number;
  logBytesPerReq: number | null;
}

let serviceRedis: Redis | undefined;
let peerRedis: Redis | undefined;
const serviceLog = path.join(OUT, "validate-replica.log");

function peer(name: string, target: string, port: number, urlPath: string, perRequest: string, login: TargetSpec["login"]): TargetSpec {
  return {
    name,
    perRequest,
    port,
    path: urlPath,
    start: () =>
      spawn(process.execPath, [path.join(PEERS_DIR, "server.mjs"), target, String(port), String(PEER_REDIS_PORT)], {
        cwd: PEERS_DIR,
        env: { ...process.env, NODE_ENV: "production" },
        stdio: ["ignore", "inherit", "inherit"],
      }),
    login,
    redis: () => (peerRedis ??= new Redis({ port: PEER_REDIS_PORT })),
  };
}

async function expressSessionLogin(base: string): Promise<Credential> {
  const res = await fetch(`${base}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "bench-es-user" }) });
  if (res.status !== 201) throw new Error(`express-session login: ${res.status}`);
  return { header: "Cookie", value: cookieOf(res), marker: "bench-es-user" };
}

async function betterAuthLogin(base: string): Promise<Credential> {
  const email = `bench-${Date.now()}@example.com`;
  const res = await fetch(`${base}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: base },
    body: JSON.stringify({ email, password: "bench password 123", name: "bench-ba-user" }),
  });
  if (res.status !== 200) throw new Error(`Better Auth sign-up: ${res.status} ${await res.text()}`);
  return { header: "Cookie", value: cookieOf(res), marker: email };
}

function cookieOf(res: Response): string {
  const cookie = res.headers.getSetCookie()[0]?.split(";")[0];
  if (!cookie) throw new Error("no Set-Cookie");
  return cookie;
}

const TARGETS: TargetSpec[] = [
  {
    name: "auth-cluster GET /v1/session",
    perRequest: "token parse, HMGET of the session's fields, SHA-256 compare, expiry and revocation check, metrics, request id, security headers, an access-log line for 1 % (ACCESS_LOG_SAMPLE_RATE)",
    port: 3092,
    path: "/v1/session",
    start: () => {
      const log = createWriteStream(serviceLog, { flags: "a" });
      const env = { ...process.env, ...infraEnv(), HOST: "127.0.0.1", PORT: "3092", METRICS_PORT: "9492", REGISTRATION: "open", NODE_ENV: "production" };
      const proc = spawn(process.execPath, [path.join(ROOT, "dist/main.js")], { env, stdio: ["ignore", "pipe", "inherit"] });
      proc.stdout?.pipe(log);
      return proc;
    },
    login: serviceLogin,
    redis: serviceRedisClient,
  },
  peer("baseline: Express 5 + ioredis GET", "baseline", 3093, "/session", "one GET of the token's key, JSON.parse, res.json", async (base) => baselineLogin(base)),
  peer("baseline with auto-pipelining", "baseline-autopipelining", 3094, "/session", "the same, ioredis enableAutoPipelining", async (base) => baselineLogin(base)),
  peer("express-session + connect-redis", "express-session", 3095, "/session", "cookie unsign, GET, JSON.parse; EXPIRE (touch) after the response", expressSessionLogin),
  peer("express-session + connect-redis, disableTouch", "express-session-notouch", 3096, "/session", "cookie unsign, GET, JSON.parse", expressSessionLogin),
  peer("Better Auth get-session endpoint", "better-auth", 3097, "/api/auth/get-session", "cookie verify (HMAC), GET of the session, GET of the user's revocation mark, its router and hooks", betterAuthLogin),
  peer("Better Auth auth.api.getSession", "better-auth-api", 3098, "/session", "the same lookups through auth.api.getSession from a plain route", betterAuthLogin),
];

async function serviceLogin(base: string): Promise<Credential> {
  const username = `bench-validate-${Date.now()}`;
  const body = JSON.stringify({ username, password: "bench validate password" });
  const headers = { "content-type": "application/json" };
  const reg = await fetch(`${base}/v1/users`, { method: "POST", headers, body });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const res = await fetch(`${base}/v1/sessions`, { method: "POST", headers, body });
  if (res.status !== 201) throw new Error(`login: ${res.status} ${await res.text()}`);
  return { header: "Authorization", value: `Bearer ${((await res.json()) as { token: string }).token}`, marker: username };
}

function serviceRedisClient(): Redis {
  const env = infraEnv();
  const sentinels = env.REDIS_SENTINELS!.split(",").map((hp) => ({ host: hp.split(":")[0]!, port: Number(hp.split(":")[1]) }));
  return (serviceRedis ??= new Redis({ sentinels, name: env.REDIS_MASTER_NAME!, password: env.REDIS_PASSWORD, sentinelPassword: env.REDIS_SENTINEL_PASSWORD }));
}

const pidOf = (name: string) => Number(readFileSync(path.join(STATE, "run", `${name}.pid`), "utf8").split("\n")[0]);
/** nginx's master and its workers (the workers are its children). */
function nginxPids(): number[] {
  const master = pidOf("nginx");
  const children = readFileSync(`/proc/${master}/task/${master}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  return [master, ...children];
}

const CLUSTER: TargetSpec = {
  name: "auth-cluster, 3 replicas behind nginx",
  perRequest: "the same, through nginx's round robin to three replicas (CPU: the replicas and nginx)",
  port: 8080,
  path: "/v1/session",
  start: () => {
    run(path.join(ROOT, "scripts/cluster.sh"), ["--replicas", "3"]);
    return null;
  },
  pids: () => ({ replicas: [pidOf("replica-1"), pidOf("replica-2"), pidOf("replica-3")], nginx: nginxPids() }),
  login: serviceLogin,
  redis: serviceRedisClient,
};

async function baselineLogin(_base: string): Promise<Credential> {
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  const redis = (peerRedis ??= new Redis({ port: PEER_REDIS_PORT }));
  await redis.set(`peer:sess:${token}`, JSON.stringify({ user: { id: "bench-baseline-user", username: "bench-baseline-user", roles: [] } }), "EX", 3600);
  return { header: "Authorization", value: `Bearer ${token}`, marker: "bench-baseline-user" };
}

// wrk's Lua: the credential on every request; every response checked for status 200 and the marker.
const WRK_SCRIPT = `
wrk.headers[os.getenv("BENCH_HEADER")] = os.getenv("BENCH_VALUE")
local marker = os.getenv("BENCH_MARKER")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, marker, 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("BENCH bad=%d p50=%f p99=%f\\n", total, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
`;

function cpuTicks(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime, all threads
}

async function commandsProcessed(redis: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info("stats"))![1]);
}

async function measure(spec: TargetSpec, proc: ChildProcess | null, cred: Credential): Promise<Sample> {
  const redis = spec.redis();
  const groups = spec.pids ? spec.pids() : { process: [proc!.pid!] };
  const cpu = () => Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, pids.reduce((sum, pid) => sum + cpuTicks(pid), 0)]));
  const cpu0 = cpu();
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info("server"))![1]);
  const redisCpu0 = cpuTicks(redisPid);
  const cmds0 = await commandsProcessed(redis);
  const log0 = spec.port === 3092 ? statSync(serviceLog).size : null;
  const out = await new Promise<string>((resolve, reject) => {
    const wrk = spawn("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${DURATION_S}s`, "-s", path.join(OUT, "validate.lua"), `http://127.0.0.1:${spec.port}${spec.path}`], {
      env: { ...process.env, BENCH_HEADER: cred.header, BENCH_VALUE: cred.value, BENCH_MARKER: cred.marker },
    });
    let text = "";
    wrk.stdout.on("data", (c: Buffer) => (text += c.toString()));
    wrk.stderr.on("data", (c: Buffer) => (text += c.toString()));
    wrk.on("error", reject);
    wrk.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))));
  });
  const cpu1 = cpu();
  const cmds1 = await commandsProcessed(redis);
  const redisCpu1 = cpuTicks(redisPid);
  await sleep(200); // the last access-log lines
  const log1 = log0 === null ? null : statSync(serviceLog).size;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const bench = /BENCH bad=(\d+) p50=([\d.]+) p99=([\d.]+)/.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    requests,
    p50ms: Number(bench?.[2] ?? NaN),
    p99ms: Number(bench?.[3] ?? NaN),
    cpuUsPerReq: (Object.keys(groups).reduce((sum, g) => sum + cpu1[g]! - cpu0[g]!, 0) * TICK_US) / requests,
    cpuByGroup: Object.fromEntries(Object.keys(groups).map((g) => [g, ((cpu1[g]! - cpu0[g]!) * TICK_US) / requests])),
    // Less the two INFO calls that measured it.
    redisCmdsPerReq: (cmds1 - cmds0 - 2) / requests,
    redisCpuUsPerReq: ((redisCpu1 - redisCpu0) * TICK_US) / requests,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    bad: Number(bench?.[1] ?? NaN),
    socketErrors: socket ? socket.slice(1).reduce((s, n) => s + Number(n), 0) : 0,
    logBytesPerReq: log0 === null || log1 === null ? null : (log1 - log0) / requests,
  };
}

async function waitReady(spec: TargetSpec, proc: ChildProcess | null): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (proc && proc.exitCode !== null) throw new Error(`${spec.name} exited with ${proc.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${spec.port}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${spec.name} did not become ready`);
}

/** A valid credential is answered 200 with the user; a wrong one is not (Better Auth's endpoint: 200 null). */
async function checkValidates(spec: TargetSpec, cred: Credential): Promise<void> {
  const url = `http://127.0.0.1:${spec.port}${spec.path}`;
  const good = await fetch(url, { headers: { [cred.header]: cred.value } });
  const goodBody = await good.text();
  if (good.status !== 200 || !goodBody.includes(cred.marker)) throw new Error(`${spec.name}: a valid credential got ${good.status} ${goodBody.slice(0, 200)}`);
  const wrong = cred.value.slice(0, -4) + (cred.value.endsWith("AAAA") ? "BBBB" : "AAAA");
  const bad = await fetch(url, { headers: { [cred.header]: wrong } });
  const badBody = await bad.text();
  if (bad.status === 200 && badBody.includes(cred.marker)) throw new Error(`${spec.name}: a wrong credential was accepted`);
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): void {
  execFileSync(cmd, args, { stdio: "inherit", cwd: opts.cwd ?? ROOT });
}

function prepare(): void {
  // wrk from Debian; the peers' own dependencies, from their own lockfile; the local infrastructure.
  run("bash", ["-c", `. "${ROOT}/scripts/lib.sh" && ensure_packages wrk=wrk redis-server=redis-server`]);
  const stamp = path.join(PEERS_DIR, "node_modules/.package-lock.json");
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(path.join(PEERS_DIR, "package-lock.json")).mtimeMs) {
    run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: PEERS_DIR });
  }
  run(path.join(ROOT, "scripts/infra.sh"), ["start"]);
  run(path.join(ROOT, "scripts/migrate.sh"), []);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, "validate.lua"), WRK_SCRIPT);
  writeFileSync(serviceLog, "");
  run("redis-server", ["--port", String(PEER_REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "yes",
    "--pidfile", path.join(OUT, "peer-redis.pid"), "--logfile", path.join(OUT, "peer-redis.log")]);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "-");

async function main(): Promise<void> {
  prepare();
  const only = values.only?.split(",");
  const specs = [...TARGETS.filter((t) => !only || only.some((o) => t.name.startsWith(o) || t.name.includes(o))), ...(values.cluster ? [CLUSTER] : [])];
  const procs = new Map<TargetSpec, ChildProcess | null>();
  const creds = new Map<TargetSpec, Credential>();
  const samples = new Map<TargetSpec, Sample[]>(specs.map((s) => [s, []]));
  try {
    for (const spec of specs) {
      const proc = spec.start();
      procs.set(spec, proc);
      await waitReady(spec, proc);
      const cred = await spec.login(`http://127.0.0.1:${spec.port}`);
      await checkValidates(spec, cred);
      creds.set(spec, cred);
    }
    // Warm every target (JIT, connections) for a few seconds before the first round.
    for (const spec of specs) {
      execFileSync("wrk", ["-t1", `-c${CONNECTIONS}`, "-d3s", "-H", `${creds.get(spec)!.header}: ${creds.get(spec)!.value}`, `http://127.0.0.1:${spec.port}${spec.path}`], { stdio: "ignore" });
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = specs.map((_, i) => specs[(i + round) % specs.length]!);
      for (const spec of order) {
        const s = await measure(spec, procs.get(spec) ?? null, creds.get(spec)!);
        samples.get(spec)!.push(s);
        console.log(`round ${round + 1}: ${spec.name}: ${f(s.rps)} req/s, ${f(s.cpuUsPerReq)} µs CPU/req, ${f(s.redisCmdsPerReq, 2)} Redis cmds/req`);
      }
    }
  } finally {
    const live = [...procs.values()].filter((proc): proc is ChildProcess => proc !== null && proc.exitCode === null);
    await Promise.all(live.map((proc) => new Promise((r) => proc.once("exit", r).kill("SIGTERM"))));
    serviceRedis?.disconnect();
    await peerRedis?.shutdown("NOSAVE").catch(() => {});
    peerRedis?.disconnect();
  }

  const baseline = specs.find((s) => s.name.startsWith("baseline:"));
  const ratio = (spec: TargetSpec, to: TargetSpec | undefined) =>
    to ? median(samples.get(spec)!.map((s, i) => s.rps / samples.get(to)!.at(i)!.rps)) : NaN;
  const esSpec = specs.find((s) => s.name === "express-session + connect-redis");
  const rows = specs.map((spec) => {
    const ss = samples.get(spec)!;
    const sum = (k: keyof Sample) => ss.reduce((a, s) => a + Number(s[k] ?? 0), 0);
    const logBytes = ss[0]?.logBytesPerReq;
    return `| ${spec.name} | ${f(median(ss.map((s) => s.rps)))} | ${f(ratio(spec, baseline), 2)}x | ${f(median(ss.map((s) => s.p50ms)), 2)} | ${f(median(ss.map((s) => s.p99ms)), 2)} | ${f(median(ss.map((s) => s.cpuUsPerReq)))} | ${f(median(ss.map((s) => s.redisCmdsPerReq)), 2)} | ${f(median(ss.map((s) => s.redisCpuUsPerReq)), 1)} | ${sum("non2xx") + sum("bad") + sum("socketErrors")} | ${logBytes == null ? "-" : f(logBytes)} |`;
  });
  const service = specs.find((s) => s.port === 3092);
  const table = [
    `Validation, one process per target, wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s, ${ROUNDS} interleaved rounds (first target rotated), ${runtimeNote()}, ${new Date().toISOString()}`,
    "",
    "| target | req/s (median) | vs baseline (paired per round) | p50 ms | p99 ms | server CPU µs/req | Redis cmds/req | Redis CPU µs/req | failed (non-2xx, wrong body, socket errors) | log bytes/req |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    ...specs
      .filter((s) => s.pids)
      .map((s) => {
        const ss = samples.get(s)!;
        const groups = Object.keys(ss[0]?.cpuByGroup ?? {});
        return `${s.name}: server CPU per request by process group (median): ${groups.map((g) => `${g} ${f(median(ss.map((x) => x.cpuByGroup[g]!)))} µs`).join(", ")}`;
      }),
    "",
    ...(service && esSpec ? [`auth-cluster vs express-session + connect-redis (paired per round): ${f(ratio(service, esSpec), 2)}x`, ""] : []),
    "What each target runs per request:",
    "",
    ...specs.map((s) => `- ${s.name}: ${s.perRequest}`),
  ].join("\n");
  console.log(`\n${table}`);
  writeFileSync(path.join(OUT, "validate.md"), `${table}\n`);
  const failed = specs.filter((s) => samples.get(s)!.some((x) => x.non2xx + x.bad + x.socketErrors > 0 || !(x.requests > 0)));
  if (failed.length > 0) {
    console.error(`FAILED: ${failed.map((s) => s.name).join(", ")} answered something other than a validated session`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
