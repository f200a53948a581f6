/* kubeconfig.c — kubeconfig files parsed with libyaml into a small JSON
 * tree (every scalar a string), then read the way kubectl does: the named
 * or current context picks a cluster and a user. */
#define _GNU_SOURCE
#include "kubeconfig.h"
#include "../../common/util.h"

#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void kube_cfg_free(kube_cfg *c)
{
    if (!c) return;
    free(c->server);
    if (c->token) sp_wipe(c->token, strlen(c->token));
    free(c->token);
    free(c->token_file);
    free(c->ca_pem);
    free(c->ca_file);
    free(c->cert_pem);
    if (c->key_pem) sp_wipe(c->key_pem, strlen(c->key_pem));
    free(c->key_pem);
    free(c->namespace_);
    memset(c, 0, sizeof *c);
}

/* ---- YAML to JSON ------------------------------------------------------- *
 *
 * Event by event, so nothing is ever expanded: an alias (*name) is refused
 * outright (kubeconfigs never need one, and a "billion laughs" or a
 * self-referencing alias would otherwise expand without end), and the tree
 * is bounded by KCFG_MAX_NODES nodes and KCFG_MAX_DEPTH levels. Cost: one
 * JSON node per YAML node, at most KCFG_MAX_NODES of them. */
#define KCFG_MAX_NODES 20000
#define KCFG_MAX_DEPTH 32

typedef struct ybuild {
    json_t *stack[KCFG_MAX_DEPTH + 1];   /* open sequences and mappings */
    char *key[KCFG_MAX_DEPTH + 1];       /* a mapping's key waiting for its value */
    int depth;
    long nodes;
    json_t *root;
} ybuild;

/* Adds v (stolen) to the open container, or makes it the root. */
static int yadd(ybuild *b, json_t *v, char *err, size_t errlen)
{
    if (++b->nodes > KCFG_MAX_NODES) {
        json_decref(v);
        snprintf(err, errlen, "kubeconfig has more than %d YAML nodes", KCFG_MAX_NODES);
        return -1;
    }
    if (b->depth == 0) { json_decref(b->root); b->root = v; return 0; }
    json_t *top = b->stack[b->depth - 1];
    if (json_is_array(top)) return json_array_append_new(top, v);
    char **k = &b->key[b->depth - 1];
    if (!*k) {                                   /* this is a key */
        if (!json_is_string(v)) {
            json_decref(v);
            snprintf(err, errlen, "kubeconfig has a mapping key that is not a plain string");
            return -1;
        }
        *k = strdup(json_string_value(v));
        json_decref(v);
        return *k ? 0 : -1;
    }
    int rc = json_object_set_new(top, *k, v);
    free(*k);
    *k = NULL;
    return rc;
}

/* One parser event; 1 at the end of the first document, -1 on error. */
static int yevent(ybuild *b, const yaml_event_t *e, char *err, size_t errlen)
{
    switch (e->type) {
    case YAML_ALIAS_EVENT:
        snprintf(err, errlen, "kubeconfig uses a YAML alias (*%s); kubeconfigs never need one, write the value out",
                 (const char *)e->data.alias.anchor);
        return -1;
    case YAML_SCALAR_EVENT:
        return yadd(b, json_stringn((const char *)e->data.scalar.value, e->data.scalar.length), err, errlen);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if (b->depth >= KCFG_MAX_DEPTH) {
            snprintf(err, errlen, "kubeconfig is nested more than %d levels deep", KCFG_MAX_DEPTH);
            return -1;
        }
        json_t *c = e->type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
        if (!c || yadd(b, json_incref(c), err, errlen) != 0) { json_decref(c); return -1; }
        b->stack[b->depth] = c;                  /* the reference yadd did not take */
        b->key[b->depth++] = NULL;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth == 0) return -1;
        b->depth--;
        json_decref(b->stack[b->depth]);
        free(b->key[b->depth]);
        b->key[b->depth] = NULL;
        return 0;
    case YAML_DOCUMENT_END_EVENT:
    case YAML_STREAM_END_EVENT:
        return 1;
    default:
        return 0;
    }
}

