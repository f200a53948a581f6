/* The per-cluster CA (workers/pki/pki.h, issue 14): chains checked with
 * OpenSSL's own X509_verify_cert against a store holding only the CA, SANs
 * read back from the certificates, CSRs that must be refused, the principal
 * streamplane chose, renewal on a driven clock, sealed keys, hostile PEM,
 * Kafka's PEM store text, and real TLS handshakes over a socketpair. */
#define _GNU_SOURCE   /* memmem */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "../../workers/pki/pki.h"
#include "../../workers/pki/kafka_tls.h"

#define T0   1796000000LL          /* a fixed "now": 2026-11-30 (the clock is ours) */
#define DAY  86400LL

static const unsigned char master[32] = "0123456789abcdef0123456789abcde";

static pki_ca *ca_make(const char *cluster, pki_key_type kt)
{
    pki_ca_params p = { .cluster_id = cluster, .tenant_id = "tn-abc", .key_type = kt,
                        .now = T0, .validity_seconds = 3650 * DAY };
    pki_ca *ca = NULL;
    ck_assert_int_eq(pki_ca_create(&p, &ca), PKI_OK);
    return ca;
}

static X509 *x509_of(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    ck_assert_ptr_nonnull(x);
    return x;
}

/* OpenSSL's own verdict: does leaf chain to ca_pem alone at time t, for the
 * given purpose (X509_PURPOSE_SSL_SERVER / _CLIENT, 0 for any)? */
static int verify_with_store(const char *ca_pem, const char *leaf_pem, int64_t t, int purpose)
{
    X509 *ca = x509_of(ca_pem), *leaf = x509_of(leaf_pem);
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    ck_assert_int_eq(X509_STORE_add_cert(st, ca), 1);
    ck_assert_int_eq(X509_STORE_CTX_init(ctx, st, leaf, NULL), 1);
    X509_STORE_CTX_set_time(ctx, 0, (time_t)t);
    if (purpose) X509_STORE_CTX_set_purpose(ctx, purpose);
    int ok = X509_verify_cert(ctx) == 1;
    int err = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_free(ca);
    X509_free(leaf);
    ERR_clear_error();
    return ok ? X509_V_OK : (err ? err : -1);
}

static char *ca_pem_of(pki_ca *ca)
{
    char *pem = NULL;
    ck_assert_int_eq(pki_ca_cert_pem(ca, &pem), PKI_OK);
    return pem;
}

static const char *broker_dns[] = {
    "kafka-0.kafka-brokers.kc-aaaa.svc.cluster.local", "kafka-1.kafka-brokers.kc-aaaa.svc.cluster.local",
    "kafka-bootstrap.kc-aaaa.svc", "*.kafka-brokers.kc-aaaa.svc", "b0.orders.example.com",
};
static const char *broker_ips[] = { "203.0.113.7", "2001:db8::42" };

static void issue_broker(pki_ca *ca, pki_issued *out)
{
    pki_server_params p = { .common_name = "streamplane-kafka", .dns = broker_dns, .ndns = 5,
                            .ips = broker_ips, .nips = 2, .now = T0, .validity_seconds = 365 * DAY };
    ck_assert_int_eq(pki_issue_server(ca, &p, out), PKI_OK);
}

static void issue_client(pki_ca *ca, const char *principal, pki_issued *out)
{
    pki_client_params p = { .principal = principal, .now = T0 };
    ck_assert_int_eq(pki_issue_client_with_key(ca, &p, out), PKI_OK);
}

/* ---- the CA ---- */

static void check_ca_cert(pki_ca *ca, const char *cluster)
{
    char *pem = ca_pem_of(ca);
    X509 *x = x509_of(pem);
    ck_assert_int_eq(X509_check_ca(x), 1);
    int i = X509_get_ext_by_NID(x, NID_basic_constraints, -1);
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(X509_EXTENSION_get_critical(X509_get_ext(x, i)), 1);
    ck_assert_int_eq(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    ck_assert_int_eq(X509_EXTENSION_get_critical(X509_get_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1))), 1);
    ck_assert_ptr_nonnull(X509_get0_subject_key_id(x));
    char cn[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    char want[128];
    snprintf(want, sizeof want, "streamplane CA %s", cluster);
    ck_assert_str_eq(cn, want);
    ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
    ck_assert_int_eq(verify_with_store(pem, pem, T0, 0), X509_V_OK);   /* self-signed, valid */
    pki_cert_info info;
    ck_assert_int_eq(pki_cert_info_get(pem, &info), PKI_OK);
    ck_assert(info.is_ca);
    ck_assert_int_eq(info.not_after - info.not_before, 3650 * DAY + PKI_BACKDATE);
    X509_free(x);
    free(pem);
}

START_TEST(ca_ec_and_rsa_have_the_ca_extensions)
{
    pki_ca *ec = ca_make("kc-aaaa", PKI_KEY_EC_P256), *rsa = ca_make("kc-bbbb", PKI_KEY_RSA_2048);
    check_ca_cert(ec, "kc-aaaa");
    check_ca_cert(rsa, "kc-bbbb");
    char *k = NULL;
    ck_assert_int_eq(pki_ca_key_pem(rsa, &k), PKI_OK);
    ck_assert_ptr_nonnull(strstr(k, "-----BEGIN PRIVATE KEY-----"));   /* PKCS#8 */
    pki_pem_free(k);
    pki_ca_free(ec);
    pki_ca_free(rsa);
}
END_TEST

