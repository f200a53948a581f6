/* planes.c — data planes: the Kubernetes clusters tenants' Kafka runs on.
 *
 * Credentials (a bearer token or an inline kubeconfig) are write-only: they
 * are sealed with AES-256-GCM under the master key (the plane id is the
 * associated data, so a sealed blob cannot be moved to another row) and
 * never returned; status.credentials tells which kind is set and a
 * fingerprint so a client can see that a rotation took. Changing the
 * server or its TLS settings needs the token again (else the stored one
 * would go to the new place). An http:// server or skipped TLS verification
 * needs the operator's explicit allow_insecure_transport, shown as
 * status.insecure_transport; a kubeconfig must be self-contained. */
#define _GNU_SOURCE
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SECRET_FIELDS[] = {"token", "kubeconfig", NULL};

static void validate(const json_t *spec, verrs *v)
{
    static const char *const fields[] = {"name", "region", "zones", "capacity", "kubernetes",
                                         "kafka_access", "allow_insecure_transport", NULL};
    v_known_keys(v, "", spec, fields);
    json_t *x = json_object_get(spec, "name");
    if (!x) verr(v, "name", "is required");
    else v_dns_label(v, "name", x, 40, NULL, 0);
    if ((x = json_object_get(spec, "region"))) v_dns_label(v, "region", x, 63, NULL, 0);
    if ((x = json_object_get(spec, "zones"))) {
        if (!json_is_array(x) || json_array_size(x) < 1 || json_array_size(x) > 6)
            verr(v, "zones", "must be an array of 1 to 6 zone names");
        else {
            size_t i; json_t *z;
            json_array_foreach(x, i, z) {
                char f[32];
                snprintf(f, sizeof f, "zones[%zu]", i);
                if (!v_dns_label(v, f, z, 63, NULL, 0)) continue;
                for (size_t j = 0; j < i; j++)
                    if (json_equal(z, json_array_get(x, j))) verr(v, f, "repeats an earlier zone");
            }
        }
    }
    if ((x = json_object_get(spec, "capacity"))) {
        static const char *const cf[] = {"max_brokers", NULL};
        if (!json_is_object(x)) verr(v, "capacity", "must be an object");
        else {
            v_known_keys(v, "capacity", x, cf);
            json_t *mb = json_object_get(x, "max_brokers");
            if (mb) v_int_range(v, "capacity.max_brokers", mb, 1, 100000, NULL);
        }
    }
    static const char *const access[] = {"in_cluster_dns", "external", NULL};
    if ((x = json_object_get(spec, "kafka_access"))) v_enum(v, "kafka_access", x, access, NULL);
    if ((x = json_object_get(spec, "allow_insecure_transport"))) v_bool(v, "allow_insecure_transport", x, NULL);
    bool insecure_ok = json_is_true(json_object_get(spec, "allow_insecure_transport"));

    json_t *k = json_object_get(spec, "kubernetes");
    if (!k) { verr(v, "kubernetes", "is required: {server, token, ca_data}, {kubeconfig} or {in_cluster: true}"); return; }
    if (!json_is_object(k)) { verr(v, "kubernetes", "must be an object"); return; }
    static const char *const kf[] = {"server", "token", "ca_data", "insecure_skip_tls_verify",
                                     "kubeconfig", "in_cluster", NULL};
    v_known_keys(v, "kubernetes", k, kf);
    bool has_server = json_object_get(k, "server"), has_cfg = json_object_get(k, "kubeconfig");
    bool in_cluster = json_is_true(json_object_get(k, "in_cluster"));
    if ((x = json_object_get(k, "in_cluster"))) v_bool(v, "kubernetes.in_cluster", x, NULL);
    if ((x = json_object_get(k, "insecure_skip_tls_verify"))) v_bool(v, "kubernetes.insecure_skip_tls_verify", x, NULL);
    int kinds = has_server + has_cfg + in_cluster;
    if (kinds != 1) {
        verr(v, "kubernetes", "give exactly one of: server (with token and ca_data), kubeconfig, in_cluster: true");
        return;
    }
    if (has_server) {
        const char *s = NULL;
        if (v_string(v, "kubernetes.server", json_object_get(k, "server"), 2048, &s) &&
            strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
            verr(v, "kubernetes.server", "must be an http(s):// URL");
        else if (s && strncmp(s, "http://", 7) == 0 && !insecure_ok)
            verr(v, "kubernetes.server", "is http://, so the token would travel in clear text: use https://, "
                                         "or set allow_insecure_transport: true on this data plane");
        if (json_is_true(json_object_get(k, "insecure_skip_tls_verify")) && !insecure_ok)
            verr(v, "kubernetes.insecure_skip_tls_verify", "turns off TLS verification, so anyone in between could "
                                                          "read the token: give ca_data, or set "
                                                          "allow_insecure_transport: true on this data plane");
        json_t *t = json_object_get(k, "token");
        if (!t) verr(v, "kubernetes.token", "is required with server");
        else v_string(v, "kubernetes.token", t, 16384, NULL);
        json_t *ca = json_object_get(k, "ca_data");
        if (ca && v_text(v, "kubernetes.ca_data", ca, 65536, NULL)) {
            size_t n = json_string_length(ca);
            unsigned char *buf = malloc(n + 1);
            long dn = buf ? sp_b64_decode(json_string_value(ca), buf, n) : -1;
            if (dn <= 0 || !memmem(buf, (size_t)dn, "-----BEGIN CERTIFICATE-----", 27))
                verr(v, "kubernetes.ca_data", "must be base64 of a PEM certificate");
            free(buf);
        }
        if (!ca && !json_is_true(json_object_get(k, "insecure_skip_tls_verify")) &&
            s && strncmp(s, "https://", 8) == 0)
            verr(v, "kubernetes.ca_data", "is required for https unless insecure_skip_tls_verify is true");
    } else if (has_cfg) {
        v_text(v, "kubernetes.kubeconfig", json_object_get(k, "kubeconfig"), 262144, NULL);
        if (json_is_string(json_object_get(k, "kubeconfig")) &&
            !strstr(json_string_value(json_object_get(k, "kubeconfig")), "clusters"))
            verr(v, "kubernetes.kubeconfig", "does not look like a kubeconfig (no clusters section)");
    }
}

/* Splits secret fields out of spec.kubernetes into a new object. */
static json_t *take_secrets(json_t *spec)
{
    json_t *sec = json_object();
    json_t *k = json_object_get(spec, "kubernetes");
    for (int i = 0; SECRET_FIELDS[i] && k; i++) {
        json_t *x = json_object_get(k, SECRET_FIELDS[i]);
        if (x) { json_object_set(sec, SECRET_FIELDS[i], x); json_object_del(k, SECRET_FIELDS[i]); }
    }
    return sec;
}

static int seal(const api_env *env, const char *id, const json_t *sec, store_res *r)
{
    char *txt = json_dumps(sec, JSON_COMPACT | JSON_SORT_KEYS);
    if (!txt) return -1;
    free(r->secret);
    r->secret = NULL;
    int rc = sp_seal(env->master_key, txt, strlen(txt), id, &r->secret, &r->secret_len);
    sp_wipe(txt, strlen(txt));
    free(txt);
    return rc;
}

static json_t *unseal(const api_env *env, const store_res *r)
{
    unsigned char *pt;
    size_t n;
    if (!r->secret || sp_open(env->master_key, r->secret, r->secret_len, r->id, &pt, &n) != 0)
        return NULL;
    json_t *j = json_loadb((char *)pt, n, 0, NULL);
    sp_wipe(pt, n);
    free(pt);
    return j;
}

json_t *api_plane_spec_with_secrets(const api_env *env, const store_res *dp)
{
    json_t *sec = unseal(env, dp);
    if (!sec) return NULL;
    json_t *spec = json_deep_copy(dp->spec);
    json_t *k = json_object_get(spec, "kubernetes");
    if (!json_is_object(k)) json_object_set_new(spec, "kubernetes", k = json_object());
    json_object_update(k, sec);
    json_decref(sec);
    return spec;
}

/* The kind of credential a spec (with its secrets still in) carries. */
static const char *cred_kind(const json_t *spec)
{
    const json_t *k = json_object_get(spec, "kubernetes");
    if (json_object_get(k, "kubeconfig")) return "kubeconfig";
    if (json_is_true(json_object_get(k, "in_cluster"))) return "in_cluster";
    return "token";
}

/* Stored status: what only the server knows about the credentials. */
static void set_cred_status(store_res *r, const char *kind)
{
    json_t *cred = json_pack("{s:s}", "kind", kind);
    if (r->secret) {
        unsigned char h[32];
        char hex[65], fp[80];
        sp_sha256(r->secret, r->secret_len, h);   /* of the sealed blob: changes on every rotation */
        sp_hex(h, 8, hex);
        snprintf(fp, sizeof fp, "sha256:%s", hex);
        json_object_set_new(cred, "fingerprint", json_string(fp));
    }
    if (!r->status) r->status = json_object();
    json_object_set_new(r->status, "credentials", cred);
}

/* What the last reachability check saw (at registration or when the way
 * to reach it changed). */
static void set_reached(store_res *r)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    if (!r->status) r->status = json_object();
    json_object_set_new(r->status, "reachable", json_string("True"));
    json_object_set_new(r->status, "last_checked_at", json_string(now));
}

