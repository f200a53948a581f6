// Validate recorded HTTP exchanges against the responses documented in the OpenAPI document.
// usage: node tests/openapi/validate-responses.mjs openapi/openapi.yaml EXCHANGES.jsonl [more.jsonl...]
// Each JSONL line: {"method","path","status","content_type","body","headers"} (see README.md).
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { loadDoc, deref, escapePointer, operations, finish } from "./lib.mjs";

const [specFile, ...exchangeFiles] = process.argv.slice(2);
if (!specFile || exchangeFiles.length === 0) {
  console.error("usage: node tests/openapi/validate-responses.mjs openapi/openapi.yaml EXCHANGES.jsonl [more.jsonl...]");
  process.exit(2);
}

const doc = loadDoc(specFile);

// --- Ajv: the whole document is one schema, response schemas are referenced by JSON pointer.
const DOC_ID = "urn:streamplane:openapi";
const warned = new Set();
const warnOnce = (...a) => { const m = a.join(" "); if (!warned.has(m)) { warned.add(m); console.error(`ajv: ${m}`); } };
const ajv = new Ajv2020({ strict: false, allErrors: true, logger: { log() {}, warn: warnOnce, error: warnOnce } });
addFormats(ajv);
ajv.addSchema(doc, DOC_ID, undefined, false); // not itself a JSON Schema: skip meta-validation
const validators = new Map();
function validatorFor(pointer) {
  if (!validators.has(pointer)) {
    const fragment = pointer.split("/").map(encodeURIComponent).join("/");
    validators.set(pointer, ajv.compile({ $ref: `${DOC_ID}#${fragment}` }));
  }
  return validators.get(pointer);
}

// --- Path templates, most specific first (literal segment beats "{x}" at the first difference).
const templates = [...new Set([...operations(doc)].map((o) => o.path))].map((path) => {
  const segs = path.split("/").slice(1).map((s) => {
    if (!s.includes("{")) return { literal: s, rank: 2 };
    const re = s.split(/(\{[^}]*\})/).map((p) => (p.startsWith("{") ? "[^/]+" : p.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))).join("");
    return { re: new RegExp(`^${re}$`), rank: /^\{[^}]*\}$/.test(s) ? 0 : 1 };
  });
  return { path, segs };
});
templates.sort((a, b) => {
  for (let i = 0; i < Math.min(a.segs.length, b.segs.length); i++) {
    if (a.segs[i].rank !== b.segs[i].rank) return b.segs[i].rank - a.segs[i].rank;
  }
  return 0;
});
const decode = (s) => { try { return decodeURIComponent(s); } catch { return s; } };
function matchTemplate(path) {
  const segs = path.split("/").slice(1).map(decode);
  return templates.find((t) => t.segs.length === segs.length &&
    t.segs.every((ts, i) => (ts.re ? ts.re.test(segs[i]) : ts.literal === segs[i])));
}

const mediaType = (ct) => (ct ?? "").split(";")[0].trim().toLowerCase();
const isJson = (mt) => mt === "application/json" || mt.endsWith("+json");

function formatErrors(errors) {
  const lines = errors.slice(0, 10).map((e) => {
    const p = e.params ?? {};
    const extra = p.additionalProperty ?? p.unevaluatedProperty ?? p.allowedValues ?? p.missingProperty;
    return `    ${e.instancePath || "(root)"} ${e.message}${extra !== undefined && !e.message.includes(String(extra)) ? `: ${JSON.stringify(extra)}` : ""}`;
  });
  if (errors.length > 10) lines.push(`    … ${errors.length - 10} more`);
  return lines.join("\n");
}

function undocumented(ex, where, want) {
  if (Number(ex.status) !== want) return `${where}: not in the document, and answered ${ex.status} instead of ${want}`;
  if (mediaType(ex.content_type) !== "application/problem+json") return `${where} ${want}: not application/problem+json`;
  if (!doc.components?.schemas?.Problem) return `${where} ${want}: the document has no components.schemas.Problem`;
  const validate = validatorFor("/components/schemas/Problem");
  return validate(ex.body ?? null) ? null : `${where} ${want}: body does not match Problem\n${formatErrors(validate.errors)}`;
}

