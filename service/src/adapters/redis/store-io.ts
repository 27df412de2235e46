// How both session layouts (session-store.ts and legacy-session-store.ts) talk to Redis: every failure becomes
// "unavailable" (never "no session"), and writes that must survive a failover wait for the replicas.
import type { ChainableCommander, Redis } from "ioredis";
import { unavailable } from "../../auth/errors.js";
import { ReplicaAck } from "./replica-ack.js";

export interface DurabilityPolicy {
  /** Replicas that must acknowledge a new session (Redis WAIT); 0 disables the wait. */
  replicas: number;
  timeoutMs: number;
  /** accept: answer 201 anyway (logged, counted); fail: drop the session and answer 503. */
  onTimeout: "accept" | "fail";
  onShortfall?: (acked: number) => void;
}

/** A layout's Lua scripts, by the command name each is registered as. */
export type Scripts = Record<string, { keys: number; lua: string }>;

export class StoreIo {
  private readonly ack: ReplicaAck;

  /** Registers the layout's scripts on both clients (once when they are one). */
  constructor(
    readonly redis: Redis,
    /** Writes that must survive a failover run on `durable`: WAIT blocks its connection, which must not stall reads. */
    readonly durable: Redis,
    private readonly durability: DurabilityPolicy,
    readonly onError: (err: unknown) => void,
    scripts: Scripts,
  ) {
    for (const client of new Set([redis, durable])) {
      for (const [name, { keys, lua }] of Object.entries(scripts)) client.defineCommand(name, { numberOfKeys: keys, lua });
    }
    this.ack = new ReplicaAck(durable, durability.replicas, durability.timeoutMs);
  }

  /**
   * Sends writes that must survive a failover and waits for the replicas (see ReplicaAck). When too few
   * acknowledge in time the writes still stand on the master; that is reported through onShortfall, and with
   * onTimeout "fail" `undo` runs and the caller gets "unavailable".
   */
  async sendDurably(writes: ChainableCommander, undo?: () => Promise<void>): Promise<unknown[]> {
    const { results, acked } = await this.guard(() => this.ack.send(writes));
    const values = results.map(([err, value]) => {
      if (err) {
        this.onError(err);
        throw unavailable("session storage", err);
      }
      return value;
    });
    if (this.durability.replicas > 0 && acked < this.durability.replicas) {
      this.durability.onShortfall?.(acked);
      if (undo && this.durability.onTimeout === "fail") {
        await undo();
        throw unavailable("session storage (no replica acknowledged the write)", new Error(`WAIT acked ${acked}`));
      }
    }
    return values;
  }

  /** Runs a pipeline; the first failed command fails it. */
  async exec(pipeline: ChainableCommander): Promise<unknown[]> {
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      this.onError(err);
      throw unavailable("session storage", err);
    }
  }
}

/** The user's hash tag: every key and the event channel of one user share it, so one script reaches them all. */
export const userTag = (userId: string) => `auth:{u:${userId}}`;
/** The user's event channel: same hash tag as its keys, so sharded pub/sub keeps it on the keys' shard. */
export const eventChannel = (userId: string) => `${userTag(userId)}:ev`;

export function rolesOf(json: string | null | undefined): string[] {
  try {
    const parsed: unknown = JSON.parse(json ?? "[]");
    return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === "string") : [];
  } catch {
    return [];
  }
}
