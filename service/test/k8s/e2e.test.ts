// End to end on a real Kubernetes: the image built from the Dockerfile, the chart installed with Helm 4 (then
// Helm 3), and the faults only a cluster has — each under a bounded load that records every request, as the local
// survival suite does. Prints a table and writes .state/k8s-e2e.md. The cluster comes from scripts/test.sh (the
// local one) or scripts/kind-e2e.sh (kind); the API is reached on its NodePort at 127.0.0.1.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import bcrypt from "bcrypt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, STATE } from "../support/env.js";
import { waitFor } from "../support/infra.js";
import { Load, failed, longestUnavailability, send, sleep, type Outcome } from "../cluster/load.js";
import { CommandError, E2E, exec, killContainer, kubectl, kubectlApply, kubectlJson, podReady, pods, run, type Pod } from "./kube.js";

const NS = "auth-e2e";
const RELEASE = "auth";
const FULL = "auth-auth-cluster";
const CHART = path.join(ROOT, "charts/auth-cluster");
const VALUES = path.join(ROOT, "k8s/values-e2e.yaml");
const PASSWORD = "e2e password";
const API = "app.kubernetes.io/component=api";
const REDIS = "app.kubernetes.io/component=redis";
const rows: string[] = [];
let hash = "";

const helmArgs = (tag: string, ...extra: string[]) => [
  RELEASE, CHART, "-n", NS, "-f", VALUES, "--set", `image.repository=${E2E.image}`, "--set", `image.tag=${tag}`, "--wait", "--timeout", "6m", ...extra,
];

/** Users straight into the in-cluster Postgres (as the local survival suite does): one bcrypt per run, not per user. */
async function makeUsers(clients: number, perClient: number): Promise<string[][]> {
  const run = randomBytes(4).toString("hex");
  const prefix = `e2e-${run}`;
  await exec(NS, "auth-postgres-0", "postgres", [
    "psql", "-U", "auth", "-d", "auth", "-v", "ON_ERROR_STOP=1", "-qc",
    `INSERT INTO users (username, password_hash, roles, updated_at) SELECT '${prefix}-' || c || '-' || i, '${hash}', '{}', now() FROM generate_series(0, ${clients - 1}) c, generate_series(0, ${perClient - 1}) i`,
  ]);
  return Array.from({ length: clients }, (_, c) => Array.from({ length: perClient }, (_, i) => `${prefix}-${c}-${i}`));
}

/** Live tokens that answer 401 now (a 503 is retried: the question is loss, not availability). */
async function lostSessions(tokens: Iterable<string>): Promise<number> {
  let lost = 0;
  for (const token of tokens) {
    const res = await waitFor("a definite answer", async () => {
      const r = await send(E2E.port, "GET", "/v1/session", { authorization: `Bearer ${token}` });
      return r.status === 200 || r.status === 401 ? r : undefined;
    }, 60_000);
    if (res.status === 401) lost++;
  }
  return lost;
}

/** Every Redis pod's replication role, sampled about once a second while a scenario runs. */
class RoleWatch {
  readonly samples: { at: number; roles: Record<string, string> }[] = [];
  private running = true;
  private loop: Promise<void>;

  constructor() {
    this.loop = this.watch();
  }

