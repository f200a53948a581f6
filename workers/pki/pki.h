/* pki.h — the per-cluster certificate authority (DESIGN.md §4 "Secrets",
 * issue 14 "Security of a cluster", "Service accounts").
 *
 * Every Kafka cluster gets its own CA: a key and a self-signed certificate
 * made here, never shared between clusters, so a certificate issued for
 * cluster A is worthless on cluster B. The CA issues
 *   - server certificates for brokers and controllers (pki_issue_server):
 *     the DNS names and IP addresses the caller lists (pod DNS names, the
 *     bootstrap Service, external addresses), serverAuth + clientAuth since
 *     brokers also talk to each other and to the controllers over mTLS;
 *   - client certificates for service accounts, either from the client's
 *     CSR (pki_sign_csr: the key never leaves the client) or with a key made
 *     here and shown once (pki_issue_client_with_key). Only the CSR's public
 *     key is used: its subject and requested extensions are ignored, the
 *     subject is O=streamplane,CN=<principal> with the principal
 *     streamplane chose (Kafka sees "CN=<principal>,O=streamplane"), clientAuth only, a short validity.
 *
 * Keys are EC P-256 (default: cheap) or RSA 2048. Serials are 128 random
 * bits from RAND_bytes. Times come from the caller (an injected clock), never
 * from time(). Everything in and out is PEM text; keys are PKCS#8
 * ("BEGIN PRIVATE KEY"), the form Kafka's PEM key store reads. Private keys
 * at rest are sealed with common/util.c's AES-256-GCM (sp_seal / sp_open)
 * under the master key, with an AAD naming what the blob is (for instance
 * "kc-…/ca"), so a blob copied onto another record does not open.
 *
 * Cost (bash bench/pki/run.sh 30 on the shared 2-core build machine under
 * load from four other builds, OpenSSL 3.0.19; medians): a P-256 CA 0.7 ms;
 * a broker certificate with its P-256 key 6 ms (EC CA) / 14 ms (RSA CA);
 * signing a CSR 7 ms; a chain verification 0.4 ms; a renewal check 0.2 ms;
 * reopening a sealed CA 1 ms. RSA 2048 key generation is the outlier:
 * 1.7-2.2 s median, 6.9 s worst (a random prime search), hence P-256 as
 * the default and key generation off the HTTP threads (a worker's job).
 * A pki_ca holds one key and one certificate (~2 KB).
 * Inputs are bounded: PEM text above PKI_PEM_MAX bytes is refused before
 * parsing, at most PKI_MAX_SANS names per certificate.
 *
 * Thread-safety: no global state; a pki_ca may be used for signing from
 * several threads at once (OpenSSL 3 objects are read-only while signing).
 * Errors are pki_err values; pki_strerror() names them; the PKI_TRANSIENT
 * bit marks those where the same call may succeed later. */
#ifndef SP_PKI_H
#define SP_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKI_PEM_MAX        (64 * 1024)   /* longest PEM input accepted */
#define PKI_MAX_SANS       256           /* DNS + IP names per certificate */
#define PKI_NAME_MAX       64            /* principal, common name, cluster id */
#define PKI_CLIENT_VALIDITY_DEFAULT (7 * 86400)    /* service accounts: short-lived */
#define PKI_CLIENT_VALIDITY_MAX     (30 * 86400)
#define PKI_BACKDATE       300           /* notBefore = now - 5 min: clock skew */

/* The transient bit: the same call may succeed later. */
#define PKI_TRANSIENT 0x100

typedef enum pki_err {
    PKI_OK = 0,
    PKI_ERR_INVALID       = 1,   /* bad argument: name, SAN, validity, key type */
    PKI_ERR_PEM           = 2,   /* input is not the PEM object expected (or too long) */
    PKI_ERR_WEAK_KEY      = 3,   /* RSA < 2048 or > 8192 bits, a curve other than P-256/P-384, another key type */
    PKI_ERR_SIGNATURE     = 4,   /* CSR self-signature does not verify, or uses MD5/SHA-1 */
    PKI_ERR_KEY_MISMATCH  = 5,   /* the key does not belong to the certificate */
    PKI_ERR_NOT_CA        = 6,   /* the certificate cannot issue (not CA:TRUE + keyCertSign) */
    PKI_ERR_SEALED        = 7,   /* sealed key does not open: wrong master key or AAD, or tampered */
    PKI_ERR_CRYPTO        = 8,   /* OpenSSL refused for another reason */
    PKI_ERR_NOMEM         = 9  | PKI_TRANSIENT,
    PKI_ERR_RANDOM        = 10 | PKI_TRANSIENT,  /* the random generator failed */
} pki_err;

const char *pki_strerror(pki_err e);
static inline bool pki_err_transient(pki_err e) { return (e & PKI_TRANSIENT) != 0; }