START_TEST(ca_params_are_checked)
{
    pki_ca *ca = NULL;
    pki_ca_params p = { .cluster_id = "kc-aaaa", .now = T0, .validity_seconds = DAY };
    p.validity_seconds = 0;
    ck_assert_int_eq(pki_ca_create(&p, &ca), PKI_ERR_INVALID);
    p.validity_seconds = DAY; p.cluster_id = "kc-a,CN=evil";
    ck_assert_int_eq(pki_ca_create(&p, &ca), PKI_ERR_INVALID);
    p.cluster_id = NULL;
    ck_assert_int_eq(pki_ca_create(&p, &ca), PKI_ERR_INVALID);
    p.cluster_id = "kc-aaaa"; p.key_type = (pki_key_type)7;
    ck_assert_int_eq(pki_ca_create(&p, &ca), PKI_ERR_INVALID);
    ck_assert_ptr_null(ca);
    ck_assert(pki_err_transient(PKI_ERR_NOMEM) && pki_err_transient(PKI_ERR_RANDOM));
    ck_assert(!pki_err_transient(PKI_ERR_WEAK_KEY) && !pki_err_transient(PKI_ERR_SIGNATURE));
    ck_assert_str_eq(pki_strerror(PKI_ERR_SEALED), "sealed key does not open");
    ck_assert_str_eq(pki_strerror((pki_err)77), "unknown pki error");
}
END_TEST

/* ---- server certificates ---- */