static json_t *yaml_parse(const char *text, size_t len, char *err, size_t errlen)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) { snprintf(err, errlen, "out of memory"); return NULL; }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    ybuild b = {0};
    err[0] = 0;
    int rc = 0;
    while (rc == 0) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            snprintf(err, errlen, "kubeconfig is not valid YAML: %s (line %zu)", p.problem ? p.problem : "?",
                     p.problem_mark.line + 1);
            rc = -1;
            break;
        }
        rc = yevent(&b, &e, err, errlen);
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    while (b.depth > 0) { b.depth--; json_decref(b.stack[b.depth]); free(b.key[b.depth]); }
    if (rc < 0) {
        if (!err[0]) snprintf(err, errlen, "kubeconfig is not valid YAML");
        json_decref(b.root);
        return NULL;
    }
    if (!json_is_object(b.root)) {
        json_decref(b.root);
        snprintf(err, errlen, "kubeconfig is not a YAML mapping");
        return NULL;
    }
    return b.root;
}

/* ---- reading the tree --------------------------------------------------- */

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The entry of list (clusters/users/contexts) with this name, its `field` member. */
static json_t *named(json_t *root, const char *list, const char *name, const char *field)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(root, list), i, e) {
        const char *n = str(e, "name");
        if (n && strcmp(n, name) == 0) return json_object_get(e, field);
    }
    return NULL;
}

static char *b64_text(const char *b64, const char *what, char *err, size_t errlen)
{
    size_t n = strlen(b64);
    unsigned char *buf = malloc(n + 1);
    long m = buf ? sp_b64_decode(b64, buf, n) : -1;
    if (m <= 0) {
        free(buf);
        snprintf(err, errlen, "%s is not valid base64", what);
        return NULL;
    }
    buf[m] = 0;
    return (char *)buf;
}

/* A kubeconfig given inline (base NULL) must be self-contained: a file
 * reference would read the server's own disk (its master key, say) and
 * send it wherever the kubeconfig points. */
static bool no_file(const char *base, const char *field, char *err, size_t errlen)
{
    if (base) return true;
    snprintf(err, errlen, "kubeconfig must be self-contained: '%s' names a file on the server; use token, "
                          "certificate-authority-data, client-certificate-data and client-key-data", field);
    return false;
}

#define KCFG_FILE_MAX (1 << 20)   /* a CA bundle or a certificate, generously */

static char *file_text(const char *base, const char *path, const char *what, char *err, size_t errlen)
{
    if (!no_file(base, what, err, errlen)) return NULL;
    char full[4096];
    if (path[0] == '/') snprintf(full, sizeof full, "%s", path);
    else snprintf(full, sizeof full, "%s/%s", base, path);
    char *t = sp_read_file_max(full, KCFG_FILE_MAX, NULL);
    if (!t) snprintf(err, errlen, "cannot read %s file %s (a regular file of at most %d bytes)", what, full,
                     KCFG_FILE_MAX);
    return t;
}

