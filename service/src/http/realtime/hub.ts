// The live connections this replica holds. Each follows one session: the store's announcements (through the
// user's channel) end or update it at once, a timer ends it at its expiry, and a heartbeat every
// WS_PING_INTERVAL_S pings the peer (closing dead ones), keeps the user's presence alive, and re-validates the
// session, which also slides its idle expiry as a polling client's validations would.
import { randomBytes } from "node:crypto";
import os from "node:os";
import type { WebSocket } from "ws";
import type { Clock, EndReason, PresenceStore, SessionEvent, SessionEventSource } from "../../auth/ports.js";
import type { SessionService, ValidSession } from "../../auth/sessions.js";
import type { Logger } from "../../observability/logger.js";
import { HttpError } from "../errors.js";
import { CLOSE, type ServerMessage, type ServerMessageType } from "./messages.js";

export interface HubOptions {
  pingIntervalS: number;
  /** SESSION_REFRESH_INTERVAL_S in ms: how often a socket's session is re-validated (and its expiry slid). */
  refreshIntervalMs: number;
  maxBufferedBytes: number;
  maxConnections: number;
  maxConnectionsPerUser: number;
}

/** A socket about to be accepted: its presence is registered and its user's events are subscribed. */
export interface Admission {
  attach(ws: WebSocket): void;
  /** The upgrade did not happen after all (the client went away): undo the registration. */
  cancel(): Promise<void>;
}

export interface HubMetrics {
  sent?: (type: ServerMessageType) => void;
  /** Seconds from the change in the store to the send here. */
  delivered?: (seconds: number) => void;
}

export interface HubDeps {
  sessions: SessionService;
  events: SessionEventSource;
  presence: PresenceStore;
  clock: Clock;
  logger: Logger;
  metrics?: HubMetrics;
}

interface Connection {
  id: string;
  ws: WebSocket;
  /** Kept in memory to re-validate on each heartbeat; never sent, never logged. */
  token: string;
  userId: string;
  username: string;
  sessionId: string;
  admin: boolean;
  expiresAt: number;
  expiry?: NodeJS.Timeout;
  alive: boolean;
  stopEvents: () => void;
  ended: boolean;
  /** When the session was last re-validated (the heartbeat does it once per SESSION_REFRESH_INTERVAL_S). */
  checkedAt: number;
}

/** Holds a new socket's events until it is attached, then hands them (and later ones) to it. */
class Relay {
  private early: SessionEvent[] | null = [];
  private deliver?: (event: SessionEvent) => void;

  readonly handle = (event: SessionEvent): void => {
    if (this.deliver) this.deliver(event);
    else this.early?.push(event);
  };

  bind(deliver: (event: SessionEvent) => void): void {
    this.deliver = deliver;
    for (const event of this.early ?? []) deliver(event);
    this.early = null;
  }
}

/** How often admins' sockets hear the online count (only when it changed). */
const PRESENCE_PUSH_MS = 2000;
/** Users whose presence one pipeline refreshes. */
const PRESENCE_BATCH = 500;
/** A closed socket is forced shut if the peer has not answered the close in this long. */
const CLOSE_GRACE_MS = 5000;

export class RealtimeHub {
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly replica = `${os.hostname()}-${randomBytes(4).toString("hex")}`;
  private next = 0;
  private count = 0;
  private admins = 0;
  private lastOnline = -1;
  /** Upgrades being admitted: they count against the replica's limit already. */
  private admitting = 0;
  /** Presence updates of closed sockets still on their way to Redis (close() waits for them). */
  private readonly pendingDetaches = new Set<Promise<void>>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly presencePush: NodeJS.Timeout;

  constructor(
    private readonly deps: HubDeps,
    private readonly options: HubOptions,
  ) {
    this.heartbeat = setInterval(() => void this.beat(), options.pingIntervalS * 1000);
    this.presencePush = setInterval(() => void this.pushPresence(), PRESENCE_PUSH_MS);
    this.heartbeat.unref();
    this.presencePush.unref();
  }

  get connections(): number {
    return this.count;
  }

  /** Connections live longer than a heartbeat, so their presence entry outlives two of them. */
  get presenceTtlMs(): number {
    return this.options.pingIntervalS * 2000 + 5000;
  }

