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

/* ---- YAML to JSON ------------------------------------------------------- */

static json_t *node_to_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    if (!n || depth > 64) return NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return json_stringn((const char *)n->data.scalar.value, n->data.scalar.length);
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
            json_t *v = node_to_json(doc, yaml_document_get_node(doc, *i), depth + 1);
            if (v) json_array_append_new(a, v);
        }
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) continue;
            json_t *v = node_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1);
            char *key = strndup((const char *)k->data.scalar.value, k->data.scalar.length);
            if (v && key) json_object_set_new(o, key, v);
            else json_decref(v);
            free(key);
        }
        return o;
    }
    default:
        return NULL;
    }
}

static json_t *yaml_parse(const char *text, size_t len, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) { snprintf(err, errlen, "out of memory"); return NULL; }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    json_t *out = NULL;
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(err, errlen, "kubeconfig is not valid YAML: %s (line %zu)", p.problem ? p.problem : "?",
                 p.problem_mark.line + 1);
    } else {
        out = node_to_json(&doc, yaml_document_get_root_node(&doc), 0);
        yaml_document_delete(&doc);
        if (!json_is_object(out)) {
            json_decref(out);
            out = NULL;
            snprintf(err, errlen, "kubeconfig is not a YAML mapping");
        }
    }
    yaml_parser_delete(&p);
    return out;
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

static char *file_text(const char *base, const char *path, const char *what, char *err, size_t errlen)
{
    char full[4096];
    if (path[0] == '/' || !base) snprintf(full, sizeof full, "%s", path);
    else snprintf(full, sizeof full, "%s/%s", base, path);
    char *t = sp_read_file(full, NULL);
    if (!t) snprintf(err, errlen, "cannot read %s file %s", what, full);
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
            char full[4096];
            snprintf(full, sizeof full, "%s%s%s", v[0] == '/' || !base ? "" : base, v[0] == '/' || !base ? "" : "/", v);
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
    char *text = sp_read_file(path, &n);
    if (!text) { snprintf(err, errlen, "cannot read kubeconfig %s", path); return -1; }
    char *copy = strdup(path);
    int rc = kube_cfg_from_kubeconfig(text, n, context, copy ? dirname(copy) : NULL, out, err, errlen);
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
    char *tok = sp_read_file(buf, NULL);
    if (!tok) { snprintf(err, errlen, "cannot read the service account token %s", buf); kube_cfg_free(out); return -1; }
    sp_wipe(tok, strlen(tok));
    free(tok);
    out->token_file = strdup(buf);
    snprintf(buf, sizeof buf, "%s/ca.crt", dir);
    out->ca_pem = sp_read_file(buf, NULL);
    if (!out->ca_pem) { snprintf(err, errlen, "cannot read the service account CA %s", buf); kube_cfg_free(out); return -1; }
    snprintf(buf, sizeof buf, "%s/namespace", dir);
    out->namespace_ = sp_read_file(buf, NULL);
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