int kube_cfg_from_kubeconfig(const char *yaml, size_t len, const char *context, const char *base,
                             kube_cfg *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *root = yaml_parse(yaml, len, err, errlen);
    if (!root) return -1;
    int rc = -1;
    const char *ctxname = context ? context : str(root, "current-context");
    json_t *ctx = ctxname ? named(root, "contexts", ctxname, "context") : NULL;
    if (!ctxname || !*ctxname) { snprintf(err, errlen, "kubeconfig has no current-context; name one"); goto done; }
    if (!ctx) { snprintf(err, errlen, "kubeconfig has no context named '%s'", ctxname); goto done; }
    const char *cname = str(ctx, "cluster"), *uname = str(ctx, "user");
    json_t *cl = cname ? named(root, "clusters", cname, "cluster") : NULL;
    if (!cl) { snprintf(err, errlen, "context '%s' names cluster '%s', which is not in the kubeconfig", ctxname, cname ? cname : ""); goto done; }
    const char *server = str(cl, "server");
    if (!server || (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))) {
        snprintf(err, errlen, "cluster '%s' has no http(s) server", cname);
        goto done;
    }
    out->server = strdup(server);
    const char *ins = str(cl, "insecure-skip-tls-verify");
    out->insecure = ins && strcmp(ins, "true") == 0;
    const char *v;
    if ((v = str(cl, "certificate-authority-data")) && !(out->ca_pem = b64_text(v, "certificate-authority-data", err, errlen))) goto done;
    if ((v = str(cl, "certificate-authority")) && !(out->ca_pem = file_text(base, v, "certificate-authority", err, errlen))) goto done;
    if (ctx && str(ctx, "namespace")) out->namespace_ = strdup(str(ctx, "namespace"));

    json_t *user = uname ? named(root, "users", uname, "user") : NULL;
    if (uname && !user) { snprintf(err, errlen, "context '%s' names user '%s', which is not in the kubeconfig", ctxname, uname); goto done; }
    if (user) {
        if (json_object_get(user, "exec")) {
            snprintf(err, errlen, "user '%s' uses an exec credential plugin, which streamplane does not run; "
                                  "use a service account token or a client certificate", uname);
            goto done;
        }
        if (json_object_get(user, "auth-provider")) {
            snprintf(err, errlen, "user '%s' uses an auth-provider plugin, which streamplane does not support; "
                                  "use a service account token or a client certificate", uname);
            goto done;
        }
        if ((v = str(user, "token"))) out->token = strdup(v);
        if ((v = str(user, "tokenFile"))) {
            if (!no_file(base, "tokenFile", err, errlen)) goto done;
            char full[4096];
            snprintf(full, sizeof full, "%s%s%s", v[0] == '/' ? "" : base, v[0] == '/' ? "" : "/", v);
            out->token_file = strdup(full);
        }
        if ((v = str(user, "client-certificate-data")) && !(out->cert_pem = b64_text(v, "client-certificate-data", err, errlen))) goto done;
        if ((v = str(user, "client-certificate")) && !(out->cert_pem = file_text(base, v, "client-certificate", err, errlen))) goto done;
        if ((v = str(user, "client-key-data")) && !(out->key_pem = b64_text(v, "client-key-data", err, errlen))) goto done;
        if ((v = str(user, "client-key")) && !(out->key_pem = file_text(base, v, "client-key", err, errlen))) goto done;
        if (!out->cert_pem != !out->key_pem) {
            snprintf(err, errlen, "user '%s' has a client certificate without a key, or a key without a certificate", uname);
            goto done;
        }
    }
    rc = 0;
done:
    json_decref(root);
    if (rc != 0) kube_cfg_free(out);
    return rc;
}

int kube_cfg_from_kubeconfig_file(const char *path, const char *context, kube_cfg *out, char *err, size_t errlen)
{
    size_t n;
    char *text = sp_read_file_max(path, KCFG_FILE_MAX, &n);
    if (!text) { snprintf(err, errlen, "cannot read kubeconfig %s (a regular file of at most %d bytes)", path, KCFG_FILE_MAX); return -1; }
    char *copy = strdup(path);
    int rc = copy ? kube_cfg_from_kubeconfig(text, n, context, dirname(copy), out, err, errlen) : -1;
    free(copy);
    free(text);
    return rc;
}

int kube_cfg_in_cluster(const char *sa_dir, kube_cfg *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *dir = sa_dir ? sa_dir : "/var/run/secrets/kubernetes.io/serviceaccount";
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port) {
        snprintf(err, errlen, "not running inside Kubernetes: KUBERNETES_SERVICE_HOST/PORT are not set");
        return -1;
    }
    char buf[4096];
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, sizeof buf, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    out->server = strdup(buf);
    snprintf(buf, sizeof buf, "%s/token", dir);
    char *tok = sp_read_file_max(buf, KCFG_FILE_MAX, NULL);
    if (!tok) { snprintf(err, errlen, "cannot read the service account token %s", buf); kube_cfg_free(out); return -1; }
    sp_wipe(tok, strlen(tok));
    free(tok);
    out->token_file = strdup(buf);
    snprintf(buf, sizeof buf, "%s/ca.crt", dir);
    out->ca_pem = sp_read_file_max(buf, KCFG_FILE_MAX, NULL);
    if (!out->ca_pem) { snprintf(err, errlen, "cannot read the service account CA %s", buf); kube_cfg_free(out); return -1; }
    snprintf(buf, sizeof buf, "%s/namespace", dir);
    out->namespace_ = sp_read_file_max(buf, 4096, NULL);
    if (out->namespace_) out->namespace_[strcspn(out->namespace_, "\r\n")] = 0;
    return 0;
}

int kube_cfg_explicit(const char *server, const char *token, const char *ca_b64, bool insecure,
                      kube_cfg *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!server) { snprintf(err, errlen, "no server"); return -1; }
    out->server = strdup(server);
    if (token) out->token = strdup(token);
    out->insecure = insecure;
    if (ca_b64 && !(out->ca_pem = b64_text(ca_b64, "ca_data", err, errlen))) { kube_cfg_free(out); return -1; }
    return 0;
}
