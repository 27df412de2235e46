// This replica's subscription to the session events of the users it holds live connections of: one dedicated
// connection in subscriber mode, found through Sentinel like every other. A user's channel is subscribed while a
// connection of theirs is open here. Sharded pub/sub (SSUBSCRIBE, and SPUBLISH in the store's scripts): each
// channel carries its user's hash tag, so on Redis Cluster a message stays on the shard of the user's keys
// instead of being broadcast to every node. When the connection comes back (a failover, a restart), every channel
// is subscribed again and the listeners are told to resync: an event published meanwhile may have been lost.
import type { Redis } from "ioredis";
import { END_REASONS, type EndReason, type SessionEvent, type SessionEventSource } from "../../auth/ports.js";
import { unavailable } from "../../auth/errors.js";
import { eventChannel } from "./store-io.js";

type Handler = (event: SessionEvent) => void;

export class RedisSessionEvents implements SessionEventSource {
  private readonly handlers = new Map<string, Set<Handler>>();
  private connectedBefore = false;

  constructor(
    private readonly sub: Redis,
    private readonly onResync: () => void,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    sub.on("smessage", (channel: string, message: string) => this.deliver(channel, message));
    sub.on("ready", () => void this.resubscribe());
  }

  /** Resolves once the channel is subscribed, so no event published after that is missed. */
  async subscribe(userId: string, handler: Handler): Promise<() => void> {
    const channel = eventChannel(userId);
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    const own = set;
    const stop = () => {
      own.delete(handler);
      if (own.size > 0 || this.handlers.get(channel) !== own) return;
      this.handlers.delete(channel);
      if (this.sub.status === "ready") this.sub.sunsubscribe(channel).catch(this.onError);
    };
    try {
      // Subscribing an already subscribed channel is a no-op in Redis: simpler than tracking what is in flight.
      await this.sub.ssubscribe(channel);
    } catch (err) {
      stop();
      this.onError(err);
      throw unavailable("session events", err);
    }
    return stop;
  }

  /** Channels subscribed now (for tests and metrics). */
  get channels(): number {
    return this.handlers.size;
  }

  private deliver(channel: string, message: string): void {
    const set = this.handlers.get(channel);
    if (!set) return;
    const event = parse(channel, message);
    if (!event) return;
    for (const handler of set) handler(event);
  }

  private async resubscribe(): Promise<void> {
    const again = this.connectedBefore;
    this.connectedBefore = true;
    if (!again) return;
    try {
      await Promise.all([...this.handlers.keys()].map((channel) => this.sub.ssubscribe(channel)));
    } catch (err) {
      this.onError(err); // the next reconnect tries again
    }
    this.onResync();
  }
}

const USER_OF_CHANNEL = /^auth:\{u:([^}]+)\}:ev$/;

function parse(channel: string, message: string): SessionEvent | null {
  const userId = USER_OF_CHANNEL.exec(channel)?.[1];
  if (!userId) return null;
  try {
    const m = JSON.parse(message) as { t?: unknown; ids?: unknown; r?: unknown; roles?: unknown; at?: unknown };
    const at = typeof m.at === "number" ? m.at : Date.now();
    if (m.t === "ended" && Array.isArray(m.ids) && END_REASONS.includes(m.r as EndReason)) {
      return { type: "ended", userId, sessionIds: m.ids.map(String), reason: m.r as EndReason, at };
    }
    if (m.t === "updated" && Array.isArray(m.roles)) return { type: "updated", userId, roles: m.roles.map(String), at };
  } catch {
    // not ours: ignore
  }
  return null;
}
