/* test_kafka_sim.c — Check tests for kafka-sim, driven by a plain librdkafka client.
 *
 * Why librdkafka and not hand-made frames: the simulator is only useful if
 * the real client accepts its answers, so every behaviour is observed the
 * way streamplane will observe it (rd_kafka_metadata, the Admin API). Raw
 * sockets are used only where a client cannot go: malformed frames and the
 * ApiVersions downgrade bytes. Timings are asserted loosely (not done right
 * after a start, done some time later) so the tests hold under ASan. */
#define _GNU_SOURCE
#include "kafka_sim.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A cluster of n brokers (ids 0..n-1) on host, listener PLAINTEXT, all up. */
static kfs_cluster *make_cluster(kfs_runtime *rt, int n, const char *host, int rejoin_ms)
{
    kfs_options o = {.cluster_id = "kfs-test-cluster", .rejoin_delay_ms = rejoin_ms};
    kfs_cluster *c = kfs_cluster_new(rt, &o);
    ck_assert_ptr_nonnull(c);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(kfs_broker_add(c, i, i % 2 ? "rack-b" : "rack-a"), 0);
        ck_assert_int_eq(kfs_broker_listen(c, i, "PLAINTEXT", host, 0), 0);
        ck_assert_int_eq(kfs_broker_set_up(c, i, true), 0);
    }
    return c;
}

static rd_kafka_t *client(const char *bootstrap, rd_kafka_type_t type)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err), RD_KAFKA_CONF_OK);
    const char *dbg = getenv("KFS_DEBUG");
    if (dbg) rd_kafka_conf_set(conf, "debug", dbg, err, sizeof err);
    else rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    if (type == RD_KAFKA_CONSUMER) rd_kafka_conf_set(conf, "group.id", "kfs-test", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    ck_assert_msg(rk != NULL, "rd_kafka_new: %s", err);
    return rk;
}

static rd_kafka_t *producer_for(kfs_cluster *c, int node_id)
{
    char bs[64];
    snprintf(bs, sizeof bs, "127.0.0.1:%d", kfs_broker_port(c, node_id, "PLAINTEXT"));
    return client(bs, RD_KAFKA_PRODUCER);
}

static const struct rd_kafka_metadata *metadata(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    ck_assert_msg(err == RD_KAFKA_RESP_ERR_NO_ERROR, "metadata: %s", rd_kafka_err2str(err));
    return md;
}

static const rd_kafka_metadata_topic_t *md_topic(const struct rd_kafka_metadata *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, name) == 0) return &md->topics[i];
    return NULL;
}

static bool md_has_broker(const struct rd_kafka_metadata *md, int id)
{
    for (int i = 0; i < md->broker_cnt; i++)
        if (md->brokers[i].id == id) return true;
    return false;
}

static bool has_id(const int32_t *v, int n, int id)
{
    for (int i = 0; i < n; i++)
        if (v[i] == id) return true;
    return false;
}

/* Raw socket to a broker port; -1 if refused. */
static int raw_connect(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Reads up to cap bytes within ms; returns bytes read, 0 on EOF/close, -1 on timeout. */
static ssize_t raw_read(int fd, uint8_t *buf, size_t cap, int ms)
{
    size_t got = 0;
    while (got < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0) return got ? (ssize_t)got : -1;
        ssize_t r = recv(fd, buf + got, cap - got, 0);
        if (r <= 0) return (ssize_t)got;
        got += (size_t)r;
        if (got >= 4) {
            uint32_t sz = ((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) | ((uint32_t)buf[2] << 8) | buf[3];
            if (got >= sz + 4) break;
        }
    }
    return (ssize_t)got;
}

/* True if the server closes the connection within ms. */
static bool closed_by_peer(int fd, int ms)
{
    uint8_t buf[256];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0) return false;
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) return true;
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int get16(const uint8_t *p)
{
    return (int16_t)((p[0] << 8) | p[1]);
}

static int32_t get32(const uint8_t *p)
{
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]);
}

/* ---- stage 1: metadata and the broker model ---- */

START_TEST(test_metadata_lists_brokers_and_topics)
{
    kfs_runtime *rt = kfs_runtime_new();
    kfs_cluster *c = make_cluster(rt, 3, "127.0.0.1", 0);
    ck_assert_int_eq(kfs_topic_create(c, "orders", 3, 3), 0);
    ck_assert_int_eq(kfs_topic_create(c, "single", 2, 1), 0);
    ck_assert_int_eq(kfs_topic_create(c, "orders", 1, 1), -1);
    char *bs = kfs_bootstrap(c, "PLAINTEXT");
    ck_assert_ptr_nonnull(bs);
    rd_kafka_t *rk = client(bs, RD_KAFKA_PRODUCER);
    const struct rd_kafka_metadata *md = metadata(rk);
    ck_assert_int_eq(md->broker_cnt, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert(md_has_broker(md, i));
    }
    for (int i = 0; i < md->broker_cnt; i++) {
        ck_assert_str_eq(md->brokers[i].host, "127.0.0.1");
        ck_assert_int_eq(md->brokers[i].port, kfs_broker_port(c, md->brokers[i].id, "PLAINTEXT"));
    }
    const rd_kafka_metadata_topic_t *t = md_topic(md, "orders");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->err, 0);
    ck_assert_int_eq(t->partition_cnt, 3);
    for (int p = 0; p < 3; p++) {
        const rd_kafka_metadata_partition_t *mp = &t->partitions[p];
        ck_assert_int_eq(mp->id, p);
        ck_assert_int_eq(mp->replica_cnt, 3);
        ck_assert_int_eq(mp->isr_cnt, 3);
        ck_assert_int_eq(mp->replicas[0], p); /* round robin: partition p starts at broker p */
        ck_assert_int_eq(mp->leader, mp->replicas[0]);
        ck_assert_int_eq(mp->err, 0);
    }
    t = md_topic(md, "single");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->partition_cnt, 2);
    ck_assert_int_eq(t->partitions[1].replica_cnt, 1);
    ck_assert_int_eq(t->partitions[1].leader, 1);
    rd_kafka_metadata_destroy(md);

    /* unknown topic: error 3, no auto-create */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, "nope", NULL);
    md = NULL;
    ck_assert_int_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0);
    ck_assert_int_eq(md->topic_cnt, 1);
    ck_assert_int_eq(md->topics[0].err, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);

    char *js = kfs_model_json(c);
    ck_assert_ptr_nonnull(js);
    ck_assert_ptr_nonnull(strstr(js, "\"orders\""));
    ck_assert_ptr_nonnull(strstr(js, "kfs-test-cluster"));
    free(js);
    free(bs);
    kfs_runtime_free(rt);
}
END_TEST

