// The real service wired in-process (real Redis via Sentinel, real Postgres via PgBouncer), for supertest.
import { randomBytes } from "node:crypto";
import { createApp } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config.js";
import { createDependencies, type Dependencies, type DependencyOptions } from "../../src/dependencies.js";
import { createLogger } from "../../src/observability/logger.js";
import { testEnv } from "./env.js";
import { waitFor } from "./infra.js";

export interface Stack {
  config: Config;
  deps: Dependencies;
  app: ReturnType<typeof createApp>;
  close(): Promise<void>;
}

export async function startStack(overrides: Record<string, string> = {}, options: DependencyOptions = {}): Promise<Stack> {
  const config = loadConfig(testEnv(overrides));
  const logger = createLogger(config.logLevel);
  const deps = await createDependencies(config, logger, options);
  const app = createApp({ ...deps, config, logger });
  await waitFor("redis connections", async () => deps.redis.status === "ready" && deps.durableRedis.status === "ready", 15_000);
  return { config, deps, app, close: () => deps.close() };
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
