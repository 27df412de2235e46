// A bounded load generator for fault scenarios: clients log in (each login a fresh user, so no session is
// evicted by policy), validate several times, log out, and repeat; every outcome is recorded.
import http from "node:http";

export interface Outcome {
  at: number;
  kind: "login" | "validate" | "logout";
  status: number; // 0 = connection failed
  ms: number;
  error?: string;
  retryAfter?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent, timeout: 15_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      res.on("error", () => resolve({ status: 0, body: "", headers: {} }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message, headers: {} }));
    req.end(body);
  });
}

export class Load {
  readonly outcomes: Outcome[] = [];
  /** Tokens answered with 201 and not logged out: each must still validate after the scenario. */
  readonly live = new Set<string>();
  /** Tokens whose logout failed: revoked or not, they are not counted either way. */
  readonly uncertain = new Set<string>();
  /** Validations of a live token that answered 401: sessions lost during the scenario. */
  lostDuring = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly port: number,
    private readonly users: string[][],
    private readonly password: string,
    private readonly thinkMs = 20,
  ) {}

  start(): void {
    this.running = true;
    this.loops = this.users.map((names) => this.client(names));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private record(o: Omit<Outcome, "at">, startedAt: number): void {
    this.outcomes.push({ ...o, at: startedAt });
  }

  private async call(kind: Outcome["kind"], method: string, path: string, headers: Record<string, string>, body?: string) {
    const t0 = Date.now();
    const res = await send(this.port, method, path, headers, body);
    let error: string | undefined;
    try {
      error = res.body ? (JSON.parse(res.body) as { error?: string }).error : undefined;
    } catch {
      error = undefined;
    }
    const retryAfter = res.headers["retry-after"];
    this.record({ kind, status: res.status, ms: Date.now() - t0, error, retryAfter: typeof retryAfter === "string" ? retryAfter : undefined }, t0);
    return { ...res, error };
  }

  private async client(names: string[]): Promise<void> {
    let next = 0;
    while (this.running && next < names.length) {
      const username = names[next]!;
      const login = await this.call("login", "POST", "/v1/sessions", { "content-type": "application/json" }, JSON.stringify({ username, password: this.password }));
      if (login.status !== 201) {
        await sleep(100);
        continue; // the same user again: this login did not happen
      }
      next++;
      const token = (JSON.parse(login.body) as { token: string }).token;
      this.live.add(token);
      for (let i = 0; i < 8 && this.running; i++) {
        await sleep(this.thinkMs);
        const v = await this.call("validate", "GET", "/v1/session", { authorization: `Bearer ${token}` });
        if (v.status === 401) this.lostDuring++;
      }
      const out = await this.call("logout", "DELETE", "/v1/session", { authorization: `Bearer ${token}` });
      this.live.delete(token);
      if (out.status !== 204) this.uncertain.add(token);
      await sleep(this.thinkMs);
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const failed = (o: Outcome) => o.status === 0 || o.status >= 500;

/** Longest time from a failed request to the next successful one, in seconds. */
export function longestUnavailability(outcomes: Outcome[]): number {
  const sorted = [...outcomes].sort((a, b) => a.at - b.at);
  let longest = 0;
  let since: number | null = null;
  for (const o of sorted) {
    if (failed(o)) since ??= o.at;
    else if (since !== null) {
      longest = Math.max(longest, o.at + o.ms - since);
      since = null;
    }
  }
  return longest / 1000;
}
