/* Kafka health (workers/kafka/health.c) against librdkafka 2.0.2's mock
 * cluster (rdkafka_mock.h), plus the counting step over hand-built metadata
 * for what the mock cannot show.
 *
 * What the 2.0.2 mock reports through Metadata (rdkafka_mock_handlers.c):
 * - every broker it was created with, whether set down or not, in every
 *   response: rd_kafka_mock_broker_set_down() only closes the broker's
 *   connections and refuses new ones, it neither removes the broker from
 *   metadata nor moves leadership ("does NOT trigger leader change");
 * - a partition set leaderless (rd_kafka_mock_partition_set_leader(..., -1))
 *   as leader -1 with partition error 0;
 * - ISR always equal to the replica set ("Let Replicas == ISRs for now"), so
 *   an under-replicated partition cannot be produced through the mock:
 *   rd_kafka_mock_partition_set_follower() only picks the replica a consumer
 *   fetches from. Under-replication is tested over hand-built metadata.
 * - ControllerId 0 always: the 2.0.2 mock never sets its controller_id
 *   (zero from calloc), so it names no broker it lists (ids 1..n). */
#define _GNU_SOURCE
#include "workers/kafka/health.h"

#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Generous under ASan; the pool's own slack is far below this. */
#define SLACK_MS 1500

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk; (void)level; (void)fac; (void)buf;
}

/* A mock cluster of n brokers (ids 1..n) and the handle that owns it. */
typedef struct mock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    const char *bootstrap;
} mock;

static mock mock_new(int brokers)
{
    mock m = {0};
    char errstr[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(c, quiet);
    m.rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof errstr);
    ck_assert_msg(m.rk, "rd_kafka_new: %s", errstr);
    m.mc = rd_kafka_mock_cluster_new(m.rk, brokers);
    ck_assert_ptr_nonnull(m.mc);
    m.bootstrap = rd_kafka_mock_cluster_bootstraps(m.mc);
    return m;
}

static void mock_free(mock *m)
{
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
}

/* The i-th address (0-based) of a "host:port,host:port,..." list. */
static void nth_address(const char *list, int i, char *out, size_t outlen)
{
    const char *s = list;
    while (i-- > 0) {
        s = strchr(s, ',');
        ck_assert_ptr_nonnull(s);
        s++;
    }
    size_t n = strcspn(s, ",");
    ck_assert_uint_lt(n, outlen);
    memcpy(out, s, n);
    out[n] = '\0';
}

/* A loopback port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A read that must succeed; on failure the message names the calling line. */
#define read_ok(p, bootstrap, h) read_ok_at(p, bootstrap, h, __LINE__)
static void read_ok_at(kafka_pool *p, const char *bootstrap, kafka_health *h, int line)
{
    char err[256];
    int64_t t0 = now_ms();
    int rc = kafka_health_read(p, bootstrap, 5000, h, err, sizeof err);
    ck_assert_msg(rc == 0, "line %d: kafka_health_read(%s): %s after %lld ms", line, bootstrap, err,
                  (long long)(now_ms() - t0));
}

START_TEST(lists_three_brokers)
{
    mock m = mock_new(3);
    kafka_pool *p = kafka_pool_new(4);
    kafka_health h = { .brokers_expected = 3 };
    read_ok(p, m.bootstrap, &h);
    ck_assert_int_eq(h.brokers_expected, 3);          /* the caller's, kept */
    ck_assert_int_eq(h.brokers_listed, 3);
    ck_assert_int_eq(h.nbroker_ids, 3);
    ck_assert_int_eq(h.broker_ids[0], 1);
    ck_assert_int_eq(h.broker_ids[1], 2);
    ck_assert_int_eq(h.broker_ids[2], 3);
    ck_assert_int_eq(h.controller_id, 0);              /* the mock's, see the top */
    ck_assert_int_eq(h.topics, 0);
    ck_assert_int_eq(h.partitions, 0);
    ck_assert_str_eq(h.detail, "3/3 brokers, 0 offline, 0 under-replicated partitions");
    kafka_pool_free(p);
    mock_free(&m);
}
END_TEST

