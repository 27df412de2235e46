// loadConfig → createDependencies → createApp → listen; graceful drain on SIGTERM/SIGINT.
import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import { createApp } from "./app.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { createDependencies } from "./dependencies.js";
import { createEventsGateway } from "./http/realtime/gateway.js";
import { createLogger, flushLogger } from "./observability/logger.js";
import { httpMetrics } from "./observability/http-metrics.js";
import { createMetricsServer } from "./observability/metrics-server.js";
import { shutdownTracing } from "./observability/tracing.js";

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel, undefined, true);
  const deps = await createDependencies(config, logger);
  const app = createApp({ ...deps, config, logger, before: [httpMetrics(deps.metrics.httpDuration)] });
  const metricsServer = createMetricsServer(deps.metrics.registry);
  metricsServer.listen(config.http.metricsPort, config.http.host);
  // Listen once Redis and the database answer (or after 10 s regardless): a load balancer without readiness
  // checks, like the local nginx, would otherwise send a starting replica traffic it can only refuse.
  const deadline = Date.now() + 10_000;
  while (!(await deps.readiness.check()).ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000; // longer than common load-balancer idle timeouts
  const events = createEventsGateway(
    { hub: deps.hub, sessions: deps.sessions, readiness: deps.readiness, logger, onRejected: deps.metrics.realtime.rejected },
    config.http,
  );
  server.on("upgrade", events.handleUpgrade);
  server.listen(config.http.port, config.http.host);
  await once(server, "listening");
  logger.info({ port: config.http.port, hashPool: config.hashing.poolSize }, "listening");

  let stopping = false;
  const ACCEPT_SETTLE_MS = 250;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining");
    deps.readiness.startDraining();
    await new Promise((r) => setTimeout(r, config.http.shutdownDelayMs));
    // Live sockets first, with 1012 (service restart): by now the load balancer sends new ones elsewhere.
    await deps.hub.close();
    const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));
    // Stop accepting first and leave open connections alone for a moment: a connection accepted just now may not
    // have sent its request yet, and closing it as idle would reset a request the balancer cannot retry (a POST;
    // seen in the survival suite's rolling restart). Then http's own close() closes the idle ones.
    net.Server.prototype.close.call(server);
    await new Promise((r) => setTimeout(r, ACCEPT_SETTLE_MS));
    server.close();
    const grace = setTimeout(() => {
      logger.warn("grace period over; closing remaining connections");
      server.closeAllConnections();
    }, config.http.shutdownGraceMs);
    await closed;
    clearTimeout(grace);
    metricsServer.close();
    await deps.close();
    logger.info("stopped");
    await shutdownTracing().catch(() => undefined);
    await flushLogger(logger);
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
