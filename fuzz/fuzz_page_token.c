/* fuzz_page_token.c — page_size and page_token as a client sends them
 * (api_page_begin in api/common.c): any query string either answers 400
 * with a problem or gives a page size of 1-500 and a non-negative
 * position; and a token the server issues is always accepted back. */
#include "../api/api.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    char *size_part = strchr(s, '&');     /* "<token>&<page_size>" */
    if (size_part) *size_part++ = 0;
    api_req rq = {0};
    rq.query[rq.nquery].k = "page_token";
    rq.query[rq.nquery++].v = s;
    if (size_part) {
        rq.query[rq.nquery].k = "page_size";
        rq.query[rq.nquery++].v = size_part;
    }
    api_resp w = {0};
    page p;
    if (api_page_begin(&rq, &w, "clusters", &p)) {
        if (p.size < 1 || p.size > 500 || p.after < 0 || w.body) abort();
        /* the token for the next page round-trips */
        json_t *list = json_object();
        api_page_end(&p, list, p.size + 1, p.after + 7);
        api_req again = {0};
        again.query[0].k = "page_token";
        again.query[0].v = json_string_value(json_object_get(list, "next_page_token"));
        again.nquery = 1;
        page q;
        api_resp w2 = {0};
        if (!again.query[0].v || !api_page_begin(&again, &w2, "clusters", &q) || q.after != p.after + 7) abort();
        json_decref(list);
    } else if (w.status != 400 || !w.body) {
        abort();
    }
    json_decref(w.body);
    free(s);
    return 0;
}
