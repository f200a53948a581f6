/* The partition reassignment planner (workers/kafka/planner.h) on the
 * synthetic clusters of issue 13: 1,000 topics x 12 partitions x RF 3 over
 * 3..30 brokers in 3 racks, scaled out and back in.
 *
 * Every check here is made by the test on its own: the plan's JSON is
 * parsed with jansson and applied to the test's own copy of the
 * assignment, and balance, rack spread, RF and the move count are counted
 * from that copy, not taken from the planner's report.
 *
 * The lower bound on replica moves: a plan ends with replica skew <= 1, so
 * over the B target brokers each holds floor(R/B) or ceil(R/B) of the R
 * replicas (exactly R mod B at ceil) and a leaving broker holds 0. A broker
 * holding c_b now and t_b afterwards loses at least max(0, c_b - t_b)
 * replicas, and every replica that leaves a broker is one move (one copy to
 * another broker), so moves >= sum max(0, c_b - t_b); the sum is smallest
 * when the ceil shares go to the brokers holding most now, which is the
 * bound used. It ignores racks, so it is a bound for rack-aware plans too.
 * The same argument with preferred leaders (N partitions over B brokers)
 * bounds the partitions whose preferred leader must change. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../workers/kafka/planner.h"
#include "../common/planner_synth.h"

#define TOPICS 1000
#define PARTS  SYNTH_PARTS
#define RF     SYNTH_RF
#define NPART  (TOPICS * PARTS)
#define MAXB   64

/* Checks inside loops over 12,000 partitions: Check's ck_assert reports
 * every passing assertion to the parent process (a write per call), which
 * made this suite take 40 s of CPU under ASan; EXPECT keeps the first
 * failure and the test asserts once that there was none. */
static char first_failure[512];
static long failures;
#define EXPECT(cond, ...) do { \
        if (!(cond) && failures++ == 0) snprintf(first_failure, sizeof first_failure, __VA_ARGS__); \
    } while (0)
#define EXPECT_NONE() ck_assert_msg(failures == 0, "%ld failed checks, the first: %s", failures, first_failure)

/* The test's own copy of an assignment (tests/common/planner_synth.h):
 * partition i is topic i / PARTS, partition i % PARTS. */
typedef synth_layout assignment;

static int rack_of(int32_t id) { return synth_rack_of(id); }

static planner_cluster *cluster_of(const assignment *a, int nb)
{
    char err[200];
    planner_cluster *c = synth_cluster(a, nb, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

static long lower_bound(const long *count, int nb, int ntarget, long total)
{
    return synth_min_moves(count, nb, ntarget, total);
}

static void counts(const assignment *a, int nb, long *replicas, long *leaders)
{
    synth_counts(a, nb, replicas, leaders);
}

/* Applies the plan's JSON (parsed by jansson) to *a and checks that it
 * lists exactly the plan's changes. Returns the replica moves it made. */
static long apply_json(const planner_plan *pl, const char *text, assignment *a, int *first_change)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    ck_assert_msg(doc != NULL, "plan JSON does not parse: %s", jerr.text);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "version")), 1);
    json_t *parts = json_object_get(doc, "partitions");
    ck_assert(json_is_array(parts));
    long moves = 0;
    for (size_t i = 0; i < json_array_size(parts); i++) {
        json_t *e = json_array_get(parts, i);
        const char *topic = json_string_value(json_object_get(e, "topic"));
        int t = -1, q = (int)json_integer_value(json_object_get(e, "partition"));
        json_t *r = json_object_get(e, "replicas");
        const planner_change *ch = planner_plan_change(pl, (*first_change)++);
        if (!topic || sscanf(topic, "topic-%d", &t) != 1 || t < 0 || t >= TOPICS || q < 0 || q >= PARTS || !ch) {
            EXPECT(0, "entry %zu: unknown partition %s/%d", i, topic ? topic : "(none)", q);
            continue;
        }
        EXPECT(json_array_size(r) == RF, "%s/%d: %zu replicas", topic, q, json_array_size(r));   /* RF unchanged */
        EXPECT(strcmp(ch->topic, topic) == 0 && ch->partition == q, "%s/%d listed as change %s/%d", topic, q, ch->topic, ch->partition);
        int32_t *rep = a->rep[t * PARTS + q], next[RF];
        int new_here = 0;
        for (int k = 0; k < RF; k++) {
            next[k] = (int32_t)json_integer_value(json_array_get(r, (size_t)k));
            EXPECT(next[k] == ch->replicas[k] && rep[k] == ch->current[k], "%s/%d: JSON and change differ", topic, q);
            int old = 0;
            for (int j = 0; j < RF; j++) old |= rep[j] == next[k];
            new_here += !old;
        }
        EXPECT(new_here == ch->moves, "%s/%d: %d new replicas, change says %d", topic, q, new_here, ch->moves);
        EXPECT(memcmp(rep, next, sizeof next) != 0, "%s/%d is listed but does not change", topic, q);
        memcpy(rep, next, sizeof next);
        moves += new_here;
    }
    json_decref(doc);
    return moves;
}