START_TEST(broker_cert_chains_and_names_what_was_asked)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    char *ca_pem = ca_pem_of(ca);
    pki_issued is;
    issue_broker(ca, &is);
    ck_assert_int_eq(verify_with_store(ca_pem, is.cert_pem, T0, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    ck_assert_int_eq(verify_with_store(ca_pem, is.cert_pem, T0, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    ck_assert_int_eq(pki_verify(ca, is.cert_pem, T0), PKI_OK);
    /* expired a year on, not valid before it was issued */
    ck_assert_int_eq(verify_with_store(ca_pem, is.cert_pem, T0 + 366 * DAY, 0), X509_V_ERR_CERT_HAS_EXPIRED);
    ck_assert_int_eq(verify_with_store(ca_pem, is.cert_pem, T0 - DAY, 0), X509_V_ERR_CERT_NOT_YET_VALID);

    X509 *x = x509_of(is.cert_pem);
    GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    ck_assert_int_eq(sk_GENERAL_NAME_num(g), 7);
    for (int i = 0; i < 5; i++) {
        GENERAL_NAME *n = sk_GENERAL_NAME_value(g, i);
        ck_assert_int_eq(n->type, GEN_DNS);
        ck_assert_str_eq((const char *)ASN1_STRING_get0_data(n->d.dNSName), broker_dns[i]);
    }
    ck_assert_int_eq(sk_GENERAL_NAME_value(g, 5)->type, GEN_IPADD);
    ck_assert_int_eq(ASN1_STRING_length(sk_GENERAL_NAME_value(g, 6)->d.iPAddress), 16);
    GENERAL_NAMES_free(g);
    ck_assert_int_eq(X509_check_host(x, "kafka-1.kafka-brokers.kc-aaaa.svc.cluster.local", 0, 0, NULL), 1);
    ck_assert_int_eq(X509_check_host(x, "kafka-7.kafka-brokers.kc-aaaa.svc", 0, 0, NULL), 1); /* wildcard */
    ck_assert_int_eq(X509_check_host(x, "kafka-0.kafka-brokers.kc-bbbb.svc", 0, 0, NULL), 0);
    ck_assert_int_eq(X509_check_ip_asc(x, "203.0.113.7", 0), 1);
    ck_assert_int_eq(X509_check_ip_asc(x, "2001:db8::42", 0), 1);
    ck_assert_int_eq(X509_check_ip_asc(x, "203.0.113.8", 0), 0);
    ck_assert_int_eq(X509_check_ca(x), 0);
    ck_assert_int_eq(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
    ck_assert_int_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    ck_assert_ptr_nonnull(X509_get0_authority_key_id(x));
    X509_free(x);

    ck_assert_int_eq(strlen(is.serial_hex), 32);
    ck_assert_ptr_nonnull(strstr(is.key_pem, "BEGIN PRIVATE KEY"));
    ck_assert(strncmp(is.chain_pem, is.cert_pem, strlen(is.cert_pem)) == 0);
    ck_assert_str_eq(is.chain_pem + strlen(is.cert_pem), ca_pem);
    ck_assert_int_eq(is.not_after, T0 + 365 * DAY);
    ck_assert_int_eq(is.not_before, T0 - PKI_BACKDATE);
    pki_issued_free(&is);
    free(ca_pem);
    pki_ca_free(ca);
}
END_TEST

START_TEST(cluster_a_certs_do_not_verify_against_cluster_b)
{
    pki_ca *a = ca_make("kc-aaaa", PKI_KEY_EC_P256), *b = ca_make("kc-bbbb", PKI_KEY_EC_P256);
    char *a_pem = ca_pem_of(a), *b_pem = ca_pem_of(b);
    pki_issued srv, cli;
    issue_broker(a, &srv);
    issue_client(a, "sa-orders", &cli);
    ck_assert_int_eq(verify_with_store(a_pem, srv.cert_pem, T0, 0), X509_V_OK);
    ck_assert_int_eq(verify_with_store(a_pem, cli.cert_pem, T0, 0), X509_V_OK);
    ck_assert_int_ne(verify_with_store(b_pem, srv.cert_pem, T0, 0), X509_V_OK);
    ck_assert_int_ne(verify_with_store(b_pem, cli.cert_pem, T0, 0), X509_V_OK);
    ck_assert_int_eq(pki_verify(b, cli.cert_pem, T0), PKI_ERR_SIGNATURE);
    ck_assert_int_eq(pki_verify(b, srv.cert_pem, T0), PKI_ERR_SIGNATURE);
    /* same cluster id, new CA (a re-created cluster): still not trusted */
    pki_ca *a2 = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    ck_assert_int_eq(pki_verify(a2, cli.cert_pem, T0), PKI_ERR_SIGNATURE);
    pki_issued_free(&srv);
    pki_issued_free(&cli);
    free(a_pem); free(b_pem);
    pki_ca_free(a); pki_ca_free(b); pki_ca_free(a2);
}
END_TEST

START_TEST(server_names_are_checked)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    pki_issued is;
    const char *bad_dns[][1] = { {"a..b"}, {"bad name"}, {"x,DNS:evil.com"}, {""}, {".lead"}, {"a*.b"} };
    for (size_t i = 0; i < sizeof bad_dns / sizeof *bad_dns; i++) {
        pki_server_params p = { .common_name = "k", .dns = bad_dns[i], .ndns = 1, .now = T0, .validity_seconds = DAY };
        ck_assert_int_eq(pki_issue_server(ca, &p, &is), PKI_ERR_INVALID);
    }
    const char *bad_ip[] = { "999.1.1.1" }, *ok_dns[] = { "ok.example" };
    pki_server_params p = { .common_name = "k", .dns = ok_dns, .ndns = 1, .ips = bad_ip, .nips = 1,
                            .now = T0, .validity_seconds = DAY };
    ck_assert_int_eq(pki_issue_server(ca, &p, &is), PKI_ERR_INVALID);
    p.nips = 0; p.ndns = 0;
    ck_assert_int_eq(pki_issue_server(ca, &p, &is), PKI_ERR_INVALID);   /* no name at all */
    p.ndns = 1; p.validity_seconds = -1;
    ck_assert_int_eq(pki_issue_server(ca, &p, &is), PKI_ERR_INVALID);
    p.validity_seconds = DAY; p.common_name = "CN=x,O=y";
    ck_assert_int_eq(pki_issue_server(ca, &p, &is), PKI_ERR_INVALID);
    p.common_name = "k"; p.ndns = PKI_MAX_SANS + 1;
    ck_assert_int_eq(pki_issue_server(ca, &p, &is), PKI_ERR_INVALID);
    pki_ca_free(ca);
}
END_TEST

/* ---- CSRs ---- */

/* A CSR the client made: its own subject and extensions (all to be ignored),
 * signed with md. */
static char *csr_make(EVP_PKEY *key, const EVP_MD *md)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"streamplane-kafka", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"admins", -1, -1, 0);
    X509_REQ_set_subject_name(req, n);
    X509_REQ_set_pubkey(req, key);
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE"));
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:evil.example"));
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage, "serverAuth,codeSigning"));
    X509_REQ_add_extensions(req, exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ck_assert_int_gt(X509_REQ_sign(req, key, md), 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(b, req);
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *pem = strndup(data, (size_t)len);
    BIO_free(b);
    X509_NAME_free(n);
    X509_REQ_free(req);
    return pem;
}

START_TEST(csr_signed_with_streamplanes_principal_only)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    char *ca_pem = ca_pem_of(ca);
    EVP_PKEY *keys[] = { EVP_EC_gen("P-256"), EVP_EC_gen("P-384"), EVP_RSA_gen(2048) };
    for (int i = 0; i < 3; i++) {
        char *csr = csr_make(keys[i], EVP_sha256());
        pki_client_params p = { .principal = "sa-7q2m4k", .now = T0 };
        pki_issued is;
        ck_assert_int_eq(pki_sign_csr(ca, csr, &p, &is), PKI_OK);
        ck_assert_ptr_null(is.key_pem);   /* the key never left the client */
        X509 *x = x509_of(is.cert_pem);
        char cn[64];
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
        ck_assert_str_eq(cn, "sa-7q2m4k");
        ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(x)), 2);   /* O + CN, no "admins" */
        ck_assert_int_eq(X509_check_ca(x), 0);
        ck_assert_ptr_null(X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL));
        ck_assert_int_eq(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
        ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(x), keys[i]), 1);
        ck_assert_int_eq(is.not_after - T0, PKI_CLIENT_VALIDITY_DEFAULT);
        ck_assert_int_eq(verify_with_store(ca_pem, is.cert_pem, T0, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
        /* clientAuth only: no good as a server certificate */
        ck_assert_int_eq(verify_with_store(ca_pem, is.cert_pem, T0, X509_PURPOSE_SSL_SERVER),
                         X509_V_ERR_INVALID_PURPOSE);
        X509_free(x);
        pki_issued_free(&is);
        free(csr);
        EVP_PKEY_free(keys[i]);
    }
    free(ca_pem);
    pki_ca_free(ca);
}
END_TEST

