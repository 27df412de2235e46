// Runs the built service (dist/main.js) as a real child process, as a pod would run it.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT, testEnv } from "./env.js";
import { waitFor } from "./infra.js";

export interface ServiceProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

export async function startService(port: number, overrides: Record<string, string> = {}): Promise<ServiceProcess> {
  const env = { ...process.env, ...testEnv({ LOG_LEVEL: "info", ...overrides }), HOST: "127.0.0.1", PORT: String(port), METRICS_PORT: String(port + 1000) };
  const proc = spawn(process.execPath, ["--import", path.join(ROOT, "dist/observability/tracing.js"), path.join(ROOT, "dist/main.js")], { env, stdio: ["ignore", "pipe", "pipe"] });
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