START_TEST(test_broker_down_and_rejoin)
{
    kfs_runtime *rt = kfs_runtime_new();
    kfs_cluster *c = make_cluster(rt, 3, "127.0.0.1", 1000);
    ck_assert_int_eq(kfs_topic_create(c, "t", 3, 3), 0);
    int port0 = kfs_broker_port(c, 0, "PLAINTEXT");
    ck_assert_int_eq(kfs_broker_set_up(c, 0, false), 0);

    rd_kafka_t *rk = producer_for(c, 1);
    const struct rd_kafka_metadata *md = metadata(rk);
    ck_assert_int_eq(md->broker_cnt, 2);
    ck_assert(!md_has_broker(md, 0));
    const rd_kafka_metadata_topic_t *t = md_topic(md, "t");
    ck_assert_ptr_nonnull(t);
    /* partition 0: replicas [0,1,2], leader moved to 1, ISR without 0 */
    ck_assert_int_eq(t->partitions[0].replica_cnt, 3);
    ck_assert_int_eq(t->partitions[0].leader, 1);
    ck_assert_int_eq(t->partitions[0].isr_cnt, 2);
    ck_assert(!has_id(t->partitions[0].isrs, t->partitions[0].isr_cnt, 0));
    /* partition 2: replicas [2,0,1], leader stays 2 */
    ck_assert_int_eq(t->partitions[2].leader, 2);
    ck_assert(!has_id(t->partitions[2].isrs, t->partitions[2].isr_cnt, 0));
    rd_kafka_metadata_destroy(md);

    ck_assert_int_eq(kfs_broker_set_up(c, 0, true), 0);
    ck_assert_int_eq(kfs_broker_port(c, 0, "PLAINTEXT"), port0); /* back on the same port */
    md = metadata(rk);
    ck_assert(md_has_broker(md, 0));
    t = md_topic(md, "t");
    ck_assert_int_eq(t->partitions[0].leader, 1); /* not yet rejoined */
    ck_assert(!has_id(t->partitions[0].isrs, t->partitions[0].isr_cnt, 0));
    rd_kafka_metadata_destroy(md);

    sleep_ms(1800);
    md = metadata(rk);
    t = md_topic(md, "t");
    ck_assert_int_eq(t->partitions[0].isr_cnt, 3);
    ck_assert(has_id(t->partitions[0].isrs, 3, 0));
    ck_assert_int_eq(t->partitions[0].leader, 0); /* preferred leader restored */
    ck_assert_int_eq(t->partitions[1].leader, 1);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    kfs_runtime_free(rt);
}
END_TEST

