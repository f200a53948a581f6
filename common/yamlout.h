/* yamlout.h — JSON values written as YAML for people and GitOps tools.
 * Strings are always double-quoted (JSON's escapes are YAML's), so no
 * value is ever re-typed ("true", "3.9", "0755" stay strings). */
#ifndef SP_YAMLOUT_H
#define SP_YAMLOUT_H

#include <jansson.h>

/* One document. Returns malloc'd text. */
char *yaml_dump(const json_t *v);
/* Each element of an array as its own document, separated by "---". */
char *yaml_dump_docs(const json_t *array);

#endif
