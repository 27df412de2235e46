// The Helm chart, without a cluster: lint and render with real helm (4 and 3), validate every object against
// Kubernetes' own OpenAPI, and check what operators rely on. Tool paths come from scripts/test.sh.
import { execFileSync } from "node:child_process";
import { lstatSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import path from "node:path";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { configVariables } from "../../src/config.js";
import { CHART, HELMS, KUBE_VERSION, NO_CHART_TOOLS, VALUE_SETS, helm, need, render, type Obj } from "../support/chart.js";
import { ROOT } from "../support/env.js";
import { KubernetesSchema } from "../support/k8s-openapi.js";

let schemaCache: KubernetesSchema | undefined;
const schema = { validate: (o: object) => (schemaCache ??= new KubernetesSchema(need("K8S_OPENAPI"))).validate(o) };

const containersOf = (o: Obj): any[] => {
  const spec = o.kind === "Job" || o.kind === "Deployment" || o.kind === "StatefulSet" ? o.spec.template.spec : null;
  return spec ? [...(spec.initContainers ?? []), ...spec.containers] : [];
};

// The suite renders at collection time, so without the tools it is replaced by one skipped test saying why.
if (NO_CHART_TOOLS) it.skip(NO_CHART_TOOLS, () => {});
else describe("Helm chart", () => {
  it("checks objects with a schema that does catch unknown fields and wrong types", () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i:1", imagePullPolcy: "Always" }] } };
    expect(schema.validate(pod)).toEqual([".spec.containers[0].imagePullPolcy: unknown field"]);
    const bad = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: "eighty" }] } };
    expect(schema.validate(bad)).toEqual([".spec.ports[0].port: must be an integer"]);
  });

  for (const [name, bin] of Object.entries(HELMS)) {
    it(`passes ${name} lint --strict with every value set`, () => {
      for (const set of Object.keys(VALUE_SETS)) {
        expect(helm(bin, ["lint", "--strict", CHART, ...VALUE_SETS[set]!])).toMatch(/0 chart\(s\) failed/);
      }
    });
  }

  for (const set of Object.keys(VALUE_SETS)) {
    describe(`rendered with "${set}"`, () => {
      const objects = render(HELMS.helm4, set);
      const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
      const api = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "auth-auth-cluster")!;
      const container = api.spec.template.spec.containers[0];

      it("renders the same objects with Helm 3.22", () => {
        const v3 = render(HELMS.helm3, set).map((o) => `${o.kind}/${o.metadata.name}`).sort();
        expect(v3).toEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort());
      });

      it("validates every object against the Kubernetes OpenAPI schema (unknown fields included)", () => {
        for (const o of objects) {
          if (o.apiVersion === "monitoring.coreos.com/v1") {
            const Model = o.kind === "ServiceMonitor" ? ServiceMonitor : PrometheusRule;
            expect(() => new Model(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
          } else {
            expect(schema.validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
          }
        }
      });

      it("runs non-root, read-only, without capabilities or a service-account token", () => {
        for (const o of objects.filter((x) => containersOf(x).length > 0)) {
          const pod = o.spec.template.spec;
          expect(pod.automountServiceAccountToken, o.metadata.name).toBe(false);
          expect(pod.securityContext.runAsNonRoot, o.metadata.name).toBe(true);
          expect(pod.securityContext.seccompProfile.type).toBe("RuntimeDefault");
          for (const c of containersOf(o)) {
            expect(c.securityContext.readOnlyRootFilesystem, c.name).toBe(true);
            expect(c.securityContext.allowPrivilegeEscalation, c.name).toBe(false);
            expect(c.securityContext.capabilities.drop, c.name).toEqual(["ALL"]);
            expect(c.image, c.name).not.toMatch(/:latest$|^[^:]+$/);
            expect(c.resources.requests.cpu, c.name).toBeDefined();
            expect(c.resources.limits.memory, c.name).toBeDefined();
          }
        }
        expect(api.spec.template.spec.volumes.find((v: any) => v.name === "tmp").emptyDir).toBeDefined();
      });

      it("probes liveness /healthz, readiness /readyz, and startup; drains longer than it takes to stop", () => {
        expect(container.livenessProbe.httpGet.path).toBe("/healthz");
        expect(container.readinessProbe.httpGet.path).toBe("/readyz");
        expect(container.startupProbe.httpGet.path).toBe("/healthz");
        const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "auth-auth-cluster")!;
        const preStop = Number(container.lifecycle.preStop.exec.command[1]);
        const drain = (Number(cm.data!.SHUTDOWN_DELAY_MS) + Number(cm.data!.SHUTDOWN_GRACE_MS)) / 1000;
        expect(api.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + drain);
        expect(api.spec.template.metadata.annotations["checksum/config"]).toMatch(/^[0-9a-f]{64}$/);
        expect(api.spec.template.spec.topologySpreadConstraints[0].topologyKey).toBe("kubernetes.io/hostname");
      });

      it("has no duplicate env names in any container (Helm 4's server-side apply refuses them)", () => {
        for (const o of objects) {
          for (const c of containersOf(o)) {
            const names = (c.env ?? []).map((e: { name: string }) => e.name);
            expect(names.filter((n: string, i: number) => names.indexOf(n) !== i), `${o.metadata.name}/${c.name}`).toEqual([]);
          }
        }
      });

      it("sets every variable the service requires, and only variables the service knows", () => {
        const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "auth-auth-cluster")!;
        const envNames = new Set<string>([...Object.keys(cm.data!), ...container.env.map((e: { name: string }) => e.name)]);
        const known = new Set(Object.keys(configVariables));
        const chartOnly = new Set(["DB_PASSWORD", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"]);
        for (const n of envNames) expect(known.has(n) || chartOnly.has(n), `${n} is not a service variable`).toBe(true);
        // 1:1: every service variable is set by the chart except HOST (the default, 0.0.0.0, is right in a pod).
        for (const n of known) if (n !== "HOST") expect(envNames.has(n), `${n} is not set by the chart`).toBe(true);
      });

      it("has a PDB with maxUnavailable 1 and an HPA in bounds, and no replicas on the Deployment while the HPA is on", () => {
        const pdb = byKind("PodDisruptionBudget").find((p) => p.metadata.name === "auth-auth-cluster")!;
        expect(pdb.spec.maxUnavailable).toBe(1);
        const hpa = byKind("HorizontalPodAutoscaler")[0];
        if (set === "hpa-off") {
          expect(hpa).toBeUndefined();
          expect(api.spec.replicas).toBe(3);
        } else {
          expect(api.spec.replicas).toBeUndefined();
          expect(hpa!.spec.minReplicas).toBeGreaterThanOrEqual(2);
          expect(hpa!.spec.maxReplicas).toBeGreaterThan(hpa!.spec.minReplicas);
          expect(hpa!.spec.metrics[0].resource.name).toBe("cpu");
          expect(hpa!.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThan(hpa!.spec.behavior.scaleUp.stabilizationWindowSeconds);
        }
      });

      it("runs migrations as a pre-install/pre-upgrade hook straight to Postgres, and PgBouncer in transaction mode", () => {
        const job = byKind("Job")[0]!;
        expect(job.metadata.annotations!["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
        const url = job.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "DIRECT_DATABASE_URL").value;
        expect(url).toContain("@db.example:5432/");
        const pgb = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "auth-auth-cluster-pgbouncer")!;
        expect(pgb.data!["pgbouncer.ini"]).toMatch(/pool_mode = transaction/);
        const dbUrl = container.env.find((e: { name: string }) => e.name === "DATABASE_URL").value;
        expect(dbUrl).toContain("@auth-auth-cluster-pgbouncer:6432/");
      });
    });
  }

  it("migrates with the service's own runner, and leaves no hook Job or Secret behind (logs printed on failure)", () => {
    const objects = render(HELMS.helm4, "defaults");
    const job = objects.find((o) => o.kind === "Job")!;
    const annotations = job.metadata.annotations!;
    expect(job.spec.template.spec.containers[0].command).toEqual(["node", "dist/migrate.js"]);
    expect(annotations["helm.sh/hook-delete-policy"]!.split(",").sort()).toEqual(["before-hook-creation", "hook-failed", "hook-succeeded"]);
    expect(annotations["helm.sh/hook-output-log-policy"]).toBe("hook-failed");
    expect(job.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
    const secretName = job.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "DB_PASSWORD").valueFrom.secretKeyRef.name;
    const hookSecret = objects.find((o) => o.kind === "Secret" && o.metadata.name === secretName)!;
    expect(hookSecret.metadata.annotations!["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
    expect(hookSecret.metadata.annotations!["helm.sh/hook-delete-policy"]).toContain("hook-succeeded");
    // The pods' own Secret is part of the release, so `helm uninstall` removes it.
    const podSecret = objects.find((o) => o.kind === "Secret" && o.metadata.name === "auth-auth-cluster-postgres")!;
    expect(podSecret.metadata.annotations?.["helm.sh/hook"]).toBeUndefined();
  });

  it("rolls the Redis StatefulSet when its scripts or Sentinel settings change, not for every redis.* value", () => {
    const checksum = (...extra: string[]) =>
      render(HELMS.helm4, [...VALUE_SETS.defaults!, ...extra]).find((o) => o.kind === "StatefulSet")!.spec.template.metadata.annotations["checksum/scripts"];
    const base = checksum();
    expect(checksum("--set", "redis.image.tag=7.4.3")).toBe(base);
    expect(checksum("--set", "redis.persistence.size=5Gi")).toBe(base);
    expect(checksum("--set", "redis.downAfterMilliseconds=4000")).not.toBe(base);
    expect(checksum("--set", "redis.persistence.enabled=false")).not.toBe(base);
  });

  it("keeps Redis on volumes by default; a restarted master waits for a replica to take over, a stopping one hands over", () => {
    const sts = render(HELMS.helm4, "defaults").find((o) => o.kind === "StatefulSet")!;
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("1Gi");
    const redis = sts.spec.template.spec.containers.find((c: { name: string }) => c.name === "redis");
    expect(redis.lifecycle.preStop.exec.command).toEqual(["sh", "/scripts/prestop.sh"]);
    expect(redis.readinessProbe.exec.command).toEqual(["sh", "/scripts/ready.sh"]);
    // The start-up may wait for a failover (up to twice Sentinel's failover timeout) before it listens.
    expect(redis.startupProbe.periodSeconds * redis.startupProbe.failureThreshold).toBeGreaterThan(2 * 15);
    expect(sts.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(10);
  });

  it("schedules the default install, with a surge pod and a scale-up to three, within 1.5 CPUs of requests", () => {
    const objects = render(HELMS.helm4, "defaults");
    const milli = (cpu: string) => (cpu.endsWith("m") ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000);
    const podCpu = (o: Obj) => {
      const spec = o.spec.template.spec;
      const containers = spec.containers.reduce((n: number, c: any) => n + milli(c.resources.requests.cpu), 0);
      return Math.max(containers, ...(spec.initContainers ?? []).map((c: any) => milli(c.resources.requests.cpu)));
    };
    let total = 0;
    for (const o of objects) {
      const api = o.kind === "Deployment" && o.metadata.name === "auth-auth-cluster";
      if (o.kind === "Deployment" || o.kind === "StatefulSet") total += podCpu(o) * (api ? 3 + 1 : o.spec.replicas);
    }
    expect(total).toBeLessThanOrEqual(1500);
  });

  it("ships the dashboards and alert rules from their one copy, which dashboards/ links to", () => {
    const shipped = readdirSync(path.join(ROOT, "dashboards")).filter((f) => f.endsWith(".json") || f === "alerts.yaml");
    expect(shipped.sort()).toEqual(["alerts.yaml", "capacity.json", "overview.json", "sessions.json"]);
    for (const file of shipped) {
      const copy = path.join(CHART, "files", file === "alerts.yaml" ? "" : "dashboards", file);
      expect(lstatSync(path.join(ROOT, "dashboards", file)).isSymbolicLink(), `dashboards/${file} is a link`).toBe(true);
      expect(realpathSync(path.join(ROOT, "dashboards", file))).toBe(realpathSync(copy));
    }
    const objects = render(HELMS.helm4, "everything");
    const boards = objects.filter((o) => o.kind === "ConfigMap" && (o.metadata as any).labels?.grafana_dashboard === "1");
    expect(boards).toHaveLength(3);
    for (const b of boards) {
      const [key, json] = Object.entries(b.data!)[0]!;
      expect(json).toBe(readFileSync(path.join(ROOT, "dashboards", key.replace("auth-cluster-", "")), "utf8"));
    }
    const rule = objects.find((o) => o.kind === "PrometheusRule")!;
    expect(rule.spec).toEqual(parseYaml(readFileSync(path.join(ROOT, "dashboards/alerts.yaml"), "utf8")));
  });

  it("names objects after fullnameOverride or nameOverride, within 63 characters", () => {
    const names = (...set: string[]) => render(HELMS.helm4, [...VALUE_SETS.defaults!, ...set]).map((o) => o.metadata.name);
    expect(names()).toContain("auth-auth-cluster-pgbouncer");
    expect(names("--set", "nameOverride=idp")).toContain("auth-idp-pgbouncer");
    expect(names("--set", "fullnameOverride=sso")).toEqual(expect.arrayContaining(["sso", "sso-pgbouncer", "sso-redis"]));
    const api = render(HELMS.helm4, [...VALUE_SETS.defaults!, "--set", "nameOverride=idp"]).find((o) => o.kind === "Deployment" && o.metadata.name === "auth-idp")!;
    expect(api.spec.selector.matchLabels["app.kubernetes.io/name"]).toBe("idp");
    expect(() => names("--set", `fullnameOverride=${"x".repeat(64)}`)).toThrow(/fullnameOverride/);
    // Helm's longest release name (53) and the chart's name: cut at 63, a DNS label's length.
    const release = "r".repeat(53);
    const text = helm(HELMS.helm4, ["template", release, CHART, "--kube-version", KUBE_VERSION, ...VALUE_SETS.defaults!]);
    expect(text).toContain(`name: ${`${release}-auth-cluster`.slice(0, 63)}\n`);
  });

  it("runs the API, PgBouncer and Redis under the chart's ServiceAccount, with no token mounted", () => {
    const objects = render(HELMS.helm4, "defaults");
    const sa = objects.find((o) => o.kind === "ServiceAccount")!;
    expect(sa.metadata.name).toBe("auth-auth-cluster");
    expect((sa as any).automountServiceAccountToken).toBe(false);
    const workloads = objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
    expect(workloads).toHaveLength(3);
    for (const w of workloads) {
      expect(w.spec.template.spec.serviceAccountName, w.metadata.name).toBe("auth-auth-cluster");
      expect(w.spec.template.spec.automountServiceAccountToken, w.metadata.name).toBe(false);
    }
    const none = render(HELMS.helm4, [...VALUE_SETS.defaults!, "--set", "serviceAccount.create=false"]);
    expect(none.some((o) => o.kind === "ServiceAccount")).toBe(false);
    for (const w of none.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")) expect(w.spec.template.spec.serviceAccountName).toBe("default");
  });

  it("rolls every workload when its own configuration changes, by the same checksums", () => {
    const annotations = (...set: string[]) =>
      Object.fromEntries(
        render(HELMS.helm4, [...VALUE_SETS.defaults!, ...set])
          .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
          .map((o) => [o.metadata.name, o.spec.template.metadata.annotations as Record<string, string>]),
      );
    const base = annotations();
    expect(Object.keys(base["auth-auth-cluster"]!).filter((k) => k.startsWith("checksum/"))).toEqual(["checksum/config", "checksum/secrets"]);
    expect(Object.keys(base["auth-auth-cluster-pgbouncer"]!).filter((k) => k.startsWith("checksum/"))).toEqual(["checksum/config", "checksum/secrets"]);
    const pool = annotations("--set", "pgbouncer.defaultPoolSize=40");
    expect(pool["auth-auth-cluster-pgbouncer"]!["checksum/config"]).not.toBe(base["auth-auth-cluster-pgbouncer"]!["checksum/config"]);
    expect(pool["auth-auth-cluster"]!["checksum/config"]).toBe(base["auth-auth-cluster"]!["checksum/config"]);
    // A value the chart generates (the Redis passwords) renders anew each time: no checksum may depend on it, or the
    // first upgrade would roll pods that nothing changed for.
    const again = annotations();
    for (const name of Object.keys(base)) expect(again[name], name).toEqual(base[name]);
    const level = annotations("--set", "config.logLevel=debug");
    expect(level["auth-auth-cluster"]!["checksum/config"]).not.toBe(base["auth-auth-cluster"]!["checksum/config"]);
    expect(level["auth-auth-cluster-pgbouncer"]!["checksum/config"]).toBe(base["auth-auth-cluster-pgbouncer"]!["checksum/config"]);
  });

  it("refuses an unknown values key (a typo) and a missing Postgres address", () => {
    for (const bin of Object.values(HELMS)) {
      expect(() => helm(bin, ["template", "auth", CHART, "--kube-version", KUBE_VERSION, ...VALUE_SETS.defaults!, "--set", "config.bcrytCost=10"])).toThrow(/additional propert/i);
      expect(() => helm(bin, ["template", "auth", CHART, "--kube-version", KUBE_VERSION, "--set", "postgres.password=x"])).toThrow(/postgres.host is required/);
    }
  });

  it("keeps the dev manifests valid, and every YAML file parses", () => {
    for (const doc of parseAllDocuments(readFileSync(path.join(ROOT, "k8s/postgres.yaml"), "utf8"))) {
      const o = doc.toJS() as Obj;
      expect(schema.validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    }
    const skaffold = parseYaml(readFileSync(path.join(ROOT, "skaffold.yaml"), "utf8")) as { apiVersion: string; deploy: { helm: { releases: { chartPath: string }[] } } };
    expect(skaffold.apiVersion).toMatch(/^skaffold\/v4beta\d+$/);
    expect(skaffold.deploy.helm.releases[0]!.chartPath).toBe("charts/auth-cluster");
    for (const f of ["k8s/kind-cluster.yaml", "k8s/values-kind.yaml", "charts/auth-cluster/values.yaml", "charts/auth-cluster/Chart.yaml", "dashboards/alerts.yaml"]) {
      expect(() => parseYaml(readFileSync(path.join(ROOT, f), "utf8")), f).not.toThrow();
    }
    // The kind values render too.
    expect(() => helm(HELMS.helm4, ["template", "auth", CHART, "--kube-version", KUBE_VERSION, "-f", path.join(ROOT, "k8s/values-kind.yaml")])).not.toThrow();
  });

  it("has a Dockerfile, and stand-in image recipes, that hadolint accepts", () => {
    const standIns = readdirSync(path.join(ROOT, "k8s/local/images")).filter((f) => f.endsWith(".Dockerfile"));
    expect(standIns.length).toBeGreaterThanOrEqual(5);
    for (const file of ["Dockerfile", ...standIns.map((f) => `k8s/local/images/${f}`)]) {
      expect(execFileSync(need("HADOLINT_BIN"), [path.join(ROOT, file)], { encoding: "utf8" }).trim(), file).toBe("");
    }
  });
});
