/* probe.c — see probe.h. */
#define _GNU_SOURCE
#include "probe.h"
#include "client.h"

#include <stdio.h>
#include <string.h>

static int cfg_of(const json_t *k, kube_cfg *cfg, char *err, size_t errlen)
{
    const char *kc = json_string_value(json_object_get(k, "kubeconfig"));
    if (kc) return kube_cfg_from_kubeconfig(kc, strlen(kc), NULL, NULL, cfg, err, errlen);
    if (json_is_true(json_object_get(k, "in_cluster"))) return kube_cfg_in_cluster(NULL, cfg, err, errlen);
    return kube_cfg_explicit(json_string_value(json_object_get(k, "server")),
                             json_string_value(json_object_get(k, "token")),
                             json_string_value(json_object_get(k, "ca_data")),
                             json_is_true(json_object_get(k, "insecure_skip_tls_verify")), cfg, err, errlen);
}

int kube_cfg_from_plane(const json_t *k, bool allow_insecure, kube_cfg *cfg, char *err, size_t errlen)
{
    if (cfg_of(k, cfg, err, errlen) != 0) return -1;
    if (allow_insecure) return 0;
    if (strncmp(cfg->server, "https://", 8) != 0) {
        snprintf(err, errlen, "the server is not https://: credentials would travel in clear text "
                              "(allow_insecure_transport: true on the data plane permits it)");
        kube_cfg_free(cfg);
        return -1;
    }
    if (cfg->insecure) {
        snprintf(err, errlen, "TLS verification is turned off (insecure-skip-tls-verify): anyone in between "
                              "could read the credentials (allow_insecure_transport: true on the data plane permits it)");
        kube_cfg_free(cfg);
        return -1;
    }
    return 0;
}

/* What the probe says of an HTTP answer: its status and, for the statuses
 * an API server gives a wrong credential, what to do. Never the body: the
 * URL is the caller's choice, and echoing what it answered would read back
 * any service this server can reach. */
static void probe_http_message(int http, char *err, size_t errlen)
{
    if (http == 401) snprintf(err, errlen, "the API server refused the credentials (HTTP 401 Unauthorized)");
    else if (http == 403) snprintf(err, errlen, "the credentials may not list namespaces (HTTP 403 Forbidden)");
    else snprintf(err, errlen, "the server answered HTTP %d to GET /api/v1/namespaces, which a Kubernetes API "
                               "server with these credentials would not", http);
}

int kube_probe(const json_t *plane, int timeout_ms, char *err, size_t errlen)
{
    kube_cfg cfg;
    const json_t *k = json_object_get(plane, "kubernetes");
    bool allow = json_is_true(json_object_get(plane, "allow_insecure_transport"));
    if (kube_cfg_from_plane(k, allow, &cfg, err, errlen) != 0) return KUBE_PROBE_REFUSED;
    kube_client *c = kube_client_new(&cfg, timeout_ms);
    kube_cfg_free(&cfg);
    if (!c) { snprintf(err, errlen, "cannot create a Kubernetes client"); return -1; }
    kube_err e;
    kube_rc r = kube_ping(c, &e);
    kube_client_free(c);
    if (r == KUBE_OK) return 0;
    if (e.http) probe_http_message(e.http, err, errlen);
    else snprintf(err, errlen, "%s (%s)", e.message[0] ? e.message : "no answer", kube_rc_name(r));
    return -1;
}
