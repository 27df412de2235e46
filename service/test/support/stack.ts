// The real service wired in-process (real Redis via Sentinel, real Postgres via PgBouncer), for supertest.
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createApp } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config.js";
import { createDependencies, type Dependencies, type DependencyOptions } from "../../src/dependencies.js";
import { createEventsGateway } from "../../src/http/realtime/gateway.js";
import { createLogger } from "../../src/observability/logger.js";
import { testEnv } from "./env.js";
import { waitFor } from "./infra.js";

export interface Stack {
  config: Config;
  deps: Dependencies;
  app: ReturnType<typeof createApp>;
  /** Listens on a free loopback port with /v1/events wired as main.ts wires it; closed with the stack. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function startStack(overrides: Record<string, string> = {}, options: DependencyOptions = {}): Promise<Stack> {
  const config = loadConfig(testEnv(overrides));
  const logger = createLogger(config.logLevel);
  const deps = await createDependencies(config, logger, options);
  const app = createApp({ ...deps, config, logger });
  await waitFor("redis connections", async () => deps.redis.status === "ready" && deps.durableRedis.status === "ready" && deps.subscriber.status === "ready", 15_000);
  let server: http.Server | undefined;
  return {
    config,
    deps,
    app,
    async listen() {
      server = http.createServer(app);
      const gateway = createEventsGateway(
        { hub: deps.hub, sessions: deps.sessions, readiness: deps.readiness, logger, onRejected: deps.metrics.realtime.rejected },
        config.http,
      );
      server.on("upgrade", gateway.handleUpgrade);
      await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      await deps.hub.close();
      server?.closeAllConnections();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      await deps.close();
    },
  };
}

/** A username no other test uses. */
export const uniqueName = (prefix = "user") => `${prefix}-${randomBytes(5).toString("hex")}`;

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public t = Date.now()) {}
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
