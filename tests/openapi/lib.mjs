// Shared helpers for the OpenAPI check scripts.
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

// Load an OpenAPI document (YAML or JSON; JSON is YAML).
export function loadDoc(file) {
  const doc = parse(readFileSync(file, "utf8"));
  if (!doc || typeof doc !== "object" || !doc.paths) throw new Error(`${file}: no "paths" in document`);
  return doc;
}

// "/v1/clusters/{cluster_id}" -> "/v1/clusters/{}"
export const normalisePath = (p) => p.replace(/\{[^}/]*\}/g, "{}");

// Follow local "$ref"s ("#/components/...") until a non-ref object.
// Returns { node, pointer } where pointer is the JSON pointer of the final node.
export function deref(doc, node, pointer) {
  for (let hops = 0; node && typeof node.$ref === "string"; hops++) {
    const ref = node.$ref;
    if (!ref.startsWith("#/") || hops > 32) throw new Error(`cannot resolve $ref ${ref} at ${pointer}`);
    pointer = decodeURIComponent(ref.slice(1)); // JSON pointers here are kept un-URI-encoded
    node = getPointer(doc, pointer);
    if (node === undefined) throw new Error(`dangling $ref ${ref}`);
  }
  return { node, pointer };
}

export function getPointer(doc, pointer) {
  let node = doc;
  for (const raw of pointer.split("/").slice(1)) {
    if (node == null) return undefined;
    node = node[raw.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node;
}

export const escapePointer = (s) => String(s).replace(/~/g, "~0").replace(/\//g, "~1");

// Every operation in the document: { method: "GET", path, pathItem, op, pointer }.
export function* operations(doc) {
  for (const [path, rawItem] of Object.entries(doc.paths ?? {})) {
    const { node: item, pointer } = deref(doc, rawItem, `/paths/${escapePointer(path)}`);
    for (const m of HTTP_METHODS) {
      if (item?.[m]) yield { method: m.toUpperCase(), path, op: item[m], pointer: `${pointer}/${m}` };
    }
  }
}

// Print the closing line and exit (1 if anything failed).
export function finish(passed, failed) {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}
