// Express middleware: one observation of the HTTP request histogram per request, labelled by method, the matched
// route template and the status class. The labelled series are looked up once and kept (prom-client would sort and
// hash the labels on every observation, on the hottest path).
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type client from "prom-client";

type Labels = "method" | "route" | "status_class";

export function httpMetrics(httpDuration: client.Histogram<Labels>): RequestHandler {
  // Bounded: the methods Node accepts × the route templates × the statuses the service answers.
  const series = new Map<string, client.Histogram.Internal<Labels>>();
  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    res.once("finish", () => {
      const template = req.route ? `${req.baseUrl}${String((req.route as { path: string }).path)}` : "unmatched";
      const key = `${req.method} ${template} ${res.statusCode}`;
      let observed = series.get(key);
      if (!observed) {
        observed = httpDuration.labels({ method: req.method, route: template, status_class: `${Math.floor(res.statusCode / 100)}xx` });
        series.set(key, observed);
      }
      observed.observe((performance.now() - start) / 1000);
    });
    next();
  };
}
