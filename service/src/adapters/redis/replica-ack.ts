// Group commit for Redis WAIT. WAIT blocks its connection until replicas acknowledge, so session writes use a
// connection of their own, and concurrent writers share one WAIT: a WAIT sent after a write covers that write,
// so a login joins the WAIT in flight when it was sent after the login's write, else starts a new one.
// Hand-written: no client library offers a shared WAIT.
import type { Redis } from "ioredis";

export class ReplicaAck {
  private issued = 0;
  private current: { seq: number; acked: Promise<number> } | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  /** Call right before sending a write on this connection; pass the result to wait(). */
  noteWrite(): number {
    return ++this.issued;
  }

  /** Resolves with the number of replicas that acknowledged every write up to `seq`. */
  wait(seq: number): Promise<number> {
    if (this.current && this.current.seq >= seq) return this.current.acked;
    const entry = { seq: this.issued, acked: this.redis.wait(this.replicas, this.timeoutMs) };
    this.current = entry;
    return entry.acked;
  }
}
