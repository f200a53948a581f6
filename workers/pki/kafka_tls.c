/* kafka_tls.c — Kafka's PEM key store and trust store text (kafka_tls.h). */
#include "kafka_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string whose old buffers are wiped (they may hold a key). */
typedef struct sbuf { char *s; size_t n, cap; bool failed; } sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *t = malloc(cap);
        if (!t) { b->failed = true; return; }
        if (b->s) { memcpy(t, b->s, b->n); pki_pem_free(b->s); }
        b->s = t; b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static pki_err sb_done(sbuf *b, char **out)
{
    if (b->failed || !b->s) { pki_pem_free(b->s); return PKI_ERR_NOMEM; }
    *out = b->s;
    return PKI_OK;
}

static bool pem_ok(const char *pem)
{
    size_t n = pem ? strnlen(pem, PKI_PEM_MAX + 1) : 0;
    return n > 0 && n <= PKI_PEM_MAX;
}

static void escape_into(sbuf *b, const char *pem)
{
    for (const char *c = pem; *c; c++) {
        if (*c == '\\') sb_str(b, "\\\\");
        else if (*c == '\r') continue;
        else if (*c == '\n') sb_str(b, c[1] ? "\\n\\\n" : "\\n");
        else sb_put(b, c, 1);
    }
}

pki_err pki_kafka_props_escape(const char *pem, char **out)
{
    if (!out) return PKI_ERR_INVALID;
    if (!pem_ok(pem)) return PKI_ERR_PEM;
    sbuf b = {0};
    escape_into(&b, pem);
    return sb_done(&b, out);
}

static void prop(sbuf *b, const char *prefix, const char *key, const char *pem, const char *plain)
{
    sb_str(b, prefix);
    sb_str(b, key);
    sb_str(b, "=");
    if (pem) escape_into(b, pem); else sb_str(b, plain);
    sb_str(b, "\n");
}

pki_err pki_kafka_ssl_props(const pki_kafka_tls *t, const char *prefix, char **out)
{
    if (!t || !prefix || !out || strlen(prefix) > 128 || strpbrk(prefix, "=:\\\n\r #!"))
        return PKI_ERR_INVALID;
    if (!pem_ok(t->chain_pem) || !pem_ok(t->key_pem) || !pem_ok(t->ca_pem)) return PKI_ERR_PEM;
    sbuf b = {0};
    prop(&b, prefix, "ssl.keystore.type", NULL, "PEM");
    prop(&b, prefix, "ssl.keystore.certificate.chain", t->chain_pem, NULL);
    prop(&b, prefix, "ssl.keystore.key", t->key_pem, NULL);
    prop(&b, prefix, "ssl.truststore.type", NULL, "PEM");
    prop(&b, prefix, "ssl.truststore.certificates", t->ca_pem, NULL);
    prop(&b, prefix, "ssl.client.auth", NULL, "required");
    return sb_done(&b, out);
}

pki_err pki_kafka_keystore_file(const pki_kafka_tls *t, char **out)
{
    if (!t || !out) return PKI_ERR_INVALID;
    if (!pem_ok(t->chain_pem) || !pem_ok(t->key_pem)) return PKI_ERR_PEM;
    sbuf b = {0};
    sb_str(&b, t->key_pem);
    if (b.n && b.s[b.n - 1] != '\n') sb_str(&b, "\n");
    sb_str(&b, t->chain_pem);
    return sb_done(&b, out);
}