// Check one exchange; returns a failure message (grouping key) or null.
function check(ex) {
  const method = String(ex.method ?? "").toUpperCase();
  const status = Number(ex.status);
  if (!method || typeof ex.path !== "string" || !Number.isInteger(status)) return "exchange lacks method, path or status";
  const path = ex.path.split(/[?#]/)[0];
  const tpl = matchTemplate(path);
  // A path the API does not have must answer 404, and a method a path does
  // not have 405, as problem+json; no operation documents those answers.
  if (!tpl) return undocumented(ex, `${method} ${path}`, 404);
  const { node: item, pointer: itemPtr } = deref(doc, doc.paths[tpl.path], `/paths/${escapePointer(tpl.path)}`);
  const op = item[method.toLowerCase()];
  if (!op) return undocumented(ex, `${method} ${tpl.path}`, 405);
  const where = `${method} ${tpl.path} ${status}`;

  const responses = op.responses ?? {};
  const key = [String(status), `${String(status)[0]}XX`, `${String(status)[0]}xx`, "default"].find((k) => k in responses);
  if (!key) return `${where}: status not documented (documented: ${Object.keys(responses).join(", ") || "none"})`;
  const { node: resp, pointer: respPtr } = deref(doc, responses[key], `${itemPtr}/${method.toLowerCase()}/responses/${escapePointer(key)}`);

  const hasBody = ex.body !== null && ex.body !== undefined && ex.body !== "";
  if (status === 204) return hasBody ? `${where}: 204 must have no body` : null;

  const content = Object.entries(resp?.content ?? {}).map(([k, v]) => [mediaType(k), k, v]);
  const mt = mediaType(ex.content_type);
  if (!mt) {
    if (hasBody) return `${where}: body sent without a content type`;
    return content.length ? `${where}: no body, but documented as ${content.map((c) => c[0]).join(", ")}` : null;
  }
  const [type] = mt.split("/");
  const entry = content.find((c) => c[0] === mt) ?? content.find((c) => c[0] === `${type}/*`) ?? content.find((c) => c[0] === "*/*");
  if (!entry) return `${where}: media type ${mt} not documented (documented: ${content.map((c) => c[0]).join(", ") || "no content"})`;
  if (!isJson(mt) || !entry[2]?.schema) return null;

  const schemaPtr = deref(doc, entry[2], `${respPtr}/content/${escapePointer(entry[1])}`).pointer + "/schema";
  let validate;
  try { validate = validatorFor(schemaPtr); } catch (e) { return `${where} ${mt}: cannot compile schema ${schemaPtr}: ${e.message}`; }
  if (validate(ex.body ?? null)) return null;
  return `${where} ${mt}: body does not match schema #${deref(doc, entry[2].schema, schemaPtr).pointer}\n${formatErrors(validate.errors)}`;
}

// --- Read the exchanges, check each, group identical failures.
let passed = 0, failed = 0;
const failures = new Map(); // message -> { count, example }
const record = (msg, example) => {
  failed++;
  const f = failures.get(msg) ?? { count: 0, example };
  f.count++;
  failures.set(msg, f);
};
for (const file of exchangeFiles) {
  let text;
  try { text = readFileSync(file, "utf8"); } catch (e) { record(`cannot read ${file}: ${e.message}`, file); continue; }
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const at = `${file}:${i + 1}`;
    let ex;
    try { ex = JSON.parse(line); } catch (e) { return record(`invalid JSON line: ${e.message}`, at); }
    let msg;
    try { msg = check(ex); } catch (e) { msg = `${ex.method} ${ex.path}: ${e.message}`; }
    if (msg) record(msg, `${ex.method} ${ex.path} -> ${ex.status} (${at})`);
    else passed++;
  });
}
if (passed + failed === 0) record("no exchanges read", exchangeFiles.join(" "));

for (const [msg, { count, example }] of failures) {
  console.log(`FAIL ${msg}\n    seen ${count}x, e.g. ${example}`);
}
if (failures.size) console.log(`${failures.size} distinct failure(s)`);
finish(passed, failed);
