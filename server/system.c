/* system.c — /healthz, /readyz, /metrics, /openapi.yaml and /docs. */
#define _GNU_SOURCE
#include "server.h"
#include "../workers/kafka/health.h"
#include "routes.h"
#include "../workers/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char openapi_yaml[];
extern const size_t openapi_yaml_len;

void sys_healthz(api_req *r, api_resp *w)
{
    (void)r;
    api_json(w, 200, json_pack("{s:s}", "status", "ok"));
}

/* Readiness reads: it is unauthenticated and not rate limited, so a
 * durable write per call let anyone slow every tenant's writes down. */
void sys_readyz(api_req *r, api_resp *w)
{
    int rc = store_ping(r->env->store);
    if (rc == ST_OK) api_json(w, 200, json_pack("{s:s, s:s}", "status", "ready", "store", "writable"));
    else {
        api_problem(w, 503, "not-ready", "the store is not ready: %s (%s)", store_strerror(rc), store_errmsg(r->env->store));
        w->retry_after = 1;
    }
}

static void phase_cb(const char *phase, int64_t n, void *arg)
{
    fprintf(arg, "streamplane_clusters{phase=\"%s\"} %lld\n", phase, (long long)n);
}

void sys_metrics(api_req *r, api_resp *w)
{
    server *s = server_of(r->env);
    size_t cap = 0;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, &cap);
    if (!f) { api_problem(w, 500, "out-of-memory", "cannot render metrics"); return; }
    metrics_write(s->metrics, f, routes_name, routes_method);
    fprintf(f, "# HELP streamplane_clusters Clusters by phase.\n# TYPE streamplane_clusters gauge\n");
    store_cluster_phase_counts(r->env->store, phase_cb, f);
    fprintf(f, "# HELP streamplane_work_queue_depth Keys waiting for a worker.\n"
               "# TYPE streamplane_work_queue_depth gauge\nstreamplane_work_queue_depth %zu\n",
            queue_depth(r->env->queue));
    fprintf(f, "# HELP streamplane_http_requests_in_flight Requests being processed.\n"
               "# TYPE streamplane_http_requests_in_flight gauge\nstreamplane_http_requests_in_flight %ld\n",
            __atomic_load_n(&s->inflight, __ATOMIC_RELAXED));
    if (r->env->kafka) {
        kafka_pool_counts k;
        kafka_pool_stats(r->env->kafka, &k);
        fprintf(f, "# HELP streamplane_kafka_clients librdkafka clients kept in the cache.\n"
                   "# TYPE streamplane_kafka_clients gauge\nstreamplane_kafka_clients %d\n"
                   "# HELP streamplane_kafka_clients_created_total librdkafka clients created.\n"
                   "# TYPE streamplane_kafka_clients_created_total counter\nstreamplane_kafka_clients_created_total %ld\n"
                   "# HELP streamplane_kafka_metadata_reads_total Kafka metadata reads (health checks, the RUNNING gate, the health endpoint).\n"
                   "# TYPE streamplane_kafka_metadata_reads_total counter\nstreamplane_kafka_metadata_reads_total %ld\n"
                   "# HELP streamplane_kafka_metadata_read_failures_total Kafka metadata reads that failed.\n"
                   "# TYPE streamplane_kafka_metadata_read_failures_total counter\n"
                   "streamplane_kafka_metadata_read_failures_total %ld\n",
                k.clients, k.created, k.reads, k.failures);
    }
    fprintf(f, "# HELP streamplane_build_info Build version.\n# TYPE streamplane_build_info gauge\n"
               "streamplane_build_info{version=\"%s\"} 1\n", SP_VERSION);
    fclose(f);
    w->status = 200;
    w->raw = buf;
    w->raw_len = strlen(buf);
    w->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void sys_openapi(api_req *r, api_resp *w)
{
    (void)r;
    w->status = 200;
    w->raw = (char *)openapi_yaml;
    w->raw_len = openapi_yaml_len;
    w->raw_static = true;
    w->content_type = "application/yaml";
}

static const char DOCS_HTML[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>streamplane API</title>"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<style>body{margin:0}</style></head><body>\n"
    "<redoc spec-url=\"/openapi.yaml\"></redoc>\n"
    "<noscript>The API reference needs JavaScript; the raw document is at "
    "<a href=\"/openapi.yaml\">/openapi.yaml</a>.</noscript>\n"
    "<script src=\"/docs/redoc.standalone.js\"></script>\n</body></html>\n";

void sys_docs(api_req *r, api_resp *w)
{
    (void)r;
    w->status = 200;
    w->raw = (char *)DOCS_HTML;
    w->raw_len = sizeof DOCS_HTML - 1;
    w->raw_static = true;
    w->content_type = "text/html; charset=utf-8";
}

void sys_docs_asset(api_req *r, api_resp *w)
{
    size_t n;
    char *js = r->env->docs_asset && *r->env->docs_asset ? sp_read_file(r->env->docs_asset, &n) : NULL;
    if (!js) {
        api_problem(w, 404, "docs-asset-missing",
                    "the documentation bundle is not installed (run npm ci, or set --docs-asset)");
        return;
    }
    w->status = 200;
    w->raw = js;
    w->raw_len = n;
    w->content_type = "application/javascript; charset=utf-8";
}
