// browser.mjs — CORS as a browser enforces it: headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) loads pages from two other
// origins that call the API with a bearer token. The origin on
// --cors-origins reads answers and the headers it needs; the other one's
// browser refuses, and the server never sees its token. With CORS off (the
// default) no page can call the API at all.
// usage: node tests/cors/browser.mjs BIN     prints "N passed, M failed"
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BIN = process.argv[2] ?? "build/streamplane";
let passed = 0, failed = 0;
const check = (what, ok, detail) => {
  ok ? passed++ : failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok || detail === undefined ? "" : ": " + JSON.stringify(detail)}`);
};
const cleanup = [];

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

async function startServer(extra) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "sp-cors-"));
  const token = "spa_cors_test_token_" + Math.random().toString(36).slice(2);
  let log = "";
  const child = spawn(BIN, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "data"),
                            "--log-format", "text", "--workers", "1", "--health-seconds", "0", ...extra],
                      { env: { ...process.env, STREAMPLANE_ADMIN_TOKEN: token }, stdio: ["ignore", "ignore", "pipe"] });
  child.stderr.on("data", (d) => { log += d; });
  cleanup.push(() => { child.kill("SIGTERM"); rmSync(dir, { recursive: true, force: true }); });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(url + "/healthz")).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, token, log: () => log };
}

async function api(srv, method, path, token, body) {
  const res = await fetch(srv.url + path, {
    method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null), headers: res.headers };
}

async function tenantKey(srv, name) {
  const t = await api(srv, "POST", "/v1/tenants", srv.token, { name });
  const k = await api(srv, "POST", `/v1/tenants/${t.json.id}/api-keys`, srv.token, { name: "browser" });
  return { tenant: t.json.id, keyId: k.json.id, secret: k.json.secret };
}

// A page server: one origin, one page whose script the test calls.
async function pageOrigin(host) {
  const port = await freePort();
  const s = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>portal</title><p>portal</p>");
  });
  await new Promise((r) => s.listen(port, "127.0.0.1", r));
  cleanup.push(() => s.close());
  return `http://${host}:${port}`;
}

// What the portal's script does in the page: create a cluster, then read it.
async function portalCalls(page, apiUrl, secret) {
  return page.evaluate(async ({ apiUrl, secret }) => {
    const out = {};
    try {
      const r = await fetch(apiUrl + "/v1/clusters", {
        method: "POST",
        headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json", "Idempotency-Key": "browser-1" },
        body: JSON.stringify({ name: "from-browser", kafka_version: "3.9", brokers: 1, storage_gib: 10 }),
      });
      out.createStatus = r.status;
      out.opLocation = r.headers.get("Operation-Location");
      const c = await r.json();
      const g = await fetch(apiUrl + "/v1/clusters/" + c.id, { headers: { Authorization: `Bearer ${secret}` } });
      out.getStatus = g.status;
      out.etag = g.headers.get("ETag");
      out.requestId = g.headers.get("X-Request-Id");
      out.rateRemaining = g.headers.get("RateLimit-Remaining");
      out.name = (await g.json()).name;
    } catch (e) {
      out.error = String(e);
    }
    return out;
  }, { apiUrl, secret });
}

async function main() {
  const allowedOrigin = await pageOrigin("127.0.0.1");
  const otherOrigin = await pageOrigin("localhost");       // another origin: other host name
  const on = await startServer(["--cors-origins", allowedOrigin]);
  const off = await startServer([]);

  // Preflight, as the browser will send it, checked from Node first.
  const pre = (srv, origin) => fetch(srv.url + "/v1/clusters", {
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization,content-type,idempotency-key" },
  });
  const p1 = await pre(on, allowedOrigin);
  check("preflight from the listed origin: 204 naming it, its methods and headers",
        p1.status === 204 && p1.headers.get("access-control-allow-origin") === allowedOrigin
        && /POST/.test(p1.headers.get("access-control-allow-methods") ?? "")
        && /Authorization/i.test(p1.headers.get("access-control-allow-headers") ?? "")
        && /Idempotency-Key/i.test(p1.headers.get("access-control-allow-headers") ?? "")
        && p1.headers.get("access-control-allow-credentials") === null,
        Object.fromEntries(p1.headers));
  const p2 = await pre(on, otherOrigin);
  check("preflight from another origin: 403 problem+json, no Access-Control-Allow-Origin",
        p2.status === 403 && p2.headers.get("access-control-allow-origin") === null
        && (p2.headers.get("content-type") ?? "").startsWith("application/problem+json"), p2.status);
  const p3 = await pre(off, allowedOrigin);
  check("CORS off (default): a preflight answers 405 with no CORS header",
        p3.status === 405 && p3.headers.get("access-control-allow-origin") === null, p3.status);
  const p4 = await fetch(on.url + "/v1/nope", { method: "OPTIONS", headers: { Origin: allowedOrigin, "Access-Control-Request-Method": "GET" } });
  check("preflight for an unknown path answers 404", p4.status === 404, p4.status);
  const g1 = await fetch(on.url + "/healthz", { headers: { Origin: otherOrigin } });
  check("an answer to another origin carries no Access-Control-Allow-Origin, and Vary: Origin",
        g1.headers.get("access-control-allow-origin") === null && /Origin/.test(g1.headers.get("vary") ?? ""));

  const kOn = await tenantKey(on, "browser-ok");
  const kOther = await tenantKey(on, "browser-other");
  const kOff = await tenantKey(off, "browser-off");

  const profile = mkdtempSync(join(tmpdir(), "sp-chromium-"));
  cleanup.push(() => rmSync(profile, { recursive: true, force: true }));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  cleanup.unshift(() => ctx.close());
  const page = await ctx.newPage();

  await page.goto(allowedOrigin + "/");
  const a = await portalCalls(page, on.url, kOn.secret);
  check("the listed origin's page creates a cluster (202) and reads Operation-Location",
        a.createStatus === 202 && /^\/v1\/operations\/op-/.test(a.opLocation ?? ""), a);
  check("...reads it back with ETag, X-Request-Id and RateLimit-Remaining exposed",
        a.getStatus === 200 && a.name === "from-browser" && /^"\d+"$/.test(a.etag ?? "")
        && (a.requestId ?? "").length > 0 && a.rateRemaining !== null, a);

  await page.goto(otherOrigin + "/");
  const b = await portalCalls(page, on.url, kOther.secret);
  check("another origin's page: the browser refuses (fetch fails)", b.error !== undefined && b.createStatus === undefined, b);
  // the access log names the key of every request that reached the server
  check("(the log names the listed origin's key, so the next check can fail)", on.log().includes(kOn.keyId));
  check("...and the server never received that page's bearer token", !on.log().includes(kOther.keyId));
  const list = await api(on, "GET", `/v1/clusters?tenant_id=${kOther.tenant}`, on.token);
  check("...nor created anything for it", list.status === 200 && list.json.items.length === 0, list.json);

  await page.goto(allowedOrigin + "/");
  const c = await portalCalls(page, off.url, kOff.secret);
  check("CORS off: even that origin's page cannot call the API", c.error !== undefined && !off.log().includes(kOff.keyId), c);
}

try {
  await main();
} catch (e) {
  check("the browser test ran without throwing", false, String(e?.stack ?? e));
} finally {
  for (const f of cleanup) { try { await f(); } catch { /* already gone */ } }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}
