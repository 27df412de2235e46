// WebSocket clients for the tests of /v1/events: one that records every message and its close, and one that
// reads what a refused upgrade answered (status, headers, JSON body).
import http from "node:http";
import { WebSocket } from "ws";
import { waitFor } from "./infra.js";

export interface Client {
  ws: WebSocket;
  messages: { type: string; [k: string]: unknown }[];
  closed: Promise<{ code: number; reason: string }>;
  /** The first message of this type (waiting up to timeoutMs for it). */
  next(type: string, timeoutMs?: number): Promise<{ type: string; [k: string]: unknown }>;
  close(): void;
}

export function eventsUrl(base: string): string {
  return `${base.replace(/^http/, "ws")}/v1/events`;
}

export function connect(base: string, headers: Record<string, string> = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(eventsUrl(base), { headers });
    const messages: Client["messages"] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
    ws.on("message", (data) => messages.push(JSON.parse((data as Buffer).toString("utf8")) as Client["messages"][number]));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("error", reject);
    ws.once("open", () =>
      resolve({
        ws,
        messages,
        closed,
        next: (type, timeoutMs = 5000) => waitFor(`a ${type} message`, async () => messages.find((m) => m.type === type), timeoutMs),
        close: () => ws.close(),
      }),
    );
  });
}

export interface Refused {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { error?: string; message?: string };
}

/** An upgrade that must be refused: what the server answered instead of 101. */
export function refusedUpgrade(base: string, headers: Record<string, string> = {}, path = "/v1/events"): Promise<Refused> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        ...headers,
      },
    });
    req.once("upgrade", () => reject(new Error("the upgrade was accepted")));
    req.once("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Refused["body"] }));
    });
    req.once("error", reject);
    req.end();
  });
}