START_TEST(csr_with_forged_signature_refused)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    EVP_PKEY *mine = EVP_EC_gen("P-256"), *victim = EVP_EC_gen("P-256");
    /* signed by mine, then the public key swapped for someone else's */
    X509_REQ *req = X509_REQ_new();
    X509_REQ_set_pubkey(req, mine);
    ck_assert_int_gt(X509_REQ_sign(req, mine, EVP_sha256()), 0);
    X509_REQ_set_pubkey(req, victim);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(b, req);
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *forged = strndup(data, (size_t)len);
    pki_client_params p = { .principal = "sa-x", .now = T0 };
    pki_issued is = {0};
    ck_assert_int_eq(pki_sign_csr(ca, forged, &p, &is), PKI_ERR_SIGNATURE);
    ck_assert_ptr_null(is.cert_pem);
    /* a flipped bit in the signature of an honest CSR */
    char *honest = csr_make(mine, EVP_sha256());
    size_t n = strlen(honest);
    char *end = strstr(honest, "-----END");
    ck_assert_ptr_nonnull(end);
    char *c = end - 6;   /* inside the base64 of the signature's last bytes */
    *c = *c == 'A' ? 'B' : 'A';
    pki_err e = pki_sign_csr(ca, honest, &p, &is);
    ck_assert(e == PKI_ERR_SIGNATURE || e == PKI_ERR_PEM);
    ck_assert_int_eq(strlen(honest), n);
    free(honest);
    free(forged);
    BIO_free(b);
    X509_REQ_free(req);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(victim);
    pki_ca_free(ca);
}
END_TEST

START_TEST(csr_with_weak_key_or_digest_refused)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    pki_client_params p = { .principal = "sa-x", .now = T0 };
    pki_issued is = {0};
    EVP_PKEY *rsa1024 = EVP_RSA_gen(1024), *k1 = EVP_EC_gen("secp256k1"), *ok = EVP_EC_gen("P-256");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char *c1 = csr_make(rsa1024, EVP_sha256()), *c2 = csr_make(k1, EVP_sha256()),
         *c3 = csr_make(ok, EVP_sha1()), *c4 = csr_make(ed, NULL);
    ck_assert_int_eq(pki_sign_csr(ca, c1, &p, &is), PKI_ERR_WEAK_KEY);
    ck_assert_int_eq(pki_sign_csr(ca, c2, &p, &is), PKI_ERR_WEAK_KEY);
    ck_assert_int_eq(pki_sign_csr(ca, c3, &p, &is), PKI_ERR_SIGNATURE);
    ck_assert_int_eq(pki_sign_csr(ca, c4, &p, &is), PKI_ERR_WEAK_KEY);
    ck_assert_ptr_null(is.cert_pem);
    /* principal and validity are streamplane's to get right, and checked */
    char *c5 = csr_make(ok, EVP_sha256());
    p.principal = "sa-x,O=streamplane";
    ck_assert_int_eq(pki_sign_csr(ca, c5, &p, &is), PKI_ERR_INVALID);
    p.principal = "sa-x"; p.validity_seconds = PKI_CLIENT_VALIDITY_MAX + 1;
    ck_assert_int_eq(pki_sign_csr(ca, c5, &p, &is), PKI_ERR_INVALID);
    p.validity_seconds = DAY;
    ck_assert_int_eq(pki_sign_csr(ca, c5, &p, &is), PKI_OK);
    ck_assert_int_eq(is.not_after, T0 + DAY);
    pki_issued_free(&is);
    free(c1); free(c2); free(c3); free(c4); free(c5);
    EVP_PKEY_free(rsa1024); EVP_PKEY_free(k1); EVP_PKEY_free(ok); EVP_PKEY_free(ed);
    pki_ca_free(ca);
}
END_TEST