/* Scales *a from its brokers to `to` (ids 0..to-1 stay or join; the rest
 * leave) and checks everything the issue asks of the plan. */
static void scale_and_check(assignment *a, int to, int max_moves_per_batch)
{
    int from = a->nb, nb = from > to ? from : to;
    planner_cluster *c = cluster_of(a, nb);
    int32_t target[MAXB];
    for (int b = 0; b < to; b++) target[b] = b;
    long rep_before[MAXB], lead_before[MAXB];
    counts(a, nb, rep_before, lead_before);
    long move_bound = lower_bound(rep_before, nb, to, (long)NPART * RF);
    long leader_bound = lower_bound(lead_before, nb, to, NPART);

    planner_plan *pl = NULL;
    planner_options o = { .target = target, .ntarget = to, .max_moves_per_batch = max_moves_per_batch };
    ck_assert_int_eq(planner_plan_build(c, &o, &pl), PLANNER_OK);
    ck_assert(planner_plan_balanced(pl));

    /* batch by batch, as the Jobs would run them */
    int next_change = 0;
    long moves = 0;
    for (int bt = 0; bt < planner_plan_batches(pl); bt++) {
        char *json = planner_plan_json(pl, bt, false);
        ck_assert_ptr_nonnull(json);
        long m = apply_json(pl, json, a, &next_change);
        if (max_moves_per_batch > 0) ck_assert_int_le(m, max_moves_per_batch);
        moves += m;
        free(json);
    }
    ck_assert_int_eq(next_change, planner_plan_changes(pl));
    ck_assert_int_eq(moves, planner_plan_moves(pl));
    ck_assert_msg(moves == move_bound, "%d->%d: %ld moves, lower bound %ld", from, to, moves, move_bound);

    long rep_after[MAXB], lead_after[MAXB], leader_changes = 0;
    counts(a, nb, rep_after, lead_after);
    long rmin = rep_after[0], rmax = rep_after[0], lmin = lead_after[0], lmax = lead_after[0];
    for (int b = 0; b < nb; b++) {
        if (b >= to) {   /* leaving brokers end empty */
            ck_assert_int_eq(rep_after[b], 0);
            continue;
        }
        if (rep_after[b] < rmin) rmin = rep_after[b];
        if (rep_after[b] > rmax) rmax = rep_after[b];
        if (lead_after[b] < lmin) lmin = lead_after[b];
        if (lead_after[b] > lmax) lmax = lead_after[b];
    }
    ck_assert_msg(rmax - rmin <= 1, "%d->%d: replica skew %ld", from, to, rmax - rmin);
    ck_assert_msg(lmax - lmin <= 1, "%d->%d: leader skew %ld", from, to, lmax - lmin);
    for (int p = 0; p < NPART; p++)   /* one replica per rack (so distinct brokers) */
        EXPECT(rack_of(a->rep[p][0]) != rack_of(a->rep[p][1]) && rack_of(a->rep[p][0]) != rack_of(a->rep[p][2]) &&
               rack_of(a->rep[p][1]) != rack_of(a->rep[p][2]), "%d->%d: partition %d not spread over racks", from, to, p);
    EXPECT_NONE();
    for (int i = 0; i < planner_plan_changes(pl); i++) {
        const planner_change *ch = planner_plan_change(pl, i);
        leader_changes += ch->current[0] != ch->replicas[0];
    }
    ck_assert_int_eq(leader_changes, planner_plan_leader_changes(pl));
    ck_assert_msg(leader_changes == leader_bound, "%d->%d: %ld leader changes, lower bound %ld",
                  from, to, leader_changes, leader_bound);

    /* the planner's own report agrees with the test's counts */
    planner_balance bal;
    ck_assert_int_eq(planner_plan_balance(pl, true, &bal), PLANNER_OK);
    ck_assert_int_eq(bal.replica_skew, rmax - rmin);
    ck_assert_int_eq(bal.leader_skew, lmax - lmin);
    ck_assert_int_eq(bal.on_leaving, 0);
    ck_assert_int_eq(bal.rack_violations, 0);
    for (int b = 0; b < nb; b++)
        EXPECT(bal.brokers[b].replicas == rep_after[b] && bal.brokers[b].leaders == lead_after[b],
               "broker %d: report %d/%d, counted %ld/%ld", b, bal.brokers[b].replicas, bal.brokers[b].leaders,
               rep_after[b], lead_after[b]);
    EXPECT_NONE();
    long rack_sum = 0;
    for (int r = 0; r < bal.nracks; r++) rack_sum += bal.racks[r].replicas;
    ck_assert_int_eq(rack_sum, (long)NPART * RF);
    planner_balance_free(&bal);
    planner_plan_free(pl);
    planner_cluster_free(c);
    a->nb = to;
}

