#include <check.h>
#include "harness.h"
Suite *suite_concurrency(void) { Suite *s = suite_create("concurrency"); return s; }
