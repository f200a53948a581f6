/* probe.h — can streamplane reach a data plane's API server with the
 * credentials given? Used when a data plane is registered or changed, with
 * a short timeout, so a typo is a clear 422 rather than a silent outage. */
#ifndef SP_KUBE_PROBE_H
#define SP_KUBE_PROBE_H

#include <jansson.h>
#include <stddef.h>

/* kubernetes: a data plane's "kubernetes" object with its secrets
 * ({server, token, ca_data, insecure_skip_tls_verify} | {kubeconfig} |
 * {in_cluster: true}). 0 when reachable; else -1 and err says why in the
 * API server's or the transport's own words. */
int kube_probe(const json_t *kubernetes, int timeout_ms, char *err, size_t errlen);

/* The connection settings such an object describes. */
#include "kubeconfig.h"
int kube_cfg_from_plane(const json_t *kubernetes, kube_cfg *out, char *err, size_t errlen);

#endif