START_TEST(counts_topics_and_partitions)
{
    mock m = mock_new(3);
    ck_assert_int_eq(rd_kafka_mock_topic_create(m.mc, "orders", 6, 3), 0);
    ck_assert_int_eq(rd_kafka_mock_topic_create(m.mc, "audit", 2, 1), 0);
    kafka_pool *p = kafka_pool_new(4);
    kafka_health h = {0};
    read_ok(p, m.bootstrap, &h);
    ck_assert_int_eq(h.topics, 2);
    ck_assert_int_eq(h.partitions, 8);
    ck_assert_int_eq(h.offline_partitions, 0);
    ck_assert_int_eq(h.under_replicated, 0);
    ck_assert_str_eq(h.detail, "3 brokers, 0 offline, 0 under-replicated partitions");
    kafka_pool_free(p);
    mock_free(&m);
}
END_TEST

START_TEST(leaderless_partition_is_offline)
{
    mock m = mock_new(3);
    ck_assert_int_eq(rd_kafka_mock_topic_create(m.mc, "orders", 6, 3), 0);
    kafka_pool *p = kafka_pool_new(4);
    kafka_health h = { .brokers_expected = 3 };
    read_ok(p, m.bootstrap, &h);
    ck_assert_int_eq(h.offline_partitions, 0);

    ck_assert_int_eq(rd_kafka_mock_partition_set_leader(m.mc, "orders", 2, -1), 0);
    read_ok(p, m.bootstrap, &h);                       /* same handle, new request */
    ck_assert_int_eq(h.partitions, 6);
    ck_assert_int_eq(h.offline_partitions, 1);
    ck_assert_int_eq(h.under_replicated, 0);           /* offline is counted apart */
    ck_assert_str_eq(h.detail, "3/3 brokers, 1 offline, 0 under-replicated partitions");

    ck_assert_int_eq(rd_kafka_mock_partition_set_leader(m.mc, "orders", 2, 3), 0);
    read_ok(p, m.bootstrap, &h);
    ck_assert_int_eq(h.offline_partitions, 0);
    ck_assert_int_eq(kafka_pool_handles_created(p), 1);
    kafka_pool_free(p);
    mock_free(&m);
}
END_TEST

/* The mock always reports ISR == replicas; set_follower does not change that. */
START_TEST(mock_cannot_shrink_isr)
{
    mock m = mock_new(3);
    ck_assert_int_eq(rd_kafka_mock_topic_create(m.mc, "orders", 6, 3), 0);
    ck_assert_int_eq(rd_kafka_mock_partition_set_follower(m.mc, "orders", 0, 2), 0);
    kafka_pool *p = kafka_pool_new(1);
    kafka_health h = {0};
    read_ok(p, m.bootstrap, &h);
    ck_assert_int_eq(h.under_replicated, 0);
    kafka_pool_free(p);
    mock_free(&m);
}
END_TEST

START_TEST(reuses_one_handle)
{
    mock m = mock_new(3);
    kafka_pool *p = kafka_pool_new(4);
    for (int i = 0; i < 10; i++) {
        kafka_health h = {0};
        read_ok(p, m.bootstrap, &h);
        ck_assert_int_eq(h.brokers_listed, 3);
        ck_assert_int_eq(kafka_pool_size(p), 1);
    }
    ck_assert_int_eq(kafka_pool_handles_created(p), 1);
    kafka_pool_free(p);
    mock_free(&m);
}
END_TEST

/* Each broker's own address of a 3-broker mock: three bootstrap strings. */
static void each_address(const mock *m, char a[64], char b[64], char c[64])
{
    nth_address(m->bootstrap, 0, a, 64);
    nth_address(m->bootstrap, 1, b, 64);
    nth_address(m->bootstrap, 2, c, 64);
}