static assignment *new_assignment(void)
{
    assignment *a = calloc(1, sizeof *a);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(synth_init(a, TOPICS), 0);
    return a;
}

static void free_assignment(assignment *a)
{
    synth_free(a);
    free(a);
}

START_TEST(scale_out_and_back_in_chain)
{
    assignment *a = new_assignment();
    synth_kafka_style(a, 3);
    const int steps[] = { 6, 12, 30, 12, 6, 3 };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) scale_and_check(a, steps[i], 2000);
    free_assignment(a);
}
END_TEST

/* Each step from a cluster Kafka itself laid out on that many brokers. */
static const int step_from[] = { 3, 6, 12, 30, 12, 6 };
static const int step_to[]   = { 6, 12, 30, 12, 6, 3 };

START_TEST(scale_from_kafka_layout)
{
    assignment *a = new_assignment();
    synth_kafka_style(a, step_from[_i]);
    scale_and_check(a, step_to[_i], 0);
    free_assignment(a);
}
END_TEST

/* Uneven, randomly placed clusters: leaders and replicas both skewed. */
START_TEST(scale_from_random_layout)
{
    assignment *a = new_assignment();
    synth_random(a, step_from[_i], 42u + (unsigned)_i);
    scale_and_check(a, step_to[_i], 500);
    free_assignment(a);
}
END_TEST

START_TEST(rebalance_in_place)
{
    assignment *a = new_assignment();
    synth_random(a, 12, 7u);
    scale_and_check(a, 12, 0);
    /* a balanced cluster needs no plan at all */
    planner_cluster *c = cluster_of(a, 12);
    planner_plan *pl = NULL;
    ck_assert_int_eq(planner_plan_build(c, NULL, &pl), PLANNER_OK);
    ck_assert_int_eq(planner_plan_changes(pl), 0);
    ck_assert_int_eq(planner_plan_batches(pl), 0);
    char *json = planner_plan_json(pl, -1, false);
    ck_assert_str_eq(json, "{\"version\":1,\"partitions\":[]}");
    free(json);
    planner_plan_free(pl);
    planner_cluster_free(c);
    free_assignment(a);
}
END_TEST

/* A small cluster built by hand: 3 brokers, one per rack, topic "t" with 2
 * partitions of RF 3, 2 new brokers in racks a and b. */
