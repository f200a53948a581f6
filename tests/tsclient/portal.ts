// portal.ts — what a self-service portal does, through a client generated
// from openapi/openapi.yaml (openapi-typescript types + openapi-fetch),
// compiled with `tsc --strict`: the compiler is the proof that the document
// describes the API a generator sees. Run against a fresh server by
// tests/tsclient/run.sh (SP_URL, SP_ADMIN in the environment).
// Prints one line per check and "N passed, M failed".
import createClient from "openapi-fetch";
import type { paths, components } from "./api.js";

// Node's globals this file uses (no @types/node needed for three names).
declare const process: { env: Record<string, string | undefined>; exitCode?: number };

type Cluster = components["schemas"]["ClusterResponse"];
type Operation = components["schemas"]["Operation"];
type Problem = components["schemas"]["Problem"];

const url = process.env.SP_URL ?? "";
const admin = process.env.SP_ADMIN ?? "";
let passed = 0, failed = 0;
function check(what: string, ok: boolean, detail?: unknown): void {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok || detail === undefined ? "" : ": " + JSON.stringify(detail)}`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A portal obeys the documented rate-limit headers: on 429 it waits
// Retry-After seconds and sends the request again. It counts what it saw.
const seen = { r429: 0, retryAfterOk: 0, remainingZero: 0 };
function politeFetch(token: string) {
  return async (input: Request): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const req = input.clone();
      req.headers.set("Authorization", `Bearer ${token}`);
      const res = await fetch(req);
      if (res.status !== 429 || attempt >= 20) return res;
      seen.r429++;
      const ra = Number(res.headers.get("Retry-After"));
      if (Number.isInteger(ra) && ra >= 1) seen.retryAfterOk++;
      if (res.headers.get("RateLimit-Remaining") === "0") seen.remainingZero++;
      await res.body?.cancel();
      await sleep((Number.isFinite(ra) && ra > 0 ? ra : 1) * 1000);
    }
  };
}
const client = (token: string) => createClient<paths>({ baseUrl: url, fetch: politeFetch(token) });
const op = client(admin);

// Follows an operation from its Operation-Location to the end.
async function follow(api: ReturnType<typeof client>, location: string | null): Promise<Operation | undefined> {
  const id = location?.split("/").pop();
  if (!id) return undefined;
  for (let i = 0; i < 600; i++) {
    const { data } = await api.GET("/v1/operations/{operation_id}", { params: { path: { operation_id: id } } });
    if (data && (data.state === "SUCCEEDED" || data.state === "FAILED" || data.state === "CANCELLED")) return data;
    await sleep(100);
  }
  return undefined;
}

// Every page of a list, following next_page_token.
async function allClusters(api: ReturnType<typeof client>, pageSize: number): Promise<{ items: Cluster[]; pages: number }> {
  const items: Cluster[] = [];
  let token: string | undefined, pages = 0;
  do {
    const { data, error } = await api.GET("/v1/clusters", {
      params: { query: token === undefined ? { page_size: pageSize } : { page_size: pageSize, page_token: token } },
    });
    if (!data) throw new Error(`list failed: ${JSON.stringify(error)}`);
    items.push(...data.items);
    token = data.next_page_token;
    pages++;
  } while (token !== undefined && pages < 100);
  return { items, pages };
}

async function main(): Promise<void> {
  // 1. The operator creates a tenant and a key for the portal's team.
  const t = await op.POST("/v1/tenants", { body: { name: "portal-team", quotas: { max_clusters: 10, max_brokers: 60 } } });
  check("operator creates a tenant (201)", t.response.status === 201 && t.data !== undefined, t.error);
  if (!t.data) return;
  const tenantId: string = t.data.id;
  const k = await op.POST("/v1/tenants/{tenant_id}/api-keys", {
    params: { path: { tenant_id: tenantId } }, body: { name: "portal" },
  });
  check("operator creates an API key with its secret (201)", k.response.status === 201 && typeof k.data?.secret === "string", k.error);
  // secret is absent on an Idempotency-Key replay (it is never stored): a
  // portal that lost the first answer revokes the key and makes another
  if (k.data?.secret === undefined) return;
  const api = client(k.data.secret);

  // 2. The team creates a cluster and follows its operation to the end.
  const c = await api.POST("/v1/clusters", {
    params: { header: { "Idempotency-Key": "portal-create-orders" } },
    body: { name: "orders", kafka_version: "3.9", brokers: 3, storage_gib: 100, config: { "log.retention.hours": "168" } },
  });
  check("create answers 202 with the cluster as sent", c.response.status === 202 && c.data?.kafka_version === "3.9"
        && c.data.config?.["log.retention.hours"] === "168", c.error);
  if (!c.data) return;
  const clusterId: string = c.data.id;
  const done = await follow(api, c.response.headers.get("Operation-Location"));
  check("its CREATE operation, followed from Operation-Location, succeeds", done?.type === "CREATE" && done.state === "SUCCEEDED", done);
  const g = await api.GET("/v1/clusters/{cluster_id}", { params: { path: { cluster_id: clusterId } } });
  check("the cluster is RUNNING with the resolved release in status",
        g.data?.status.phase === "RUNNING" && g.data.status.kafka_version === "3.9.1" && g.data.kafka_version === "3.9", g.data?.status);
  const etag = g.response.headers.get("ETag");
  check("GET sends an ETag", etag !== null && /^"[^"]+"$/.test(etag), etag);
  if (!g.data || etag === null) return;

  // 3. 412: a stale If-Match is refused; read again and retry.
  const p1 = await api.PATCH("/v1/clusters/{cluster_id}", {
    params: { path: { cluster_id: clusterId }, header: { "If-Match": etag } },
    body: { brokers: 4 }, headers: { "Content-Type": "application/merge-patch+json" },
  });
  check("PATCH with the current ETag answers 202", p1.response.status === 202 && p1.data?.brokers === 4, p1.error);
  const p2 = await api.PATCH("/v1/clusters/{cluster_id}", {
    params: { path: { cluster_id: clusterId }, header: { "If-Match": etag } },
    body: { brokers: 5 }, headers: { "Content-Type": "application/merge-patch+json" },
  });
  const prob: Problem | undefined = p2.error;
  check("PATCH with the stale ETag answers 412 precondition-failed as problem+json",
        p2.response.status === 412 && prob?.type?.endsWith("/precondition-failed") === true
        && (p2.response.headers.get("Content-Type") ?? "").startsWith("application/problem+json"), prob);
  // The workers write status too (each write is a new resource_version), so
  // a portal reads again and retries for as long as it meets 412.
  let p3, tries = 0;
  do {
    const again = await api.GET("/v1/clusters/{cluster_id}", { params: { path: { cluster_id: clusterId } } });
    p3 = await api.PATCH("/v1/clusters/{cluster_id}", {
      params: { path: { cluster_id: clusterId }, header: { "If-Match": again.response.headers.get("ETag") ?? "" } },
      body: { brokers: 5 }, headers: { "Content-Type": "application/merge-patch+json" },
    });
  } while (p3.response.status === 412 && ++tries < 50);
  check("reading again and retrying on 412 ends in 202", p3.response.status === 202 && p3.data?.brokers === 5, p3.error);
  const scaled = await follow(api, p3.response.headers.get("Operation-Location"));
  check("the scale-out operation succeeds", scaled?.state === "SUCCEEDED", scaled);
  // the same through resource_version in the body (clients that cannot set headers)
  const p4 = await api.PATCH("/v1/clusters/{cluster_id}", {
    params: { path: { cluster_id: clusterId } }, body: { storage_gib: 200, resource_version: g.data.resource_version },
  });
  check("a stale resource_version in the body answers 412", p4.response.status === 412, p4.error);

  // 4. More clusters, then page through the lists.
  for (const name of ["billing", "events", "audit", "search"]) {
    const r = await api.POST("/v1/clusters", { body: { name, kafka_version: "3.9", brokers: 1, storage_gib: 10 } });
    check(`create ${name} (202)`, r.response.status === 202, r.error);
  }
  const l = await allClusters(api, 2);
  const names = l.items.map((x) => x.name).sort();
  check("paging by 2 lists the 5 clusters once each, in 3 pages",
        l.pages === 3 && names.join(",") === "audit,billing,events,orders,search", { pages: l.pages, names });
  const ops: Operation[] = [];
  let tok: string | undefined;
  do {
    const { data } = await api.GET("/v1/operations", {
      params: { query: tok === undefined ? { cluster_id: clusterId, page_size: 1 } : { cluster_id: clusterId, page_size: 1, page_token: tok } },
    });
    if (!data) break;
    ops.push(...data.items);
    tok = data.next_page_token;
  } while (tok !== undefined && ops.length < 50);
  check("the cluster's operations, one per page: CREATE, SCALE_OUT, SCALE_OUT",
        ops.map((o) => o.type).join(",") === "CREATE,SCALE_OUT,SCALE_OUT", ops.map((o) => o.type));
  const bad = await api.GET("/v1/clusters", { params: { query: { page_token: "not-a-token" } } });
  check("a forged page token answers 400", bad.response.status === 400, bad.error);

  // 5. 429: a burst over the bucket; the portal waits as told and every read succeeds.
  const burst = await Promise.all(Array.from({ length: 40 }, () =>
    api.GET("/v1/clusters/{cluster_id}", { params: { path: { cluster_id: clusterId } } })));
  check("a burst of 40 reads all end 200 by waiting Retry-After", burst.every((r) => r.response.status === 200),
        burst.map((r) => r.response.status));
  check("429 answers were seen, each with Retry-After and RateLimit-Remaining 0",
        seen.r429 > 0 && seen.retryAfterOk === seen.r429 && seen.remainingZero === seen.r429, seen);
  const last = burst[burst.length - 1];
  check("answers carry RateLimit-Limit/Remaining/Reset",
        last !== undefined && ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"].every((h) => last.response.headers.get(h) !== null));

  // 6. Delete: 202, the operation ends, then 404.
  const d = await api.DELETE("/v1/clusters/{cluster_id}", { params: { path: { cluster_id: clusterId } } });
  check("delete answers 202 DELETING", d.response.status === 202 && d.data?.status.phase === "DELETING", d.error);
  const gone = await follow(api, d.response.headers.get("Operation-Location"));
  check("the DELETE operation succeeds", gone?.type === "DELETE" && gone.state === "SUCCEEDED", gone);
  const after = await api.GET("/v1/clusters/{cluster_id}", { params: { path: { cluster_id: clusterId } } });
  check("the deleted cluster answers 404 problem+json", after.response.status === 404 && after.error?.status === 404, after.error);
}

main().catch((e: unknown) => { check("the flow ran without throwing", false, String(e)); })
  .finally(() => { console.log(`${passed} passed, ${failed} failed`); process.exitCode = failed === 0 && passed > 0 ? 0 : 1; });
