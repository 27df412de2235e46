// The demo page in a real browser: Debian's chromium, headless, driven by playwright-core (no browser download),
// against service processes on the real infrastructure. Two browser contexts are two devices.
import { createServer, type Server } from "node:http";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATE } from "../support/env.js";
import { waitFor } from "../support/infra.js";
import { startService, type ServiceProcess } from "../support/process.js";
import { uniqueName } from "../support/stack.js";

const PASSWORD = "a demo password";
const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const ATTACKER_PORT = 3969;

async function register(base: string, username: string): Promise<void> {
  const res = await fetch(`${base}/v1/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: PASSWORD }) });
  expect(res.status).toBe(201);
}

async function signIn(page: Page, base: string, username: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator("#login").waitFor();
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('#login button[type="submit"]');
  await page.locator("#signed-in").waitFor();
  await page.waitForSelector('#link[data-state="live"]');
}

// Conditions run in the page. Functions, not strings: Playwright compiles a string predicate with eval inside the
// page, which the page's CSP (rightly) forbids. The page's globals are reached through globalThis (this file's
// TypeScript has no DOM types).

/** Until the session table has n rows. */
const rows = (page: Page, n: number) =>
  page.waitForFunction((want) => (globalThis as any).document.querySelectorAll("#sessions tbody tr").length === want, n, { polling: 50 });

/** Milliseconds until the page says "signed out: <reason>". */
async function signedOutWithin(page: Page, reason: string, from: number): Promise<number> {
  await page.waitForFunction((text) => (globalThis as any).document.getElementById("notice")?.textContent === text, `signed out: ${reason}`, { timeout: 5000, polling: 50 });
  return Date.now() - from;
}

/** A page on another origin that tries a cookie-authenticated write and a socket against `target`. */
function attackerSite(target: string): Server {
  const page = `<!doctype html><script type="module" src="/attack.js"></script>`;
  const script = `
    window.results = {};
    fetch(${JSON.stringify(`${target}/v1/users`)}, { method: "POST", mode: "no-cors", credentials: "include",
      headers: { "content-type": "text/plain" }, body: JSON.stringify({ username: "planted", password: "planted password" }) })
      .then(() => (window.results.write = "sent"), () => (window.results.write = "failed"));
    const ws = new WebSocket(${JSON.stringify(`${target.replace("http", "ws")}/v1/events`)});
    ws.onopen = () => (window.results.socket = "open");
    ws.onclose = (e) => (window.results.socket = window.results.socket ?? "refused " + e.code);`;
  return createServer((req, res) => {
    if (req.url === "/attack.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    else res.writeHead(200, { "content-type": "text/html" }).end(page);
  }).listen(ATTACKER_PORT, "127.0.0.1");
}

describe("demo page in Chromium", () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  let many: ServiceProcess;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const newPage = async () => {
    const context = await browser.newContext();
    contexts.push(context);
    return { context, page: await context.newPage() };
  };

  beforeAll(async () => {
    const origins = [3961, 3962, 3963].map((p) => `http://127.0.0.1:${p}`).join(",");
    const env = { DEMO_PAGE: "true", ALLOWED_ORIGINS: origins, REGISTRATION: "open", COOKIE_SECURE: "false", LOG_LEVEL: "info" };
    // Two replicas with one session per user (a new login evicts), one with several.
    [a, b, many] = await Promise.all([
      startService(3961, { ...env, SESSION_MAX_PER_USER: "1" }),
      startService(3962, { ...env, SESSION_MAX_PER_USER: "1" }),
      startService(3963, { ...env, SESSION_MAX_PER_USER: "5" }),
    ]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    for (const svc of [a, b, many]) svc?.proc.kill("SIGTERM");
  });

  it("signs in through the form; the session cookie is HttpOnly and SameSite, invisible to document.cookie", async () => {
    const username = uniqueName("demo");
    await register(a.url, username);
    const { context, page } = await newPage();
    await signIn(page, a.url, username);
    expect(await page.textContent("#username")).toBe(username);
    const cookie = (await context.cookies(a.url)).find((c) => c.name === "auth_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax" });
    expect(await page.evaluate(() => (globalThis as any).document.cookie as string)).not.toContain("auth_session");
    expect(await page.locator("#sessions tbody tr").count()).toBe(1);
  });

  it("shows 'signed out: evicted' within 1 s when the same user signs in on another device, without polling meanwhile", async () => {
    const username = uniqueName("demo-evict");
    await register(a.url, username);
    const deviceA = await newPage();
    await signIn(deviceA.page, a.url, username);
    const requests: string[] = [];
    deviceA.page.on("request", (r) => requests.push(r.url()));
    const deviceB = await newPage();
    await deviceB.page.goto(`${b.url}/`); // the other replica: the eviction crosses replicas through Redis
    await deviceB.page.locator("#login").waitFor();
    await deviceB.page.fill('input[name="username"]', username);
    await deviceB.page.fill('input[name="password"]', PASSWORD);
    const loggedIn = deviceB.page.waitForResponse((r) => r.url().endsWith("/v1/sessions") && r.request().method() === "POST");
    await deviceB.page.click('#login button[type="submit"]');
    expect((await loggedIn).status()).toBe(201);
    // From B's login answered (the eviction is announced before that answer leaves) to A's page saying so.
    expect(await signedOutWithin(deviceA.page, "evicted", Date.now())).toBeLessThan(1000);
    expect(requests).toEqual([]); // told over the socket: device A sent nothing
  });

  it("shows 'signed out: revoked' on one device when another revokes it from the session list", async () => {
    const username = uniqueName("demo-revoke");
    await register(many.url, username);
    const first = await newPage();
    await signIn(first.page, many.url, username);
    const second = await newPage();
    await signIn(second.page, many.url, username);
    await rows(second.page, 2);
    const revoked = second.page.waitForResponse((r) => r.request().method() === "DELETE");
    await second.page.click("#sessions tbody button");
    expect((await revoked).status()).toBe(204);
    expect(await signedOutWithin(first.page, "revoked", Date.now())).toBeLessThan(1000);
    await rows(second.page, 1);
  });

  it("lets a page on another origin neither write with the cookie (403) nor open the socket (403)", async () => {
    const username = uniqueName("demo-csrf");
    await register(a.url, username);
    const { page } = await newPage();
    await signIn(page, a.url, username); // the victim's browser holds a session cookie for 127.0.0.1
    const site = attackerSite(a.url);
    try {
      const rejectedBefore = await wsRejected(a, "csrf");
      const logBefore = a.output().length;
      await page.goto(`http://127.0.0.1:${ATTACKER_PORT}/`);
      await page.waitForFunction(() => (globalThis as any).results?.write && (globalThis as any).results?.socket, undefined, { timeout: 5000, polling: 50 });
      const results = await page.evaluate(() => (globalThis as any).results as { write: string; socket: string });
      // The write reached the service with the cookie and was refused; the browser then hid the answer from the
      // page (Cross-Origin-Resource-Policy), so the service's access log is where the 403 shows.
      // (Log lines are written in batches, at least once a second.)
      const refused = (l: string) => l.includes('"path":"/v1/users"') && l.includes('"method":"POST"') && l.includes('"statusCode":403');
      await waitFor("the refused write in the access log", async () => a.output().slice(logBefore).split("\n").some(refused), 5000);
      expect(results.socket).toMatch(/^refused/);
      expect(await wsRejected(a, "csrf")).toBe(rejectedBefore + 1);
      const planted = await fetch(`${a.url}/v1/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "planted", password: "planted password" }) });
      expect(planted.status).toBe(401); // no user was created
    } finally {
      site.close();
    }
  });

  it("renders the signed-in page (screenshot for docs/api.md)", async () => {
    const username = uniqueName("demo-shot");
    await register(many.url, username);
    const other = await newPage();
    await signIn(other.page, many.url, username);
    const { page } = await newPage();
    await page.setViewportSize({ width: 900, height: 640 });
    await signIn(page, many.url, username);
    await rows(page, 2);
    mkdirSync(STATE, { recursive: true });
    const file = path.join(STATE, "demo-page.png");
    await page.screenshot({ path: file });
    expect(statSync(file).size).toBeGreaterThan(10_000);
  });
});

async function wsRejected(svc: ServiceProcess, reason: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${svc.port + 1000}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`auth_ws_rejected_total{reason="${reason}"}`));
  return Number(line?.split(" ")[1] ?? "0");
}
