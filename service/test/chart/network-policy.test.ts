// What the chart's NetworkPolicies allow, evaluated on the rendered objects with NetworkPolicy semantics. The
// local cluster accepts the policies but cannot enforce them (this kernel rejects the nftables rules of
// kube-network-policies), so this is where who-may-reach-what is proven; the chart README says so.
import { describe, expect, it } from "vitest";
import { HELMS, NO_CHART_TOOLS, render, type Obj } from "../support/chart.js";
import { mayConnect, type NetworkPolicy, type PodModel } from "../support/network-policy.js";

const NS = "auth";
const nsLabels = (name: string) => ({ "kubernetes.io/metadata.name": name });

/** Pods as the chart's workloads would create them, with their container ports by name. */
function podsOf(objects: Obj[]): Record<string, PodModel> {
  const out: Record<string, PodModel> = {};
  for (const o of objects.filter((x) => ["Deployment", "StatefulSet", "Job"].includes(x.kind))) {
    const tpl = o.spec.template;
    const ports: Record<string, number> = {};
    for (const c of tpl.spec.containers) for (const p of c.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
    out[tpl.metadata.labels["app.kubernetes.io/component"]] = { name: o.metadata.name, namespace: NS, namespaceLabels: nsLabels(NS), labels: tpl.metadata.labels, ports };
  }
  return out;
}

const stranger = (namespace: string, labels: Record<string, string> = { app: "something-else" }): PodModel => ({
  name: `a pod in ${namespace}`, namespace, namespaceLabels: nsLabels(namespace), labels, ports: {},
});

// The suite renders at collection time, so without the tools it is replaced by one skipped test saying why.
if (NO_CHART_TOOLS) it.skip(NO_CHART_TOOLS, () => {});
else describe("NetworkPolicy semantics of the rendered chart", () => {
  for (const [helmName, bin] of Object.entries(HELMS)) {
    describe(`rendered by ${helmName}`, () => {
      const objects = render(bin, ["--set", "postgres.host=db.example", "--set", "postgres.password=x", "--set", "pgbouncer.metrics.enabled=true",
        "--set", "networkPolicy.apiFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=ingress-nginx"]);
      const policies = objects.filter((o) => o.kind === "NetworkPolicy") as unknown as NetworkPolicy[];
      const pods = podsOf(objects);
      const { api, pgbouncer, redis, migrate } = pods;
      const ingress = stranger("ingress-nginx", { app: "ingress-nginx" });
      const monitoring = stranger("monitoring", { app: "prometheus" });
      const neighbour = stranger(NS);
      const postgres = { ...stranger("databases", { app: "postgres" }), ports: { postgres: 5432 } };
      const dns = stranger("kube-system", { "k8s-app": "kube-dns" });

      it("renders the policies for the API, PgBouncer and Redis", () => {
        expect(policies.map((p) => p.metadata.name).sort()).toEqual(["auth-auth-cluster", "auth-auth-cluster-pgbouncer", "auth-auth-cluster-redis"]);
      });

      it("lets only apiFrom reach the API port, and only the monitoring namespace the metrics port", () => {
        expect(mayConnect(policies, ingress, api!, 3000)).toBe(true);
        expect(mayConnect(policies, neighbour, api!, 3000)).toBe(false);
        expect(mayConnect(policies, monitoring, api!, 3000)).toBe(false);
        expect(mayConnect(policies, monitoring, api!, 9464)).toBe(true);
        expect(mayConnect(policies, ingress, api!, 9464)).toBe(false);
        expect(mayConnect(policies, ingress, api!, 8080)).toBe(false);
      });

      it("lets the API out only to DNS, PgBouncer, Redis and Sentinel", () => {
        expect(mayConnect(policies, api!, dns, 53, "UDP")).toBe(true);
        expect(mayConnect(policies, api!, dns, 53, "TCP")).toBe(true);
        expect(mayConnect(policies, api!, pgbouncer!, 6432)).toBe(true);
        expect(mayConnect(policies, api!, redis!, 6379)).toBe(true);
        expect(mayConnect(policies, api!, redis!, 26379)).toBe(true);
        expect(mayConnect(policies, api!, postgres, 5432)).toBe(false); // only through PgBouncer
        expect(mayConnect(policies, api!, neighbour, 80)).toBe(false);
        expect(mayConnect(policies, api!, redis!, 22)).toBe(false);
      });

      it("lets only the API reach PgBouncer, and only monitoring its exporter; PgBouncer and the migration Job reach Postgres", () => {
        expect(mayConnect(policies, neighbour, pgbouncer!, 6432)).toBe(false);
        expect(mayConnect(policies, migrate!, pgbouncer!, 6432)).toBe(false);
        expect(mayConnect(policies, monitoring, pgbouncer!, 9127)).toBe(true);
        expect(mayConnect(policies, neighbour, pgbouncer!, 9127)).toBe(false);
        expect(mayConnect(policies, pgbouncer!, postgres, 5432)).toBe(true);
        expect(mayConnect(policies, migrate!, postgres, 5432)).toBe(true);
      });

      it("lets only the API and the Redis pods themselves reach Redis and Sentinel", () => {
        expect(mayConnect(policies, redis!, redis!, 6379)).toBe(true); // replication
        expect(mayConnect(policies, redis!, redis!, 26379)).toBe(true); // Sentinel to Sentinel
        expect(mayConnect(policies, neighbour, redis!, 6379)).toBe(false);
        expect(mayConnect(policies, neighbour, redis!, 26379)).toBe(false);
        expect(mayConnect(policies, migrate!, redis!, 6379)).toBe(false);
        expect(mayConnect(policies, api!, redis!, 6380)).toBe(false);
      });
    });
  }
});
