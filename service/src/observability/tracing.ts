// OpenTelemetry bootstrap, loaded before anything else: node --import ./dist/observability/tracing.js dist/main.js
// Exports OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise it loads nothing and costs nothing.
// The one other reader of process.env: the OTEL_* variables are the SDK's own, documented by OpenTelemetry.
import { register } from "node:module";

let shutdown: () => Promise<void> = () => Promise.resolve();

if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
  // ESM imports of express, ioredis, pg, pino and node:http are only patched through this loader hook.
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url);
  const [{ NodeSDK }, { OTLPTraceExporter }, http, express, ioredis, pg, pino] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/instrumentation-http"),
    import("@opentelemetry/instrumentation-express"),
    import("@opentelemetry/instrumentation-ioredis"),
    import("@opentelemetry/instrumentation-pg"),
    import("@opentelemetry/instrumentation-pino"),
  ]);
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? "auth-cluster",
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [
      new http.HttpInstrumentation({
        // Probes and scrapes would drown the traces that matter.
        ignoreIncomingRequestHook: (req) => req.url === "/healthz" || req.url === "/readyz" || req.url === "/metrics",
      }),
      new express.ExpressInstrumentation(),
      // Only the command name: arguments carry session fields, and nothing secret belongs in a span.
      new ioredis.IORedisInstrumentation({ dbStatementSerializer: (command) => command, requireParentSpan: true }),
      new pg.PgInstrumentation({ enhancedDatabaseReporting: false, requireParentSpan: true }),
      new pino.PinoInstrumentation(),
    ],
  });
  sdk.start();
  shutdown = () => sdk.shutdown();
}

/** Flushes spans that are still buffered; main calls it before exiting. */
export function shutdownTracing(): Promise<void> {
  return shutdown();
}
