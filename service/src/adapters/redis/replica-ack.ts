// Group commit for Redis WAIT. WAIT blocks its connection until replicas acknowledge, so session writes use a
// connection of their own. When no WAIT is outstanding, a write's WAIT rides in the write's own pipeline: one
// round trip. Writes sent while a WAIT is outstanding share the next WAIT: a WAIT sent after a write covers it,
// so a writer joins the WAIT in flight when that was sent after its write, else starts a new one.
// Hand-written: no client library offers a shared WAIT.
import type { ChainableCommander, Redis } from "ioredis";

type Results = [Error | null, unknown][];

export class ReplicaAck {
  private issued = 0;
  private outstanding = 0;
  private current: { seq: number; acked: Promise<number> } | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Sends a pipeline of writes on this connection at once (an explicit pipeline is written immediately, so writes
   * go out in the order they are numbered), then waits until the replicas acknowledged them. Resolves with the
   * writes' results and the number of replicas that acknowledged (0 when replicas is 0: no wait at all).
   */
  async send(writes: ChainableCommander): Promise<{ results: Results; acked: number }> {
    const seq = ++this.issued;
    if (this.replicas === 0) return { results: (await writes.exec()) ?? [], acked: 0 };
    if (this.outstanding > 0) {
      const results = (await writes.exec()) ?? [];
      return { results, acked: await this.wait(seq) };
    }
    writes.wait(this.replicas, this.timeoutMs);
    const sent = writes.exec().then((r) => r ?? []);
    const acked = this.track(
      seq,
      sent.then((r) => {
        const [err, n] = r[r.length - 1] ?? [new Error("WAIT reply missing"), 0];
        if (err) throw err;
        return Number(n);
      }),
    );
    const results = await sent;
    return { results: results.slice(0, -1), acked: await acked };
  }

  /** Resolves with the number of replicas that acknowledged every write up to `seq`. */
  private wait(seq: number): Promise<number> {
    if (this.current && this.current.seq >= seq) return this.current.acked;
    // A single command is sent on a later tick, after every write numbered so far: it covers at least `issued`.
    return this.track(this.issued, this.redis.wait(this.replicas, this.timeoutMs));
  }

  private track(seq: number, acked: Promise<number>): Promise<number> {
    this.current = { seq, acked };
    this.outstanding++;
    // Every caller awaits (and handles) the promise itself; this only does the bookkeeping.
    acked.then(
      () => this.outstanding--,
      () => this.outstanding--,
    );
    return acked;
  }
}