/* Three bootstrap strings (each broker's own address) through a pool of 2. */
START_TEST(evicts_least_recently_used)
{
    mock m = mock_new(3);
    char a[64], b[64], c[64];
    each_address(&m, a, b, c);
    kafka_pool *p = kafka_pool_new(2);
    kafka_pool_set_idle_ms(p, 0);                      /* plain LRU */
    kafka_health h = {0};

    read_ok(p, a, &h);
    read_ok(p, b, &h);
    read_ok(p, a, &h);                                 /* a is now the most recent */
    ck_assert_int_eq(kafka_pool_handles_created(p), 2);
    read_ok(p, c, &h);                                 /* evicts b */
    ck_assert_int_eq(kafka_pool_size(p), 2);
    ck_assert_int_eq(kafka_pool_handles_created(p), 3);
    read_ok(p, a, &h);                                 /* still cached */
    ck_assert_int_eq(kafka_pool_handles_created(p), 3);
    read_ok(p, b, &h);                                 /* was evicted: a new handle, c goes */
    ck_assert_int_eq(kafka_pool_handles_created(p), 4);
    ck_assert_int_eq(kafka_pool_size(p), 2);
    ck_assert_int_eq(h.brokers_listed, 3);
    kafka_pool_free(p);
    mock_free(&m);
}
END_TEST

/* Periodic checks cycle through more clusters than the pool holds: with
 * the default idle rule the cached handles stay and only the one that does
 * not fit pays for a handle each round (plain LRU would miss every time). */
START_TEST(cyclic_use_keeps_the_cached_handles)
{
    mock m = mock_new(3);
    char a[64], b[64], c[64];
    each_address(&m, a, b, c);
    kafka_pool *p = kafka_pool_new(2);
    kafka_health h = {0};
    for (int round = 0; round < 4; round++) {
        read_ok(p, a, &h);
        read_ok(p, b, &h);
        read_ok(p, c, &h);
        ck_assert_int_eq(h.brokers_listed, 3);
        ck_assert_int_eq(kafka_pool_size(p), 2);
    }
    /* a and b once, c once a round: 2 + 4 (plain LRU: 12) */
    ck_assert_int_eq(kafka_pool_handles_created(p), 6);
    kafka_pool_set_idle_ms(p, 1);                      /* now a long-idle handle may go */
    usleep(5000);
    read_ok(p, c, &h);
    ck_assert_int_eq(kafka_pool_handles_created(p), 7);
    read_ok(p, c, &h);                                 /* c is cached now */
    ck_assert_int_eq(kafka_pool_handles_created(p), 7);
    ck_assert_int_eq(kafka_pool_size(p), 2);
    kafka_pool_free(p);
    mock_free(&m);
}
END_TEST

START_TEST(dead_bootstrap_fails_within_timeout)
{
    char bootstrap[64];
    snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", closed_port());
    kafka_pool *p = kafka_pool_new(4);
    kafka_health h = { .brokers_expected = 3 };
    char err[256] = "";
    int64_t t0 = now_ms();
    int rc = kafka_health_read(p, bootstrap, 1000, &h, err, sizeof err);
    int64_t took = now_ms() - t0;
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(took < 1000 + SLACK_MS, "took %lld ms", (long long)took);
    ck_assert_msg(err[0], "no error text");
    ck_assert_int_eq(h.brokers_listed, 0);
    ck_assert_int_eq(h.brokers_expected, 3);
    ck_assert_int_eq(h.controller_id, -1);
    ck_assert_int_eq(kafka_pool_size(p), 0);           /* dropped: next call starts afresh */

    t0 = now_ms();
    rc = kafka_health_read(p, bootstrap, 300, &h, err, sizeof err);
    took = now_ms() - t0;
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(took < 300 + SLACK_MS, "took %lld ms", (long long)took);
    ck_assert_int_eq(kafka_pool_handles_created(p), 2);
    ck_assert_int_eq(kafka_pool_size(p), 0);
    kafka_pool_free(p);
}
END_TEST