static planner_cluster *small_cluster(void)
{
    planner_cluster *c = planner_cluster_new();
    ck_assert_int_eq(planner_add_broker(c, 1, "a"), PLANNER_OK);
    ck_assert_int_eq(planner_add_broker(c, 2, "b"), PLANNER_OK);
    ck_assert_int_eq(planner_add_broker(c, 3, "c"), PLANNER_OK);
    ck_assert_int_eq(planner_add_broker(c, 4, "a"), PLANNER_OK);
    ck_assert_int_eq(planner_add_broker(c, 5, "b"), PLANNER_OK);
    int t = planner_add_topic(c, "t");
    ck_assert_int_eq(t, 0);
    ck_assert_int_eq(planner_add_partition(c, t, 0, (int32_t[]){ 1, 2, 3 }, 3), PLANNER_OK);
    ck_assert_int_eq(planner_add_partition(c, t, 1, (int32_t[]){ 2, 3, 1 }, 3), PLANNER_OK);
    return c;
}

START_TEST(rejects_bad_input)
{
    planner_cluster *c = small_cluster();
    ck_assert_int_eq(planner_add_broker(c, 1, "a"), PLANNER_ERR_DUPLICATE);
    ck_assert_int_eq(planner_add_broker(c, -1, "a"), PLANNER_ERR_INVALID);
    ck_assert_int_eq(planner_add_topic(c, "t"), -PLANNER_ERR_DUPLICATE);
    ck_assert_int_eq(planner_add_topic(c, "bad name"), -PLANNER_ERR_INVALID);
    ck_assert_int_eq(planner_add_topic(c, ".."), -PLANNER_ERR_INVALID);
    ck_assert_int_eq(planner_add_topic(c, ""), -PLANNER_ERR_INVALID);
    ck_assert_int_eq(planner_add_partition(c, 0, 0, (int32_t[]){ 1, 2, 3 }, 3), PLANNER_ERR_DUPLICATE);
    ck_assert_int_eq(planner_add_partition(c, 0, 2, (int32_t[]){ 1, 1, 3 }, 3), PLANNER_ERR_DUPLICATE);
    ck_assert_int_eq(planner_add_partition(c, 0, 2, (int32_t[]){ 1, 9, 3 }, 3), PLANNER_ERR_INVALID);
    ck_assert_int_eq(planner_add_partition(c, 7, 2, (int32_t[]){ 1, 2, 3 }, 3), PLANNER_ERR_INVALID);
    ck_assert_int_eq(planner_add_partition(c, 0, -1, (int32_t[]){ 1, 2, 3 }, 3), PLANNER_ERR_INVALID);
    ck_assert_int_eq(planner_add_partition(c, 0, 2, (int32_t[]){ 1 }, 0), PLANNER_ERR_INVALID);
    ck_assert_int_eq(planner_cluster_partitions(c), 2);

    planner_plan *pl = (planner_plan *)1;
    /* scale-in below RF: the API's 422 */
    planner_options two = { .target = (int32_t[]){ 1, 2 }, .ntarget = 2 };
    ck_assert_int_eq(planner_plan_build(c, &two, &pl), PLANNER_ERR_NOT_ENOUGH_BROKERS);
    ck_assert_ptr_null(pl);
    planner_options unknown = { .target = (int32_t[]){ 1, 2, 9 }, .ntarget = 3 };
    ck_assert_int_eq(planner_plan_build(c, &unknown, &pl), PLANNER_ERR_NO_TARGET);
    planner_options none = { .target = (int32_t[]){ 1 }, .ntarget = 0 };
    ck_assert_int_eq(planner_plan_build(c, &none, &pl), PLANNER_ERR_NO_TARGET);
    planner_options twice = { .target = (int32_t[]){ 1, 2, 2 }, .ntarget = 3 };
    ck_assert_int_eq(planner_plan_build(c, &twice, &pl), PLANNER_ERR_DUPLICATE);
    planner_cluster_free(c);

    for (int e = PLANNER_OK; e <= PLANNER_ERR_NOT_ENOUGH_BROKERS; e++) {
        ck_assert_ptr_nonnull(planner_strerror((planner_err)e));
        ck_assert_int_eq(planner_err_transient((planner_err)e), e == PLANNER_ERR_NOMEM);
    }
    ck_assert_str_eq(planner_strerror(PLANNER_ERR_NOT_ENOUGH_BROKERS),
                     "fewer target brokers than a topic's replication factor");
}
END_TEST