START_TEST(test_leaderless_partition)
{
    kfs_runtime *rt = kfs_runtime_new();
    kfs_cluster *c = make_cluster(rt, 2, "127.0.0.1", 0);
    ck_assert_int_eq(kfs_topic_create(c, "t", 2, 2), 0);
    ck_assert_int_eq(kfs_partition_set_leader(c, "t", 1, -1), 0);
    ck_assert_int_eq(kfs_partition_set_leader(c, "t", 7, -1), -1);
    ck_assert_int_eq(kfs_partition_set_leader(c, "nope", 0, -1), -1);
    rd_kafka_t *rk = producer_for(c, 0);
    const struct rd_kafka_metadata *md = metadata(rk);
    const rd_kafka_metadata_topic_t *t = md_topic(md, "t");
    ck_assert_int_eq(t->partitions[1].leader, -1);
    ck_assert_int_eq(t->partitions[1].err, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
    ck_assert_int_eq(t->partitions[0].leader, 0);
    ck_assert_int_eq(t->partitions[0].err, 0);
    rd_kafka_metadata_destroy(md);
    /* forcing a leader back */
    ck_assert_int_eq(kfs_partition_set_leader(c, "t", 1, 0), 0);
    md = metadata(rk);
    t = md_topic(md, "t");
    ck_assert_int_eq(t->partitions[1].leader, 0);
    rd_kafka_metadata_destroy(md);

    /* all replicas down (1, then 0) -> leader -1, and the ISR keeps its last
     * member, 0, as KRaft does; 1 back alone cannot lead (no unclean
     * election); 0 back leads at once, and 1 catches up from it */
    ck_assert_int_eq(kfs_broker_set_up(c, 1, false), 0);
    ck_assert_int_eq(kfs_broker_set_up(c, 0, false), 0);
    char *js = kfs_model_json(c);
    ck_assert_ptr_nonnull(strstr(js, "\"leader\": -1"));
    free(js);
    ck_assert_int_eq(kfs_broker_set_up(c, 1, true), 0);
    rd_kafka_destroy(rk);
    rk = producer_for(c, 1);
    md = metadata(rk);
    t = md_topic(md, "t");
    for (int p = 0; p < 2; p++) {
        ck_assert_int_eq(t->partitions[p].leader, -1);
        ck_assert_int_eq(t->partitions[p].isr_cnt, 1);
        ck_assert_int_eq(t->partitions[p].isrs[0], 0);
    }
    rd_kafka_metadata_destroy(md);
    ck_assert_int_eq(kfs_broker_set_up(c, 0, true), 0);
    md = metadata(rk);
    t = md_topic(md, "t");
    ck_assert_int_eq(t->partitions[0].leader, 0);              /* preferred replica of t-0 */
    ck_assert_int_eq(t->partitions[1].leader, 1);              /* and of t-1, once 1 is in sync */
    ck_assert_int_eq(t->partitions[0].isr_cnt, 2);
    ck_assert_int_eq(t->partitions[1].isr_cnt, 2);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    kfs_runtime_free(rt);
}
END_TEST

START_TEST(test_down_broker_refuses_connections)
{
    kfs_runtime *rt = kfs_runtime_new();
    kfs_cluster *c = make_cluster(rt, 2, "127.0.0.1", 0);
    int port = kfs_broker_port(c, 1, "PLAINTEXT");
    int fd = raw_connect("127.0.0.1", port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(kfs_broker_set_up(c, 1, false), 0);
    ck_assert(closed_by_peer(fd, 2000)); /* accepted connections are closed too */
    close(fd);
    errno = 0;
    ck_assert_int_eq(raw_connect("127.0.0.1", port), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    char *bs = kfs_bootstrap(c, "PLAINTEXT");
    ck_assert_ptr_null(strchr(bs, ','));
    free(bs);
    ck_assert_int_eq(kfs_broker_set_up(c, 9, true), -1);
    ck_assert_int_eq(kfs_broker_add(c, 0, NULL), -1);
    kfs_runtime_free(rt);
}
END_TEST

START_TEST(test_apiversions_downgrade)
{
    kfs_runtime *rt = kfs_runtime_new();
    kfs_cluster *c = make_cluster(rt, 1, "127.0.0.1", 0);
    int port = kfs_broker_port(c, 0, "PLAINTEXT");
    int fd = raw_connect("127.0.0.1", port);
    ck_assert_int_ge(fd, 0);
    /* ApiVersions v3 (flexible header v2): key 18, ver 3, corr 7, client "x", no tags, body compact strings */
    uint8_t req[] = {0, 0, 0, 0, 0, 18, 0, 3, 0, 0, 0, 7, 0, 1, 'x', 0, 2, 'a', 2, '1', 0};
    put32(req, sizeof req - 4);
    ck_assert_int_eq(send(fd, req, sizeof req, 0), (ssize_t)sizeof req);
    uint8_t buf[4096];
    ssize_t n = raw_read(fd, buf, sizeof buf, 3000);
    ck_assert_int_ge(n, 14);
    ck_assert_int_eq(get32(buf + 4), 7);  /* correlation id, header v0 */
    ck_assert_int_eq(get16(buf + 8), 35); /* UNSUPPORTED_VERSION */
    int cnt = get32(buf + 10);
    ck_assert_int_gt(cnt, 1);
    bool seen_av = false;
    for (int i = 0; i < cnt; i++) {
        const uint8_t *e = buf + 14 + i * 6;
        if (get16(e) == 18) {
            seen_av = true;
            ck_assert_int_eq(get16(e + 2), 0);
            ck_assert_int_eq(get16(e + 4), 2);
        }
        if (get16(e) == 3) ck_assert_int_eq(get16(e + 4), 8); /* Metadata up to v8, non-flexible */
    }
    ck_assert(seen_av);
    /* v1 works on the same connection */
    uint8_t req1[] = {0, 0, 0, 0, 0, 18, 0, 1, 0, 0, 0, 8, 0xff, 0xff};
    put32(req1, sizeof req1 - 4);
    ck_assert_int_eq(send(fd, req1, sizeof req1, 0), (ssize_t)sizeof req1);
    n = raw_read(fd, buf, sizeof buf, 3000);
    ck_assert_int_ge(n, 14);
    ck_assert_int_eq(get32(buf + 4), 8);
    ck_assert_int_eq(get16(buf + 8), 0);
    /* Metadata at an unimplemented (flexible) version: closed, not a wrong success */
    uint8_t req2[] = {0, 0, 0, 0, 0, 3, 0, 12, 0, 0, 0, 9, 0xff, 0xff, 0, 1, 0, 0, 0};
    put32(req2, sizeof req2 - 4);
    ck_assert_int_eq(send(fd, req2, sizeof req2, 0), (ssize_t)sizeof req2);
    ck_assert(closed_by_peer(fd, 3000));
    close(fd);
    kfs_runtime_free(rt);
}
END_TEST

static void send_bad(int port, const uint8_t *bytes, size_t n)
{
    int fd = raw_connect("127.0.0.1", port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
    ck_assert_msg(closed_by_peer(fd, 3000), "connection not closed");
    close(fd);
}

START_TEST(test_malformed_frames_close)
{
    kfs_runtime *rt = kfs_runtime_new();
    kfs_cluster *c = make_cluster(rt, 1, "127.0.0.1", 0);
    ck_assert_int_eq(kfs_topic_create(c, "t", 1, 1), 0);
    int port = kfs_broker_port(c, 0, "PLAINTEXT");
    /* garbage */
    const char *garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    send_bad(port, (const uint8_t *)garbage, strlen(garbage));
    /* size 2^31-1 */
    const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 1};
    send_bad(port, huge, sizeof huge);
    /* negative size */
    const uint8_t neg[] = {0xff, 0xff, 0xff, 0xf0, 0, 3, 0, 1};
    send_bad(port, neg, sizeof neg);
    /* truncated header (frame shorter than a header) */
    const uint8_t shorth[] = {0, 0, 0, 4, 0, 3, 0, 1};
    send_bad(port, shorth, sizeof shorth);
    /* client_id length runs past the frame */
    const uint8_t trunc[] = {0, 0, 0, 10, 0, 3, 0, 1, 0, 0, 0, 1, 0, 100};
    send_bad(port, trunc, sizeof trunc);
    /* metadata with a topic array count far beyond the frame */
    const uint8_t bigarr[] = {0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff};
    send_bad(port, bigarr, sizeof bigarr);
    /* unknown api key */
    const uint8_t unknown[] = {0, 0, 0, 10, 0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff};
    send_bad(port, unknown, sizeof unknown);
    /* the broker still serves the next client */
    rd_kafka_t *rk = producer_for(c, 0);
    const struct rd_kafka_metadata *md = metadata(rk);
    ck_assert_ptr_nonnull(md_topic(md, "t"));
    ck_assert_int_eq(md->broker_cnt, 1);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    kfs_runtime_free(rt);
}
END_TEST

START_TEST(test_two_runtimes_same_port)
{
    kfs_runtime *rt1 = kfs_runtime_new(), *rt2 = kfs_runtime_new();
    kfs_options o1 = {.cluster_id = "cluster-one"}, o2 = {.cluster_id = "cluster-two"};
    kfs_cluster *c1 = kfs_cluster_new(rt1, &o1), *c2 = kfs_cluster_new(rt2, &o2);
    ck_assert_int_eq(kfs_broker_add(c1, 0, NULL), 0);
    ck_assert_int_eq(kfs_broker_listen(c1, 0, "PLAINTEXT", "127.0.0.2", 0), 0);
    ck_assert_int_eq(kfs_broker_set_up(c1, 0, true), 0);
    int port = kfs_broker_port(c1, 0, "PLAINTEXT");
    ck_assert_int_gt(port, 0);
    ck_assert_int_eq(kfs_broker_add(c2, 5, NULL), 0);
    ck_assert_int_eq(kfs_broker_listen(c2, 5, "PLAINTEXT", "127.0.0.3", port), 0);
    ck_assert_int_eq(kfs_broker_set_up(c2, 5, true), 0);
    /* same address twice: EADDRINUSE */
    ck_assert_int_eq(kfs_broker_add(c2, 6, NULL), 0);
    ck_assert_int_eq(kfs_broker_listen(c2, 6, "PLAINTEXT", "127.0.0.3", port), 0);
    errno = 0;
    ck_assert_int_eq(kfs_broker_set_up(c2, 6, true), -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    ck_assert_int_eq(kfs_topic_create(c1, "one", 1, 1), 0);
    ck_assert_int_eq(kfs_topic_create(c2, "two", 2, 1), 0);

    char *bs1 = kfs_bootstrap(c1, "PLAINTEXT"), *bs2 = kfs_bootstrap(c2, "PLAINTEXT");
    rd_kafka_t *rk1 = client(bs1, RD_KAFKA_PRODUCER), *rk2 = client(bs2, RD_KAFKA_PRODUCER);
    const struct rd_kafka_metadata *m1 = metadata(rk1), *m2 = metadata(rk2);
    ck_assert_ptr_nonnull(md_topic(m1, "one"));
    ck_assert_ptr_null(md_topic(m1, "two"));
    ck_assert_ptr_nonnull(md_topic(m2, "two"));
    ck_assert_ptr_null(md_topic(m2, "one"));
    ck_assert_int_eq(m1->brokers[0].id, 0);
    ck_assert_str_eq(m1->brokers[0].host, "127.0.0.2");
    ck_assert_int_eq(m2->broker_cnt, 1);
    ck_assert_int_eq(m2->brokers[0].id, 5);
    ck_assert_str_eq(m2->brokers[0].host, "127.0.0.3");
    ck_assert_int_eq(m2->brokers[0].port, port);
    rd_kafka_metadata_destroy(m1);
    rd_kafka_metadata_destroy(m2);
    rd_kafka_destroy(rk1);
    rd_kafka_destroy(rk2);
    free(bs1);
    free(bs2);
    kfs_cluster_free(c1);
    kfs_runtime_free(rt1);
    kfs_runtime_free(rt2);
}
END_TEST

START_TEST(test_metadata_per_listener)
{
    kfs_runtime *rt = kfs_runtime_new();
    kfs_cluster *c = kfs_cluster_new(rt, NULL);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(kfs_broker_add(c, i, NULL), 0);
        ck_assert_int_eq(kfs_broker_listen(c, i, "INTERNAL", "127.0.0.1", 0), 0);
        ck_assert_int_eq(kfs_broker_listen(c, i, "EXTERNAL", "127.0.0.4", 0), 0);
        ck_assert_int_eq(kfs_broker_set_up(c, i, true), 0);
    }
    /* broker 1 has no third listener; only broker 0 answers on REPLICATION */
    ck_assert_int_eq(kfs_broker_listen(c, 0, "REPLICATION", "127.0.0.5", 0), 0);
    char *bs = kfs_bootstrap(c, "EXTERNAL");
    ck_assert_ptr_nonnull(strstr(bs, "127.0.0.4:"));
    rd_kafka_t *rk = client(bs, RD_KAFKA_PRODUCER);
    const struct rd_kafka_metadata *md = metadata(rk);
    ck_assert_int_eq(md->broker_cnt, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(md->brokers[i].host, "127.0.0.4");
        ck_assert_int_eq(md->brokers[i].port, kfs_broker_port(c, md->brokers[i].id, "EXTERNAL"));
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    free(bs);
    bs = kfs_bootstrap(c, "REPLICATION");
    rk = client(bs, RD_KAFKA_PRODUCER);
    md = metadata(rk);
    ck_assert_int_eq(md->broker_cnt, 1);
    ck_assert_int_eq(md->brokers[0].id, 0);
    ck_assert_str_eq(md->brokers[0].host, "127.0.0.5");
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    free(bs);
    ck_assert_int_eq(kfs_broker_remove(c, 1), 0);
    ck_assert_int_eq(kfs_broker_remove(c, 1), -1);
    kfs_cluster_free(c);
    kfs_runtime_free(rt);
}
END_TEST

/* ---- stage 2: the Admin API ---- */

typedef struct admin_env {
    kfs_runtime *rt;
    kfs_cluster *c;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    char *bs;
} admin_env;

static void admin_open(admin_env *e, int brokers)
{
    e->rt = kfs_runtime_new();
    e->c = make_cluster(e->rt, brokers, "127.0.0.1", 0);
    e->bs = kfs_bootstrap(e->c, "PLAINTEXT");
    e->rk = client(e->bs, RD_KAFKA_PRODUCER);
    e->q = rd_kafka_queue_new(e->rk);
}

static void admin_close(admin_env *e)
{
    rd_kafka_queue_destroy(e->q);
    rd_kafka_destroy(e->rk);
    free(e->bs);
    kfs_runtime_free(e->rt);
}

static rd_kafka_event_t *admin_wait(admin_env *e, rd_kafka_event_type_t type)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(e->q, 20000);
    ck_assert_msg(ev != NULL, "no admin result");
    ck_assert_int_eq(rd_kafka_event_type(ev), type);
    ck_assert_msg(rd_kafka_event_error(ev) == 0, "admin request failed: %s", rd_kafka_event_error_string(ev));
    return ev;
}

static rd_kafka_AdminOptions_t *admin_opts(admin_env *e, rd_kafka_admin_op_t op)
{
    char err[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(e->rk, op);
    ck_assert_int_eq(rd_kafka_AdminOptions_set_request_timeout(o, 15000, err, sizeof err), 0);
    return o;
}

static rd_kafka_NewTopic_t *new_topic(const char *name, int parts, int repl)
{
    char err[256];
    rd_kafka_NewTopic_t *t = rd_kafka_NewTopic_new(name, parts, repl, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    return t;
}

/* Runs CreateTopics and returns the per-topic errors in order. */
static void create_topics(admin_env *e, rd_kafka_NewTopic_t **ts, int n, bool validate_only, int *errs,
                          const char **names)
{
    char err[256];
    rd_kafka_AdminOptions_t *o = admin_opts(e, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (validate_only) ck_assert_int_eq(rd_kafka_AdminOptions_set_validate_only(o, 1, err, sizeof err), 0);
    rd_kafka_CreateTopics(e->rk, ts, (size_t)n, o, e->q);
    rd_kafka_event_t *ev = admin_wait(e, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
    size_t cnt;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    ck_assert_int_eq(cnt, n);
    for (size_t i = 0; i < cnt; i++) {
        for (int j = 0; j < n; j++)
            if (strcmp(rd_kafka_topic_result_name(res[i]), names[j]) == 0)
                errs[j] = rd_kafka_topic_result_error(res[i]);
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy_array(ts, (size_t)n);
}

START_TEST(test_admin_create_delete_topics)
{
    admin_env e;
    admin_open(&e, 3);
    char err[256];
    rd_kafka_NewTopic_t *ts[5];
    ts[0] = new_topic("a", 3, 2);
    ck_assert_int_eq(rd_kafka_NewTopic_set_config(ts[0], "retention.ms", "1000"), 0);
    ts[1] = new_topic("b", 2, -1);
    int32_t r0[] = {2, 1}, r1[] = {1, 0};
    ck_assert_msg(rd_kafka_NewTopic_set_replica_assignment(ts[1], 0, r0, 2, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rd_kafka_NewTopic_set_replica_assignment(ts[1], 1, r1, 2, err, sizeof err), 0);
    ts[2] = new_topic("badconfig", 1, 1);
    ck_assert_int_eq(rd_kafka_NewTopic_set_config(ts[2], "no.such.config", "1"), 0);
    ts[3] = new_topic("toomany", 1, 5);
    ts[4] = new_topic("bad/name", 1, 1);
    int errs[5] = {-1, -1, -1, -1, -1};
    create_topics(&e, ts, 5, false, errs, (const char *[]){"a", "b", "badconfig", "toomany", "bad/name"});
    ck_assert_int_eq(errs[0], 0);
    ck_assert_int_eq(errs[1], 0);
    ck_assert_int_eq(errs[2], RD_KAFKA_RESP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(errs[3], RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR);
    ck_assert_int_eq(errs[4], RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION);

    /* again: exists; validate_only: not created */
    rd_kafka_NewTopic_t *again[2] = {new_topic("a", 1, 1), new_topic("dry", 2, 1)};
    int errs2[2] = {-1, -1};
    create_topics(&e, again, 2, false, errs2, (const char *[]){"a", "dry"});
    ck_assert_int_eq(errs2[0], RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
    ck_assert_int_eq(errs2[1], 0);
    rd_kafka_NewTopic_t *dry[2] = {new_topic("dry-run", 2, 1), new_topic("zero", 0, 1)};
    int errs3[2] = {-1, -1};
    create_topics(&e, dry, 1, true, errs3, (const char *[]){"dry-run"});
    ck_assert_int_eq(errs3[0], 0);
    rd_kafka_NewTopic_destroy(dry[1]);

    const struct rd_kafka_metadata *md = metadata(e.rk);
    const rd_kafka_metadata_topic_t *t = md_topic(md, "a");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->partition_cnt, 3);
    ck_assert_int_eq(t->partitions[0].replica_cnt, 2);
    t = md_topic(md, "b");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->partition_cnt, 2);
    ck_assert_int_eq(t->partitions[0].replicas[0], 2);
    ck_assert_int_eq(t->partitions[0].replicas[1], 1);
    ck_assert_int_eq(t->partitions[0].leader, 2);
    ck_assert_int_eq(t->partitions[1].leader, 1);
    ck_assert_ptr_nonnull(md_topic(md, "dry"));
    ck_assert_ptr_null(md_topic(md, "dry-run"));
    ck_assert_ptr_null(md_topic(md, "badconfig"));
    rd_kafka_metadata_destroy(md);
    char *js = kfs_model_json(e.c);
    ck_assert_ptr_nonnull(strstr(js, "\"retention.ms\": \"1000\""));
    free(js);

    /* DeleteTopics */
    rd_kafka_DeleteTopic_t *dt[2] = {rd_kafka_DeleteTopic_new("a"), rd_kafka_DeleteTopic_new("missing")};
    rd_kafka_AdminOptions_t *o = admin_opts(&e, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_DeleteTopics(e.rk, dt, 2, o, e.q);
    rd_kafka_event_t *ev = admin_wait(&e, RD_KAFKA_EVENT_DELETETOPICS_RESULT);
    size_t cnt;
    const rd_kafka_topic_result_t **res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
    ck_assert_int_eq(cnt, 2);
    for (size_t i = 0; i < cnt; i++) {
        if (strcmp(rd_kafka_topic_result_name(res[i]), "a") == 0) ck_assert_int_eq(rd_kafka_topic_result_error(res[i]), 0);
        else ck_assert_int_eq(rd_kafka_topic_result_error(res[i]), RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_DeleteTopic_destroy_array(dt, 2);
    md = metadata(e.rk);
    ck_assert_ptr_null(md_topic(md, "a"));
    rd_kafka_metadata_destroy(md);

    /* CreatePartitions: grow b to 4, then try to shrink */
    for (int round = 0; round < 2; round++) {
        rd_kafka_NewPartitions_t *np[1] = {rd_kafka_NewPartitions_new("b", round ? 2 : 4, err, sizeof err)};
        o = admin_opts(&e, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
        rd_kafka_CreatePartitions(e.rk, np, 1, o, e.q);
        ev = admin_wait(&e, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT);
        res = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &cnt);
        ck_assert_int_eq(cnt, 1);
        ck_assert_int_eq(rd_kafka_topic_result_error(res[0]), round ? RD_KAFKA_RESP_ERR_INVALID_PARTITIONS : 0);
        rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_NewPartitions_destroy_array(np, 1);
    }
    md = metadata(e.rk);
    t = md_topic(md, "b");
    ck_assert_int_eq(t->partition_cnt, 4);
    ck_assert_int_eq(t->partitions[3].replica_cnt, 2);
    rd_kafka_metadata_destroy(md);
    admin_close(&e);
}
END_TEST

static const rd_kafka_ConfigEntry_t *find_entry(const rd_kafka_ConfigResource_t *r, const char *name)
{
    size_t n;
    const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(r, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rd_kafka_ConfigEntry_name(es[i]), name) == 0) return es[i];
    return NULL;
}

/* DescribeConfigs of one resource; returns the event (caller destroys) and the resource. */
static rd_kafka_event_t *describe(admin_env *e, rd_kafka_ResourceType_t type, const char *name,
                                  const rd_kafka_ConfigResource_t **out)
{
    rd_kafka_ConfigResource_t *cr[1] = {rd_kafka_ConfigResource_new(type, name)};
    rd_kafka_AdminOptions_t *o = admin_opts(e, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(e->rk, cr, 1, o, e->q);
    rd_kafka_event_t *ev = admin_wait(e, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
    size_t n;
    const rd_kafka_ConfigResource_t **rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    ck_assert_int_eq(n, 1);
    *out = rs[0];
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy_array(cr, 1);
    return ev;
}

static int alter(admin_env *e, rd_kafka_ResourceType_t type, const char *name, const char *k, const char *v)
{
    rd_kafka_ConfigResource_t *cr[1] = {rd_kafka_ConfigResource_new(type, name)};
    ck_assert_int_eq(rd_kafka_ConfigResource_set_config(cr[0], k, v), 0);
    rd_kafka_AdminOptions_t *o = admin_opts(e, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    rd_kafka_AlterConfigs(e->rk, cr, 1, o, e->q);
    rd_kafka_event_t *ev = admin_wait(e, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT);
    size_t n;
    const rd_kafka_ConfigResource_t **rs =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    ck_assert_int_eq(n, 1);
    int err = rd_kafka_ConfigResource_error(rs[0]);
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy_array(cr, 1);
    return err;
}

START_TEST(test_admin_configs)
{
    admin_env e;
    admin_open(&e, 2);
    ck_assert_int_eq(kfs_topic_create(e.c, "cfg", 1, 2), 0);
    ck_assert_int_eq(alter(&e, RD_KAFKA_RESOURCE_TOPIC, "cfg", "retention.ms", "5000"), 0);
    const rd_kafka_ConfigResource_t *r;
    rd_kafka_event_t *ev = describe(&e, RD_KAFKA_RESOURCE_TOPIC, "cfg", &r);
    ck_assert_int_eq(rd_kafka_ConfigResource_error(r), 0);
    const rd_kafka_ConfigEntry_t *ce = find_entry(r, "retention.ms");
    ck_assert_ptr_nonnull(ce);
    ck_assert_str_eq(rd_kafka_ConfigEntry_value(ce), "5000");
    ck_assert_int_eq(rd_kafka_ConfigEntry_is_default(ce), 0);
    ck_assert_int_eq(rd_kafka_ConfigEntry_source(ce), RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG);
    ce = find_entry(r, "cleanup.policy");
    ck_assert_ptr_nonnull(ce);
    ck_assert_str_eq(rd_kafka_ConfigEntry_value(ce), "delete");
    ck_assert_int_eq(rd_kafka_ConfigEntry_is_default(ce), 1);
    ck_assert_int_eq(rd_kafka_ConfigEntry_source(ce), RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG);
    ce = find_entry(r, "min.insync.replicas");
    ck_assert_str_eq(rd_kafka_ConfigEntry_value(ce), "1");
    ce = find_entry(r, "segment.bytes");
    ck_assert_str_eq(rd_kafka_ConfigEntry_value(ce), "1073741824");
    ce = find_entry(r, "max.message.bytes");
    ck_assert_str_eq(rd_kafka_ConfigEntry_value(ce), "1048588");
    rd_kafka_event_destroy(ev);

    /* AlterConfigs replaces the whole set: retention.ms goes back to its default */
    ck_assert_int_eq(alter(&e, RD_KAFKA_RESOURCE_TOPIC, "cfg", "cleanup.policy", "compact"), 0);
    ev = describe(&e, RD_KAFKA_RESOURCE_TOPIC, "cfg", &r);
    ck_assert_str_eq(rd_kafka_ConfigEntry_value(find_entry(r, "cleanup.policy")), "compact");
    ck_assert_str_eq(rd_kafka_ConfigEntry_value(find_entry(r, "retention.ms")), "604800000");
    ck_assert_int_eq(rd_kafka_ConfigEntry_is_default(find_entry(r, "retention.ms")), 1);
    rd_kafka_event_destroy(ev);

    /* errors: unknown config name, bad value, unknown topic */
    ck_assert_int_eq(alter(&e, RD_KAFKA_RESOURCE_TOPIC, "cfg", "no.such.config", "1"), RD_KAFKA_RESP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(alter(&e, RD_KAFKA_RESOURCE_TOPIC, "cfg", "retention.ms", "soon"), RD_KAFKA_RESP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(alter(&e, RD_KAFKA_RESOURCE_TOPIC, "ghost", "retention.ms", "1"),
                     RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    ev = describe(&e, RD_KAFKA_RESOURCE_TOPIC, "ghost", &r);
    ck_assert_int_eq(rd_kafka_ConfigResource_error(r), RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    rd_kafka_event_destroy(ev);

    /* broker configs */
    ck_assert_int_eq(alter(&e, RD_KAFKA_RESOURCE_BROKER, "1", "follower.replication.throttled.rate", "1000"), 0);
    ck_assert_int_eq(alter(&e, RD_KAFKA_RESOURCE_BROKER, "1", "broker.id", "7"), RD_KAFKA_RESP_ERR_INVALID_CONFIG);
    ev = describe(&e, RD_KAFKA_RESOURCE_BROKER, "1", &r);
    ck_assert_int_eq(rd_kafka_ConfigResource_error(r), 0);
    ce = find_entry(r, "follower.replication.throttled.rate");
    ck_assert_str_eq(rd_kafka_ConfigEntry_value(ce), "1000");
    ck_assert_int_eq(rd_kafka_ConfigEntry_source(ce), RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG);
    ce = find_entry(r, "leader.replication.throttled.rate");
    ck_assert_int_eq(rd_kafka_ConfigEntry_source(ce), RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG);
    ce = find_entry(r, "broker.id");
    ck_assert_str_eq(rd_kafka_ConfigEntry_value(ce), "1");
    ck_assert_int_eq(rd_kafka_ConfigEntry_is_read_only(ce), 1);
    rd_kafka_event_destroy(ev);
    char *js = kfs_model_json(e.c);
    ck_assert_ptr_nonnull(strstr(js, "\"follower.replication.throttled.rate\": \"1000\""));
    free(js);
    admin_close(&e);
}
END_TEST

static rd_kafka_AclBinding_t *acl(rd_kafka_ResourceType_t rt, const char *name, rd_kafka_ResourcePatternType_t pt,
                                  const char *principal, rd_kafka_AclOperation_t op)
{
    char err[256];
    rd_kafka_AclBinding_t *b =
        rd_kafka_AclBinding_new(rt, name, pt, principal, "*", op, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    return b;
}

static size_t describe_acls(admin_env *e, rd_kafka_AclBindingFilter_t *f)
{
    rd_kafka_AdminOptions_t *o = admin_opts(e, RD_KAFKA_ADMIN_OP_DESCRIBEACLS);
    rd_kafka_DescribeAcls(e->rk, f, o, e->q);
    rd_kafka_event_t *ev = admin_wait(e, RD_KAFKA_EVENT_DESCRIBEACLS_RESULT);
    size_t n;
    rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(ev), &n);
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_AclBinding_destroy(f);
    return n;
}

START_TEST(test_admin_acls)
{
    admin_env e;
    admin_open(&e, 1);
    rd_kafka_AclBinding_t *bs[3] = {
        acl(RD_KAFKA_RESOURCE_TOPIC, "orders", RD_KAFKA_RESOURCE_PATTERN_LITERAL, "User:alice", RD_KAFKA_ACL_OPERATION_READ),
        acl(RD_KAFKA_RESOURCE_TOPIC, "ord", RD_KAFKA_RESOURCE_PATTERN_PREFIXED, "User:bob", RD_KAFKA_ACL_OPERATION_WRITE),
        acl(RD_KAFKA_RESOURCE_GROUP, "g1", RD_KAFKA_RESOURCE_PATTERN_LITERAL, "User:alice", RD_KAFKA_ACL_OPERATION_READ),
    };
    rd_kafka_AdminOptions_t *o = admin_opts(&e, RD_KAFKA_ADMIN_OP_CREATEACLS);
    rd_kafka_CreateAcls(e.rk, bs, 3, o, e.q);
    rd_kafka_event_t *ev = admin_wait(&e, RD_KAFKA_EVENT_CREATEACLS_RESULT);
    size_t n;
    const rd_kafka_acl_result_t **ar = rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev), &n);
    ck_assert_int_eq(n, 3);
    for (size_t i = 0; i < n; i++) ck_assert_ptr_null(rd_kafka_acl_result_error(ar[i]));
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_AclBinding_destroy_array(bs, 3);

    char err[256];
    /* all */
    ck_assert_int_eq(describe_acls(&e, rd_kafka_AclBindingFilter_new(RD_KAFKA_RESOURCE_ANY, NULL,
                                                                      RD_KAFKA_RESOURCE_PATTERN_ANY, NULL, NULL,
                                                                      RD_KAFKA_ACL_OPERATION_ANY,
                                                                      RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err)),
                     3);
    /* MATCH "orders": the literal and the prefixed "ord" */
    ck_assert_int_eq(describe_acls(&e, rd_kafka_AclBindingFilter_new(RD_KAFKA_RESOURCE_TOPIC, "orders",
                                                                      RD_KAFKA_RESOURCE_PATTERN_MATCH, NULL, NULL,
                                                                      RD_KAFKA_ACL_OPERATION_ANY,
                                                                      RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err)),
                     2);
    /* by principal */
    ck_assert_int_eq(describe_acls(&e, rd_kafka_AclBindingFilter_new(RD_KAFKA_RESOURCE_ANY, NULL,
                                                                      RD_KAFKA_RESOURCE_PATTERN_ANY, "User:alice", NULL,
                                                                      RD_KAFKA_ACL_OPERATION_ANY,
                                                                      RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err)),
                     2);

    /* DeleteAcls: every topic ACL */
    rd_kafka_AclBindingFilter_t *df[1] = {rd_kafka_AclBindingFilter_new(
        RD_KAFKA_RESOURCE_TOPIC, NULL, RD_KAFKA_RESOURCE_PATTERN_ANY, NULL, NULL, RD_KAFKA_ACL_OPERATION_ANY,
        RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err)};
    o = admin_opts(&e, RD_KAFKA_ADMIN_OP_DELETEACLS);
    rd_kafka_DeleteAcls(e.rk, df, 1, o, e.q);
    ev = admin_wait(&e, RD_KAFKA_EVENT_DELETEACLS_RESULT);
    const rd_kafka_DeleteAcls_result_response_t **dr =
        rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(ev), &n);
    ck_assert_int_eq(n, 1);
    ck_assert_ptr_null(rd_kafka_DeleteAcls_result_response_error(dr[0]));
    size_t m;
    const rd_kafka_AclBinding_t **matched = rd_kafka_DeleteAcls_result_response_matching_acls(dr[0], &m);
    ck_assert_int_eq(m, 2);
    ck_assert_int_eq(rd_kafka_AclBinding_restype(matched[0]), RD_KAFKA_RESOURCE_TOPIC);
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_AclBinding_destroy_array(df, 1);
    ck_assert_int_eq(describe_acls(&e, rd_kafka_AclBindingFilter_new(RD_KAFKA_RESOURCE_ANY, NULL,
                                                                      RD_KAFKA_RESOURCE_PATTERN_ANY, NULL, NULL,
                                                                      RD_KAFKA_ACL_OPERATION_ANY,
                                                                      RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err)),
                     1);
    char *js = kfs_model_json(e.c);
    ck_assert_ptr_nonnull(strstr(js, "\"g1\""));
    ck_assert_ptr_null(strstr(js, "User:bob"));
    free(js);
    admin_close(&e);
}
END_TEST

START_TEST(test_admin_groups_and_offsets)
{
    admin_env e;
    admin_open(&e, 3);
    ck_assert_int_eq(kfs_topic_create(e.c, "events", 2, 2), 0);
    ck_assert_int_eq(kfs_group_commit(e.c, "g1", "events", 0, 42), 0);
    ck_assert_int_eq(kfs_group_commit(e.c, "g1", "events", 1, 7), 0);
    ck_assert_int_eq(kfs_group_commit(e.c, "g2", "events", 0, 1), 0);
    ck_assert_int_eq(kfs_partition_set_end_offset(e.c, "events", 0, 1234), 0);
    ck_assert_int_eq(kfs_partition_set_end_offset(e.c, "events", 9, 1), -1);

    /* ListConsumerGroups */
    rd_kafka_AdminOptions_t *o = admin_opts(&e, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    rd_kafka_ListConsumerGroups(e.rk, o, e.q);
    rd_kafka_event_t *ev = admin_wait(&e, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT);
    const rd_kafka_ListConsumerGroups_result_t *lr = rd_kafka_event_ListConsumerGroups_result(ev);
    size_t n;
    const rd_kafka_ConsumerGroupListing_t **gl = rd_kafka_ListConsumerGroups_result_valid(lr, &n);
    ck_assert_int_eq(n, 2);
    bool g1 = false, g2 = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rd_kafka_ConsumerGroupListing_group_id(gl[i]), "g1") == 0) g1 = true;
        if (strcmp(rd_kafka_ConsumerGroupListing_group_id(gl[i]), "g2") == 0) g2 = true;
    }
    ck_assert(g1 && g2);
    size_t nerr;
    rd_kafka_ListConsumerGroups_result_errors(lr, &nerr);
    ck_assert_int_eq(nerr, 0);
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);

    /* DescribeConsumerGroups */
    const char *groups[] = {"g1", "nobody"};
    o = admin_opts(&e, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    rd_kafka_DescribeConsumerGroups(e.rk, groups, 2, o, e.q);
    ev = admin_wait(&e, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT);
    const rd_kafka_ConsumerGroupDescription_t **gd =
        rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    ck_assert_int_eq(n, 2);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_null(rd_kafka_ConsumerGroupDescription_error(gd[i]));
        const char *id = rd_kafka_ConsumerGroupDescription_group_id(gd[i]);
        ck_assert_int_eq(rd_kafka_ConsumerGroupDescription_state(gd[i]),
                         strcmp(id, "g1") == 0 ? RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY : RD_KAFKA_CONSUMER_GROUP_STATE_DEAD);
        ck_assert_int_eq(rd_kafka_ConsumerGroupDescription_member_count(gd[i]), 0);
        const rd_kafka_Node_t *coord = rd_kafka_ConsumerGroupDescription_coordinator(gd[i]);
        ck_assert_int_eq(rd_kafka_Node_id(coord), 0); /* lowest up broker */
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);

    /* ListConsumerGroupOffsets (explicit partitions: librdkafka 2.0.2 sends an empty
     * topic list for NULL, which Kafka, and so kafka-sim, answers with nothing) */
    rd_kafka_topic_partition_list_t *want = rd_kafka_topic_partition_list_new(3);
    rd_kafka_topic_partition_list_add(want, "events", 0);
    rd_kafka_topic_partition_list_add(want, "events", 1);
    rd_kafka_topic_partition_list_add(want, "other", 3);
    rd_kafka_ListConsumerGroupOffsets_t *req[1] = {rd_kafka_ListConsumerGroupOffsets_new("g1", want)};
    rd_kafka_topic_partition_list_destroy(want);
    o = admin_opts(&e, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_ListConsumerGroupOffsets(e.rk, req, 1, o, e.q);
    ev = admin_wait(&e, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT);
    const rd_kafka_group_result_t **gr =
        rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    ck_assert_int_eq(n, 1);
    ck_assert_ptr_null(rd_kafka_group_result_error(gr[0]));
    const rd_kafka_topic_partition_list_t *parts = rd_kafka_group_result_partitions(gr[0]);
    ck_assert_int_eq(parts->cnt, 3);
    for (int i = 0; i < parts->cnt; i++) {
        long long expect = strcmp(parts->elems[i].topic, "other") == 0 ? RD_KAFKA_OFFSET_INVALID : (parts->elems[i].partition == 0 ? 42 : 7);
        ck_assert_int_eq(parts->elems[i].offset, expect);
        ck_assert_int_eq(parts->elems[i].err, 0);
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ListConsumerGroupOffsets_destroy_array(req, 1);

    /* ListOffsets via watermarks: earliest 0, latest = log end offset */
    int64_t lo = -5, hi = -5;
    ck_assert_int_eq(rd_kafka_query_watermark_offsets(e.rk, "events", 0, &lo, &hi, 10000), 0);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 1234);
    ck_assert_int_eq(rd_kafka_query_watermark_offsets(e.rk, "events", 1, &lo, &hi, 10000), 0);
    ck_assert_int_eq(hi, 0);
    ck_assert_int_ne(rd_kafka_query_watermark_offsets(e.rk, "ghost", 0, &lo, &hi, 3000), 0);
    admin_close(&e);
}
END_TEST

/* ---- stage 3: reassignment, quorum, the binary ---- */

static const rd_kafka_metadata_partition_t *md_part(const struct rd_kafka_metadata *md, const char *topic, int p)
{
    const rd_kafka_metadata_topic_t *t = md_topic(md, topic);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_gt(t->partition_cnt, p);
    return &t->partitions[p];
}

START_TEST(test_reassignment_throttled)
{
    kfs_runtime *rt = kfs_runtime_new();
    kfs_cluster *c = make_cluster(rt, 3, "127.0.0.1", 0);
    ck_assert_int_eq(kfs_topic_create(c, "r", 2, 2), 0); /* p0 [0,1], p1 [1,2] */
    ck_assert_int_eq(kfs_partition_set_size(c, "r", 0, 1000000), 0);
    ck_assert_int_eq(kfs_partition_set_size(c, "r", 1, 1000000), 0);
    const char *plan = "{\"version\":1,\"partitions\":[{\"topic\":\"r\",\"partition\":0,\"replicas\":[1,2]},"
                       "{\"topic\":\"r\",\"partition\":1,\"replicas\":[2,0]}]}";
    char *log = NULL;
    /* errors first: unknown broker, unknown partition */
    ck_assert_int_eq(kfs_reassign_execute(c, "{\"partitions\":[{\"topic\":\"r\",\"partition\":0,\"replicas\":[1,9]}]}", -1, &log), -1);
    ck_assert_ptr_nonnull(strstr(log, "non-existent brokerIDs: 9"));
    free(log);
    ck_assert_int_eq(kfs_reassign_execute(c, "{\"partitions\":[{\"topic\":\"r\",\"partition\":5,\"replicas\":[1]}]}", -1, &log), -1);
    ck_assert_ptr_nonnull(strstr(log, "r-5"));
    free(log);
    ck_assert_int_eq(kfs_reassign_execute(c, "not json", -1, &log), -1);
    free(log);

    rd_kafka_t *rk = producer_for(c, 0);
    rd_kafka_metadata_destroy(metadata(rk)); /* connected before the clock starts */
    long long t0 = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
    ck_assert_int_eq(kfs_reassign_execute(c, plan, 500000, &log), 0); /* 1 MB at 500 KB/s: ~2 s */
    ck_assert_ptr_nonnull(strstr(log, "Current partition replica assignment\n\n{\"version\":1,\"partitions\":["
                                      "{\"topic\":\"r\",\"partition\":0,\"replicas\":[0,1]"));
    ck_assert_ptr_nonnull(strstr(log, "Save this to use as the --reassignment-json-file option during rollback"));
    ck_assert_ptr_nonnull(strstr(log, "The inter-broker throttle limit was set to 500000 B/s"));
    ck_assert_ptr_nonnull(strstr(log, "Successfully started partition reassignments for r-0,r-1"));
    free(log);
    ck_assert(kfs_reassign_active(c));
    ck_assert_int_eq(kfs_reassign_execute(c, plan, -1, &log), -1); /* one at a time */
    ck_assert_ptr_nonnull(strstr(log, "existing partition assignment"));
    free(log);

    bool done = true;
    ck_assert_int_eq(kfs_reassign_verify(c, plan, &done, &log), 0);
    ck_assert(!done);
    ck_assert_ptr_nonnull(strstr(log, "Status of partition reassignment:\n"));
    ck_assert_ptr_nonnull(strstr(log, "Reassignment of partition r-0 is still in progress."));
    free(log);

    /* during: target + removing replicas, adding replica not yet in ISR, leader unchanged */
    const struct rd_kafka_metadata *md = metadata(rk);
    const rd_kafka_metadata_partition_t *mp = md_part(md, "r", 0);
    ck_assert_int_eq(mp->replica_cnt, 3);
    ck_assert(has_id(mp->replicas, 3, 2));
    ck_assert(!has_id(mp->isrs, mp->isr_cnt, 2));
    ck_assert_int_eq(mp->leader, 0);
    rd_kafka_metadata_destroy(md);
    char *js = kfs_model_json(c);
    ck_assert_ptr_nonnull(strstr(js, "\"adding_replicas\": [\n            2\n          ]"));
    ck_assert_ptr_nonnull(strstr(js, "\"leader.replication.throttled.rate\": \"500000\""));
    free(js);

    /* completes later */
    for (int i = 0; i < 300 && kfs_reassign_active(c); i++) sleep_ms(50);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long elapsed = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 - t0;
    ck_assert(!kfs_reassign_active(c));
    ck_assert_int_ge(elapsed, 1000);
    ck_assert_int_eq(kfs_reassign_verify(c, plan, &done, &log), 0);
    ck_assert(done);
    ck_assert_ptr_nonnull(strstr(log, "Reassignment of partition r-0 is completed.\n"));
    ck_assert_ptr_nonnull(strstr(log, "Reassignment of partition r-1 is completed.\n"));
    ck_assert_ptr_nonnull(strstr(log, "Clearing broker-level throttles on brokers 0,1,2"));
    free(log);

    md = metadata(rk);
    mp = md_part(md, "r", 0);
    ck_assert_int_eq(mp->replica_cnt, 2);
    ck_assert_int_eq(mp->replicas[0], 1);
    ck_assert_int_eq(mp->replicas[1], 2);
    ck_assert_int_eq(mp->isr_cnt, 2);
    ck_assert_int_eq(mp->leader, 1); /* old leader 0 was removed: new preferred replica leads */
    mp = md_part(md, "r", 1);
    ck_assert_int_eq(mp->replicas[0], 2);
    ck_assert_int_eq(mp->replicas[1], 0);
    ck_assert_int_eq(mp->leader, 2); /* old leader 1 removed */
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);

    /* direct API: with no throttle (cleared by --verify) and no default rate, it completes at once */
    int back[] = {0, 1};
    ck_assert_int_eq(kfs_partition_reassign(c, "r", 0, back, 2, 0), 0);
    ck_assert(!kfs_reassign_active(c));
    ck_assert_int_eq(kfs_partition_reassign(c, "r", 0, (int[]){0, 0}, 2, 0), -1);
    kfs_runtime_free(rt);
}
END_TEST

START_TEST(test_quorum_status)
{
    kfs_runtime *rt = kfs_runtime_new();
    kfs_cluster *c = make_cluster(rt, 2, "127.0.0.1", 0);
    for (int id = 3000; id < 3003; id++) ck_assert_int_eq(kfs_controller_add(c, id), 0);
    ck_assert_int_eq(kfs_controller_add(c, 3000), -1);
    char *s = kfs_quorum_status(c);
    ck_assert_ptr_nonnull(strstr(s, "ClusterId:              kfs-test-cluster\n"));
    ck_assert_ptr_nonnull(strstr(s, "LeaderId:               3000\n"));
    ck_assert_ptr_nonnull(strstr(s, "CurrentVoters:          [3000,3001,3002]\n"));
    ck_assert_ptr_nonnull(strstr(s, "CurrentObservers:       [0,1]\n"));
    ck_assert_ptr_nonnull(strstr(s, "HighWatermark:"));
    ck_assert_ptr_nonnull(strstr(s, "MaxFollowerLagTimeMs:"));
    free(s);
    ck_assert_int_eq(kfs_controller_set_up(c, 3000, false), 0);
    s = kfs_quorum_status(c);
    ck_assert_ptr_nonnull(strstr(s, "LeaderId:               3001\n"));
    ck_assert_ptr_nonnull(strstr(s, "LeaderEpoch:            2\n"));
    free(s);
    ck_assert_int_eq(kfs_controller_set_up(c, 3001, false), 0);
    s = kfs_quorum_status(c);
    ck_assert_ptr_nonnull(strstr(s, "LeaderId:               -1\n")); /* no majority */
    free(s);
    ck_assert_int_eq(kfs_controller_set_up(c, 3000, true), 0);
    s = kfs_quorum_status(c);
    ck_assert_ptr_nonnull(strstr(s, "LeaderId:               3000\n"));
    free(s);
    ck_assert_int_eq(kfs_controller_set_up(c, 4000, true), -1);
    kfs_runtime_free(rt);
}
END_TEST

/* Minimal HTTP/1.0 client for the control port; returns the status code, body in *out. */
static int http(int port, const char *method, const char *path, const char *json, char **out)
{
    int fd = raw_connect("127.0.0.1", port);
    ck_assert_int_ge(fd, 0);
    char req[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, json ? strlen(json) : 0, json ? json : "");
    ck_assert_int_eq(send(fd, req, (size_t)n, 0), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = calloc(cap, 1);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0) break;
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    char *b = strstr(buf, "\r\n\r\n");
    if (out) *out = strdup(b ? b + 4 : "");
    free(buf);
    return status;
}

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

START_TEST(test_binary)
{
    int base = 0;
    srand((unsigned)getpid());
    for (int tries = 0; tries < 50 && !base; tries++) {
        int p = 20000 + rand() % 30000;
        if (port_free(p) && port_free(p + 1) && port_free(p + 2)) base = p;
    }
    ck_assert_int_gt(base, 0);
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        char ports[16];
        snprintf(ports, sizeof ports, "%d", base);
        execl(KAFKA_SIM_BINARY, "kafka-sim", "--brokers", "3", "--port", ports, "--control-port", "0",
              "--rejoin-delay-ms", "0", (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    FILE *f = fdopen(pipefd[0], "r");
    char line[512], bs[512] = "";
    int control = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "bootstrap: ", 11) == 0) {
            snprintf(bs, sizeof bs, "%s", line + 11);
            bs[strcspn(bs, "\n")] = 0;
        }
        if (sscanf(line, "control: http://127.0.0.1:%d", &control) == 1) break;
    }
    fclose(f);
    char expect[128];
    snprintf(expect, sizeof expect, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", base, base + 1, base + 2);
    ck_assert_str_eq(bs, expect);
    ck_assert_int_gt(control, 0);

    char *out = NULL;
    ck_assert_int_eq(http(control, "POST", "/topics", "{\"name\":\"bin\",\"partitions\":3,\"replication\":3}", &out), 201);
    free(out);
    ck_assert_int_eq(http(control, "POST", "/topics", "{\"name\":\"bin\",\"partitions\":3,\"replication\":3}", &out), 409);
    free(out);
    rd_kafka_t *rk = client(bs, RD_KAFKA_PRODUCER);
    const struct rd_kafka_metadata *md = metadata(rk);
    ck_assert_int_eq(md->broker_cnt, 3);
    ck_assert_int_eq(md_part(md, "bin", 1)->leader, 1);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);

    ck_assert_int_eq(http(control, "POST", "/brokers/1/stop", NULL, &out), 200);
    free(out);
    char b0[64];
    snprintf(b0, sizeof b0, "127.0.0.1:%d", base);
    rk = client(b0, RD_KAFKA_PRODUCER);
    md = metadata(rk);
    ck_assert_int_eq(md->broker_cnt, 2);
    ck_assert(!md_has_broker(md, 1));
    ck_assert_int_eq(md_part(md, "bin", 1)->leader, 2);
    rd_kafka_metadata_destroy(md);
    ck_assert_int_eq(http(control, "POST", "/brokers/1/start", NULL, &out), 200);
    free(out);
    ck_assert_int_eq(http(control, "POST", "/partitions/bin/0/leader", "{\"leader\":-1}", &out), 200);
    free(out);
    md = metadata(rk);
    ck_assert_int_eq(md->broker_cnt, 3);
    ck_assert_int_eq(md_part(md, "bin", 1)->leader, 1); /* rejoined, preferred leader back */
    ck_assert_int_eq(md_part(md, "bin", 0)->leader, -1);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    ck_assert_int_eq(http(control, "POST", "/brokers/9/start", NULL, &out), 404);
    free(out);
    ck_assert_int_eq(http(control, "GET", "/model", NULL, &out), 200);
    ck_assert_ptr_nonnull(strstr(out, "\"bin\""));
    free(out);

    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST


static Suite *suite(void)
{
    Suite *s = suite_create("kafka-sim");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_metadata_lists_brokers_and_topics);
    tcase_add_test(tc, test_broker_down_and_rejoin);
    tcase_add_test(tc, test_leaderless_partition);
    tcase_add_test(tc, test_down_broker_refuses_connections);
    tcase_add_test(tc, test_apiversions_downgrade);
    tcase_add_test(tc, test_malformed_frames_close);
    tcase_add_test(tc, test_two_runtimes_same_port);
    tcase_add_test(tc, test_metadata_per_listener);
    suite_add_tcase(s, tc);
    TCase *ta = tcase_create("admin");
    tcase_set_timeout(ta, 90);
    tcase_add_test(ta, test_admin_create_delete_topics);
    tcase_add_test(ta, test_admin_configs);
    tcase_add_test(ta, test_admin_acls);
    tcase_add_test(ta, test_admin_groups_and_offsets);
    suite_add_tcase(s, ta);
    TCase *tr = tcase_create("ops");
    tcase_set_timeout(tr, 90);
    tcase_add_test(tr, test_reassignment_throttled);
    tcase_add_test(tr, test_quorum_status);
    tcase_add_test(tr, test_binary);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