/* Status as answered: the stored part plus live counts. */
static json_t *plane_status(api_req *rq, const store_res *r)
{
    json_t *st = json_deep_copy(r->status);
    if (!json_object_get(st, "reachable")) json_object_set_new(st, "reachable", json_string("Unknown"));
    int64_t n = 0, b = 0;
    store_count_clusters_on_plane(rq->env->store, r->id, &n, &b);
    json_t *mb = json_object_get(json_object_get(r->spec, "capacity"), "max_brokers");
    json_object_set_new(st, "clusters", json_integer(n));
    json_object_set_new(st, "used_brokers", json_integer(b));
    json_object_set_new(st, "max_brokers", json_integer(json_is_integer(mb) ? json_integer_value(mb) : 300));
    const char *access = json_string_value(json_object_get(r->spec, "kafka_access"));
    json_object_set_new(st, "kafka_access", json_string(access ? access : "in_cluster_dns"));
    json_object_set_new(st, "insecure_transport", json_boolean(json_is_true(json_object_get(r->spec, "allow_insecure_transport"))));
    return st;
}

/* Before a data plane is accepted, its API server must answer. The check
 * (up to 5 s) runs in the route's prepare step, before the write
 * transaction: inside it, it held the single writer and stalled every
 * tenant's writes. The handler then only compares: what was reached must
 * be what is stored. */
