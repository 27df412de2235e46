// One span around each password hash, with its queue wait. A no-op when no tracing SDK is registered.
import { SpanStatusCode, trace } from "@opentelemetry/api";

const tracer = trace.getTracer("auth-cluster");

export function traceHash<T>(op: "hash" | "verify", run: (setQueueWait: (ms: number) => void) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(`password.${op}`, { attributes: { "auth.password.op": op } }, async (span) => {
    try {
      return await run((ms) => span.setAttribute("auth.password.queue_wait_ms", Math.round(ms * 1000) / 1000));
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as { code?: string }).code ?? "error" });
      throw err;
    } finally {
      span.end();
    }
  });
}