START_TEST(empty_bootstrap_is_refused)
{
    kafka_pool *p = kafka_pool_new(1);
    kafka_health h = {0};
    char err[128];
    ck_assert_int_eq(kafka_health_read(p, "", 100, &h, err, sizeof err), -1);
    ck_assert_str_eq(err, "no bootstrap servers");
    ck_assert_int_eq(kafka_pool_handles_created(p), 0);
    kafka_pool_free(p);
}
END_TEST

/* One broker down: the mock still lists it and keeps it as leader of its
 * partitions, so metadata cannot tell; what is observable is that reads go
 * on through the other brokers. All brokers down: the read fails within its
 * timeout and the handle is dropped; back up, a fresh handle reads again. */
START_TEST(broker_down_as_the_mock_shows_it)
{
    mock m = mock_new(3);
    ck_assert_int_eq(rd_kafka_mock_topic_create(m.mc, "orders", 6, 3), 0);
    kafka_pool *p = kafka_pool_new(4);
    kafka_health h = { .brokers_expected = 3 };
    read_ok(p, m.bootstrap, &h);

    ck_assert_int_eq(rd_kafka_mock_broker_set_down(m.mc, 1), 0);
    read_ok(p, m.bootstrap, &h);
    ck_assert_int_eq(h.brokers_listed, 3);             /* still listed */
    ck_assert_int_eq(h.offline_partitions, 0);         /* leadership did not move */
    ck_assert_int_eq(kafka_pool_handles_created(p), 1);

    ck_assert_int_eq(rd_kafka_mock_broker_set_down(m.mc, -1), 0);
    char err[256] = "";
    int64_t t0 = now_ms();
    int rc = kafka_health_read(p, m.bootstrap, 1000, &h, err, sizeof err);
    int64_t took = now_ms() - t0;
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(took < 1000 + SLACK_MS, "took %lld ms", (long long)took);
    ck_assert_int_eq(kafka_pool_size(p), 0);

    ck_assert_int_eq(rd_kafka_mock_broker_set_up(m.mc, -1), 0);
    read_ok(p, m.bootstrap, &h);
    ck_assert_int_eq(h.brokers_listed, 3);
    ck_assert_int_eq(kafka_pool_handles_created(p), 2);
    ck_assert_int_eq(kafka_pool_size(p), 1);
    kafka_pool_free(p);
    mock_free(&m);
}
END_TEST

/* Under-replication over hand-built metadata (the mock cannot shrink an ISR). */
START_TEST(counts_under_replicated_from_metadata)
{
    rd_kafka_metadata_broker_t brokers[3] = { { .id = 3 }, { .id = 1 }, { .id = 2 } };
    int32_t all[3] = { 1, 2, 3 }, two[2] = { 1, 2 };
    rd_kafka_metadata_partition_t parts[4] = {
        { .id = 0, .leader = 1, .replica_cnt = 3, .replicas = all, .isr_cnt = 3, .isrs = all },
        { .id = 1, .leader = 2, .replica_cnt = 3, .replicas = all, .isr_cnt = 2, .isrs = two },
        { .id = 2, .leader = 1, .replica_cnt = 3, .replicas = all, .isr_cnt = 2, .isrs = two },
        { .id = 3, .leader = -1, .err = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
          .replica_cnt = 3, .replicas = all, .isr_cnt = 0, .isrs = NULL },
    };
    rd_kafka_metadata_topic_t topics[2] = {
        { .topic = "orders", .partition_cnt = 4, .partitions = parts },
        { .topic = "empty", .partition_cnt = 0 },
    };
    rd_kafka_metadata_t md = { .broker_cnt = 3, .brokers = brokers, .topic_cnt = 2, .topics = topics };

    kafka_health h = { .brokers_expected = 3 };
    kafka_health_from_metadata(&md, 2, &h);
    ck_assert_int_eq(h.brokers_listed, 3);
    ck_assert_int_eq(h.broker_ids[0], 1);              /* sorted */
    ck_assert_int_eq(h.broker_ids[2], 3);
    ck_assert_int_eq(h.controller_id, 2);
    ck_assert_int_eq(h.topics, 2);
    ck_assert_int_eq(h.partitions, 4);
    ck_assert_int_eq(h.offline_partitions, 1);
    ck_assert_int_eq(h.under_replicated, 2);
    ck_assert_str_eq(h.detail, "3/3 brokers, 1 offline, 2 under-replicated partitions");

    parts[2].isr_cnt = 3; parts[2].isrs = all;
    md.broker_cnt = 2;
    h.brokers_expected = 3;
    kafka_health_from_metadata(&md, -1, &h);
    ck_assert_int_eq(h.controller_id, -1);
    ck_assert_str_eq(h.detail, "2/3 brokers, 1 offline, 1 under-replicated partition");
}
END_TEST

