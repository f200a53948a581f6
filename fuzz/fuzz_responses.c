/* fuzz_responses.c — what the workers parse from the data plane: a
 * Kubernetes API server's error answer (workers/kube/client.c turns any body
 * into a reason and a message) and the Kafka metadata a broker returns
 * (workers/kafka/health.c counts brokers and offline and under-replicated
 * partitions), and the tenant's view of such a message (api/tenant_view.c:
 * no URL left). The first byte picks which; the metadata is built from the
 * rest the way librdkafka would hand it over. */
#include "../api/api.h"
#include "../workers/kube/client.h"
#include "../workers/kafka/health.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

static void kube_status(const uint8_t *d, size_t n)
{
    char *body = malloc(n + 1);
    if (!body) return;
    memcpy(body, d, n);
    body[n] = 0;
    kube_err e;
    long code = n ? 400 + d[0] % 200 : 500;
    kube_err_from_body(&e, code, body);
    if (e.http != code || strlen(e.message) >= sizeof e.message || strlen(e.reason) >= sizeof e.reason) abort();
    /* what a tenant would be shown of that message: no URL survives at a word's start */
    char *t = api_tenant_text(e.message);
    if (!t) abort();
    for (const char *p = strstr(t, "://"); p; p = strstr(p + 1, "://")) {
        const char *q = p;
        while (q > t && q[-1] >= 'a' && q[-1] <= 'z') q--;
        if (q < p && p - q <= 8 && (q == t || strchr(" \t(\"'=,:[", q[-1]))) abort();
    }
    free(t);
    free(body);
}

/* Reads small integers off the input, 0 when it runs out. */
typedef struct rd { const uint8_t *p; size_t n; } rd;
static int take(rd *r, int mod)
{
    if (!r->n) return 0;
    r->n--;
    return (int)(*r->p++ % mod) - (mod > 3 ? 1 : 0);     /* -1 appears: no leader */
}

static void kafka_metadata(const uint8_t *d, size_t n)
{
    rd r = {d, n};
    rd_kafka_metadata_t md = {0};
    md.broker_cnt = take(&r, 200) + 1;
    if (md.broker_cnt < 0) md.broker_cnt = 0;
    md.brokers = calloc((size_t)md.broker_cnt + 1, sizeof *md.brokers);
    for (int i = 0; i < md.broker_cnt; i++) md.brokers[i].id = take(&r, 1000);
    md.topic_cnt = take(&r, 8) + 1;
    if (md.topic_cnt < 0) md.topic_cnt = 0;
    md.topics = calloc((size_t)md.topic_cnt + 1, sizeof *md.topics);
    int parts = 0, offline = 0, under = 0;
    for (int t = 0; t < md.topic_cnt; t++) {
        rd_kafka_metadata_topic_t *tp = &md.topics[t];
        tp->partition_cnt = take(&r, 16) + 1;
        if (tp->partition_cnt < 0) tp->partition_cnt = 0;
        tp->partitions = calloc((size_t)tp->partition_cnt + 1, sizeof *tp->partitions);
        for (int i = 0; i < tp->partition_cnt; i++) {
            rd_kafka_metadata_partition_t *pa = &tp->partitions[i];
            pa->leader = take(&r, 6);
            pa->replica_cnt = take(&r, 5) + 1;
            pa->isr_cnt = take(&r, 5) + 1;
            if (pa->replica_cnt < 0) pa->replica_cnt = 0;
            if (pa->isr_cnt < 0) pa->isr_cnt = 0;
            parts++;
            if (pa->leader < 0) offline++;
            else if (pa->isr_cnt < pa->replica_cnt) under++;
        }
    }
    kafka_health h = {0};
    h.brokers_expected = take(&r, 10);
    kafka_health_from_metadata(&md, take(&r, 10), &h);
    if (h.partitions != parts || h.offline_partitions != offline || h.under_replicated != under ||
        h.brokers_listed != md.broker_cnt || h.nbroker_ids > KAFKA_HEALTH_MAX_BROKER_IDS)
        abort();
    for (int i = 1; i < h.nbroker_ids; i++)
        if (h.broker_ids[i - 1] > h.broker_ids[i]) abort();
    for (int t = 0; t < md.topic_cnt; t++) free(md.topics[t].partitions);
    free(md.topics);
    free(md.brokers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1) kube_status(data + 1, size - 1);
    else kafka_metadata(data + 1, size - 1);
    return 0;
}
