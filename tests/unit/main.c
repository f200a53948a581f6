/* Unit tests: one suite per concern; Check prints the counts. */
#include <check.h>
#include <stdlib.h>

Suite *suite_util(void);
Suite *suite_api(void);
Suite *suite_store(void);
Suite *suite_queue(void);
Suite *suite_kube(void);
Suite *suite_planner(void);
Suite *suite_availability(void);
Suite *suite_pki(void);
Suite *suite_plan(void);
Suite *suite_scale_plan(void);
Suite *suite_topics(void);

int main(void)
{
    SRunner *sr = srunner_create(suite_util());
    srunner_add_suite(sr, suite_api());
    srunner_add_suite(sr, suite_store());
    srunner_add_suite(sr, suite_queue());
    srunner_add_suite(sr, suite_kube());
    srunner_add_suite(sr, suite_planner());
    srunner_add_suite(sr, suite_availability());
    srunner_add_suite(sr, suite_pki());
    srunner_add_suite(sr, suite_plan());
    srunner_add_suite(sr, suite_scale_plan());
    srunner_add_suite(sr, suite_topics());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