static void probe_before(api_req *rq, api_resp *w, const json_t *spec_with_secrets)
{
    if (!rq->env->probe_plane) return;
    char err[600];
    int rc = rq->env->probe_plane(spec_with_secrets, 5000, err, sizeof err);
    if (rc != 0) {
        verrs v = {0};
        bool cfg = json_object_get(json_object_get(spec_with_secrets, "kubernetes"), "kubeconfig") != NULL;
        if (rc == -2) verr(&v, cfg ? "kubernetes.kubeconfig" : "kubernetes", "%s", err);
        else verr(&v, "kubernetes", "cannot reach the Kubernetes API server: %s", err);
        api_fail_fields(w, &v, NULL);
        return;
    }
    json_decref(rq->prepared);
    rq->prepared = json_pack("{s:O}", "reached", spec_with_secrets);
}

/* The check was made with what is about to be stored: the way to reach
 * the API server and whether insecure transport is allowed. */
static bool same_reach(const json_t *a, const json_t *b)
{
    return json_same(json_object_get(a, "kubernetes"), json_object_get(b, "kubernetes")) &&
           json_same(json_object_get(a, "allow_insecure_transport"), json_object_get(b, "allow_insecure_transport"));
}

static bool reachable(api_req *rq, api_resp *w, const json_t *spec_with_secrets)
{
    if (!rq->env->probe_plane) return true;
    const json_t *reached = rq->prepared ? json_object_get(rq->prepared, "reached") : NULL;
    if (reached && same_reach(reached, spec_with_secrets)) return true;
    api_problem(w, 409, "data-plane-changed",
                "the data plane changed while its API server was being checked; send the request again");
    return false;
}

/* Changing where or how the credentials are sent (server, CA, TLS
 * verification) without giving them again would send the stored ones to
 * the new place: the patch must carry them. */