START_TEST(small_scale_out_json_and_rollback)
{
    planner_cluster *c = small_cluster();
    planner_balance before;
    ck_assert_int_eq(planner_cluster_balance(c, NULL, 0, &before), PLANNER_OK);
    ck_assert_int_eq(before.replicas_max, 2);   /* brokers 1-3: 2 each, 4-5: 0 */
    ck_assert_int_eq(before.replica_skew, 2);
    ck_assert_int_eq(before.nracks, 3);
    ck_assert_str_eq(before.racks[0].name, "a");
    ck_assert_int_eq(before.racks[0].brokers, 2);
    ck_assert_int_eq(before.racks[0].replicas, 2);
    planner_balance_free(&before);

    planner_plan *pl = NULL;
    planner_options o = { .max_moves_per_batch = 1 };
    ck_assert_int_eq(planner_plan_build(c, &o, &pl), PLANNER_OK);
    /* 6 replicas over 5 brokers: shares 2,1,1,1,1 (the 2 stays with a
     * broker that has 2 now); rack a and b each move one replica within
     * the rack: 2 moves, one per batch */
    ck_assert_int_eq(planner_plan_moves(pl), 2);
    ck_assert_int_eq(planner_plan_batches(pl), 2);
    char *all = planner_plan_json(pl, -1, false), *back = planner_plan_json(pl, -1, true);
    json_t *doc = json_loads(all, 0, NULL), *rdoc = json_loads(back, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_ptr_nonnull(rdoc);
    json_t *parts = json_object_get(doc, "partitions"), *rparts = json_object_get(rdoc, "partitions");
    ck_assert_uint_eq(json_array_size(parts), (size_t)planner_plan_changes(pl));
    ck_assert_uint_eq(json_array_size(rparts), json_array_size(parts));
    for (size_t i = 0; i < json_array_size(parts); i++) {
        const planner_change *ch = planner_plan_change(pl, (int)i);
        json_t *r = json_object_get(json_array_get(parts, i), "replicas");
        json_t *rr = json_object_get(json_array_get(rparts, i), "replicas");
        for (int k = 0; k < 3; k++) {
            ck_assert_int_eq(json_integer_value(json_array_get(r, (size_t)k)), ch->replicas[k]);
            ck_assert_int_eq(json_integer_value(json_array_get(rr, (size_t)k)), ch->current[k]);
        }
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(parts, i), "topic")), "t");
    }
    json_decref(doc); json_decref(rdoc);
    free(all); free(back);

    planner_balance after;
    ck_assert_int_eq(planner_plan_balance(pl, true, &after), PLANNER_OK);
    ck_assert_int_le(after.replica_skew, 1);
    ck_assert_int_le(after.leader_skew, 1);
    ck_assert_int_eq(after.rack_violations, 0);
    planner_balance_free(&after);
    planner_plan_free(pl);
    planner_cluster_free(c);
}
END_TEST