START_TEST(caps_broker_ids)
{
    enum { N = KAFKA_HEALTH_MAX_BROKER_IDS + 22 };
    static rd_kafka_metadata_broker_t brokers[N];
    for (int i = 0; i < N; i++) brokers[i].id = N - i;
    rd_kafka_metadata_t md = { .broker_cnt = N, .brokers = brokers };
    kafka_health h = {0};
    kafka_health_from_metadata(&md, 1, &h);
    ck_assert_int_eq(h.brokers_listed, N);
    ck_assert_int_eq(h.nbroker_ids, KAFKA_HEALTH_MAX_BROKER_IDS);
    char want[64];
    snprintf(want, sizeof want, "%d brokers, 0 offline, 0 under-replicated partitions", N);
    ck_assert_str_eq(h.detail, want);
}
END_TEST

/* Many threads, three bootstraps, a pool of two: handles are evicted while
 * other threads still read through them (the last user destroys them). */
typedef struct worker_arg { kafka_pool *p; const char *addr[3]; int failures; } worker_arg;

static void *worker(void *v)
{
    worker_arg *w = v;
    for (int i = 0; i < 15; i++) {
        kafka_health h = {0};
        char err[256];
        if (kafka_health_read(w->p, w->addr[i % 3], 5000, &h, err, sizeof err) != 0 ||
            h.brokers_listed != 3)
            __atomic_add_fetch(&w->failures, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

START_TEST(concurrent_reads_with_eviction)
{
    mock m = mock_new(3);
    char a[64], b[64], c[64];
    each_address(&m, a, b, c);
    worker_arg w = { .p = kafka_pool_new(2), .addr = { a, b, c } };
    kafka_pool_set_idle_ms(w.p, 0);                    /* evict on every miss: the racy path */
    pthread_t t[6];
    for (int i = 0; i < 6; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &w), 0);
    for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
    ck_assert_int_eq(w.failures, 0);
    ck_assert_int_le(kafka_pool_size(w.p), 2);
    kafka_pool_free(w.p);
    mock_free(&m);
}
END_TEST

static Suite *suite_kafka_health(void)
{
    Suite *s = suite_create("kafka health");
    TCase *mockc = tcase_create("mock cluster");
    tcase_set_timeout(mockc, 60);
    tcase_add_test(mockc, lists_three_brokers);
    tcase_add_test(mockc, counts_topics_and_partitions);
    tcase_add_test(mockc, leaderless_partition_is_offline);
    tcase_add_test(mockc, mock_cannot_shrink_isr);
    tcase_add_test(mockc, broker_down_as_the_mock_shows_it);
    suite_add_tcase(s, mockc);

    TCase *pool = tcase_create("pool");
    tcase_set_timeout(pool, 60);
    tcase_add_test(pool, reuses_one_handle);
    tcase_add_test(pool, evicts_least_recently_used);
    tcase_add_test(pool, cyclic_use_keeps_the_cached_handles);
    tcase_add_test(pool, dead_bootstrap_fails_within_timeout);
    tcase_add_test(pool, empty_bootstrap_is_refused);
    tcase_add_test(pool, concurrent_reads_with_eviction);
    suite_add_tcase(s, pool);

    TCase *count = tcase_create("counting");
    tcase_add_test(count, counts_under_replicated_from_metadata);
    tcase_add_test(count, caps_broker_ids);
    suite_add_tcase(s, count);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite_kafka_health());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
