/* fuzz_merge_patch.c — RFC 7396 JSON Merge Patch (api/common.c) on any two
 * JSON documents (the input is "target NUL patch"). Besides not crashing it
 * checks a property the RFC implies: a merge patch is idempotent (applying
 * the same patch twice gives what applying it once gave), and the target is
 * left unmodified. */
#include "../api/api.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul) return 0;
    json_t *target = json_loadb((const char *)data, (size_t)(nul - data), JSON_DECODE_ANY, NULL);
    json_t *patch = json_loadb((const char *)nul + 1, size - (size_t)(nul - data) - 1, JSON_DECODE_ANY, NULL);
    if (target && patch) {
        json_t *before = json_deep_copy(target);
        json_t *once = json_merge_patch(target, patch);
        json_t *twice = json_merge_patch(once, patch);
        if (!json_equal(once, twice)) abort();
        if (!json_equal(before, target)) abort();
        json_decref(once);
        json_decref(twice);
        json_decref(before);
    }
    json_decref(target);
    json_decref(patch);
    return 0;
}
