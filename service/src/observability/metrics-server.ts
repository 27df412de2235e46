// The metrics listener, on its own port (never the API's): GET /metrics only.
import http from "node:http";
import type client from "prom-client";

export function createMetricsServer(registry: client.Registry): http.Server {
  return http.createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      () => res.writeHead(500, { "content-type": "application/json" }).end('{"error":"internal"}'),
    );
  });
}
