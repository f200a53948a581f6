/* fuzz_kubeconfig.c — a kubeconfig as the API receives it (inline, no base
 * directory): parsed by workers/kube/kubeconfig.c, which must refuse
 * aliases, deep or huge documents and every file reference, and otherwise
 * give a configuration with an http(s) server and no file to read. */
#include "../workers/kube/kubeconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kube_cfg c;
    char err[512];
    if (kube_cfg_from_kubeconfig((const char *)data, size, NULL, NULL, &c, err, sizeof err) == 0) {
        if (!c.server || (strncmp(c.server, "https://", 8) && strncmp(c.server, "http://", 7))) abort();
        if (c.token_file || c.ca_file) abort();      /* self-contained: nothing read from disk */
        kube_cfg_free(&c);
    } else if (!err[0]) {
        abort();                                      /* a refusal always says why */
    }
    return 0;
}
