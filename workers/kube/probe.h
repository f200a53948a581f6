/* probe.h — can streamplane reach a data plane's API server with the
 * credentials given? Used when a data plane is registered or changed, with
 * a short timeout, so a typo is a clear 422 rather than a silent outage. */
#ifndef SP_KUBE_PROBE_H
#define SP_KUBE_PROBE_H

#include <jansson.h>
#include <stddef.h>

/* plane: a data plane's spec with its secrets in "kubernetes"
 * ({server, token, ca_data, insecure_skip_tls_verify} | {kubeconfig} |
 * {in_cluster: true}) and its "allow_insecure_transport". 0 when
 * reachable; KUBE_PROBE_REFUSED when the settings themselves are refused
 * (err says which and why); -1 when unreachable: err gives the transport's
 * words or the HTTP status, never the body the server answered. */
#define KUBE_PROBE_REFUSED (-2)
int kube_probe(const json_t *plane, int timeout_ms, char *err, size_t errlen);

/* The connection settings a "kubernetes" object describes. Unless
 * allow_insecure, an http:// server or skipped TLS verification is
 * refused; a kubeconfig must be self-contained (no file references). */
#include "kubeconfig.h"
#include <stdbool.h>
int kube_cfg_from_plane(const json_t *kubernetes, bool allow_insecure, kube_cfg *out, char *err, size_t errlen);

#endif
