#include <check.h>
#include "harness.h"
Suite *suite_flow(void) { Suite *s = suite_create("flow"); return s; }
