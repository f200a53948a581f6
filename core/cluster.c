/* cluster.c — see cluster.h. */
#define _GNU_SOURCE
#include "cluster.h"

#include <stdio.h>
#include <string.h>

/* Releases we can run (apache/kafka images with KRaft). "3.9" means the
 * newest 3.9.x; the resolved release is shown in status.kafka_version. */
static const char *const VERSIONS[] = {"3.7.0", "3.7.1", "3.7.2", "3.8.0", "3.8.1",
                                       "3.9.0", "3.9.1", "4.0.0", "4.1.0", NULL};
static const char *const MINORS[] = {"3.7", "3.8", "3.9", "4.0", "4.1", NULL};

const char *cluster_versions_text(void)
{
    return "3.7.0-3.7.2, 3.8.0, 3.8.1, 3.9.0, 3.9.1, 4.0.0, 4.1.0 or a minor line such as \"3.9\"";
}

const char *cluster_resolve_version(const char *v)
{
    if (!v) return NULL;
    for (int i = 0; VERSIONS[i]; i++)
        if (strcmp(v, VERSIONS[i]) == 0) return VERSIONS[i];
    for (int i = 0; MINORS[i]; i++)
        if (strcmp(v, MINORS[i]) == 0) {
            const char *best = NULL;
            size_t n = strlen(v);
            for (int j = 0; VERSIONS[j]; j++)
                if (strncmp(VERSIONS[j], v, n) == 0 && VERSIONS[j][n] == '.') best = VERSIONS[j];
            return best;
        }
    return NULL;
}

int cluster_version_cmp(const char *a, const char *b)
{
    int x[3] = {0}, y[3] = {0};
    sscanf(a, "%d.%d.%d", &x[0], &x[1], &x[2]);
    sscanf(b, "%d.%d.%d", &y[0], &y[1], &y[2]);
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

static const char *const AVAIL_NAMES[] = {"single_zone", "multi_zone"};
static const char *const EXT_NAMES[] = {"none", "nodeport", "loadbalancer"};

const char *cluster_availability_name(cluster_availability a)
{
    return a < AVAIL_INVALID ? AVAIL_NAMES[a] : "invalid";
}

cluster_availability cluster_availability_parse(const char *s)
{
    for (int i = 0; s && i < AVAIL_INVALID; i++)
        if (strcmp(s, AVAIL_NAMES[i]) == 0) return (cluster_availability)i;
    return AVAIL_INVALID;
}

const char *cluster_external_name(cluster_external e)
{
    return e < EXT_INVALID ? EXT_NAMES[e] : "invalid";
}

cluster_external cluster_external_parse(const char *s)
{
    if (!s) return EXT_NONE;
    for (int i = 0; i < EXT_INVALID; i++)
        if (strcmp(s, EXT_NAMES[i]) == 0) return (cluster_external)i;
    return EXT_INVALID;
}

static long long int_or0(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* The fields both sources share: spec is the client's object, status the
 * server's (release and availability). */
static void spec_fields(const json_t *spec, const json_t *status, cluster_spec *out)
{
    out->name = json_string_value(json_object_get(spec, "name"));
    /* the release pods roll onto; status.kafka_version is what runs now */
    out->kafka_version = json_string_value(json_object_get(status, "target_kafka_version"));
    if (!out->kafka_version) out->kafka_version = json_string_value(json_object_get(status, "kafka_version"));
    out->brokers = int_or0(spec, "brokers");
    out->storage_gib = int_or0(spec, "storage_gib");
    const char *avail = json_string_value(json_object_get(status, "availability"));
    if (!avail) avail = json_string_value(json_object_get(spec, "availability"));
    out->availability = avail ? cluster_availability_parse(avail)
                              : out->brokers >= 3 ? AVAIL_MULTI_ZONE : AVAIL_SINGLE_ZONE;
    out->external = cluster_external_parse(
        json_string_value(json_object_get(json_object_get(spec, "external_access"), "type")));
    out->tiered_storage = json_is_true(json_object_get(json_object_get(spec, "tiered_storage"), "enabled"));
    const json_t *cfg = json_object_get(spec, "config");
    out->config = json_is_null(cfg) ? NULL : cfg;
}

void cluster_spec_from_row(const store_res *r, cluster_spec *out)
{
    memset(out, 0, sizeof *out);
    spec_fields(r->spec, r->status, out);
    out->id = r->id;
    out->tenant_id = r->tenant_id;
    out->generation = r->generation;
}

void cluster_spec_from_json(const json_t *cluster, cluster_spec *out)
{
    memset(out, 0, sizeof *out);
    spec_fields(cluster, json_object_get(cluster, "status"), out);
    out->id = json_string_value(json_object_get(cluster, "id"));
    out->tenant_id = json_string_value(json_object_get(cluster, "tenant_id"));
    out->generation = int_or0(cluster, "generation");
}

json_t *cluster_view(store_res *r, bool borrow)
{
    json_t *o = borrow ? json_incref(r->spec) : json_deep_copy(r->spec);
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "tenant_id", json_string(r->tenant_id));
    json_t *st = borrow ? json_incref(r->status) : json_deep_copy(r->status);
    json_object_set_new(st, "phase", json_string(r->phase));
    json_object_set_new(o, "status", st);
    json_object_set_new(o, "generation", json_integer(r->generation));
    return o;
}
