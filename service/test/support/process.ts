// Runs the built service (dist/main.js) as a real child process, as a pod would run it.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll } from "vitest";
import { ROOT, testEnv } from "./env.js";
import { waitFor } from "./infra.js";

export interface ServiceProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

// Whatever a test file started is gone when the file ends, also when a test failed before stopping it.
const started = new Set<ChildProcess>();
afterAll(() => {
  for (const proc of started) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
});

export async function startService(port: number, overrides: Record<string, string> = {}): Promise<ServiceProcess> {
  // A replica left over from an earlier, failed run would answer in this one's place (and ignore its signals).
  const stale = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false);
  if (stale) throw new Error(`port ${port} is already in use: a service left over from an earlier run? (ss -ltnp 'sport = :${port}')`);
  const env = { ...process.env, ...testEnv({ LOG_LEVEL: "info", ...overrides }), HOST: "127.0.0.1", PORT: String(port), METRICS_PORT: String(port + 1000) };
  const proc = spawn(process.execPath, ["--import", path.join(ROOT, "dist/observability/tracing.js"), path.join(ROOT, "dist/main.js")], { env, stdio: ["ignore", "pipe", "pipe"] });
  started.add(proc);
  let out = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`service on ${port} ready`, async () => {
    if (proc.exitCode !== null) throw new Error(`service exited: ${out}`);
    return (await fetch(`${url}/readyz`)).status === 200;
  }, 30_000).catch((err: unknown) => {
    proc.kill("SIGKILL");
    throw new Error(`${String(err)}\n${out}`);
  });
  return { proc, port, url, output: () => out, exited };
}