static void require_credentials_again(const json_t *old_k, const json_t *new_k, const json_t *patch, verrs *v)
{
    static const char *const where[] = {"server", "ca_data", "insecure_skip_tls_verify", NULL};
    const json_t *pk = json_object_get(patch, "kubernetes");
    if (!json_object_get(new_k, "server") || json_object_get(pk, "token")) return;
    for (int i = 0; where[i]; i++) {
        const json_t *a = json_object_get(old_k, where[i]), *b = json_object_get(new_k, where[i]);
        bool same = json_is_boolean(a) || json_is_boolean(b) ? json_is_true(a) == json_is_true(b) : json_same(a, b);
        if (!same) {
            verr(v, "kubernetes.token", "is required again when kubernetes.%s changes, so the stored token is "
                                        "never sent anywhere it was not given for", where[i]);
            return;
        }
    }
}

static void answer(api_req *rq, api_resp *w, int code, const store_res *r)
{
    json_t *o = json_deep_copy(r->spec);
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "status", plane_status(rq, r));
    api_res_meta(o, r);
    api_set_etag(w, r->resource_version);
    api_json(w, code, o);
}

void api_plane_create_prepare(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    json_t *spec = json_deep_copy(rq->body);
    api_strip_server_fields(spec, NULL);
    verrs v = {0};
    validate(spec, &v);
    if (verr_any(&v)) api_fail_fields(w, &v, NULL);
    else probe_before(rq, w, spec);
    json_decref(spec);
}

void api_plane_create(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    json_t *spec = json_deep_copy(rq->body);
    api_strip_server_fields(spec, NULL);
    verrs v = {0};
    validate(spec, &v);
    if (verr_any(&v)) { json_decref(spec); api_fail_fields(w, &v, NULL); return; }
    if (!reachable(rq, w, spec)) { json_decref(spec); return; }
    store_res r = {0};
    sp_id_new("dp", r.id);
    snprintf(r.name, sizeof r.name, "%s", json_string_value(json_object_get(spec, "name")));
    const char *kind = cred_kind(spec);
    json_t *sec = take_secrets(spec);
    r.spec = spec;
    r.generation = 1;
    sp_now_rfc3339(r.created_at);
    int rc = ST_ERROR;
    if (seal(rq->env, r.id, sec, &r) == 0) {
        set_cred_status(&r, kind);
        if (rq->env->probe_plane) set_reached(&r);
        rc = store_res_insert(rq->env->store, K_DATA_PLANE, &r);
    }
    json_decref(sec);
    if (rc == ST_CONFLICT) api_problem(w, 409, "name-taken", "a data plane named '%s' already exists", r.name);
    else if (rc != ST_OK) api_store_error(w, rc, "creating the data plane");
    else {
        snprintf(w->location, sizeof w->location, "/v1/data-planes/%s", r.id);
        answer(rq, w, 201, &r);
    }
    store_res_clear(&r);
}

void api_plane_list(api_req *rq, api_resp *w)
{
    page p;
    if (!api_page_begin(rq, w, "data-planes", &p)) return;
    store_res *list;
    int n;
    int rc = store_res_list(rq->env->store, K_DATA_PLANE, NULL, p.after, p.size + 1, &list, &n);
    if (rc != ST_OK) { api_store_error(w, rc, "listing data planes"); return; }
    json_t *items = json_array();
    for (int i = 0; i < n && i < p.size; i++) {
        api_resp one = {0};
        answer(rq, &one, 200, &list[i]);
        json_array_append_new(items, one.body);
    }
    json_t *out = json_pack("{s:o}", "items", items);
    API_PAGE_END(p, out, n, list);
    store_res_free_list(list, n);
    api_json(w, 200, out);
}

static bool load(api_req *rq, api_resp *w, store_res *r)
{
    int rc = store_res_get(rq->env->store, K_DATA_PLANE, rq->params[0], NULL, r);
    if (rc == ST_NOTFOUND) { api_not_found(w, "data plane", rq->params[0]); return false; }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the data plane"); return false; }
    return true;
}

void api_plane_get(api_req *rq, api_resp *w)
{
    store_res r;
    if (!load(rq, w, &r)) return;
    answer(rq, w, 200, &r);
    store_res_clear(&r);
}