typedef enum pki_key_type {
    PKI_KEY_EC_P256 = 0,   /* default */
    PKI_KEY_RSA_2048,
} pki_key_type;

/* ---- the CA ---- */
typedef struct pki_ca pki_ca;   /* opaque: the CA certificate and its key */

typedef struct pki_ca_params {
    const char *cluster_id;     /* required: "kc-…"; CN "streamplane CA <id>" */
    const char *tenant_id;      /* optional: OU */
    pki_key_type key_type;
    int64_t now;                /* unix seconds, from the caller's clock */
    int64_t validity_seconds;   /* > 0; 10 years is usual for a cluster CA */
} pki_ca_params;

pki_err pki_ca_create(const pki_ca_params *p, pki_ca **out);
/* A CA from its certificate and key PEM (checks they match and that the
 * certificate is a CA). */
pki_err pki_ca_load(const char *cert_pem, const char *key_pem, pki_ca **out);
/* The same from a sealed key (pki_key_seal's blob). */
pki_err pki_ca_open(const char *cert_pem, const unsigned char *sealed, size_t n,
                    const unsigned char master[32], const char *aad, pki_ca **out);
void pki_ca_free(pki_ca *ca);
/* PEM of the CA certificate (what GET /v1/clusters/{id}/ca serves, and the
 * trust store); PEM of its key (to seal; wipe with pki_pem_free). */
pki_err pki_ca_cert_pem(const pki_ca *ca, char **pem);
pki_err pki_ca_key_pem(const pki_ca *ca, char **pem);

/* ---- issuing ---- */
typedef struct pki_issued {
    char *cert_pem;      /* the leaf certificate */
    char *chain_pem;     /* leaf then CA: ssl.keystore.certificate.chain */
    char *key_pem;       /* PKCS#8 key; NULL when signed from a CSR */
    char serial_hex[33]; /* 128-bit serial, upper-case hex */
    int64_t not_before, not_after;
} pki_issued;
/* Frees the strings (the key wiped first) and zeroes *is. */
void pki_issued_free(pki_issued *is);

typedef struct pki_server_params {
    const char *common_name;            /* e.g. "streamplane-broker" (the principal brokers get) */
    const char *const *dns; size_t ndns;/* DNS names; "*.x.svc" wildcards allowed */
    const char *const *ips; size_t nips;/* IPv4 / IPv6 text */
    pki_key_type key_type;
    int64_t now, validity_seconds;      /* > 0 */
} pki_server_params;

pki_err pki_issue_server(const pki_ca *ca, const pki_server_params *p, pki_issued *out);

typedef struct pki_client_params {
    const char *principal;      /* [a-z0-9._-], 1..PKI_NAME_MAX: the CN Kafka sees */
    pki_key_type key_type;      /* only for pki_issue_client_with_key */
    int64_t now;
    int64_t validity_seconds;   /* 0: PKI_CLIENT_VALIDITY_DEFAULT; above the max: INVALID */
} pki_client_params;

/* Signs a CSR's public key after checking its self-signature and strength. */
pki_err pki_sign_csr(const pki_ca *ca, const char *csr_pem, const pki_client_params *p,
                     pki_issued *out);
/* Makes the key too (out->key_pem: shown to the client once, never stored). */
pki_err pki_issue_client_with_key(const pki_ca *ca, const pki_client_params *p, pki_issued *out);

/* ---- reading certificates ---- */
typedef struct pki_cert_info {
    int64_t not_before, not_after;
    char common_name[PKI_NAME_MAX + 1];
    char serial_hex[65];
    bool is_ca;
} pki_cert_info;

pki_err pki_cert_info_get(const char *cert_pem, pki_cert_info *out);
/* *renew = true when now + window >= notAfter (or the certificate's lifetime
 * is already over). window >= 0. */
pki_err pki_needs_renewal(const char *cert_pem, int64_t now, int64_t window, bool *renew);
/* Does cert_pem chain to the CA at time now (X509_verify_cert)? PKI_OK when
 * it does, PKI_ERR_SIGNATURE when it does not. */
pki_err pki_verify(const pki_ca *ca, const char *cert_pem, int64_t now);

/* ---- keys at rest ---- */
/* Seal a PEM key with AES-256-GCM (sp_seal) under the master key; aad names
 * the record (e.g. "kc-…/ca", "kc-…/broker"). *blob is malloc'd. */
pki_err pki_key_seal(const char *key_pem, const unsigned char master[32], const char *aad,
                     unsigned char **blob, size_t *n);
/* The reverse: *key_pem is malloc'd, NUL-terminated; free with pki_pem_free. */
pki_err pki_key_open(const unsigned char *blob, size_t n, const unsigned char master[32],
                     const char *aad, char **key_pem);
/* Wipes and frees a PEM string (any: keys need the wipe). */
void pki_pem_free(char *pem);

#endif