START_TEST(client_with_key_is_a_working_pair)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_RSA_2048);
    char *ca_pem = ca_pem_of(ca);
    pki_client_params p = { .principal = "sa-made-here", .key_type = PKI_KEY_RSA_2048, .now = T0,
                            .validity_seconds = 2 * DAY };
    pki_issued a, b;
    ck_assert_int_eq(pki_issue_client_with_key(ca, &p, &a), PKI_OK);
    p.key_type = PKI_KEY_EC_P256;
    ck_assert_int_eq(pki_issue_client_with_key(ca, &p, &b), PKI_OK);
    ck_assert_str_ne(a.serial_hex, b.serial_hex);   /* 128 random bits each */
    pki_issued *both[] = { &a, &b };
    for (int i = 0; i < 2; i++) {
        X509 *x = x509_of(both[i]->cert_pem);
        BIO *kb = BIO_new_mem_buf(both[i]->key_pem, -1);
        EVP_PKEY *k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
        ck_assert_int_eq(X509_check_private_key(x, k), 1);
        ck_assert_int_eq(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
        ck_assert_int_eq(verify_with_store(ca_pem, both[i]->cert_pem, T0 + DAY, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
        EVP_PKEY_free(k); BIO_free(kb); X509_free(x);
    }
    X509 *rx = x509_of(a.cert_pem);   /* RSA leaf: keyEncipherment too (TLS 1.2 RSA) */
    ck_assert_int_eq(X509_get_key_usage(rx), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    X509_free(rx);
    pki_issued_free(&a);
    pki_issued_free(&b);
    ck_assert_ptr_null(a.key_pem);
    p.principal = "";
    ck_assert_int_eq(pki_issue_client_with_key(ca, &p, &a), PKI_ERR_INVALID);
    free(ca_pem);
    pki_ca_free(ca);
}
END_TEST

/* ---- renewal on a driven clock ---- */

START_TEST(renewal_window_on_a_driven_clock)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    pki_issued is;
    pki_client_params p = { .principal = "sa-x", .now = T0, .validity_seconds = 7 * DAY };
    ck_assert_int_eq(pki_issue_client_with_key(ca, &p, &is), PKI_OK);
    const int64_t window = 2 * DAY, end = T0 + 7 * DAY;
    struct { int64_t now; bool renew; } steps[] = {
        { T0, false }, { T0 + 4 * DAY, false }, { end - window - 1, false },
        { end - window, true }, { end - 1, true }, { end, true }, { end + 30 * DAY, true },
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        bool renew = !steps[i].renew;
        ck_assert_int_eq(pki_needs_renewal(is.cert_pem, steps[i].now, window, &renew), PKI_OK);
        ck_assert_msg(renew == steps[i].renew, "step %zu", i);
    }
    bool renew;
    ck_assert_int_eq(pki_needs_renewal(is.cert_pem, T0, 0, &renew), PKI_OK);
    ck_assert(!renew);
    ck_assert_int_eq(pki_needs_renewal(is.cert_pem, T0, -1, &renew), PKI_ERR_INVALID);
    ck_assert_int_eq(pki_needs_renewal("not a cert", T0, 0, &renew), PKI_ERR_PEM);
    /* the CA itself: 10 years, renew with a 1-year window in year 9 */
    char *ca_pem = ca_pem_of(ca);
    ck_assert_int_eq(pki_needs_renewal(ca_pem, T0 + 3000 * DAY, 365 * DAY, &renew), PKI_OK);
    ck_assert(!renew);
    ck_assert_int_eq(pki_needs_renewal(ca_pem, T0 + 3300 * DAY, 365 * DAY, &renew), PKI_OK);
    ck_assert(renew);
    free(ca_pem);
    pki_issued_free(&is);
    pki_ca_free(ca);
}
END_TEST

/* ---- keys at rest ---- */

START_TEST(sealed_keys_round_trip_and_refuse_tampering)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    char *cert = ca_pem_of(ca), *key = NULL;
    ck_assert_int_eq(pki_ca_key_pem(ca, &key), PKI_OK);
    unsigned char *blob = NULL;
    size_t n = 0;
    ck_assert_int_eq(pki_key_seal(key, master, "kc-aaaa/ca", &blob, &n), PKI_OK);
    ck_assert_int_eq(n, strlen(key) + 28);   /* nonce + ciphertext + tag (common/util.c) */
    ck_assert_ptr_null(memmem(blob, n, "PRIVATE KEY", 11));
    char *back = NULL;
    ck_assert_int_eq(pki_key_open(blob, n, master, "kc-aaaa/ca", &back), PKI_OK);
    ck_assert_str_eq(back, key);
    pki_pem_free(back);

    unsigned char other[32];
    memcpy(other, master, 32);
    other[0] ^= 1;
    ck_assert_int_eq(pki_key_open(blob, n, other, "kc-aaaa/ca", &back), PKI_ERR_SEALED);
    ck_assert_int_eq(pki_key_open(blob, n, master, "kc-bbbb/ca", &back), PKI_ERR_SEALED);
    ck_assert_int_eq(pki_key_open(blob, 10, master, "kc-aaaa/ca", &back), PKI_ERR_SEALED);
    blob[n / 2] ^= 0x20;
    ck_assert_int_eq(pki_key_open(blob, n, master, "kc-aaaa/ca", &back), PKI_ERR_SEALED);
    blob[n / 2] ^= 0x20;

    /* the CA reopened from cert + sealed key issues certs the old one trusts */
    pki_ca *again = NULL;
    ck_assert_int_eq(pki_ca_open(cert, blob, n, master, "kc-aaaa/ca", &again), PKI_OK);
    pki_issued is;
    issue_client(again, "sa-x", &is);
    ck_assert_int_eq(pki_verify(ca, is.cert_pem, T0), PKI_OK);
    ck_assert_int_eq(verify_with_store(cert, is.cert_pem, T0, 0), X509_V_OK);
    ck_assert_int_eq(pki_ca_open(cert, blob, n, other, "kc-aaaa/ca", &again), PKI_ERR_SEALED);

    /* a CA needs its own key, and a CA certificate */
    pki_ca *b = ca_make("kc-bbbb", PKI_KEY_EC_P256), *bad = NULL;
    char *bkey = NULL;
    ck_assert_int_eq(pki_ca_key_pem(b, &bkey), PKI_OK);
    ck_assert_int_eq(pki_ca_load(cert, bkey, &bad), PKI_ERR_KEY_MISMATCH);
    ck_assert_int_eq(pki_ca_load(is.cert_pem, is.key_pem, &bad), PKI_ERR_NOT_CA);
    ck_assert_ptr_null(bad);
    pki_pem_free(bkey);
    pki_ca_free(b);
    pki_issued_free(&is);
    pki_ca_free(again);
    free(blob);
    pki_pem_free(key);
    free(cert);
    pki_ca_free(ca);
}
END_TEST

/* ---- hostile PEM ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

/* Every entry point that reads PEM, on one input: never a crash, and an
 * answer from the vocabulary. */
static int feed(pki_ca *ca, const char *in)
{
    int ok = 0;
    pki_cert_info info;
    bool renew;
    pki_issued is;
    pki_ca *c = NULL;
    pki_client_params p = { .principal = "sa-x", .now = T0 };
    pki_err e[5] = {
        pki_cert_info_get(in, &info), pki_needs_renewal(in, T0, DAY, &renew), pki_verify(ca, in, T0),
        pki_sign_csr(ca, in, &p, &is), pki_ca_load(in, in, &c),
    };
    for (int i = 0; i < 5; i++) {
        ck_assert(e[i] == PKI_OK || e[i] == PKI_ERR_PEM || e[i] == PKI_ERR_SIGNATURE ||
                  e[i] == PKI_ERR_WEAK_KEY || e[i] == PKI_ERR_KEY_MISMATCH || e[i] == PKI_ERR_NOT_CA);
        ok += e[i] == PKI_OK;
    }
    if (e[3] == PKI_OK) pki_issued_free(&is);
    pki_ca_free(c);
    ck_assert_int_eq(ERR_peek_error(), 0);   /* the error queue is left empty */
    return ok;
}

START_TEST(bad_pem_answers_errors_never_crashes)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    pki_issued srv;
    issue_broker(ca, &srv);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    char *csr = csr_make(k, EVP_sha256());
    const char *fixed[] = {
        "", "-", "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAAAAAAAAAAAAAA\n-----END CERTIFICATE REQUEST-----\n",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) ck_assert_int_eq(feed(ca, fixed[i]), 0);
    /* NULL everywhere */
    pki_cert_info info;
    ck_assert_int_eq(pki_cert_info_get(NULL, &info), PKI_ERR_PEM);
    pki_client_params p = { .principal = "sa-x", .now = T0 };
    pki_issued is;
    ck_assert_int_eq(pki_sign_csr(ca, NULL, &p, &is), PKI_ERR_PEM);
    /* over the size bound: refused before parsing */
    size_t big = PKI_PEM_MAX + 10;
    char *huge = malloc(big + 1);
    memset(huge, 'A', big);
    huge[big] = 0;
    memcpy(huge, srv.cert_pem, strlen(srv.cert_pem));
    ck_assert_int_eq(pki_cert_info_get(huge, &info), PKI_ERR_PEM);
    free(huge);
    /* every truncation, and random mutations, of real objects */
    const char *real[] = { srv.cert_pem, srv.chain_pem, srv.key_pem, csr };
    for (size_t r = 0; r < 4; r++) {
        size_t n = strlen(real[r]);
        char *buf = malloc(n + 1);
        for (size_t cut = 0; cut < n; cut += 7) {
            memcpy(buf, real[r], cut);
            buf[cut] = 0;
            feed(ca, buf);
        }
        for (int round = 0; round < 150; round++) {
            memcpy(buf, real[r], n + 1);
            int flips = 1 + (int)(next() % 4);
            for (int f = 0; f < flips; f++) buf[next() % n] = (char)(1 + next() % 255);
            feed(ca, buf);
        }
        free(buf);
    }
    /* random bytes behind a real header */
    char junk[600];
    for (int round = 0; round < 200; round++) {
        int h = snprintf(junk, sizeof junk, "-----BEGIN %s-----\n", round % 2 ? "CERTIFICATE" : "CERTIFICATE REQUEST");
        for (size_t i = (size_t)h; i < sizeof junk - 1; i++) junk[i] = (char)(1 + next() % 255);
        junk[sizeof junk - 1] = 0;
        ck_assert_int_eq(feed(ca, junk), 0);
    }
    ck_assert_int_eq(feed(ca, srv.cert_pem), 3);   /* info, renewal, verify: the honest input works */
    free(csr);
    EVP_PKEY_free(k);
    pki_issued_free(&srv);
    pki_ca_free(ca);
}
END_TEST

