// Every dashboard panel and alert rule, evaluated by a real Prometheus scraping two real replicas after
// traffic that produces every series; promtool on the rule file and on a live scrape.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { buildDashboards, render } from "../../../dashboards/dashboards.js";
import { ROOT, STATE } from "../support/env.js";
import { waitFor } from "../support/infra.js";
import { startService, type ServiceProcess } from "../support/process.js";
import { uniqueName } from "../support/stack.js";
import { connect } from "../support/ws.js";

const PROM = "http://127.0.0.1:59191";
const dashboards = buildDashboards() as Record<string, { panels: { title: string; targets: { expr: string }[] }[] }>;
const rules = (parseYaml(readFileSync(path.join(ROOT, "dashboards/alerts.yaml"), "utf8")) as { groups: { rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[] }).groups.flatMap((g) => g.rules);

async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  const res = await fetch(`${PROM}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
}

const substitute = (expr: string) =>
  expr.replaceAll("$__rate_interval", "20s").replaceAll("$namespace", "local").replaceAll("$pod", ".*");

describe("dashboards and alerts", () => {
  it("are generated from dashboards.ts and committed up to date", () => {
    for (const [file, d] of Object.entries(buildDashboards())) {
      expect(readFileSync(path.join(ROOT, "dashboards", file), "utf8"), `dashboards/${file}: run npm run dashboards`).toBe(render(d));
    }
  });

  it("pass promtool check rules, each alert with summary and description", () => {
    const out = execFileSync("promtool", ["check", "rules", path.join(ROOT, "dashboards/alerts.yaml")], { encoding: "utf8" });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
    for (const r of rules) {
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.description, r.alert).toBeTruthy();
    }
  });

  describe("against a real Prometheus scraping two replicas", () => {
    const dir = path.join(STATE, `test-prometheus-${process.pid}`);
    let prometheus: ChildProcess;
    let replicas: ServiceProcess[] = [];

    beforeAll(async () => {
      replicas = await Promise.all([3971, 3972].map((port) => startService(port, { LOGIN_LIMIT_USER_IP_MAX: "2", SESSION_MAX_PER_USER: "2" })));
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, "prometheus.yml"),
        [
          "global: { scrape_interval: 1s, evaluation_interval: 1s }",
          `rule_files: ['${path.join(ROOT, "dashboards/alerts.yaml")}']`,
          "scrape_configs:",
          "  - job_name: auth-cluster",
          "    static_configs:",
          ...replicas.map((r, i) => `      - targets: ['127.0.0.1:${r.port + 1000}']\n        labels: { namespace: local, pod: test-${i + 1} }`),
        ].join("\n"),
      );
      prometheus = spawn("prometheus", [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, "--web.listen-address=127.0.0.1:59191"], { stdio: "ignore" });
      await waitFor("prometheus ready", async () => (await fetch(`${PROM}/-/ready`)).status === 200, 30_000);

      // Traffic that produces every series, on both replicas.
      const post = (url: string, p: string, body: object, headers: Record<string, string> = {}) =>
        fetch(`${url}${p}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
      for (const r of replicas) {
        const username = uniqueName("dash");
        const password = "dashboard password";
        await post(r.url, "/v1/users", { username, password });
        const tokens: string[] = [];
        for (let i = 0; i < 3; i++) tokens.push(((await (await post(r.url, "/v1/sessions", { username, password })).json()) as { token: string }).token);
        for (let i = 0; i < 3; i++) await post(r.url, "/v1/sessions", { username, password: "wrong password" }); // 401s, then 429
        for (const t of tokens) await fetch(`${r.url}/v1/session`, { headers: { authorization: `Bearer ${t}` } });
        await fetch(`${r.url}/v1/session`, { headers: { authorization: "Bearer nonsense" } });
        await fetch(`${r.url}/v1/session`, { method: "DELETE", headers: { authorization: `Bearer ${tokens[2]}` } });
        await fetch(`${r.url}/nope`);
        // A live socket whose session is ended through the other replica: delivery, messages, presence.
        const liveUser = uniqueName("dash-live");
        await post(r.url, "/v1/users", { username: liveUser, password });
        const live = ((await (await post(r.url, "/v1/sessions", { username: liveUser, password })).json()) as { token: string }).token;
        const socket = await connect(r.url, { authorization: `Bearer ${live}` });
        await socket.next("hello");
        const other = replicas.find((x) => x !== r)!;
        await fetch(`${other.url}/v1/session`, { method: "DELETE", headers: { authorization: `Bearer ${live}` } });
        await socket.next("session.ended");
        await fetch(`${r.url}/v1/events`); // a plain GET, not an upgrade: 404 from the app
      }
      // Enough scrapes of both replicas since the traffic for rate() over the substituted 20 s window.
      const since = Date.now() / 1000;
      await waitFor("four scrapes of each replica after the traffic", async () => {
        const res = (await query("min(count_over_time(auth_login_attempts_total[20s]))")) as { data?: { result: { value: [number, string] }[] } };
        const sample = res.data?.result[0]?.value;
        return sample !== undefined && sample[0] > since && Number(sample[1]) >= 4;
      }, 30_000);
    }, 120_000);

    afterAll(async () => {
      prometheus?.kill("SIGTERM");
      for (const r of replicas) r.proc.kill("SIGTERM");
      await Promise.all(replicas.map((r) => r.exited));
      rmSync(dir, { recursive: true, force: true });
    });

    it("a live scrape after traffic passes promtool check metrics", () => {
      const text = execFileSync("curl", ["-fsS", `http://127.0.0.1:${replicas[0]!.port + 1000}/metrics`], { encoding: "utf8" });
      expect(text).toContain("auth_login_attempts_total");
      const out = execFileSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      expect(out.trim()).toBe("");
    });

    it("every metric a panel or rule names is one the service exports", async () => {
      const names = new Set(((await (await fetch(`${PROM}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data);
      const exprs = [...Object.values(dashboards).flatMap((d) => d.panels.flatMap((p) => p.targets.map((t) => t.expr))), ...rules.map((r) => r.expr)];
      for (const expr of exprs) {
        for (const [metric] of expr.matchAll(/\b(?:auth|http|nodejs|process)_[a-z0-9_]+/g)) {
          expect(names.has(metric), `${metric} in ${expr}`).toBe(true);
        }
      }
    });

    for (const [file, d] of Object.entries(dashboards)) {
      for (const panel of d.panels) {
        for (const target of panel.targets) {
          it(`${file} / ${panel.title}: ${target.expr.slice(0, 60)}… is valid and returns series`, async () => {
            const res = await query(substitute(target.expr));
            expect(res.status, res.error).toBe("success");
            expect(res.data!.result.length).toBeGreaterThan(0);
          });
        }
      }
    }

    it("every alert expression is valid PromQL and loaded by Prometheus", async () => {
      for (const r of rules) {
        const res = await query(r.expr);
        expect(res.status, `${r.alert}: ${res.error}`).toBe("success");
      }
      const loaded = ((await (await fetch(`${PROM}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } }).data.groups.flatMap((g) => g.rules);
      expect(loaded.map((r) => r.name).sort()).toEqual(rules.map((r) => r.alert).sort());
    });
  });
});
