// validate-objects.mjs DIR — checks every *.json file in DIR (one Kubernetes
// object each, as render-matrix writes them) against the upstream Kubernetes
// schemas of the npm package kubernetes-models. The class comes from
// apiVersion + kind; an unknown pair is a failure. Ends with "N passed, M failed";
// exit 1 if M > 0 or N == 0.
//
// The package's validators accept unknown fields (the upstream schemas do not
// forbid them; the API server drops them silently, or rejects them under
// strict field validation). So, in addition, every field name outside a map
// (labels, annotations, data, selectors, resource lists) must be a property
// name some Kubernetes schema knows: that catches typos, not misplacements.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node validate-objects.mjs DIR");
  process.exit(2);
}

// apiVersion -> module folder of kubernetes-models ("v1" is the core group).
function modulePath(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  if (!/^[A-Za-z0-9]+$/.test(kind)) return null;
  const parts = apiVersion.split("/");
  if (parts.length === 1 && parts[0] === "v1") return `kubernetes-models/v1/${kind}`;
  if (parts.length !== 2 || !/^[a-z0-9.-]+$/.test(parts[0]) || !/^v[0-9a-z]+$/.test(parts[1])) return null;
  return `kubernetes-models/${parts[0]}/${parts[1]}/${kind}`;
}

// Every property name the compiled schema validators test for.
function knownFields() {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("kubernetes-models/package.json"));
  const dir = join(root, "_schemas");
  const names = new Set();
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".mjs"))) {
    const src = readFileSync(join(dir, f), "utf8");
    for (const m of src.matchAll(/missingProperty:"([^"]+)"/g)) names.add(m[1]);
    for (const m of src.matchAll(/\bdata\.([A-Za-z_$][\w$]*)/g)) names.add(m[1]);
    for (const m of src.matchAll(/\bdata\["([^"]+)"\]/g)) names.add(m[1]);
  }
  return names;
}
const KNOWN = knownFields();
// Keys whose value is a map with free-form keys.
const MAPS = new Set(["labels", "annotations", "data", "binaryData", "stringData", "matchLabels",
  "selector", "nodeSelector", "requests", "limits", "capacity", "allocatable"]);

function unknownFields(v, path, out) {
  if (Array.isArray(v)) {
    v.forEach((x, i) => unknownFields(x, `${path}[${i}]`, out));
  } else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (!KNOWN.has(k) && !MAPS.has(k)) out.push(`${path}.${k}`);
      if (!MAPS.has(k)) unknownFields(x, `${path}.${k}`, out);
    }
  }
  return out;
}

const classes = new Map();
async function classFor(apiVersion, kind) {
  const path = modulePath(apiVersion, kind);
  if (!path) return null;
  if (!classes.has(path)) {
    let cls = null;
    try {
      const mod = await import(path);
      cls = mod[kind] ?? null;
    } catch {
      cls = null;
    }
    classes.set(path, cls);
  }
  return classes.get(path);
}

let passed = 0;
let failed = 0;
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
for (const f of files) {
  let obj;
  try {
    obj = JSON.parse(readFileSync(join(dir, f), "utf8"));
  } catch (e) {
    console.log(`FAIL ${f}: not JSON: ${e.message}`);
    failed++;
    continue;
  }
  const cls = await classFor(obj.apiVersion, obj.kind);
  if (!cls) {
    console.log(`FAIL ${f}: unknown kind ${obj.apiVersion} ${obj.kind}`);
    failed++;
    continue;
  }
  try {
    new cls(obj).validate();
    const unknown = unknownFields(obj, "", []);
    if (unknown.length) throw new Error(`unknown field(s) ${unknown.join(", ")}`);
    passed++;
  } catch (e) {
    failed++;
    const detail = e.errors ? JSON.stringify(e.errors) : e.message;
    console.log(`FAIL ${f}: ${detail}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