/* ---- Kafka's PEM store text ---- */

/* Java's Properties.load for one logical value: "\n" escapes, "\\" and a
 * trailing '\' that joins the next line (its leading blanks dropped). */
static char *java_props_value(const char *text, const char *key)
{
    const char *line = text;
    size_t klen = strlen(key);
    while (line && !(strncmp(line, key, klen) == 0 && line[klen] == '=')) {
        line = strchr(line, '\n');
        if (line) line++;
    }
    ck_assert_ptr_nonnull(line);
    char *out = malloc(strlen(line) + 1), *o = out;
    for (const char *c = line + klen + 1; *c && *c != '\n'; c++) {
        if (*c != '\\') { *o++ = *c; continue; }
        c++;
        if (*c == 'n') *o++ = '\n';
        else if (*c == '\\') *o++ = '\\';
        else if (*c == '\n') { while (c[1] == ' ' || c[1] == '\t') c++; }
        else *o++ = *c;
    }
    *o = 0;
    return out;
}

START_TEST(kafka_pem_store_text)
{
    pki_ca *ca = ca_make("kc-aaaa", PKI_KEY_EC_P256);
    char *ca_pem = ca_pem_of(ca);
    pki_issued srv;
    issue_broker(ca, &srv);
    pki_kafka_tls t = { .chain_pem = srv.chain_pem, .key_pem = srv.key_pem, .ca_pem = ca_pem };
    char *props = NULL;
    ck_assert_int_eq(pki_kafka_ssl_props(&t, "listener.name.external.", &props), PKI_OK);
    char *v;
    v = java_props_value(props, "listener.name.external.ssl.keystore.type");
    ck_assert_str_eq(v, "PEM"); free(v);
    v = java_props_value(props, "listener.name.external.ssl.truststore.type");
    ck_assert_str_eq(v, "PEM"); free(v);
    v = java_props_value(props, "listener.name.external.ssl.client.auth");
    ck_assert_str_eq(v, "required"); free(v);
    v = java_props_value(props, "listener.name.external.ssl.keystore.certificate.chain");
    ck_assert_str_eq(v, srv.chain_pem); free(v);
    v = java_props_value(props, "listener.name.external.ssl.keystore.key");
    ck_assert_str_eq(v, srv.key_pem); pki_pem_free(v);
    v = java_props_value(props, "listener.name.external.ssl.truststore.certificates");
    ck_assert_str_eq(v, ca_pem); free(v);
    pki_pem_free(props);
    ck_assert_int_eq(pki_kafka_ssl_props(&t, "bad=prefix.", &props), PKI_ERR_INVALID);
    t.key_pem = "";
    ck_assert_int_eq(pki_kafka_ssl_props(&t, "", &props), PKI_ERR_PEM);
    t.key_pem = srv.key_pem;

    /* the ssl.keystore.location file: key, then leaf and CA, all readable */
    char *file = NULL;
    ck_assert_int_eq(pki_kafka_keystore_file(&t, &file), PKI_OK);
    BIO *b = BIO_new_mem_buf(file, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    X509 *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL), *cax = PEM_read_bio_X509(b, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(k); ck_assert_ptr_nonnull(leaf); ck_assert_ptr_nonnull(cax);
    ck_assert_int_eq(X509_check_private_key(leaf, k), 1);
    ck_assert_int_eq(X509_check_ca(cax), 1);
    EVP_PKEY_free(k); X509_free(leaf); X509_free(cax); BIO_free(b);
    pki_pem_free(file);

    char *esc = NULL;
    ck_assert_int_eq(pki_kafka_props_escape("a\\b\nc\n", &esc), PKI_OK);
    ck_assert_str_eq(esc, "a\\\\b\\n\\\nc\\n");
    free(esc);
    pki_issued_free(&srv);
    free(ca_pem);
    pki_ca_free(ca);
}
END_TEST

/* ---- real TLS over a socketpair ---- */

static SSL_CTX *ctx_make(bool server, const char *chain, const char *key, const char *trust)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    ck_assert_ptr_nonnull(ctx);
    if (chain) {
        BIO *b = BIO_new_mem_buf(chain, -1);
        X509 *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
        ck_assert_int_eq(SSL_CTX_use_certificate(ctx, leaf), 1);
        X509 *extra;
        while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)))
            ck_assert_int_eq(SSL_CTX_add0_chain_cert(ctx, extra), 1);
        ERR_clear_error();
        X509_free(leaf);
        BIO_free(b);
        b = BIO_new_mem_buf(key, -1);
        EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, k), 1);
        EVP_PKEY_free(k);
        BIO_free(b);
    }
    X509 *ca = x509_of(trust);
    ck_assert_int_eq(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca), 1);
    X509_free(ca);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
    X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), (time_t)T0);   /* our clock, not the wall's */
    return ctx;
}

