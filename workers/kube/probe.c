/* probe.c — see probe.h. */
#define _GNU_SOURCE
#include "probe.h"
#include "client.h"

#include <stdio.h>
#include <string.h>

int kube_cfg_from_plane(const json_t *k, kube_cfg *cfg, char *err, size_t errlen)
{
    const char *kc = json_string_value(json_object_get(k, "kubeconfig"));
    if (kc) return kube_cfg_from_kubeconfig(kc, strlen(kc), NULL, NULL, cfg, err, errlen);
    if (json_is_true(json_object_get(k, "in_cluster"))) return kube_cfg_in_cluster(NULL, cfg, err, errlen);
    return kube_cfg_explicit(json_string_value(json_object_get(k, "server")),
                             json_string_value(json_object_get(k, "token")),
                             json_string_value(json_object_get(k, "ca_data")),
                             json_is_true(json_object_get(k, "insecure_skip_tls_verify")), cfg, err, errlen);
}

int kube_probe(const json_t *k, int timeout_ms, char *err, size_t errlen)
{
    kube_cfg cfg;
    if (kube_cfg_from_plane(k, &cfg, err, errlen) != 0) return -1;
    kube_client *c = kube_client_new(&cfg, timeout_ms);
    kube_cfg_free(&cfg);
    if (!c) { snprintf(err, errlen, "cannot create a Kubernetes client"); return -1; }
    kube_err e;
    kube_rc r = kube_ping(c, &e);
    kube_client_free(c);
    if (r == KUBE_OK) return 0;
    snprintf(err, errlen, "%s (%s)", e.message[0] ? e.message : "no answer", kube_rc_name(r));
    return -1;
}