  /**
   * Admits a socket for a validated session: enforces the replica's and the user's connection limits, registers
   * its presence and subscribes the user's events, then checks the session once more, so that an event published
   * between the first validation and the subscription is not missed. Throws HttpError (overloaded,
   * too_many_connections, invalid_session, unavailable).
   */
  async admit(token: string, valid: ValidSession): Promise<Admission> {
    if (this.count + this.admitting >= this.options.maxConnections) {
      throw new HttpError("overloaded", "this replica holds its most live connections; try again", 1);
    }
    this.admitting++;
    const { session } = valid;
    const presence = { userId: session.userId, username: session.username, connId: `${this.replica}:${(this.next++).toString(36)}` };
    const relay = new Relay();
    let registered = false;
    let stopEvents: (() => void) | undefined;
    const undo = async () => {
      stopEvents?.();
      if (registered) await this.deps.presence.unregister(presence, this.deps.clock.now()).catch(() => undefined);
    };
    try {
      registered = await this.deps.presence.register(presence, this.options.maxConnectionsPerUser, this.deps.clock.now(), this.presenceTtlMs);
      if (!registered) {
        throw new HttpError("too_many_connections", `at most ${this.options.maxConnectionsPerUser} live connections per user`);
      }
      stopEvents = await this.deps.events.subscribe(session.userId, relay.handle);
      const still = await this.deps.sessions.revalidate(token);
      if (!still || still.session.id !== session.id) throw new HttpError("invalid_session", "no valid session");
      return { attach: this.attacher(presence.connId, token, still, stopEvents, relay), cancel: undo };
    } catch (err) {
      await undo();
      throw err;
    } finally {
      this.admitting--;
    }
  }

  /**
   * What attaches the socket: a function of its own, so that a live connection keeps only what it needs (its
   * Connection), not the admission's scope (two copies of the session, the upgrade's request): thousands of
   * idle sockets are what a replica holds.
   */
  private attacher(connId: string, token: string, valid: ValidSession, stopEvents: () => void, relay: Relay): (ws: WebSocket) => void {
    const s = valid.session;
    const fields = { id: connId, token, userId: s.userId, username: s.username, sessionId: s.id, admin: s.roles.includes("admin"), expiresAt: valid.idleExpiresAt };
    return (ws) => {
      const conn = this.attach(ws, fields, stopEvents);
      relay.bind(this.onEvent.bind(this, conn));
    };
  }

  private attach(ws: WebSocket, fields: Pick<Connection, "id" | "token" | "userId" | "username" | "sessionId" | "admin" | "expiresAt">, stopEvents: () => void): Connection {
    const conn: Connection = { ...fields, ws, alive: true, stopEvents, ended: false, checkedAt: this.deps.clock.now() };
    let set = this.byUser.get(conn.userId);
    if (!set) {
      set = new Set();
      this.byUser.set(conn.userId, set);
    }
    set.add(conn);
    this.count++;
    if (conn.admin) this.admins++;
    ws.on("pong", this.onPong.bind(this, conn));
    ws.on("message", this.onMessage.bind(this, conn));
    ws.on("close", this.detach.bind(this, conn));
    ws.on("error", this.onError);
    this.send(conn, {
      type: "hello",
      sessionId: conn.sessionId,
      expiresAt: new Date(conn.expiresAt).toISOString(),
      serverTime: new Date(this.deps.clock.now()).toISOString(),
      pingIntervalS: this.options.pingIntervalS,
    });
    this.scheduleExpiry(conn);
    if (conn.admin) void this.pushPresence(conn);
    return conn;
  }

  private onPong(conn: Connection): void {
    conn.alive = true;
  }

  private readonly onError = (err: Error) => this.deps.logger.debug({ err: { message: err.message } }, "websocket error");

  /** Every socket is told to re-validate: events published while the subscription was down may be lost. */
  resync(): void {
    for (const set of this.byUser.values()) for (const conn of set) this.send(conn, { type: "resync" });
  }

