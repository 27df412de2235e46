// The demo page (DEMO_PAGE=true only): a plain HTML page and one ES module (service/demo/) that log in, follow
// the session live over /v1/events, list and revoke sessions, and show admins the online count. Served with a
// strict Content-Security-Policy of its own: scripts, styles and connections from this origin only, no inline
// script; without upgrade-insecure-requests, so the page also works over plain http on a developer's machine.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router } from "express";
import helmet from "helmet";

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

/** service/demo, from dist/http/routes (the image, npm start) or service/src/http/routes (tests). */
function demoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const found = [path.resolve(here, "../../../service/demo"), path.resolve(here, "../../../demo")].find((d) => existsSync(path.join(d, "index.html")));
  if (!found) throw new Error("DEMO_PAGE is true but service/demo/index.html is missing");
  return found;
}

export function demoRoutes(): Router {
  const router = Router();
  const files = express.static(demoDir(), { index: "index.html", redirect: false, fallthrough: true });
  // An HTML page: helmet's full set of headers, then the page's own CSP.
  const pageHeaders = helmet({ contentSecurityPolicy: false });
  router.get(["/", "/index.html", "/demo.js", "/demo.css"], pageHeaders, (req, res, next) => {
    res.setHeader("Content-Security-Policy", CSP);
    res.setHeader("Cache-Control", "no-cache");
    files(req, res, next);
  });
  return router;
}
