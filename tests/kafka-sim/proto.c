/* proto.c — Kafka wire primitives: a bounds-checked reader and a growable writer.
 *
 * Why this shape: request bytes come from arbitrary clients (tests send
 * garbage on purpose), so the reader is the single place that checks lengths.
 * It never reads past the frame; a short or lying field sets `bad` and all
 * later reads yield zero/NULL, so handlers can decode a whole request and
 * check `bad` once at the end. Array counts are checked against the bytes
 * left so a huge count cannot make a handler allocate or loop for long.
 * The writer only grows; an allocation failure sets `oom` and the connection
 * is closed by the caller. */
#define _GNU_SOURCE
#include "kfs_internal.h"

#include <stdlib.h>
#include <string.h>

void kfs_rd_init(kfs_rd *r, const void *p, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->len = len;
}

void kfs_rd_free(kfs_rd *r)
{
    for (size_t i = 0; i < r->narena; i++) free(r->arena[i]);
    free(r->arena);
    r->arena = NULL;
    r->narena = r->carena = 0;
}

static const uint8_t *take(kfs_rd *r, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}

int8_t kfs_rd_i8(kfs_rd *r)
{
    const uint8_t *q = take(r, 1);
    return q ? (int8_t)q[0] : 0;
}

int16_t kfs_rd_i16(kfs_rd *r)
{
    const uint8_t *q = take(r, 2);
    return q ? (int16_t)(((uint16_t)q[0] << 8) | q[1]) : 0;
}

int32_t kfs_rd_i32(kfs_rd *r)
{
    const uint8_t *q = take(r, 4);
    if (!q) return 0;
    return (int32_t)(((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3]);
}

int64_t kfs_rd_i64(kfs_rd *r)
{
    const uint8_t *q = take(r, 8);
    if (!q) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | q[i];
    return (int64_t)v;
}

bool kfs_rd_bool(kfs_rd *r)
{
    return kfs_rd_i8(r) != 0;
}

uint32_t kfs_rd_uvarint(kfs_rd *r)
{
    uint32_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        const uint8_t *q = take(r, 1);
        if (!q) return 0;
        v |= (uint32_t)(q[0] & 0x7f) << shift;
        if (!(q[0] & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

static void *arena_keep(kfs_rd *r, void *p)
{
    if (!p) {
        r->bad = true;
        return NULL;
    }
    if (r->narena == r->carena) {
        size_t nc = r->carena ? r->carena * 2 : 16;
        void **na = realloc(r->arena, nc * sizeof *na);
        if (!na) {
            free(p);
            r->bad = true;
            return NULL;
        }
        r->arena = na;
        r->carena = nc;
    }
    r->arena[r->narena++] = p;
    return p;
}

char *kfs_rd_str(kfs_rd *r, bool nullable)
{
    int16_t n = kfs_rd_i16(r);
    if (r->bad) return NULL;
    if (n < 0) {
        if (n != -1 || !nullable) r->bad = true;
        return NULL;
    }
    const uint8_t *q = take(r, (size_t)n);
    if (!q) return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, q, (size_t)n);
        s[n] = 0;
    }
    return arena_keep(r, s);
}

void kfs_rd_skip_bytes(kfs_rd *r)
{
    int32_t n = kfs_rd_i32(r);
    if (n > 0) take(r, (size_t)n);
    else if (n < -1) r->bad = true;
}

void kfs_rd_skip_tags(kfs_rd *r)
{
    uint32_t n = kfs_rd_uvarint(r);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        kfs_rd_uvarint(r); /* tag */
        uint32_t sz = kfs_rd_uvarint(r);
        take(r, sz);
    }
}

int32_t kfs_rd_array(kfs_rd *r, bool nullable, size_t min_elem)
{
    int32_t n = kfs_rd_i32(r);
    if (r->bad) return 0;
    if (n < 0) {
        if (n != -1 || !nullable) r->bad = true;
        return r->bad ? 0 : -1;
    }
    if (min_elem == 0) min_elem = 1;
    if ((size_t)n > (r->len - r->off) / min_elem) {
        r->bad = true;
        return 0;
    }
    return n;
}

char **kfs_rd_str_array(kfs_rd *r, bool nullable, int32_t *n)
{
    *n = kfs_rd_array(r, nullable, 2);
    if (*n <= 0) return NULL;
    char **v = calloc((size_t)*n, sizeof *v);
    for (int32_t i = 0; v && i < *n; i++) v[i] = kfs_rd_str(r, false);
    return v;
}

/* ---- writer ---- */

void kfs_wr_free(kfs_wr *w)
{
    free(w->p);
    memset(w, 0, sizeof *w);
}

static uint8_t *room(kfs_wr *w, size_t n)
{
    if (w->oom) return NULL;
    if (w->cap - w->len < n) {
        size_t nc = w->cap ? w->cap : 256;
        while (nc - w->len < n) nc *= 2;
        uint8_t *np = realloc(w->p, nc);
        if (!np) {
            w->oom = true;
            return NULL;
        }
        w->p = np;
        w->cap = nc;
    }
    uint8_t *q = w->p + w->len;
    w->len += n;
    return q;
}

static void put_be(uint8_t *q, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        q[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

void kfs_wr_i8(kfs_wr *w, int8_t v)
{
    uint8_t *q = room(w, 1);
    if (q) q[0] = (uint8_t)v;
}

void kfs_wr_i16(kfs_wr *w, int16_t v)
{
    uint8_t *q = room(w, 2);
    if (q) put_be(q, (uint16_t)v, 2);
}

void kfs_wr_i32(kfs_wr *w, int32_t v)
{
    uint8_t *q = room(w, 4);
    if (q) put_be(q, (uint32_t)v, 4);
}

void kfs_wr_i64(kfs_wr *w, int64_t v)
{
    uint8_t *q = room(w, 8);
    if (q) put_be(q, (uint64_t)v, 8);
}

void kfs_wr_bool(kfs_wr *w, bool v)
{
    kfs_wr_i8(w, v ? 1 : 0);
}

void kfs_wr_str(kfs_wr *w, const char *s)
{
    if (!s) {
        kfs_wr_i16(w, -1);
        return;
    }
    size_t n = strlen(s);
    if (n > 32767) n = 32767;
    kfs_wr_i16(w, (int16_t)n);
    uint8_t *q = room(w, n);
    if (q) memcpy(q, s, n);
}

void kfs_wr_bytes(kfs_wr *w, const void *p, int32_t n)
{
    if (!p || n < 0) {
        kfs_wr_i32(w, -1);
        return;
    }
    kfs_wr_i32(w, n);
    uint8_t *q = room(w, (size_t)n);
    if (q && n) memcpy(q, p, (size_t)n);
}

size_t kfs_wr_mark(kfs_wr *w)
{
    size_t at = w->len;
    kfs_wr_i32(w, 0);
    return at;
}

void kfs_wr_patch(kfs_wr *w, size_t at, int32_t v)
{
    if (w->oom || at + 4 > w->len) return;
    put_be(w->p + at, (uint32_t)v, 4);
}
