// kubectl and helm for the end-to-end suite, asynchronous so that the load generator in this process keeps
// running while a command waits. The cluster and tools come from the environment that scripts/test.sh (the
// local cluster) or scripts/kind-e2e.sh (kind) sets.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

const need = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the end-to-end suite through ./scripts/test.sh or ./scripts/kind-e2e.sh`);
  return v;
};

export const E2E = {
  kubectl: need("KUBECTL"),
  helm4: need("HELM4_BIN"),
  helm3: need("HELM3_BIN"),
  /** The project's image, built from the Dockerfile under two tags (an upgrade changes the tag). */
  image: need("E2E_IMAGE"),
  tags: need("E2E_IMAGE_TAGS").split(","),
  /** The API's NodePort, answering on 127.0.0.1 (kind: through k8s/kind-cluster.yaml's port mapping). */
  port: Number(process.env.E2E_PORT ?? "30080"),
  /** Local cluster: the node's containerd socket; unset on kind, where `docker exec <node> ctr` is used. */
  containerdSock: process.env.K8S_CONTAINERD_SOCK,
};

export class CommandError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

export async function run(bin: string, args: string[], timeoutMs = 300_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(bin, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new CommandError(`${bin.split("/").pop()} ${args.join(" ")}: ${(e.stderr ?? "").trim() || e.message}`, e.stdout ?? "", e.stderr ?? "");
  }
}

export const kubectl = (args: string[], timeoutMs?: number) => run(E2E.kubectl, args, timeoutMs);

export async function kubectlJson<T = any>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, "-o", "json"])) as T;
}

/** kubectl with a manifest on standard input. */
export async function kubectlApply(ns: string, manifest: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile(E2E.kubectl, ["-n", ns, "apply", "-f", "-"], (err, _out, stderr) => (err ? reject(new Error(`kubectl apply: ${stderr}`)) : resolve()));
    child.stdin!.end(manifest);
  });
}

export interface Pod {
  metadata: { name: string; labels: Record<string, string>; deletionTimestamp?: string; uid: string };
  spec: { nodeName: string };
  status: {
    phase: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number; containerID?: string }[];
  };
}

export const podReady = (p: Pod) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

export async function pods(ns: string, selector: string): Promise<Pod[]> {
  return (await kubectlJson<{ items: Pod[] }>(["-n", ns, "get", "pods", "-l", selector])).items;
}

/** SIGKILL one container of a pod through its runtime, as the kernel's OOM killer would: the kubelet restarts it in place. */
export async function killContainer(ns: string, pod: string, container: string): Promise<void> {
  const p = await kubectlJson<Pod>(["-n", ns, "get", "pod", pod]);
  const id = p.status.containerStatuses?.find((c) => c.name === container)?.containerID?.replace(/^containerd:\/\//, "");
  if (!id) throw new Error(`no running container ${container} in ${pod}`);
  const ctr = ["-n", "k8s.io", "tasks", "kill", "--signal", "SIGKILL", id];
  if (E2E.containerdSock) await run("ctr", ["--address", E2E.containerdSock, ...ctr]);
  else await run("docker", ["exec", p.spec.nodeName, "ctr", ...ctr]); // kind: the node is a container
}

/** A command's output inside a pod's container. */
export const exec = (ns: string, pod: string, container: string, command: string[]) => kubectl(["-n", ns, "exec", pod, "-c", container, "--", ...command], 30_000);