START_TEST(balance_report_json)
{
    planner_cluster *c = small_cluster();
    ck_assert_int_eq(planner_add_broker(c, 6, NULL), PLANNER_OK);          /* no rack */
    ck_assert_int_eq(planner_add_broker(c, 7, "odd\"rack\\"), PLANNER_OK); /* escaped */
    planner_balance b;
    ck_assert_int_eq(planner_cluster_balance(c, (int32_t[]){ 1, 2, 3, 4, 6, 7 }, 6, &b), PLANNER_OK);
    char *text = planner_balance_json(&b);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    ck_assert_msg(doc != NULL, "%s: %s", jerr.text, text);
    json_t *brokers = json_object_get(doc, "brokers"), *racks = json_object_get(doc, "racks");
    ck_assert_uint_eq(json_array_size(brokers), 7);
    json_t *b1 = json_array_get(brokers, 0), *b5 = json_array_get(brokers, 4), *b6 = json_array_get(brokers, 5);
    ck_assert_int_eq(json_integer_value(json_object_get(b1, "id")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(b1, "rack")), "a");
    ck_assert_int_eq(json_integer_value(json_object_get(b1, "replicas")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(b1, "leaders")), 1);
    ck_assert(json_is_false(json_object_get(b1, "leaving")));
    ck_assert(json_is_true(json_object_get(b5, "leaving")));               /* broker 5 not in the target */
    ck_assert(json_is_null(json_object_get(b6, "rack")));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(brokers, 6), "rack")), "odd\"rack\\");
    ck_assert_uint_eq(json_array_size(racks), 4);                            /* a, b, c, odd"rack\ */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(racks, 0), "brokers")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(racks, 1), "brokers")), 1); /* 5 leaves */
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "partitions")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "replicas")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "replica_skew")), 2);   /* 2 on 1-3, 0 on 4, 6, 7 */
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "leader_skew")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "replicas_on_leaving_brokers")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "rack_violations")), 0);
    json_decref(doc);
    free(text);
    planner_balance_free(&b);
    planner_cluster_free(c);
}
END_TEST

/* Racks that cannot be even: 4 brokers, two in rack r0. Rack spread wins
 * over replica balance; inside rack r0 the two brokers share evenly. */
START_TEST(uneven_racks_keep_spread)
{
    assignment *a = new_assignment();
    synth_kafka_style(a, 3);
    planner_cluster *c = cluster_of(a, 4);
    planner_plan *pl = NULL;
    ck_assert_int_eq(planner_plan_build(c, NULL, &pl), PLANNER_OK);
    ck_assert_int_eq(planner_plan_moves(pl), NPART / 2);   /* half of rack r0's replicas */
    planner_balance b;
    ck_assert_int_eq(planner_plan_balance(pl, true, &b), PLANNER_OK);
    ck_assert_int_eq(b.rack_violations, 0);
    ck_assert_int_eq(b.brokers[0].replicas, NPART / 2);
    ck_assert_int_eq(b.brokers[3].replicas, NPART / 2);
    ck_assert_int_eq(b.brokers[1].replicas, NPART);
    ck_assert_int_le(b.leader_skew, 1);
    ck_assert(planner_plan_balanced(pl));   /* balanced as far as the racks allow */
    planner_balance_free(&b);
    planner_plan_free(pl);
    planner_cluster_free(c);
    free_assignment(a);
}
END_TEST

/* Small random clusters (2..11 brokers, up to 4 racks and brokers without
 * one, RF 1..4 mixed, replicas placed without regard to racks, a random
 * target set): whatever the balance reached, a plan never loses a replica,
 * never changes RF, never leaves one on a leaving broker, lists exactly
 * what changes, and a target set below a topic's RF is refused. */
static unsigned lcg(unsigned *x, unsigned n) { *x = *x * 1103515245u + 12345u; return (*x >> 16) % n; }

