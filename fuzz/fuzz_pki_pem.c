/* fuzz_pki_pem.c — PEM text from outside (a service account's CSR, a stored
 * certificate) through every workers/pki entry point that parses it: any
 * input answers a pki_err from the vocabulary, never a crash or a leak; an
 * accepted CSR yields a client certificate with the principal we chose. */
#include "../workers/pki/pki.h"

#include <stdlib.h>
#include <string.h>

static pki_ca *ca;

static void check(pki_err e)
{
    if (e != PKI_OK && e != PKI_ERR_PEM && e != PKI_ERR_SIGNATURE && e != PKI_ERR_WEAK_KEY &&
        e != PKI_ERR_KEY_MISMATCH && e != PKI_ERR_NOT_CA)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ca) {
        pki_ca_params p = { .cluster_id = "kc-fuzz", .now = 1796000000, .validity_seconds = 86400 };
        if (pki_ca_create(&p, &ca) != PKI_OK) abort();
    }
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    pki_cert_info info;
    bool renew;
    check(pki_cert_info_get(s, &info));
    check(pki_needs_renewal(s, 1796000000, 86400, &renew));
    check(pki_verify(ca, s, 1796000000));
    pki_ca *other = NULL;
    check(pki_ca_load(s, s, &other));
    pki_ca_free(other);
    pki_client_params cp = { .principal = "sa-fuzz", .now = 1796000000 };
    pki_issued is;
    pki_err e = pki_sign_csr(ca, s, &cp, &is);
    check(e);
    if (e == PKI_OK) {
        if (pki_cert_info_get(is.cert_pem, &info) != PKI_OK || strcmp(info.common_name, "sa-fuzz") ||
            info.is_ca || pki_verify(ca, is.cert_pem, 1796000000) != PKI_OK)
            abort();
        pki_issued_free(&is);
    }
    free(s);
    return 0;
}
