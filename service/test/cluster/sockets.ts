// A fleet of live-event sockets through the load balancer, each behaving as a client would: it reconnects when
// the socket closes for any reason but the end of its session (unless told not to), and records every hello,
// resync, close and session.ended it sees.
import { WebSocket } from "ws";
import { sleep } from "./load.js";

export class FleetSocket {
  hellos = 0;
  resyncs = 0;
  reconnects = 0;
  open = false;
  closedAt: number[] = [];
  helloAt: number[] = [];
  ended?: { reason: string; at: number };
  private ws?: WebSocket;
  private stopped = false;
  private failedAttempts = 0;

  constructor(
    private readonly port: number,
    readonly token: string,
    readonly userId: string,
    private readonly reconnect: boolean,
  ) {}

  connect(): void {
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/v1/events`, { headers: { authorization: `Bearer ${this.token}` } });
    this.ws = ws;
    ws.on("message", (data) => {
      const m = JSON.parse((data as Buffer).toString("utf8")) as { type: string; reason?: string };
      if (m.type === "hello") {
        this.open = true;
        this.failedAttempts = 0;
        this.hellos++;
        this.helloAt.push(Date.now());
      } else if (m.type === "resync") this.resyncs++;
      else if (m.type === "session.ended") this.ended = { reason: m.reason ?? "", at: Date.now() };
    });
    ws.on("error", () => undefined); // a refused upgrade or a reset: "close" follows
    ws.on("close", () => {
      if (this.open) this.closedAt.push(Date.now());
      this.open = false;
      if (this.stopped || this.ended || !this.reconnect) return;
      this.reconnects++;
      // As a client should: at once-ish, then backing off (with jitter) while the attempts fail.
      const wait = Math.min(2000, 100 * 2 ** this.failedAttempts++) * (0.5 + Math.random());
      void sleep(wait).then(() => this.stopped || this.connect());
    });
  }

  stop(): void {
    this.stopped = true;
    this.ws?.terminate();
  }
}

export class Fleet {
  readonly sockets: FleetSocket[];

  constructor(port: number, sessions: { token: string; userId: string }[], options: { reconnect: boolean }) {
    this.sockets = sessions.map((s) => new FleetSocket(port, s.token, s.userId, options.reconnect));
  }

  /** Opens every socket, a hundred at a time; resolves when all said hello. */
  async open(timeoutMs = 60_000): Promise<void> {
    for (let i = 0; i < this.sockets.length; i += 100) {
      for (const s of this.sockets.slice(i, i + 100)) s.connect();
      await sleep(50);
    }
    const deadline = Date.now() + timeoutMs;
    while (this.sockets.some((s) => !s.open)) {
      if (Date.now() > deadline) throw new Error(`${this.sockets.filter((s) => !s.open).length} sockets never opened`);
      await sleep(100);
    }
  }

  stop(): void {
    for (const s of this.sockets) s.stop();
  }
}
