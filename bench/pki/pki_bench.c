/* pki_bench.c — the cost of each workers/pki operation: N runs each, the
 * median and the slowest in milliseconds (key generation varies: an RSA
 * key is a random prime search; those run runs/5 times).
 * usage: pki_bench [runs] */
#include "workers/pki/pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/util.h"

#define NOW 1796000000LL
static const unsigned char master[32] = "bench-master-key-0123456789abcd";

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, cmp);
    printf("%-44s median %8.3f ms   max %8.3f ms   (%d runs)\n", what, ms[n / 2], ms[n - 1], n);
}

#define TIME(what, n, body) do {                                        \
        double *ms_ = calloc((size_t)(n), sizeof *ms_);                 \
        for (int i_ = 0; i_ < (n); i_++) {                              \
            int64_t t_ = sp_mono_us();                                  \
            body;                                                       \
            ms_[i_] = (double)(sp_mono_us() - t_) / 1000.0;             \
        }                                                               \
        report(what, ms_, n);                                           \
        free(ms_);                                                      \
    } while (0)

static void must(pki_err e) { if (e != PKI_OK) { fprintf(stderr, "%s\n", pki_strerror(e)); exit(1); } }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50;
    if (n < 1) n = 1;
    int nr = n / 5 > 0 ? n / 5 : 1;   /* RSA key generation: seconds under load */
    pki_ca *ec = NULL, *rsa = NULL;
    pki_ca_params p = { .cluster_id = "kc-bench", .now = NOW, .validity_seconds = 3650 * 86400LL };
    TIME("CA create, EC P-256", n, { pki_ca *c; must(pki_ca_create(&p, &c)); pki_ca_free(c); });
    p.key_type = PKI_KEY_RSA_2048;
    TIME("CA create, RSA 2048", nr, { pki_ca *c; must(pki_ca_create(&p, &c)); pki_ca_free(c); });
    must(pki_ca_create(&p, &rsa));
    p.key_type = PKI_KEY_EC_P256;
    must(pki_ca_create(&p, &ec));

    const char *dns[] = { "kafka-0.kafka-brokers.kc-bench.svc.cluster.local", "kafka-bootstrap.kc-bench.svc",
                          "*.kafka-brokers.kc-bench.svc" };
    pki_server_params sp = { .common_name = "streamplane-kafka", .dns = dns, .ndns = 3, .now = NOW,
                             .validity_seconds = 365 * 86400LL };
    TIME("broker cert + P-256 key, EC CA", n, { pki_issued is; must(pki_issue_server(ec, &sp, &is)); pki_issued_free(&is); });
    TIME("broker cert + P-256 key, RSA CA", n, { pki_issued is; must(pki_issue_server(rsa, &sp, &is)); pki_issued_free(&is); });
    pki_client_params cp = { .principal = "sa-bench", .now = NOW };
    pki_issued csr_src;
    must(pki_issue_client_with_key(ec, &cp, &csr_src));
    /* a CSR is made by the client; the openssl CLI output is fixed here */
    const char *csr =
        "-----BEGIN CERTIFICATE REQUEST-----\n"
        "MIHGMG4CAQAwDDEKMAgGA1UEAwwBeDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA\n"
        "BBiWOevH45X7oHv7he5yxa9Vs07BVBJPcNZpfTD/PUELEq/I/gdWsgyh5oOkl86C\n"
        "1th4iNIl9t2dTAvGue1DLu6gADAKBggqhkjOPQQDAgNIADBFAiEA1NzYWfA+wkS+\n"
        "m0W70Mu1+D/iNISYPXqKJQm3b6wFhAACIErpLj5wCoayxrUBfWFPaDJzl4K9kqeA\n"
        "EHsOsspwiaMP\n"
        "-----END CERTIFICATE REQUEST-----\n";
    TIME("sign a P-256 CSR, EC CA", n, { pki_issued is; must(pki_sign_csr(ec, csr, &cp, &is)); pki_issued_free(&is); });
    TIME("client cert + P-256 key, EC CA", n, { pki_issued is; must(pki_issue_client_with_key(ec, &cp, &is)); pki_issued_free(&is); });
    cp.key_type = PKI_KEY_RSA_2048;
    TIME("client cert + RSA 2048 key, EC CA", nr, { pki_issued is; must(pki_issue_client_with_key(ec, &cp, &is)); pki_issued_free(&is); });
    TIME("verify a chain (X509_verify_cert)", n, { must(pki_verify(ec, csr_src.cert_pem, NOW)); });
    bool renew;
    TIME("needs_renewal (parse + compare)", n, { must(pki_needs_renewal(csr_src.cert_pem, NOW, 86400, &renew)); });
    char *cert = NULL, *key = NULL;
    must(pki_ca_cert_pem(ec, &cert));
    must(pki_ca_key_pem(ec, &key));
    unsigned char *blob = NULL; size_t bn = 0;
    must(pki_key_seal(key, master, "kc-bench/ca", &blob, &bn));
    TIME("CA open (unseal key + parse + checks)", n, { pki_ca *c; must(pki_ca_open(cert, blob, bn, master, "kc-bench/ca", &c)); pki_ca_free(c); });
    free(blob); free(cert); pki_pem_free(key);
    pki_issued_free(&csr_src);
    pki_ca_free(ec); pki_ca_free(rsa);
    return 0;
}
