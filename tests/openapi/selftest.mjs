// Self-test for check-routes.mjs and validate-responses.mjs: a small OpenAPI 3.1 document and
// hand-made inputs in a temp dir, each script run as a child process, exit codes and counts checked.
// usage: node tests/openapi/selftest.mjs
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { stringify } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "openapi-selftest-"));

const problem = { description: "error", content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } };
const spec = {
  openapi: "3.1.0",
  info: { title: "selftest", version: "1" },
  paths: {
    "/v1/clusters/{cluster_id}": {
      get: { responses: {
        200: { description: "ok", content: { "application/json": { schema: { $ref: "#/components/schemas/Cluster" } } } },
        "4XX": { $ref: "#/components/responses/Problem" },
      } },
      delete: { responses: { 204: { description: "gone" } } },
    },
    "/v1/clusters/summary": {
      get: { responses: { 200: { description: "ok", content: { "application/json": { schema: { type: "object", required: ["count"], properties: { count: { type: "integer" } } } } } } } },
    },
    "/metrics": { get: { responses: { 200: { description: "ok", content: { "text/plain": {} } } } } },
  },
  components: {
    responses: { Problem: problem },
    schemas: {
      Cluster: {
        type: "object", required: ["id", "brokers"],
        properties: { id: { type: "string", pattern: "^kc-" }, brokers: { type: "integer" }, created_at: { type: "string", format: "date-time" } },
      },
      Problem: { type: "object", required: ["title", "status"], properties: { title: { type: "string" }, status: { type: "integer" } } },
    },
  },
};
const specFile = join(dir, "openapi.yaml");
writeFileSync(specFile, stringify(spec));

const cluster = { id: "kc-abc", brokers: 3, created_at: "2025-01-01T00:00:00Z" };
const ex = (method, path, status, content_type, body) => JSON.stringify({ method, path, status, content_type, body, headers: {} });
const write = (name, lines) => { const f = join(dir, name); writeFileSync(f, lines.join("\n") + "\n"); return f; };

let passed = 0, failed = 0;
function expect(name, script, args, { code, counts, output = [] }) {
  const r = spawnSync(process.execPath, [join(here, script), ...args], { encoding: "utf8" });
  const out = r.stdout + r.stderr;
  const last = r.stdout.trim().split("\n").pop();
  const problems = [];
  if (r.status !== code) problems.push(`exit ${r.status}, expected ${code}`);
  if (last !== counts) problems.push(`last line ${JSON.stringify(last)}, expected ${JSON.stringify(counts)}`);
  for (const s of output) if (!out.includes(s)) problems.push(`output lacks ${JSON.stringify(s)}`);
  if (problems.length) { failed++; console.log(`not ok - ${name}: ${problems.join("; ")}\n${out.replace(/^/gm, "    | ")}`); }
  else { passed++; console.log(`ok - ${name}`); }
}

// check-routes.mjs
expect("routes match (parameter names differ)", "check-routes.mjs",
  [specFile, write("routes-ok.txt", ["GET /v1/clusters/{id}", "DELETE /v1/clusters/{id}", "", "GET /v1/clusters/summary", "GET /metrics"])],
  { code: 0, counts: "4 passed, 0 failed" });
expect("routes mismatch both ways", "check-routes.mjs",
  [specFile, write("routes-bad.txt", ["GET /v1/clusters/{id}", "PUT /v1/clusters/{id}", "GET /v1/clusters/summary", "GET /metrics"])],
  { code: 1, counts: "3 passed, 2 failed",
    output: ["in server, not in openapi: PUT /v1/clusters/{id}", "in openapi, not in server: DELETE /v1/clusters/{cluster_id}"] });

// validate-responses.mjs
expect("valid exchanges", "validate-responses.mjs",
  [specFile, write("good.jsonl", [
    ex("GET", "/v1/clusters/kc-abc?page_size=5", 200, "application/json; charset=utf-8", cluster),
    ex("GET", "/v1/clusters/summary", 200, "application/json", { count: 2 }), // literal path beats {cluster_id}
    ex("GET", "/v1/clusters/kc-zzz", 404, "application/problem+json", { title: "Not Found", status: 404 }), // 4XX via $ref
    ex("DELETE", "/v1/clusters/kc-abc", 204, null, null),
    ex("GET", "/metrics", 200, "text/plain; version=0.0.4", null),
  ])],
  { code: 0, counts: "5 passed, 0 failed" });
expect("valid, wrong type, undocumented status", "validate-responses.mjs",
  [specFile, write("mixed.jsonl", [
    ex("GET", "/v1/clusters/kc-abc", 200, "application/json", cluster),
    ex("GET", "/v1/clusters/kc-abc", 200, "application/json", { ...cluster, brokers: "3" }),
    ex("GET", "/v1/clusters/kc-def", 200, "application/json", { ...cluster, id: "kc-def", brokers: "3" }),
    ex("GET", "/v1/clusters/kc-abc", 500, "application/problem+json", { title: "boom", status: 500 }),
  ])],
  { code: 1, counts: "1 passed, 3 failed",
    output: ["/brokers must be integer", "seen 2x", "GET /v1/clusters/{cluster_id} 500: status not documented", "2 distinct failure(s)"] });
expect("wrong media type, 204 with body, unknown path", "validate-responses.mjs",
  [specFile, write("bad.jsonl", [
    ex("GET", "/v1/clusters/kc-abc", 404, "application/json", { title: "x", status: 404 }),
    ex("DELETE", "/v1/clusters/kc-abc", 204, "application/json", { id: "kc-abc" }),
    ex("GET", "/v1/nope", 200, "application/json", {}),
  ])],
  { code: 1, counts: "0 passed, 3 failed",
    output: ["media type application/json not documented", "204 must have no body", "GET /v1/nope: not in the document, and answered 200 instead of 404"] });
expect("no exchanges is a failure", "validate-responses.mjs",
  [specFile, write("empty.jsonl", [])],
  { code: 1, counts: "0 passed, 1 failed", output: ["no exchanges read"] });

rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
