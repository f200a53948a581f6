/* Merge patch (RFC 7396 appendix A), validation primitives, page tokens,
 * concurrency checks and Kafka version rules. */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include "../../api/api.h"


static void mp(const char *target, const char *patch, const char *want)
{
    json_t *t = json_loads(target, JSON_DECODE_ANY, NULL), *p = json_loads(patch, JSON_DECODE_ANY, NULL);
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(t); ck_assert_ptr_nonnull(p); ck_assert_ptr_nonnull(w);
    json_t *got = json_merge_patch(t, p);
    char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    ck_assert_msg(json_equal(got, w), "patch %s on %s gave %s, want %s", patch, target, g, want);
    free(g);
    json_decref(t); json_decref(p); json_decref(w); json_decref(got);
}

START_TEST(merge_patch_rfc7396_examples)
{
    mp("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    mp("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    mp("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    mp("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    mp("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    mp("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    mp("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}");
    mp("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    mp("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
    mp("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
    mp("{\"a\":\"foo\"}", "null", "null");
    mp("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    mp("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    mp("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}
END_TEST

START_TEST(dns_labels)
{
    verrs v = {0};
    json_t *ok = json_string("orders-1"), *bad1 = json_string("Orders"), *bad2 = json_string("1abc"),
           *bad3 = json_string("abc-"), *bad4 = json_string("a_b"), *num = json_integer(3);
    json_t *long41 = json_string("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ck_assert(v_dns_label(&v, "name", ok, 40, NULL, 0));
    ck_assert(!verr_any(&v));
    ck_assert(!v_dns_label(&v, "name", bad1, 40, NULL, 0));
    ck_assert(!v_dns_label(&v, "name", bad2, 40, NULL, 0));
    ck_assert(!v_dns_label(&v, "name", bad3, 40, NULL, 0));
    ck_assert(!v_dns_label(&v, "name", bad4, 40, NULL, 0));
    ck_assert(!v_dns_label(&v, "name", num, 40, NULL, 0));
    ck_assert(!v_dns_label(&v, "name", long41, 40, NULL, 0));
    ck_assert_uint_eq(json_array_size(v.list), 6);
    json_decref(v.list);
    json_decref(ok); json_decref(bad1); json_decref(bad2); json_decref(bad3); json_decref(bad4);
    json_decref(num); json_decref(long41);
}
END_TEST

START_TEST(int_ranges_and_types)
{
    verrs v = {0};
    long long x = 0;
    json_t *three = json_integer(3), *real = json_real(3.0), *str = json_string("3"), *big = json_integer(1000);
    ck_assert(v_int_range(&v, "brokers", three, 1, 100, &x));
    ck_assert_int_eq(x, 3);
    ck_assert(!v_int_range(&v, "brokers", real, 1, 100, &x));   /* 3.0 is not an integer */
    ck_assert(!v_int_range(&v, "brokers", str, 1, 100, &x));    /* no string-to-number coercion */
    ck_assert(!v_int_range(&v, "brokers", big, 1, 100, &x));
    ck_assert_uint_eq(json_array_size(v.list), 3);
    json_decref(v.list);
    json_decref(three); json_decref(real); json_decref(str); json_decref(big);
}
END_TEST

START_TEST(unknown_fields_reported)
{
    verrs v = {0};
    json_t *o = json_pack("{s:i, s:i}", "brokers", 3, "brokerz", 3);
    static const char *const allowed[] = {"brokers", NULL};
    v_known_keys(&v, "", o, allowed);
    ck_assert_uint_eq(json_array_size(v.list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(v.list, 0), "field")), "brokerz");
    json_decref(v.list);
    json_decref(o);
}
END_TEST

static api_req req_with_query(const char *k1, const char *v1, const char *k2, const char *v2)
{
    api_req r = {0};
    if (k1) { r.query[r.nquery].k = k1; r.query[r.nquery++].v = v1; }
    if (k2) { r.query[r.nquery].k = k2; r.query[r.nquery++].v = v2; }
    return r;
}

START_TEST(page_tokens)
{
    page p;
    api_resp w = {0};
    api_req r = req_with_query(NULL, NULL, NULL, NULL);
    ck_assert(api_page_begin(&r, &w, "f1", &p));
    ck_assert_int_eq(p.size, 50);
    ck_assert_int_eq(p.after, 0);
    r = req_with_query("page_size", "2", NULL, NULL);
    ck_assert(api_page_begin(&r, &w, "f1", &p));
    json_t *list = json_object();
    api_page_end(&p, list, 3, 41);    /* page size 2, and a third row came back */
    const char *tok = json_string_value(json_object_get(list, "next_page_token"));
    ck_assert_ptr_nonnull(tok);
    ck_assert(strstr(tok, "41") == NULL);    /* opaque */
    r = req_with_query("page_size", "2", "page_token", tok);
    ck_assert(api_page_begin(&r, &w, "f1", &p));
    ck_assert_int_eq(p.after, 41);
    /* same token with other filters is refused */
    ck_assert(!api_page_begin(&r, &w, "f2", &p));
    ck_assert_int_eq(w.status, 400);
    json_decref(w.body); w.body = NULL;
    /* a page with no extra row has no next token, even when full */
    json_t *l2 = json_object();
    api_page_end(&p, l2, 2, 50);
    ck_assert_ptr_null(json_object_get(l2, "next_page_token"));
    /* garbage and bad sizes */
    r = req_with_query("page_token", "bm9wZQ", NULL, NULL);
    ck_assert(!api_page_begin(&r, &w, "f1", &p));
    json_decref(w.body); w.body = NULL;
    r = req_with_query("page_size", "501", NULL, NULL);
    ck_assert(!api_page_begin(&r, &w, "f1", &p));
    json_decref(w.body); w.body = NULL;
    r = req_with_query("page_size", "0x10", NULL, NULL);
    ck_assert(!api_page_begin(&r, &w, "f1", &p));
    json_decref(w.body); w.body = NULL;
    json_decref(list); json_decref(l2);
}
END_TEST

START_TEST(if_match_and_body_version)
{
    api_req r = {0};
    api_resp w = {0};
    int64_t e;
    r.if_match = "\"7\"";
    ck_assert(api_expected_version(&r, &w, 7, &e));
    ck_assert_int_eq(e, 7);
    ck_assert(!api_expected_version(&r, &w, 8, &e));
    ck_assert_int_eq(w.status, 412);
    json_decref(w.body); w.body = NULL;
    r.if_match = "*";
    ck_assert(api_expected_version(&r, &w, 8, &e));
    ck_assert_int_eq(e, 0);
    r.if_match = NULL;
    r.body = json_pack("{s:s}", "resource_version", "3");
    ck_assert(!api_expected_version(&r, &w, 4, &e));
    ck_assert_int_eq(w.status, 412);
    json_decref(w.body); w.body = NULL;
    ck_assert(api_expected_version(&r, &w, 3, &e));
    json_decref(r.body);
    r.body = json_pack("{s:i}", "resource_version", 3);   /* must be the string form */
    ck_assert(!api_expected_version(&r, &w, 3, &e));
    ck_assert_int_eq(w.status, 422);
    json_decref(w.body);
    json_decref(r.body);
}
END_TEST

START_TEST(kafka_versions)
{
    ck_assert_str_eq(cluster_resolve_version("3.9.1"), "3.9.1");
    ck_assert_str_eq(cluster_resolve_version("3.9"), "3.9.1");
    ck_assert_str_eq(cluster_resolve_version("3.7"), "3.7.2");
    ck_assert_ptr_null(cluster_resolve_version("3.9.9"));
    ck_assert_ptr_null(cluster_resolve_version("2.8.0"));
    ck_assert_ptr_null(cluster_resolve_version("3"));
    ck_assert_int_lt(cluster_version_cmp("3.9.1", "4.0.0"), 0);
    ck_assert_int_gt(cluster_version_cmp("3.10.0", "3.9.1"), 0);
    ck_assert_int_eq(cluster_version_cmp("3.9.1", "3.9.1"), 0);
}
END_TEST


/* Issue 10, finding 6: tenants saw the data plane's API server URL and the
 * server's data path in conditions and steps. */
START_TEST(tenant_view_hides_infrastructure)
{
    json_t *o = json_loads(
        "{\"status\":{\"manifests_path\":\"/var/lib/sp/manifests/kc-1\",\"conditions\":["
        "{\"type\":\"DataPlaneReachable\",\"status\":\"False\",\"reason\":\"Unreachable\","
        "\"message\":\"https://10.0.0.1:6443: Couldn't connect to server\"},"
        "{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"ManifestsWritten\","
        "\"message\":\"12 objects written to /var/lib/sp/manifests/kc-1; apply them\"}]},"
        "\"steps\":[{\"name\":\"apply objects\",\"message\":\"applying X y: Post \\\"https://k8s.internal:6443/api/v1\\\": EOF\"},"
        "{\"name\":\"wait for pods\",\"message\":\"controllers 1/3, brokers 0/3 ready\"}]}", 0, NULL);
    ck_assert_ptr_nonnull(o);
    api_tenant_view(o);
    char *txt = json_dumps(o, 0);
    ck_assert_msg(!strstr(txt, "10.0.0.1") && !strstr(txt, "/var/lib") && !strstr(txt, "k8s.internal") &&
                      !strstr(txt, "manifests_path"), "%s", txt);
    ck_assert_msg(strstr(txt, "operator sees the details"), "%s", txt);
    ck_assert_msg(strstr(txt, "controllers 1/3, brokers 0/3 ready"), "%s", txt);   /* progress stays */
    ck_assert_msg(strstr(txt, "12 objects written to (a path on the server)"), "%s", txt);
    free(txt);
    json_decref(o);
}
END_TEST

Suite *suite_api(void)
{
    Suite *s = suite_create("api");
    TCase *t = tcase_create("rules");
    tcase_add_test(t, merge_patch_rfc7396_examples);
    tcase_add_test(t, tenant_view_hides_infrastructure);
    tcase_add_test(t, dns_labels);
    tcase_add_test(t, int_ranges_and_types);
    tcase_add_test(t, unknown_fields_reported);
    tcase_add_test(t, page_tokens);
    tcase_add_test(t, if_match_and_body_version);
    tcase_add_test(t, kafka_versions);
    suite_add_tcase(s, t);
    return s;
}
