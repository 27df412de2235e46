// bcrypt on a dedicated worker pool sized to the CPUs we may use, behind a bounded admission queue: when the
// queue cannot serve a login within the maximum wait, it is refused at once (503 overloaded + Retry-After)
// instead of timing out later.
import bcrypt from "bcrypt";
import { Piscina } from "piscina";
import { AuthError } from "../../auth/errors.js";
import type { PasswordHasher } from "../../auth/ports.js";
import { AdmissionQueue, QueueFullError } from "./admission-queue.js";

export interface HashObserver {
  onDone?(op: "hash" | "verify", durationMs: number, queueWaitMs: number): void;
  onRejected?(): void;
  /** Wraps one hash so tracing can put a span around it. */
  wrap?<T>(op: "hash" | "verify", run: (setQueueWait: (ms: number) => void) => Promise<T>): Promise<T>;
}

export interface HasherOptions {
  cost: number;
  poolSize: number;
  queueMax: number;
  queueMaxWaitMs: number;
  /** Nice value of the hash threads (0 = as the main thread). */
  threadNice?: number;
  observer?: HashObserver;
}

const workerFile = new URL("./hash-worker.js", import.meta.url).href;

export class WorkerPasswordHasher implements PasswordHasher {
  readonly cost: number;
  private readonly pool: Piscina;
  private readonly queue: AdmissionQueue;
  private readonly observer: HashObserver;
  /** Moving average of one hash's duration, from measurements; seeds the Retry-After estimate. */
  private serviceMs: number;

  constructor(opts: HasherOptions) {
    this.cost = opts.cost;
    this.observer = opts.observer ?? {};
    this.serviceMs = 2 ** (opts.cost - 10) * 60; // about 60 ms at cost 10 on one core; refined as we run
    this.pool = new Piscina({
      filename: workerFile,
      minThreads: opts.poolSize,
      maxThreads: opts.poolSize,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData: { nice: opts.threadNice ?? 0 },
    });
    this.queue = new AdmissionQueue(opts.poolSize, opts.queueMax, opts.queueMaxWaitMs, (position) =>
      (Math.ceil(position / opts.poolSize) * this.serviceMs) / 1000,
    );
  }

  get poolSize(): number {
    return this.queue.slots;
  }

  get depth(): number {
    return this.queue.depth;
  }

  get inFlight(): number {
    return this.queue.inFlight;
  }

  hash(password: string): Promise<string> {
    return this.run("hash", { op: "hash", password, cost: this.cost }) as Promise<string>;
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.run("verify", { op: "verify", password, hash }) as Promise<boolean>;
  }

  costOf(hash: string): number {
    try {
      return bcrypt.getRounds(hash);
    } catch {
      return Number.NaN;
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private run(op: "hash" | "verify", task: object): Promise<unknown> {
    const exec = async (setQueueWait: (ms: number) => void) => {
      const queuedAt = performance.now();
      try {
        await this.queue.acquire();
      } catch (err) {
        if (err instanceof QueueFullError) {
          this.observer.onRejected?.();
          throw new AuthError("overloaded", "too many logins at once; try again shortly", { retryAfterS: err.retryAfterS });
        }
        throw err;
      }
      const startedAt = performance.now();
      const waitMs = startedAt - queuedAt;
      setQueueWait(waitMs);
      try {
        return (await this.pool.run(task)) as unknown;
      } finally {
        const ms = performance.now() - startedAt;
        this.serviceMs = this.serviceMs * 0.8 + ms * 0.2;
        this.queue.release();
        this.observer.onDone?.(op, ms, waitMs);
      }
    };
    return this.observer.wrap ? this.observer.wrap(op, exec) : exec(() => {});
  }
}