  /** Closes every socket with 1012 (service restart) and waits for them to be cleaned up (at most graceMs). */
  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.presencePush);
    const all = [...this.byUser.values()].flatMap((set) => [...set]);
    const closed = all.map((conn) => new Promise<void>((resolve) => conn.ws.once("close", () => resolve())));
    for (const conn of all) this.closeWith(conn, CLOSE.serviceRestart, "service restart");
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, graceMs).unref())]);
    await Promise.allSettled([...this.pendingDetaches]);
  }


  private onEvent(conn: Connection, event: SessionEvent): void {
    if (conn.ended) return;
    if (event.type === "ended") {
      if (!event.sessionIds.includes(conn.sessionId)) return;
      this.deps.metrics?.delivered?.((this.deps.clock.now() - event.at) / 1000);
      this.end(conn, event.reason);
      return;
    }
    this.deps.metrics?.delivered?.((this.deps.clock.now() - event.at) / 1000);
    const admin = event.roles.includes("admin");
    if (admin !== conn.admin) this.admins += admin ? 1 : -1;
    conn.admin = admin;
    this.send(conn, { type: "session.updated", roles: event.roles });
  }

  private onMessage(conn: Connection, data: unknown, isBinary: boolean): void {
    if (isBinary) return this.closeWith(conn, CLOSE.unsupported, "binary frames are not accepted");
    let type: unknown;
    try {
      type = (JSON.parse(String(data)) as { type?: unknown } | null)?.type;
    } catch {
      type = undefined;
    }
    if (type !== "ping") return this.closeWith(conn, CLOSE.policy, 'the only client message is {"type":"ping"}');
    this.send(conn, { type: "pong", serverTime: new Date(this.deps.clock.now()).toISOString() });
  }

  private send(conn: Connection, message: ServerMessage): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    // A peer that does not read (or cannot keep up) would grow this replica's memory without bound.
    if (conn.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.deps.logger.warn({ buffered: conn.ws.bufferedAmount }, "websocket client reads too slowly; closing");
      return this.closeWith(conn, CLOSE.tryAgainLater, "send buffer full");
    }
    conn.ws.send(JSON.stringify(message));
    this.deps.metrics?.sent?.(message.type);
  }

  private end(conn: Connection, reason: EndReason): void {
    if (conn.ended) return;
    conn.ended = true;
    this.send(conn, { type: "session.ended", reason });
    this.closeWith(conn, CLOSE.sessionEnded, reason);
  }

  private closeWith(conn: Connection, code: number, reason: string): void {
    if (conn.ws.readyState === conn.ws.CLOSED) return;
    conn.ws.close(code, reason);
    setTimeout(() => conn.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private detach(conn: Connection): Promise<void> {
    const set = this.byUser.get(conn.userId);
    if (!set?.delete(conn)) return Promise.resolve();
    if (set.size === 0) this.byUser.delete(conn.userId);
    this.count--;
    if (conn.admin) this.admins--;
    clearTimeout(conn.expiry);
    conn.stopEvents();
    const done = this.deps.presence
      .unregister({ userId: conn.userId, username: conn.username, connId: conn.id }, this.deps.clock.now())
      .catch((err: unknown) => this.deps.logger.warn({ err }, "presence not updated on close; it expires by itself"))
      .finally(() => this.pendingDetaches.delete(done));
    this.pendingDetaches.add(done);
    return done;
  }

  private scheduleExpiry(conn: Connection): void {
    clearTimeout(conn.expiry);
    const wait = Math.max(0, conn.expiresAt - this.deps.clock.now());
    // setTimeout holds at most ~24.8 days; a longer session is re-checked then.
    conn.expiry = setTimeout(() => void this.revalidate(conn), Math.min(wait, 2 ** 31 - 1));
    conn.expiry.unref();
  }

  /** The session still valid: slide its expiry (and the timer); gone: end the socket with why. */
  private async revalidate(conn: Connection): Promise<void> {
    if (conn.ended) return;
    let valid: ValidSession | null;
    try {
      valid = await this.deps.sessions.revalidate(conn.token);
    } catch {
      return; // the store is unavailable: keep the socket; the next heartbeat looks again
    }
    conn.checkedAt = this.deps.clock.now();
    if (!valid) return this.end(conn, conn.checkedAt >= conn.expiresAt ? "expired" : "revoked");
    conn.expiresAt = valid.idleExpiresAt;
    this.scheduleExpiry(conn);
  }

  private async beat(): Promise<void> {
    const now = this.deps.clock.now();
    let batch: { userId: string; username: string; connIds: string[] }[] = [];
    const refresh = (users: typeof batch) =>
      this.deps.presence.refresh(users, now, this.presenceTtlMs).catch((err: unknown) => this.deps.logger.warn({ err }, "presence refresh failed"));
    for (const [userId, set] of this.byUser) {
      const live: Connection[] = [];
      for (const conn of set) {
        if (!conn.alive) {
          conn.ws.terminate(); // no pong since the last ping: a dead peer
          continue;
        }
        conn.alive = false;
        conn.ws.ping();
        live.push(conn);
        // Like a polling client's validation: at most once per refresh interval, which also slides the expiry.
        if (now - conn.checkedAt >= this.options.refreshIntervalMs) void this.revalidate(conn);
      }
      if (live.length === 0) continue;
      batch.push({ userId, username: live[0]!.username, connIds: live.map((c) => c.id) });
      if (batch.length === PRESENCE_BATCH) {
        void refresh(batch);
        batch = [];
      }
    }
    if (batch.length > 0) void refresh(batch);
    await this.deps.presence.sweep(now).catch(() => undefined);
  }

  private async pushPresence(only?: Connection): Promise<void> {
    if (this.admins === 0) return;
    let online: number;
    try {
      online = await this.deps.presence.onlineCount(this.deps.clock.now());
    } catch {
      return;
    }
    if (only) return this.send(only, { type: "presence", online });
    if (online === this.lastOnline) return;
    this.lastOnline = online;
    for (const set of this.byUser.values()) for (const conn of set) if (conn.admin) this.send(conn, { type: "presence", online });
  }
}