/* Steps both ends of a non-blocking socketpair until each is done or has
 * failed (bounded: no timing involved), then exchanges one byte each way.
 * Returns true when the server accepted and the bytes went through; *cn
 * gets the client certificate's CN as the server saw it. */
static bool handshake(SSL_CTX *sctx, SSL_CTX *cctx, const char *host, char cn[64])
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    SSL_set_fd(s, sv[0]);
    SSL_set_fd(c, sv[1]);
    SSL_set1_host(c, host);
    int sdone = 0, cdone = 0;   /* 1 done, -1 failed */
    for (int i = 0; i < 200 && (!sdone || !cdone); i++) {
        if (!cdone) {
            int r = SSL_connect(c), e = SSL_get_error(c, r);
            cdone = r == 1 ? 1 : (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? 0 : -1;
        }
        if (!sdone) {
            int r = SSL_accept(s), e = SSL_get_error(s, r);
            sdone = r == 1 ? 1 : (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? 0 : -1;
        }
    }
    bool ok = sdone == 1 && cdone == 1;
    if (ok) {
        char byte = 0;
        ok = SSL_write(c, "k", 1) == 1 && SSL_read(s, &byte, 1) == 1 && byte == 'k' &&
             SSL_write(s, "v", 1) == 1 && SSL_read(c, &byte, 1) == 1 && byte == 'v';
        X509 *peer = SSL_get1_peer_certificate(s);
        cn[0] = 0;
        if (peer) X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, 64);
        X509_free(peer);
        ok = ok && SSL_get_verify_result(s) == X509_V_OK && SSL_get_verify_result(c) == X509_V_OK;
    }
    SSL_free(s);
    SSL_free(c);
    close(sv[0]);
    close(sv[1]);
    ERR_clear_error();
    return ok;
}

