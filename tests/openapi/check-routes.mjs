// Compare the routes the server implements with the operations in the OpenAPI document.
// usage: node tests/openapi/check-routes.mjs openapi/openapi.yaml ROUTES_FILE
// ROUTES_FILE: one "METHOD /path/{param}" per line (blank lines and "#" comments ignored).
import { readFileSync } from "node:fs";
import { loadDoc, normalisePath, operations, finish } from "./lib.mjs";

const [specFile, routesFile] = process.argv.slice(2);
if (!specFile || !routesFile) {
  console.error("usage: node tests/openapi/check-routes.mjs openapi/openapi.yaml ROUTES_FILE");
  process.exit(2);
}

let failed = 0;
const fail = (msg) => { console.log(`FAIL ${msg}`); failed++; };

// key "GET /v1/clusters/{}" -> route as written (first spelling seen)
const inSpec = new Map();
for (const { method, path } of operations(loadDoc(specFile))) {
  inSpec.set(`${method} ${normalisePath(path)}`, `${method} ${path}`);
}

const inServer = new Map();
readFileSync(routesFile, "utf8").split("\n").forEach((raw, i) => {
  const line = raw.trim();
  if (!line || line.startsWith("#")) return;
  const m = /^([A-Za-z]+)\s+(\/\S*)$/.exec(line);
  if (!m) return fail(`${routesFile}:${i + 1}: not "METHOD /path": ${JSON.stringify(raw)}`);
  const route = `${m[1].toUpperCase()} ${m[2]}`;
  inServer.set(`${m[1].toUpperCase()} ${normalisePath(m[2])}`, route);
});

if (inServer.size === 0) fail(`${routesFile}: no routes read`);

let passed = 0;
for (const [key, route] of inServer) {
  if (inSpec.has(key)) passed++;
  else fail(`in server, not in openapi: ${route}`);
}
for (const [key, route] of inSpec) {
  if (!inServer.has(key)) fail(`in openapi, not in server: ${route}`);
}

finish(passed, failed);
