/* End-to-end tests: the real binary over real HTTP on loopback. */
#include <check.h>
#include <curl/curl.h>
#include <stdlib.h>

Suite *suite_flow(void);
Suite *suite_errors(void);
Suite *suite_concurrency(void);
Suite *suite_workers(void);
Suite *suite_kube(void);
Suite *suite_planes(void);
Suite *suite_kafka(void);
Suite *suite_attack(void);
Suite *suite_roll(void);
Suite *suite_scale(void);
Suite *suite_topics(void);

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(suite_flow());
    srunner_add_suite(sr, suite_errors());
    srunner_add_suite(sr, suite_concurrency());
    srunner_add_suite(sr, suite_workers());
    srunner_add_suite(sr, suite_kube());
    srunner_add_suite(sr, suite_planes());
    srunner_add_suite(sr, suite_kafka());
    srunner_add_suite(sr, suite_attack());
    srunner_add_suite(sr, suite_roll());
    srunner_add_suite(sr, suite_scale());
    srunner_add_suite(sr, suite_topics());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