START_TEST(mtls_handshake_broker_and_service_account)
{
    pki_ca *a = ca_make("kc-aaaa", PKI_KEY_EC_P256), *b = ca_make("kc-bbbb", PKI_KEY_RSA_2048);
    char *a_pem = ca_pem_of(a), *b_pem = ca_pem_of(b);
    pki_issued broker, sa, sa_other, sa_csr;
    issue_broker(a, &broker);
    issue_client(a, "sa-orders", &sa);
    issue_client(b, "sa-orders", &sa_other);   /* same name, other cluster's CA */
    EVP_PKEY *k = EVP_RSA_gen(2048);
    char *csr = csr_make(k, EVP_sha256());
    pki_client_params p = { .principal = "sa-from-csr", .now = T0 };
    ck_assert_int_eq(pki_sign_csr(a, csr, &p, &sa_csr), PKI_OK);
    char *kpem = NULL;
    BIO *kb = BIO_new(BIO_s_mem());
    PEM_write_bio_PKCS8PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL);
    char *d; long dl = BIO_get_mem_data(kb, &d);
    kpem = strndup(d, (size_t)dl);

    const char *host = "kafka-0.kafka-brokers.kc-aaaa.svc.cluster.local";
    SSL_CTX *srv = ctx_make(true, broker.chain_pem, broker.key_pem, a_pem);
    SSL_CTX *good = ctx_make(false, sa.chain_pem, sa.key_pem, a_pem);
    SSL_CTX *csrc = ctx_make(false, sa_csr.cert_pem, kpem, a_pem);
    SSL_CTX *other = ctx_make(false, sa_other.chain_pem, sa_other.key_pem, a_pem);
    SSL_CTX *anon = ctx_make(false, NULL, NULL, a_pem);
    SSL_CTX *broker_as_client = ctx_make(false, broker.chain_pem, broker.key_pem, a_pem);
    SSL_CTX *trusts_b = ctx_make(false, sa.chain_pem, sa.key_pem, b_pem);
    char cn[64];
    ck_assert(handshake(srv, good, host, cn));
    ck_assert_str_eq(cn, "sa-orders");
    ck_assert(handshake(srv, csrc, host, cn));
    ck_assert_str_eq(cn, "sa-from-csr");
    ck_assert(handshake(srv, broker_as_client, "kafka-bootstrap.kc-aaaa.svc", cn));   /* inter-broker */
    ck_assert_str_eq(cn, "streamplane-kafka");
    ck_assert(handshake(srv, good, "203.0.113.7", cn));   /* an external IP SAN */
    ck_assert(!handshake(srv, other, host, cn));          /* another cluster's client cert */
    ck_assert(!handshake(srv, anon, host, cn));           /* no client cert */
    ck_assert(!handshake(srv, trusts_b, host, cn));       /* client trusts another CA */
    ck_assert(!handshake(srv, good, "kafka-0.kafka-brokers.kc-bbbb.svc", cn));  /* wrong name */
    SSL_CTX *ctxs[] = { srv, good, csrc, other, anon, broker_as_client, trusts_b };
    for (size_t i = 0; i < 7; i++) SSL_CTX_free(ctxs[i]);
    pki_pem_free(kpem);
    BIO_free(kb);
    free(csr);
    EVP_PKEY_free(k);
    pki_issued_free(&broker); pki_issued_free(&sa); pki_issued_free(&sa_other); pki_issued_free(&sa_csr);
    free(a_pem); free(b_pem);
    pki_ca_free(a); pki_ca_free(b);
}
END_TEST

Suite *suite_pki(void)
{
    Suite *s = suite_create("pki");
    TCase *t = tcase_create("ca");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, ca_ec_and_rsa_have_the_ca_extensions);
    tcase_add_test(t, ca_params_are_checked);
    tcase_add_test(t, broker_cert_chains_and_names_what_was_asked);
    tcase_add_test(t, cluster_a_certs_do_not_verify_against_cluster_b);
    tcase_add_test(t, server_names_are_checked);
    tcase_add_test(t, csr_signed_with_streamplanes_principal_only);
    tcase_add_test(t, csr_with_forged_signature_refused);
    tcase_add_test(t, csr_with_weak_key_or_digest_refused);
    tcase_add_test(t, client_with_key_is_a_working_pair);
    tcase_add_test(t, renewal_window_on_a_driven_clock);
    tcase_add_test(t, sealed_keys_round_trip_and_refuse_tampering);
    tcase_add_test(t, bad_pem_answers_errors_never_crashes);
    tcase_add_test(t, kafka_pem_store_text);
    tcase_add_test(t, mtls_handshake_broker_and_service_account);
    suite_add_tcase(s, t);
    return s;
}