/* The whole spec a PATCH asks for, secrets merged in (new reference into
 * *spec), and whether it changes how the data plane is reached; false
 * after answering. */
static bool patched_spec(api_req *rq, api_resp *w, const store_res *r, json_t **spec, bool *moved)
{
    *spec = NULL;
    json_t *sec = unseal(rq->env, r);
    if (!sec) {
        api_problem(w, 500, "sealed-credentials", "the stored credentials cannot be opened with this master key");
        return false;
    }
    /* merge the patch into the full view (spec plus secrets), then split again */
    json_t *full = json_deep_copy(r->spec);
    json_t *k = json_object_get(full, "kubernetes");
    if (json_is_object(k)) json_object_update(k, sec);
    json_decref(sec);
    json_t *patch = json_deep_copy(rq->body);
    api_strip_server_fields(patch, NULL);
    json_t *out = json_merge_patch(full, patch);
    /* only a change of how to reach it is checked: a down data plane can still be renamed or resized */
    *moved = !same_reach(full, out);
    verrs v = {0};
    validate(out, &v);
    require_credentials_again(json_object_get(full, "kubernetes"), json_object_get(out, "kubernetes"), patch, &v);
    json_decref(full);
    json_decref(patch);
    const char *nn = json_string_value(json_object_get(out, "name"));
    if (nn && strcmp(nn, r->name) != 0) verr(&v, "name", "cannot change");
    if (verr_any(&v)) { json_decref(out); api_fail_fields(w, &v, NULL); return false; }
    *spec = out;
    return true;
}

void api_plane_patch_prepare(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    store_res r;
    if (!load(rq, w, &r)) return;
    json_t *spec;
    bool moved;
    if (patched_spec(rq, w, &r, &spec, &moved) && moved) probe_before(rq, w, spec);
    json_decref(spec);
    store_res_clear(&r);
}

void api_plane_patch(api_req *rq, api_resp *w)
{
    if (!api_require_body(rq, w)) return;
    store_res r;
    if (!load(rq, w, &r)) return;
    int64_t expect;
    json_t *spec = NULL;
    bool moved = false;
    bool ok = api_expected_version(rq, w, r.resource_version, &expect) &&
              patched_spec(rq, w, &r, &spec, &moved) && (!moved || reachable(rq, w, spec));
    if (!ok) { json_decref(spec); store_res_clear(&r); return; }
    const char *kind = cred_kind(spec);
    json_t *sec = take_secrets(spec);
    json_t *old_sec = unseal(rq->env, &r);
    bool same = json_equal(spec, r.spec) && old_sec && json_equal(sec, old_sec);
    json_decref(old_sec);
    if (same) {
        json_decref(spec); json_decref(sec);
        answer(rq, w, 200, &r);
        store_res_clear(&r);
        return;
    }
    json_decref(r.spec);
    r.spec = spec;
    r.generation++;
    int rc = ST_ERROR;
    if (seal(rq->env, r.id, sec, &r) == 0) {
        set_cred_status(&r, kind);
        if (moved && rq->env->probe_plane) set_reached(&r);
        rc = store_res_update(rq->env->store, K_DATA_PLANE, &r, expect);
    }
    json_decref(sec);
    if (rc == ST_STALE) api_problem(w, 412, "precondition-failed", "the data plane changed meanwhile; read it again");
    else if (rc != ST_OK) api_store_error(w, rc, "updating the data plane");
    else answer(rq, w, 200, &r);
    store_res_clear(&r);
}

void api_plane_delete(api_req *rq, api_resp *w)
{
    store_res r;
    if (!load(rq, w, &r)) return;
    int64_t expect, n = 0, b = 0;
    if (!api_expected_version(rq, w, r.resource_version, &expect)) { store_res_clear(&r); return; }
    int rc = store_count_clusters_on_plane(rq->env->store, r.id, &n, &b);
    if (rc == ST_OK && n > 0)
        api_problem(w, 409, "data-plane-in-use", "data plane %s still hosts %lld cluster(s)", r.id, (long long)n);
    else if (rc == ST_OK && (rc = store_res_delete(rq->env->store, K_DATA_PLANE, r.id)) == ST_OK)
        w->status = 204;
    else
        api_store_error(w, rc, "deleting the data plane");
    store_res_clear(&r);
}