  private async watch(): Promise<void> {
    while (this.running) {
      const at = Date.now();
      const names = [0, 1, 2].map((i) => `${FULL}-redis-${i}`);
      const roles = await Promise.all(
        names.map((n) => exec(NS, n, "redis", ["sh", "-c", "timeout 2 redis-cli info replication | tr -d '\\r' | sed -n 's/^role://p'"]).then((o) => o.trim() || "down", () => "down")),
      );
      this.samples.push({ at, roles: Object.fromEntries(names.map((n, i) => [n, roles[i]!])) });
      await sleep(Math.max(0, 1000 - (Date.now() - at)));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Samples taken after `since` in which `pod` said it was a master. */
  masterSamples(pod: string, since: number): number {
    return this.samples.filter((s) => s.at >= since && s.roles[pod] === "master").length;
  }

  /** Seconds during which two pods said they were masters (a handover's last moments, or split brain). */
  twoMastersSeconds(): number {
    return this.samples.filter((s) => Object.values(s.roles).filter((r) => r === "master").length > 1).length;
  }
}

interface Result {
  outcomes: Outcome[];
  failed: Outcome[];
  longest: number;
  lost: number;
  during401: number;
  watch?: RoleWatch;
}

async function scenario(name: string, fault: () => Promise<void>, options: { watchRedis?: boolean } = {}): Promise<Result> {
  const load = new Load(E2E.port, await makeUsers(6, 400), PASSWORD);
  const watch = options.watchRedis ? new RoleWatch() : undefined;
  load.start();
  try {
    // Traffic from every client before the fault, and as much after the recovery.
    await waitFor(`${name}: traffic before the fault`, async () => load.outcomes.length >= 30, 30_000);
    await fault();
    await waitFor(`${name}: recovery under load`, async () => {
      const recent = load.outcomes.slice(-30);
      return recent.length === 30 && !recent.some(failed);
    }, 120_000);
    const recovered = load.outcomes.length;
    await waitFor(`${name}: traffic after the recovery`, async () => load.outcomes.length >= recovered + 30, 30_000);
  } finally {
    await load.stop();
    await watch?.stop();
  }
  const lost = load.lostDuring + (await lostSessions(load.live));
  const outcomes = load.outcomes;
  const result: Result = { outcomes, failed: outcomes.filter(failed), longest: longestUnavailability(outcomes), lost, during401: load.lostDuring, watch };
  const two = watch ? `${watch.twoMastersSeconds()} s` : "-";
  rows.push(`| ${name} | ${outcomes.length} | ${result.failed.length} | ${result.longest.toFixed(2)} s | ${lost} | ${two} |`);
  console.log(rows.at(-1));
  return result;
}

const describeFailures = (r: Result) => {
  const counts = new Map<string, number>();
  for (const o of r.failed) counts.set(`${o.kind} ${o.status} ${o.error ?? ""}`.trim(), (counts.get(`${o.kind} ${o.status} ${o.error ?? ""}`.trim()) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k}: ${n}`).join(", ");
};

async function currentMaster(): Promise<string> {
  const out = await exec(NS, `${FULL}-redis-0`, "sentinel", ["redis-cli", "-p", "26379", "sentinel", "get-master-addr-by-name", "auth-master"]);
  return out.split("\n")[0]!.split(".")[0]!;
}

async function redisSettled(): Promise<void> {
  await waitFor("three ready Redis pods, one master and two replicas in sync", async () => {
    const ps = await pods(NS, REDIS);
    if (ps.length !== 3 || !ps.every(podReady)) return false;
    const roles = await Promise.all(ps.map((p) => exec(NS, p.metadata.name, "redis", ["sh", "-c", "redis-cli info replication | tr -d '\\r'"])));
    return roles.filter((r) => r.includes("role:master") && r.includes("connected_slaves:2")).length === 1;
  }, 180_000);
}

async function deploymentReady(name: string, replicas?: number): Promise<void> {
  await waitFor(`${name} rolled out`, async () => {
    const d = await kubectlJson(["-n", NS, "get", "deployment", name]);
    const want = replicas ?? d.spec.replicas;
    return d.status.observedGeneration >= d.metadata.generation && d.status.updatedReplicas === want && d.status.readyReplicas === want && (d.status.replicas ?? 0) === want;
  }, 300_000);
}

async function postgresUp(): Promise<void> {
  await kubectl(["create", "namespace", NS]);
  await kubectl(["-n", NS, "create", "secret", "generic", "auth-postgres", `--from-literal=password=${randomBytes(12).toString("hex")}`]);
  await kubectlApply(NS, readFileSync(path.join(ROOT, "k8s/postgres.yaml"), "utf8"));
  await kubectl(["-n", NS, "rollout", "status", "statefulset/auth-postgres", "--timeout=180s"], 200_000);
}

async function deleteNamespace(): Promise<void> {
  await kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=180s"], 200_000);
}

/** What is left in the namespace besides the suite's own Postgres and Kubernetes' defaults. */
async function leftovers(): Promise<string[]> {
  const kinds = "all,configmaps,secrets,persistentvolumeclaims,serviceaccounts,roles,rolebindings,networkpolicies,poddisruptionbudgets,horizontalpodautoscalers,jobs,ingresses";
  const { items } = await kubectlJson<{ items: { kind: string; metadata: { name: string } }[] }>(["-n", NS, "get", kinds]);
  const ours = new Set(["Secret/auth-postgres", "ConfigMap/kube-root-ca.crt", "ServiceAccount/default", "StatefulSet/auth-postgres", "Service/auth-postgres", "Pod/auth-postgres-0", "PersistentVolumeClaim/data-auth-postgres-0"]);
  return items.map((o) => `${o.kind}/${o.metadata.name}`).filter((k) => !ours.has(k) && !k.startsWith("ControllerRevision/auth-postgres")).sort();
}

/** helm uninstall, then only what the chart README says is kept on purpose is left: the Redis Secret and volume claims. */
async function uninstall(helmBin: string): Promise<void> {
  await run(helmBin, ["uninstall", RELEASE, "-n", NS, "--wait"], 300_000);
  await waitFor("the release's pods gone", async () => (await pods(NS, `app.kubernetes.io/instance=${RELEASE}`)).length === 0, 180_000);
  expect(await leftovers()).toEqual([
    `PersistentVolumeClaim/data-${FULL}-redis-0`,
    `PersistentVolumeClaim/data-${FULL}-redis-1`,
    `PersistentVolumeClaim/data-${FULL}-redis-2`,
    `Secret/${FULL}-redis`,
  ]);
}

async function smoke(): Promise<void> {
  const username = `smoke-${randomBytes(4).toString("hex")}`;
  const body = JSON.stringify({ username, password: PASSWORD });
  const reg = await send(E2E.port, "POST", "/v1/users", { "content-type": "application/json" }, body);
  expect(reg.status, reg.body).toBe(201);
  const login = await send(E2E.port, "POST", "/v1/sessions", { "content-type": "application/json" }, body);
  expect(login.status, login.body).toBe(201);
  const token = (JSON.parse(login.body) as { token: string }).token;
  const valid = await send(E2E.port, "GET", "/v1/session", { authorization: `Bearer ${token}` });
  expect(valid.status).toBe(200);
  expect(JSON.parse(valid.body).user.username).toBe(username);
}

async function evict(pod: string): Promise<"evicted" | "refused"> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "evict-"));
  try {
    const file = path.join(dir, "eviction.json");
    writeFileSync(file, JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: NS } }));
    await kubectl(["create", "--raw", `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, "-f", file]);
    return "evicted";
  } catch (err) {
    if (err instanceof CommandError && /disruption budget|TooManyRequests|429/i.test(err.message)) return "refused";
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the chart on a real Kubernetes (Helm 4)", () => {
  beforeAll(async () => {
    hash = bcrypt.hashSync(PASSWORD, 10);
    await deleteNamespace(); // a previous run that failed half-way
    await postgresUp();
  }, 400_000);

  afterAll(async () => {
    const table = [
      "| scenario | requests | failed requests | longest unavailability | sessions lost | two Redis masters |",
      "|---|---|---|---|---|---|",
      ...rows,
    ].join("\n");
    writeFileSync(path.join(STATE, "k8s-e2e.md"), `${table}\n`);
    console.log(`\n${table}\n`);
    await deleteNamespace().catch((err: unknown) => console.error(String(err)));
  }, 240_000);

  it("installs from scratch with the default migration hook: pods ready, the hook gone, register/login/validate through the Service", async () => {
    await run(E2E.helm4, ["install", ...helmArgs(E2E.tags[0]!)], 420_000);
    const api = await pods(NS, API);
    expect(api.filter(podReady)).toHaveLength(2);
    await redisSettled();
    expect((await kubectlJson(["-n", NS, "get", "jobs"])).items).toEqual([]);
    const pvcs = (await kubectlJson(["-n", NS, "get", "pvc", "-l", REDIS])).items.map((p: any) => p.status.phase);
    expect(pvcs).toEqual(["Bound", "Bound", "Bound"]);
    await smoke();
  }, 480_000);

  it("a failed migration hook prints its logs and leaves no Job, pod or Secret behind", async () => {
    await kubectl(["-n", NS, "create", "secret", "generic", "wrong-postgres", "--from-literal=password=wrong"]);
    let output = "";
    try {
      await run(E2E.helm4, ["install", "broken", CHART, "-n", NS, "-f", VALUES, "--set", "postgres.existingSecret=wrong-postgres", "--set", "migrations.backoffLimit=0",
        "--set", "service.type=ClusterIP", "--set", `image.repository=${E2E.image}`, "--set", `image.tag=${E2E.tags[0]}`, "--wait", "--timeout", "3m"], 240_000);
      expect.unreachable("an install whose migrations cannot log in succeeded");
    } catch (err) {
      output = err instanceof CommandError ? `${err.stdout}\n${err.stderr}` : String(err);
    }
    expect(output).toMatch(/password authentication failed/);
    expect((await kubectlJson(["-n", NS, "get", "jobs,pods,secrets", "-l", "app.kubernetes.io/instance=broken"])).items).toEqual([]);
    await run(E2E.helm4, ["uninstall", "broken", "-n", NS, "--wait"]);
    await kubectl(["-n", NS, "delete", "secret", "wrong-postgres"]);
    expect((await kubectlJson(["-n", NS, "get", "all,secrets,configmaps,pvc", "-l", "app.kubernetes.io/instance=broken"])).items).toEqual([]);
  }, 300_000);

  it("upgrades the API to a new image tag under load with zero failed requests and no session lost", async () => {
    const r = await scenario("helm upgrade of the API (new image tag)", async () => {
      await run(E2E.helm4, ["upgrade", ...helmArgs(E2E.tags[1]!)], 420_000);
      await deploymentReady(FULL, 2);
    });
    const images = (await pods(NS, API)).filter((p) => !p.metadata.deletionTimestamp).map((p: any) => p.spec.containers[0].image);
    expect(images).toEqual([`${E2E.image}:${E2E.tags[1]}`, `${E2E.image}:${E2E.tags[1]}`]);
    expect(r.failed, describeFailures(r)).toEqual([]);
    expect(r.lost).toBe(0);
  }, 600_000);

  it("deletes an API pod under load with zero failed requests and no session lost", async () => {
    const r = await scenario("delete an API pod", async () => {
      const victim = (await pods(NS, API)).find(podReady)!.metadata.name;
      await kubectl(["-n", NS, "delete", "pod", victim, "--wait=true"], 120_000);
      await deploymentReady(FULL, 2);
    });
    expect(r.failed, describeFailures(r)).toEqual([]);
    expect(r.lost).toBe(0);
  }, 300_000);

  it("deletes a PgBouncer pod under load: validations and logouts never fail, no session lost", async () => {
    const r = await scenario("delete a PgBouncer pod", async () => {
      const victim = (await pods(NS, "app.kubernetes.io/component=pgbouncer"))[0]!.metadata.name;
      await kubectl(["-n", NS, "delete", "pod", victim, "--wait=true"], 120_000);
      await deploymentReady(`${FULL}-pgbouncer`, 2);
    });
    // Only a login needs the database; one caught on the stopping PgBouncer is refused with 503 + Retry-After.
    expect(r.failed.filter((o) => o.kind !== "login" || o.status !== 503 || !o.retryAfter), describeFailures(r)).toEqual([]);
    expect(r.lost).toBe(0);
  }, 300_000);

  it("deletes the Redis master pod under load: the pod comes back as a replica, no session lost, no 401", async () => {
    await redisSettled();
    const master = await currentMaster();
    let gone = 0;
    const r = await scenario("delete the Redis master pod", async () => {
      await kubectl(["-n", NS, "delete", "pod", master, "--wait=true"], 120_000);
      gone = Date.now();
      await redisSettled();
    }, { watchRedis: true });
    expect(r.lost, "sessions lost").toBe(0);
    expect(r.watch!.masterSamples(master, gone), `${master} claimed the master role after it came back`).toBe(0);
    expect(await currentMaster()).not.toBe(master);
  }, 420_000);

  it("kills redis-server inside the master container (an in-place restart): it comes back as a replica, no session lost, no 401", async () => {
    await redisSettled();
    const master = await currentMaster();
    const before = (await kubectlJson<Pod>(["-n", NS, "get", "pod", master])).status.containerStatuses!.find((c) => c.name === "redis")!.restartCount;
    let killed = 0;
    const r = await scenario("kill redis-server in the master container", async () => {
      await killContainer(NS, master, "redis");
      killed = Date.now();
      await waitFor("the container restarted", async () =>
        (await kubectlJson<Pod>(["-n", NS, "get", "pod", master])).status.containerStatuses!.find((c) => c.name === "redis")!.restartCount > before, 60_000);
      await redisSettled();
    }, { watchRedis: true });
    expect(r.lost, "sessions lost").toBe(0);
    expect(r.watch!.masterSamples(master, killed), `${master} claimed the master role after its restart`).toBe(0);
  }, 420_000);

  it("rolls the Redis StatefulSet (helm upgrade changing a Redis value) under load: no session lost, no 401", async () => {
    await redisSettled();
    const r = await scenario("helm upgrade changing a Redis value (StatefulSet rollout)", async () => {
      await run(E2E.helm4, ["upgrade", ...helmArgs(E2E.tags[1]!, "--set", "redis.resources.limits.memory=300Mi")], 600_000);
      await kubectl(["-n", NS, "rollout", "status", `statefulset/${FULL}-redis`, "--timeout=300s"], 320_000);
      await redisSettled();
    }, { watchRedis: true });
    const limits = (await pods(NS, REDIS)).map((p: any) => p.spec.containers[0].resources.limits.memory);
    expect(limits).toEqual(["300Mi", "300Mi", "300Mi"]);
    expect(r.lost, "sessions lost").toBe(0);
  }, 900_000);

  it("scales out under a login storm and back in, on CPU from metrics-server", async () => {
    const hpa = () => kubectlJson(["-n", NS, "get", "hpa", FULL]);
    await waitFor("the HPA reads pod CPU, at two idle pods", async () => {
      const h = await hpa();
      return h.status.currentMetrics?.[0]?.resource?.current?.averageUtilization !== undefined && h.status.currentReplicas === 2 && h.status.desiredReplicas === 2;
    }, 180_000);
    await deploymentReady(FULL, 2);
    const users = (await makeUsers(1, 16))[0]!;
    let storming = true;
    let logins = 0;
    const storm = users.map(async (username) => {
      while (storming) {
        await send(E2E.port, "POST", "/v1/sessions", { "content-type": "application/json" }, JSON.stringify({ username, password: PASSWORD }));
        logins++;
      }
    });
    const t0 = Date.now();
    try {
      await waitFor("more than two ready API pods", async () => {
        const d = await kubectlJson(["-n", NS, "get", "deployment", FULL]);
        return (d.status.readyReplicas ?? 0) > 2;
      }, 240_000);
    } finally {
      storming = false;
      await Promise.all(storm);
    }
    const out = (Date.now() - t0) / 1000;
    const peak = (await hpa()).status.desiredReplicas;
    const t1 = Date.now();
    await waitFor("back to two API pods", async () => {
      const [h, d] = [await hpa(), await kubectlJson(["-n", NS, "get", "deployment", FULL])];
      return h.status.currentReplicas === 2 && d.status.replicas === 2 && d.status.readyReplicas === 2;
    }, 300_000);
    const back = (Date.now() - t1) / 1000;
    rows.push(`| HPA: login storm (${logins} logins), scale out to ${peak} pods in ${out.toFixed(0)} s, back to 2 in ${back.toFixed(0)} s after it stopped | - | - | - | - | - |`);
    console.log(rows.at(-1));
    expect(peak).toBeGreaterThan(2);
  }, 600_000);

  it("has a PDB that refuses a second eviction while one API pod is already down", async () => {
    await deploymentReady(FULL, 2);
    const [first, second] = (await pods(NS, API)).filter(podReady).map((p) => p.metadata.name);
    expect(await evict(first!)).toBe("evicted");
    expect(await evict(second!)).toBe("refused");
    await deploymentReady(FULL, 2);
  }, 300_000);

  it("uninstalls leaving only what is kept on purpose: the Redis Secret and the Redis volume claims", async () => {
    await uninstall(E2E.helm4);
    await kubectl(["-n", NS, "delete", "pvc", "-l", REDIS, "--wait=true"], 120_000);
    await kubectl(["-n", NS, "delete", "secret", `${FULL}-redis`]);
  }, 400_000);

  describe("with Helm 3", () => {
    it("installs, upgrades the API under load with zero failed requests, and uninstalls as cleanly", async () => {
      await run(E2E.helm3, ["install", ...helmArgs(E2E.tags[0]!)], 420_000);
      await redisSettled();
      await smoke();
      const r = await scenario("Helm 3: helm upgrade of the API (new image tag)", async () => {
        await run(E2E.helm3, ["upgrade", ...helmArgs(E2E.tags[1]!)], 420_000);
        await deploymentReady(FULL, 2);
      });
      expect(r.failed, describeFailures(r)).toEqual([]);
      expect(r.lost).toBe(0);
      await uninstall(E2E.helm3);
    }, 900_000);
  });
});
