/* kubeconfig.h — how to reach a Kubernetes API server: from a kubeconfig
 * (file or inline YAML), from inside a pod (service account), or from an
 * explicit server + token + CA as stored on a data plane. */
#ifndef SP_KUBECONFIG_H
#define SP_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kube_cfg {
    char *server;          /* https://host:port */
    char *token;           /* bearer token, or NULL */
    char *token_file;      /* re-read on every request when set (rotation) */
    char *ca_pem;          /* PEM text of the CA bundle, or NULL */
    char *ca_file;         /* path to a CA bundle, or NULL */
    char *cert_pem;        /* client certificate PEM, or NULL */
    char *key_pem;         /* client key PEM, or NULL */
    bool insecure;         /* skip TLS verification (explicit opt-in only) */
    char *namespace_;      /* the context's namespace, informational */
} kube_cfg;

void kube_cfg_free(kube_cfg *c);

/* Parses kubeconfig YAML; context NULL means current-context. Paths in the
 * file (certificate-authority, client-certificate, client-key, tokenFile)
 * are read relative to base_dir, as regular files of at most 1 MiB; with
 * base_dir NULL (a kubeconfig that came over the API) every file reference
 * is refused: such a kubeconfig must be self-contained. YAML aliases are
 * refused, and the document is bounded (20,000 nodes, 32 levels). An exec
 * or auth-provider credential plugin is refused with a clear error. */
int kube_cfg_from_kubeconfig(const char *yaml, size_t len, const char *context, const char *base_dir,
                             kube_cfg *out, char *err, size_t errlen);
int kube_cfg_from_kubeconfig_file(const char *path, const char *context, kube_cfg *out,
                                  char *err, size_t errlen);

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT, and the service account files
 * under sa_dir (NULL: /var/run/secrets/kubernetes.io/serviceaccount). The
 * token file is re-read per request, since kubelet rotates it. */
int kube_cfg_in_cluster(const char *sa_dir, kube_cfg *out, char *err, size_t errlen);

/* Explicit server, token and base64 PEM CA (a data plane's fields). */
int kube_cfg_explicit(const char *server, const char *token, const char *ca_b64, bool insecure,
                      kube_cfg *out, char *err, size_t errlen);

#endif
