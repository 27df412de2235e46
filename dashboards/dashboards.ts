// Source of the Grafana dashboards (classic JSON model, for Grafana's import and its sidecar).
// `npm run dashboards` writes dashboards/*.json from here; a test checks the committed files are up to date.
// Hand-rolled rather than @grafana/grafana-foundation-sdk: three dashboards of time series need ~100 lines.

const S = 'namespace=~"$namespace", pod=~"$pod"';
const RATE = "$__rate_interval";

interface Target {
  expr: string;
  legend: string;
}
interface PanelSpec {
  title: string;
  unit: string;
  targets: Target[];
  description?: string;
}

const quantiles = (metric: string, by: string, label: string): Target[] =>
  [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ""}) (rate(${metric}_bucket{${S}}[${RATE}])))`,
    legend: `p${q * 100}${label}`,
  }));

const queryVariable = (name: string, label: string, query: string) => ({
  name,
  label,
  type: "query",
  datasource: { type: "prometheus", uid: "${datasource}" },
  query: { query, refId: name },
  definition: query,
  refresh: 2,
  includeAll: true,
  multi: true,
  allValue: ".*",
  current: {},
  hide: 0,
});

function dashboard(uid: string, title: string, description: string, panels: PanelSpec[]) {
  return {
    uid,
    title,
    description,
    tags: ["auth-cluster"],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    timezone: "browser",
    annotations: { list: [] },
    templating: {
      list: [
        { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {}, hide: 0 },
        queryVariable("namespace", "Namespace", "label_values(auth_login_attempts_total, namespace)"),
        queryVariable("pod", "Pod", 'label_values(auth_login_attempts_total{namespace=~"$namespace"}, pod)'),
      ],
    },
    panels: panels.map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      description: p.description ?? "",
      datasource: { type: "prometheus", uid: "${datasource}" },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit, custom: { lineWidth: 1, fillOpacity: 10 } }, overrides: [] },
      options: { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: { type: "prometheus", uid: "${datasource}" },
        expr: t.expr,
        legendFormat: t.legend,
      })),
    })),
  };
}

export function buildDashboards(): Record<string, unknown> {
  const overview = dashboard("auth-cluster-overview", "auth-cluster / Overview", "Rate, errors and duration of the public API.", [
    { title: "Logins per second by result", unit: "reqps", targets: [{ expr: `sum by (result) (rate(auth_login_attempts_total{${S}}[${RATE}]))`, legend: "{{result}}" }] },
    { title: "Session validations per second", unit: "reqps", targets: [{ expr: `sum by (result) (rate(auth_session_validations_total{${S}}[${RATE}]))`, legend: "{{result}}" }] },
    { title: "Latency p50 / p95 / p99 by route", unit: "s", targets: quantiles("http_request_duration_seconds", "route", " {{route}}") },
    {
      title: "Error ratio (5xx / all requests)",
      unit: "percentunit",
      targets: [
        {
          expr: `(sum(rate(http_request_duration_seconds_count{${S}, status_class="5xx"}[${RATE}])) or vector(0)) / sum(rate(http_request_duration_seconds_count{${S}}[${RATE}]))`,
          legend: "5xx ratio",
        },
      ],
    },
    { title: "Requests per second by status class", unit: "reqps", targets: [{ expr: `sum by (status_class) (rate(http_request_duration_seconds_count{${S}}[${RATE}]))`, legend: "{{status_class}}" }] },
    { title: "Replicas up", unit: "short", targets: [{ expr: `sum(up{job="auth-cluster", ${S}})`, legend: "up" }] },
  ]);

  const capacity = dashboard("auth-cluster-capacity", "auth-cluster / Capacity", "Utilization, saturation and errors of the hash pool, CPU, event loop, database pool and Redis.", [
    { title: "Password hash duration", unit: "s", targets: quantiles("auth_password_hash_duration_seconds", "op", " {{op}}") },
    { title: "Hash queue wait", unit: "s", targets: quantiles("auth_password_hash_queue_wait_seconds", "", "") },
    { title: "Hash queue depth", unit: "short", targets: [{ expr: `sum by (pod) (auth_password_hash_queue_depth{${S}})`, legend: "{{pod}}" }] },
    {
      title: "Hashes in flight vs pool size",
      unit: "short",
      targets: [
        { expr: `sum by (pod) (auth_password_hash_in_flight{${S}})`, legend: "in flight {{pod}}" },
        { expr: `sum by (pod) (auth_password_hash_pool_size{${S}})`, legend: "pool size {{pod}}" },
      ],
    },
    { title: "Overload rejections (503 overloaded) per second", unit: "reqps", targets: [{ expr: `sum by (pod) (rate(auth_password_hash_rejected_total{${S}}[${RATE}]))`, legend: "{{pod}}" }] },
    { title: "CPU per pod", unit: "short", description: "CPU seconds per second, worker threads included.", targets: [{ expr: `sum by (pod) (rate(process_cpu_seconds_total{${S}}[${RATE}]))`, legend: "{{pod}}" }] },
    { title: "Event-loop lag p99", unit: "s", targets: [{ expr: `max by (pod) (nodejs_eventloop_lag_p99_seconds{${S}})`, legend: "{{pod}}" }] },
    {
      title: "DB pool saturation",
      unit: "short",
      targets: [
        { expr: `sum by (pod) (auth_db_pool_in_use_connections{${S}})`, legend: "in use {{pod}}" },
        { expr: `sum by (pod) (auth_db_pool_idle_connections{${S}})`, legend: "idle {{pod}}" },
        { expr: `sum by (pod) (auth_db_pool_max_connections{${S}})`, legend: "max {{pod}}" },
        { expr: `sum by (pod) (auth_db_pool_waiting_clients{${S}})`, legend: "waiting {{pod}}" },
      ],
    },
    {
      title: "DB connection acquire wait and time-outs",
      unit: "s",
      targets: [
        ...quantiles("auth_db_pool_acquire_wait_seconds", "", " wait").filter((t) => !t.legend.startsWith("p95")),
        { expr: `sum(rate(auth_db_pool_acquire_timeouts_total{${S}}[${RATE}]))`, legend: "time-outs/s" },
      ],
    },
    {
      title: "Redis availability",
      unit: "short",
      targets: [
        { expr: `min by (pod) (auth_redis_up{${S}})`, legend: "up {{pod}}" },
        { expr: `sum(increase(auth_redis_failovers_total{${S}}[${RATE}]))`, legend: "failovers seen" },
        { expr: `sum(increase(auth_redis_client_restarts_total{${S}}[${RATE}]))`, legend: "clients restarted after giving up" },
        { expr: `sum(rate(auth_redis_command_errors_total{${S}}[${RATE}]))`, legend: "errors/s" },
      ],
    },
  ]);

  const sessions = dashboard("auth-cluster-sessions", "auth-cluster / Sessions", "Active sessions, logins and logouts, revocations, validations, live connections and presence.", [
    { title: "Active sessions (cluster)", unit: "short", targets: [{ expr: `max(auth_sessions_active{${S}})`, legend: "active" }] },
    {
      title: "Logins and logouts per second",
      unit: "reqps",
      targets: [
        { expr: `sum(rate(auth_login_attempts_total{${S}, result="success"}[${RATE}]))`, legend: "logins" },
        { expr: `sum(rate(auth_session_revocations_total{${S}, reason=~"logout|logout_all"}[${RATE}]))`, legend: "logouts" },
      ],
    },
    { title: "Revocations by reason", unit: "reqps", targets: [{ expr: `sum by (reason) (rate(auth_session_revocations_total{${S}}[${RATE}]))`, legend: "{{reason}}" }] },
    { title: "Validation results", unit: "reqps", targets: [{ expr: `sum by (result) (rate(auth_session_validations_total{${S}}[${RATE}]))`, legend: "{{result}}" }] },
    {
      title: "Live connections and users online",
      unit: "short",
      description: "WebSocket connections on /v1/events per pod, and users with at least one anywhere in the cluster.",
      targets: [
        { expr: `sum by (pod) (auth_ws_connections{${S}})`, legend: "sockets {{pod}}" },
        { expr: `max(auth_presence_online_users{${S}})`, legend: "users online (cluster)" },
      ],
    },
    {
      title: "Live event delivery (change in Redis to socket)",
      unit: "s",
      description: "From a session change in Redis to its message on the socket of the replica holding it.",
      targets: quantiles("auth_ws_delivery_seconds", "", ""),
    },
    {
      title: "Live messages sent and upgrades refused",
      unit: "reqps",
      targets: [
        { expr: `sum by (type) (rate(auth_ws_messages_sent_total{${S}}[${RATE}]))`, legend: "sent {{type}}" },
        { expr: `sum by (reason) (rate(auth_ws_rejected_total{${S}}[${RATE}]))`, legend: "refused {{reason}}" },
      ],
    },
  ]);

  return { "overview.json": overview, "capacity.json": capacity, "sessions.json": sessions };
}

export const render = (d: unknown) => `${JSON.stringify(d, null, 2)}\n`;