START_TEST(random_small_clusters_keep_invariants)
{
    static int32_t cur[800][4];
    for (int it = 0; it < 400; it++) {
        unsigned x = (unsigned)it * 2654435761u + 7u;
        int nb = 2 + (int)lcg(&x, 10), nr = 1 + (int)lcg(&x, 4), np = 0, maxrf = 0, rfs[800];
        planner_cluster *c = planner_cluster_new();
        for (int b = 0; b < nb; b++) {
            char rack[8];
            int r = (int)lcg(&x, (unsigned)nr + 1);
            snprintf(rack, sizeof rack, "z%d", r);
            ck_assert_int_eq(planner_add_broker(c, 10 + b, r == nr ? NULL : rack), PLANNER_OK);
        }
        for (int t = 0, nt = 1 + (int)lcg(&x, 20); t < nt; t++) {
            char name[16];
            snprintf(name, sizeof name, "t%d", t);
            int ti = planner_add_topic(c, name), rf = 1 + (int)lcg(&x, nb < 4 ? (unsigned)nb : 4u);
            maxrf = rf > maxrf ? rf : maxrf;
            for (int q = 0, parts = 1 + (int)lcg(&x, 40); q < parts; q++, np++) {
                for (int n = 0; n < rf;) {
                    int32_t b = 10 + (int32_t)lcg(&x, (unsigned)nb), dup = 0;
                    for (int j = 0; j < n; j++) dup |= cur[np][j] == b;
                    if (!dup) cur[np][n++] = b;
                }
                rfs[np] = rf;
                EXPECT(planner_add_partition(c, ti, q, cur[np], rf) == PLANNER_OK, "it %d: add", it);
            }
        }
        int32_t target[16];
        int ntg = 0;
        for (int b = 0; b < nb; b++)
            if (lcg(&x, 3)) target[ntg++] = 10 + b;
        planner_plan *pl = NULL;
        planner_options o = { .target = target, .ntarget = ntg, .max_moves_per_batch = 1 + (int)lcg(&x, 10) };
        planner_err e = planner_plan_build(c, &o, &pl);
        if (ntg == 0 || ntg < maxrf) {
            EXPECT(e == (ntg ? PLANNER_ERR_NOT_ENOUGH_BROKERS : PLANNER_ERR_NO_TARGET), "it %d: %s", it, planner_strerror(e));
            planner_cluster_free(c);
            continue;
        }
        EXPECT(e == PLANNER_OK, "it %d: %s", it, planner_strerror(e));
        if (e) { planner_cluster_free(c); continue; }
        long moves = 0;
        for (int i = 0; i < planner_plan_changes(pl); i++) {
            const planner_change *ch = planner_plan_change(pl, i);
            int p = ch->partition_index;
            EXPECT(ch->rf == rfs[p] && memcmp(ch->current, cur[p], sizeof(int32_t) * (size_t)ch->rf) == 0,
                   "it %d: partition %d changed RF or is not what was given", it, p);
            EXPECT(memcmp(ch->current, ch->replicas, sizeof(int32_t) * (size_t)ch->rf) != 0, "it %d: no change listed", it);
            for (int k = 0; k < ch->rf; k++) {
                int old = 0, staying = 0;
                for (int j = 0; j < ch->rf; j++) {
                    old |= cur[p][j] == ch->replicas[k];
                    EXPECT(j == k || ch->replicas[j] != ch->replicas[k], "it %d: a replica twice", it);
                }
                for (int j = 0; j < ntg; j++) staying |= target[j] == ch->replicas[k];
                EXPECT(staying, "it %d: a replica on leaving broker %d afterwards", it, ch->replicas[k]);
                moves += !old;
            }
            memcpy(cur[p], ch->replicas, sizeof(int32_t) * (size_t)ch->rf);
        }
        EXPECT(moves == planner_plan_moves(pl), "it %d: %ld moves, plan says %ld", it, moves, planner_plan_moves(pl));
        planner_balance b;
        ck_assert_int_eq(planner_plan_balance(pl, true, &b), PLANNER_OK);
        EXPECT(b.on_leaving == 0, "it %d: %d replicas left on leaving brokers", it, b.on_leaving);
        EXPECT(!planner_plan_balanced(pl) || b.leader_skew <= 1, "it %d: balanced with leader skew %d", it, b.leader_skew);
        planner_balance_free(&b);
        planner_plan_free(pl);
        planner_cluster_free(c);
    }
    EXPECT_NONE();
}
END_TEST

Suite *suite_planner(void)
{
    Suite *s = suite_create("planner");
    TCase *tc = tcase_create("planner");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rejects_bad_input);
    tcase_add_test(tc, small_scale_out_json_and_rollback);
    tcase_add_test(tc, balance_report_json);
    tcase_add_test(tc, scale_out_and_back_in_chain);
    tcase_add_loop_test(tc, scale_from_kafka_layout, 0, 6);
    tcase_add_loop_test(tc, scale_from_random_layout, 0, 6);
    tcase_add_test(tc, rebalance_in_place);
    tcase_add_test(tc, uneven_racks_keep_spread);
    tcase_add_test(tc, random_small_clusters_keep_invariants);
    suite_add_tcase(s, tc);
    return s;
}
