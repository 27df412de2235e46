// Survival suite: three replicas behind nginx under a bounded load while Kubernetes-like faults happen for real.
// Prints a table (and writes .state/survival.md): scenario, requests, failed, longest unavailability, sessions lost.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import bcrypt from "bcrypt";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, STATE, infraEnv } from "../support/env.js";
import { SENTINELS, componentOnPort, currentMaster, infra, infraAsync, redisHealthy, sentinel, waitFor } from "../support/infra.js";
import { Load, failed, longestUnavailability, send, sleep, type Outcome } from "./load.js";

const LB = 8080;
// A scenario plus Sentinel settling afterwards can take a minute or two.
const SCENARIO_TIMEOUT = 240_000;
const PASSWORD = "survival password";
const rows: string[] = [];
let hash = "";

// Asynchronous on purpose: the load generator runs in this process and must keep going during each fault.
const execFileAsync = promisify(execFile);
const script = async (name: string, ...args: string[]) => {
  await execFileAsync(path.join(ROOT, "scripts", name), args, { timeout: 120_000 });
};

async function makeUsers(clients: number, perClient: number): Promise<string[][]> {
  const run = randomBytes(4).toString("hex");
  const users = Array.from({ length: clients }, (_, c) => Array.from({ length: perClient }, (_, i) => `surv-${run}-${c}-${i}`));
  const db = new pg.Client({ connectionString: infraEnv().DIRECT_DATABASE_URL });
  await db.connect();
  await db.query("INSERT INTO users (username, password_hash, roles, updated_at) SELECT u, $2, '{}', now() FROM unnest($1::text[]) AS u", [users.flat(), hash]);
  await db.end();
  return users;
}

/** Tokens that should be valid but answer 401 (a 503 is retried: the question is loss, not availability). */
async function lostSessions(tokens: Iterable<string>): Promise<number> {
  let lost = 0;
  for (const token of tokens) {
    const res = await waitFor("a definite answer", async () => {
      const r = await send(LB, "GET", "/v1/session", { authorization: `Bearer ${token}` });
      return r.status === 200 || r.status === 401 ? r : undefined;
    }, 30_000);
    if (res.status === 401) lost++;
  }
  return lost;
}

/** What a failed recovery looked like: recent outcomes, what each Sentinel says, and the end of the logs. */
async function diagnosis(outcomes: Outcome[]): Promise<string> {
  const since = Date.now() - 10_000;
  const counts = new Map<string, number>();
  for (const o of outcomes.filter((x) => x.at >= since)) {
    const key = `${o.kind} ${o.status} ${o.error ?? ""}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const lines = ["outcomes in the last 10 s:", ...[...counts].map(([k, n]) => `  ${k}: ${n}`)];
  for (const port of SENTINELS) {
    const s = sentinel(port);
    const said = await s.call("SENTINEL", "get-master-addr-by-name", "auth-master").catch((e: Error) => e.message);
    s.disconnect();
    lines.push(`sentinel :${port} says master ${JSON.stringify(said)}`);
  }
  for (const log of ["sentinel-1", "redis-master", "redis-replica", "replica-1", "replica-2", "replica-3"]) {
    const file = path.join(STATE, "logs", `${log}.log`);
    const tail = existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-12) : ["(no log)"];
    lines.push(`--- ${log}.log`, ...tail.map((l) => `  ${l.slice(0, 300)}`));
  }
  return lines.join("\n");
}

interface Result {
  load: Load;
  outcomes: Outcome[];
  failed: number;
  longest: number;
  lost: number;
}

async function scenario(name: string, fault: (load: Load) => Promise<void>): Promise<Result> {
  const load = new Load(LB, await makeUsers(6, 200), PASSWORD);
  load.start();
  try {
    // Traffic from every client before the fault, and as much after the recovery.
    await waitFor(`${name}: traffic before the fault`, async () => load.outcomes.length >= 30, 30_000);
    await fault(load);
    // Recovered: the last twenty requests, of every client, succeeded.
    try {
      await waitFor(`${name}: recovery under load`, async () => {
        const recent = load.outcomes.slice(-20);
        return recent.length === 20 && !recent.some(failed);
      }, 60_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await diagnosis(load.outcomes)}`, { cause: err });
    }
    const recovered = load.outcomes.length;
    await waitFor(`${name}: traffic after the recovery`, async () => load.outcomes.length >= recovered + 30, 30_000);
  } finally {
    await load.stop(); // never leave clients running into the next scenario
  }
  const lost = load.lostDuring + (await lostSessions(load.live));
  const outcomes = load.outcomes;
  const result = { load, outcomes, failed: outcomes.filter(failed).length, longest: longestUnavailability(outcomes), lost };
  const slug = name.split(" (")[0]!.replaceAll(" ", "-");
  writeFileSync(path.join(STATE, `survival-${slug}.json`), JSON.stringify(outcomes));
  rows.push(`| ${name} | ${outcomes.length} | ${result.failed} | ${result.longest.toFixed(2)} s | ${lost} |`);
  console.log(rows.at(-1));
  return result;
}

