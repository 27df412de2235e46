// Rendering the Helm chart with real helm (4 and 3) for the chart tests. Tool paths come from scripts/test.sh.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { ROOT } from "./env.js";

export const need = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite through ./scripts/test.sh, which installs the tool`);
  return v;
};

// Outside ./scripts/test.sh (a bare `npx vitest`) no helm is known: the chart tests are skipped with this reason
// instead of failing at import. test.sh always sets the tools (and AUTH_TEST_SH), so there they always run, and
// would fail rather than skip if a tool were missing.
const TOOLS = ["HELM4_BIN", "HELM3_BIN", "K8S_VERSION", "K8S_OPENAPI", "HADOLINT_BIN"];
const missing = TOOLS.filter((name) => !process.env[name]);
if (missing.length > 0 && process.env.AUTH_TEST_SH) throw new Error(`${missing.join(", ")} not set inside ./scripts/test.sh: the chart tests must run`);
export const NO_CHART_TOOLS = missing.length > 0 ? `chart tests skipped: ${missing.join(", ")} not set (./scripts/test.sh installs helm 4 and 3 and sets them)` : "";
if (NO_CHART_TOOLS) console.warn(NO_CHART_TOOLS);

export const HELMS = { helm4: process.env.HELM4_BIN ?? "", helm3: process.env.HELM3_BIN ?? "" };
export const CHART = path.join(ROOT, "charts/auth-cluster");
// Render for the Kubernetes version whose OpenAPI the objects are checked against (scripts/lib.sh K8S_VERSION).
export const KUBE_VERSION = process.env.K8S_VERSION ?? "";

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };

export const VALUE_SETS: Record<string, string[]> = {
  // Chart defaults plus the only two things it cannot guess: where Postgres is, and its password.
  defaults: ["--set", "postgres.host=db.example", "--set", "postgres.password=secret"],
  "hpa-off": ["--set", "postgres.host=db.example", "--set", "postgres.password=secret", "--set", "autoscaling.enabled=false", "--set", "replicaCount=3"],
  "external-redis": [
    "--set", "postgres.host=db.example", "--set", "postgres.existingSecret=pg", "--set", "redis.enabled=false",
    "--set", "redis.existingSecret=redis-creds", "--set", "redis.external.sentinels={s1.example:26379,s2.example:26379,s3.example:26379}",
  ],
  everything: ["-f", path.join(ROOT, "service/test/chart/values-everything.yaml")],
};

export function helm(bin: string, args: string[]): string {
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function render(bin: string, set: string | string[]): Obj[] {
  const values = typeof set === "string" ? VALUE_SETS[set]! : set;
  const text = helm(bin, ["template", "auth", CHART, "--namespace", "auth", "--kube-version", KUBE_VERSION, ...values]);
  return parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((o) => o && o.kind);
}
