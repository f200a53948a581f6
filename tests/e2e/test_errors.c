#include <check.h>
#include "harness.h"
Suite *suite_errors(void) { Suite *s = suite_create("errors"); return s; }