describe("survival of the local cluster", () => {
  beforeAll(async () => {
    hash = bcrypt.hashSync(PASSWORD, 10);
    await redisHealthy();
    infra("start", "pgbouncer", "postgres");
    await script("cluster.sh", "--replicas", "3");
  }, 180_000);

  afterAll(() => {
    const table = [
      "| scenario | requests | failed requests | longest unavailability | sessions lost |",
      "|---|---|---|---|---|",
      ...rows,
    ].join("\n");
    console.log(`\n${table}\n`);
    writeFileSync(path.join(STATE, "survival.md"), `${table}\n`);
  });

  it("rolling restart: each replica drains on SIGTERM and returns; zero failed requests, zero sessions lost", async () => {
    const r = await scenario("rolling restart (SIGTERM, drain, start; each replica)", async () => {
      for (const i of ["1", "2", "3"]) {
        await script("replicas.sh", "stop", i);
        await script("replicas.sh", "start", i);
        await sleep(500); // the fault's shape: a moment of the whole set serving before the next replica goes
      }
    });
    expect(r.failed).toBe(0);
    expect(r.lost).toBe(0);
  }, SCENARIO_TIMEOUT);

  it("full restart: every session issued before validates afterwards", async () => {
    const r = await scenario("full restart (all replicas stop, then start)", async () => {
      await script("replicas.sh", "stop");
      await script("replicas.sh", "start", "--replicas", "3");
    });
    expect(r.lost).toBe(0);
  }, SCENARIO_TIMEOUT);

  it("crash: SIGKILL of one replica fails at most its requests in flight, loses no session", async () => {
    const r = await scenario("crash (SIGKILL one replica, restart it)", async () => {
      await script("replicas.sh", "kill", "2");
      await sleep(3000); // the fault's length: requests meet the dead replica until nginx stops choosing it
      await script("replicas.sh", "start", "2");
    });
    expect(r.lost).toBe(0);
    expect(r.failed).toBeLessThanOrEqual(6); // at most one request in flight per client
  }, SCENARIO_TIMEOUT);

  for (const round of [1, 2]) {
    it(`Redis master loss (${round}): Sentinel promotes, the service follows; 503 + Retry-After (never 401) meanwhile, no session lost`, async () => {
      await redisHealthy(); // a master with a replica to promote, whatever an earlier scenario left
      const r = await scenario(`Redis master loss ${round} (SIGKILL master)`, async (load) => {
        const killedAt = Date.now();
        await infraAsync("kill", componentOnPort(await currentMaster()));
        await waitFor("requests failing while no master is reachable", async () => load.outcomes.some((o) => o.at > killedAt && failed(o)), 10_000);
      });
      expect(r.lost).toBe(0);
      expect(r.longest).toBeLessThan(10);
      const unavailable = r.outcomes.filter((o) => o.status === 503);
      expect(unavailable.every((o) => o.error === "unavailable" && o.retryAfter !== undefined)).toBe(true);
      expect(r.outcomes.filter((o) => failed(o) && o.status !== 503)).toEqual([]);
      await redisHealthy(); // the old master is back, as a replica
    }, SCENARIO_TIMEOUT);
  }

  it("database loss: validation and logout keep working, login answers 503 within 2 s, all recovers by itself", async () => {
    let outageStart = 0;
    let outageEnd = 0;
    const r = await scenario("database loss (stop PgBouncer, then Postgres)", async () => {
      await infraAsync("stop", "pgbouncer");
      // From here on no database is reachable (a login that began while PgBouncer was stopping may succeed).
      outageStart = Date.now();
      await sleep(3000); // the outage's length, by design: logins must fail fast all through it
      await infraAsync("stop", "postgres");
      await sleep(3000);
      outageEnd = Date.now();
      await infraAsync("start", "postgres", "pgbouncer");
      await waitFor("readiness through the load balancer after the database returns", async () => {
        const res = await send(LB, "GET", "/readyz");
        return res.status === 200;
      }, 30_000);
    });
    expect(r.lost).toBe(0);
    const during = r.outcomes.filter((o) => o.at >= outageStart && o.at + o.ms <= outageEnd);
    expect(during.filter((o) => o.kind !== "login" && failed(o))).toEqual([]);
    const logins = during.filter((o) => o.kind === "login");
    expect(logins.length).toBeGreaterThan(0);
    for (const o of logins) {
      expect(o.status).toBe(503);
      expect(o.error).toBe("unavailable");
      expect(o.ms).toBeLessThan(2_000);
    }
    expect(r.outcomes.filter((o) => o.at > outageEnd + 5_000 && failed(o))).toEqual([]);
  }, SCENARIO_TIMEOUT);

  it("Redis replica loss: logins keep working (WAIT times out and the login is accepted, as documented)", async () => {
    await redisHealthy();
    const r = await scenario("Redis replica loss (stop the replica, start it)", async () => {
      const master = await currentMaster();
      await infraAsync("stop", componentOnPort(master === 56379 ? 56380 : 56379));
      await sleep(4000); // the outage's length: logins meet WAIT timeouts all through it
      await infraAsync("start", "redis-master", "redis-replica");
    });
    expect(r.failed).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.outcomes.filter((o) => o.kind === "login" && o.status === 201).length).toBeGreaterThan(0);
    await redisHealthy();
  }, SCENARIO_TIMEOUT);
});
