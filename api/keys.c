/* keys.c — tenant API keys. The secret is shown once, at creation; the
 * store keeps a random salt and HMAC-SHA256(salt, secret). A bearer token is
 * "<key id>.<secret>", so authentication is one indexed lookup plus a
 * constant-time compare. Revoked keys stop working at once (no cache). */
#define _GNU_SOURCE
#include "api.h"

#include <stdio.h>
#include <string.h>

#define SECRET_BYTES 32

int api_key_hash(const unsigned char salt[16], const char *secret, unsigned char out[32])
{
    sp_hmac_sha256(salt, 16, secret, strlen(secret), out);
    return 0;
}

int api_key_authenticate(store_t *st, const char *token, principal *who)
{
    const char *dot = strchr(token, '.');
    if (!dot || dot - token >= SP_ID_MAX || strlen(dot + 1) != 43) return ST_NOTFOUND;
    char id[SP_ID_MAX];
    memcpy(id, token, (size_t)(dot - token));
    id[dot - token] = 0;
    if (!sp_id_valid(id, "key")) return ST_NOTFOUND;
    store_key k;
    int rc = store_key_get(st, id, NULL, &k);
    if (rc != ST_OK) return rc;
    unsigned char h[32];
    api_key_hash(k.salt, dot + 1, h);
    if (!sp_ct_equal(h, k.hash, 32)) return ST_NOTFOUND;
    if (k.expires_at[0]) {
        char now[SP_TS_MAX];
        sp_now_rfc3339(now);
        if (sp_parse_rfc3339(k.expires_at) <= sp_parse_rfc3339(now)) return ST_NOTFOUND;
    }
    who->kind = P_TENANT;
    snprintf(who->tenant_id, sizeof who->tenant_id, "%s", k.tenant_id);
    snprintf(who->key_id, sizeof who->key_id, "%s", k.id);
    return ST_OK;
}

static json_t *key_json(const store_key *k)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", k->id, "tenant_id", k->tenant_id,
                          "name", k->name, "created_at", k->created_at);
    if (k->expires_at[0]) json_object_set_new(o, "expires_at", json_string(k->expires_at));
    return o;
}

static bool tenant_exists(api_req *rq, api_resp *w)
{
    store_res t;
    int rc = store_res_get(rq->env->store, K_TENANT, rq->params[0], NULL, &t);
    if (rc == ST_NOTFOUND) { api_not_found(w, "tenant", rq->params[0]); return false; }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the tenant"); return false; }
    store_res_clear(&t);
    return true;
}

void api_key_create(api_req *rq, api_resp *w)
{
    if (rq->body && !json_is_object(rq->body)) {
        api_problem(w, 400, "body-not-object", "the JSON body must be an object");
        return;
    }
    if (!tenant_exists(rq, w)) return;
    store_key k = {0};
    verrs v = {0};
    json_t *b = rq->body;
    if (b) {
        static const char *const fields[] = {"name", "expires_at", NULL};
        v_known_keys(&v, "", b, fields);
    }
    json_t *name = b ? json_object_get(b, "name") : NULL;
    const char *nm = "default";
    if (name) v_string(&v, "name", name, 60, &nm);
    json_t *exp = b ? json_object_get(b, "expires_at") : NULL;
    if (exp) {
        const char *e = json_string_value(exp);
        char now[SP_TS_MAX];
        sp_now_rfc3339(now);
        if (!e || strlen(e) >= SP_TS_MAX || sp_parse_rfc3339(e) < 0)
            verr(&v, "expires_at", "must be an RFC 3339 timestamp");
        else if (sp_parse_rfc3339(e) <= sp_parse_rfc3339(now))
            verr(&v, "expires_at", "must be in the future");
        else snprintf(k.expires_at, sizeof k.expires_at, "%s", e);
    }
    if (verr_any(&v)) { api_fail_fields(w, &v, NULL); return; }

    unsigned char raw[SECRET_BYTES];
    char secret[64], token[128];
    if (sp_id_new("key", k.id) || sp_random(raw, sizeof raw) || sp_random(k.salt, sizeof k.salt)) {
        api_problem(w, 500, "random", "the random generator failed");
        return;
    }
    sp_b64url_encode(raw, sizeof raw, secret);
    snprintf(token, sizeof token, "%s.%s", k.id, secret);
    api_key_hash(k.salt, secret, k.hash);
    snprintf(k.tenant_id, sizeof k.tenant_id, "%s", rq->params[0]);
    snprintf(k.name, sizeof k.name, "%s", nm);
    sp_now_rfc3339(k.created_at);
    int rc = store_key_insert(rq->env->store, &k);
    if (rc != ST_OK) { api_store_error(w, rc, "creating the key"); return; }
    json_t *o = key_json(&k);
    json_object_set_new(o, "secret", json_string(token));
    sp_wipe(token, sizeof token);
    sp_wipe(secret, sizeof secret);
    w->secret_field = "secret";     /* shown once: a replay answers without it */
    snprintf(w->location, sizeof w->location, "/v1/tenants/%s/api-keys/%s", k.tenant_id, k.id);
    api_json(w, 201, o);
}

void api_key_list(api_req *rq, api_resp *w)
{
    if (!tenant_exists(rq, w)) return;
    page p;
    if (!api_page_begin(rq, w, rq->params[0], &p)) return;
    store_key *list;
    int n;
    int rc = store_key_list(rq->env->store, rq->params[0], p.after, p.size + 1, &list, &n);
    if (rc != ST_OK) { api_store_error(w, rc, "listing keys"); return; }
    json_t *items = json_array();
    for (int i = 0; i < n && i < p.size; i++) json_array_append_new(items, key_json(&list[i]));
    json_t *out = json_pack("{s:o}", "items", items);
    API_PAGE_END(p, out, n, list);
    free(list);
    api_json(w, 200, out);
}

void api_key_get(api_req *rq, api_resp *w)
{
    store_key k;
    int rc = store_key_get(rq->env->store, rq->params[1], rq->params[0], &k);
    if (rc == ST_NOTFOUND) { api_not_found(w, "api key", rq->params[1]); return; }
    if (rc != ST_OK) { api_store_error(w, rc, "reading the key"); return; }
    api_json(w, 200, key_json(&k));
}

void api_key_delete(api_req *rq, api_resp *w)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    int rc = store_key_revoke(rq->env->store, rq->params[1], rq->params[0], now);
    if (rc == ST_NOTFOUND) { api_not_found(w, "api key", rq->params[1]); return; }
    if (rc != ST_OK) { api_store_error(w, rc, "revoking the key"); return; }
    w->status = 204;
}
